"""Serve stored files to browsers: whole, or by HTTP Range for seeking in videos."""

from __future__ import annotations

import re

from flask import Response, request, stream_with_context

from heldout.platform.storage import Storage

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def send_stored(
    storage: Storage, key: str, filename: str | None, mimetype: str, inline: bool = False
) -> Response:
    """Stream a stored object, honouring a single `Range: bytes=a-b` request."""
    size = storage.size(key)
    start, end, status = 0, size - 1, 200
    match = _RANGE.match(request.headers.get("Range", ""))
    if match and size:
        first, last = match.groups()
        if first:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        elif last:
            start = max(size - int(last), 0)
        if start > end or start >= size:
            return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        status = 206
    length = end - start + 1 if size else 0
    body = storage.read_range(key, start, length) if length else iter([b""])
    response = Response(
        stream_with_context(body), status=status, mimetype=mimetype, direct_passthrough=True
    )
    response.headers["Content-Length"] = str(length)
    response.headers["Accept-Ranges"] = "bytes"
    if status == 206:
        response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    if filename:
        disposition = "inline" if inline else "attachment"
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
        response.headers["Content-Disposition"] = f'{disposition}; filename="{safe}"'
    return response
