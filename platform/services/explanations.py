"""Candidates' explanations: a video (type sniffed from its bytes) and/or markdown text."""

from __future__ import annotations

import secrets
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.models import Explanation, Submission
from heldout.platform.storage import CHUNK, Storage

MAX_TEXT = 50_000


def sniff_video(head: bytes) -> str | None:
    """The video MIME type from the first bytes, or None when it is not mp4, mov or webm."""
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"  # EBML header (Matroska/WebM)
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "video/quicktime"
    return None


class _Capped:
    """Reads through to `stream`, refusing to go past `limit` bytes."""

    def __init__(self, stream: IO[bytes], head: bytes, limit: int) -> None:
        self.stream, self.head, self.limit, self.count = stream, head, limit, 0

    def read(self, size: int = -1) -> bytes:
        if self.head:
            data, self.head = self.head, b""
        else:
            data = self.stream.read(CHUNK if size < 0 else size)
        self.count += len(data)
        if self.count > self.limit:
            raise InvalidInput(f"The video is larger than {self.limit // 2**20} MB.")
        return data


def _explanation(session: Session, invitation_id: int, submission_id: int) -> Explanation:
    submission = session.get(Submission, submission_id)
    if submission is None or submission.invitation_id != invitation_id:
        raise NotFound(f"no submission {submission_id}")
    found = session.scalars(
        select(Explanation).where(Explanation.invitation_id == invitation_id)
    ).first()
    if found is None:
        found = Explanation(invitation_id=invitation_id)
        session.add(found)
    found.submission_id = submission_id
    return found


def attach(
    db: Database,
    storage: Storage,
    invitation_id: int,
    submission_id: int,
    *,
    video: IO[bytes] | None = None,
    video_name: str | None = None,
    text: str | None = None,
    max_video_bytes: int,
) -> dict[str, Any]:
    """Attach a video and/or text to a submission; the video streams straight to storage."""
    with db.session() as session:
        _explanation(session, invitation_id, submission_id)  # ownership check before upload
    video_key = video_type = None
    size = 0
    if video is not None:
        head = video.read(16)
        video_type = sniff_video(head)
        if video_type is None:
            raise InvalidInput(
                "The video must be an MP4, WebM or MOV file (checked from its "
                "contents, not its name)."
            )
        video_key = f"videos/{invitation_id}/{secrets.token_hex(8)}"
        try:
            size = storage.put(
                video_key,
                _Capped(video, head, max_video_bytes),  # type: ignore[arg-type]
                content_type=video_type,
            )
        except InvalidInput:
            storage.delete(video_key)
            raise
    if text is not None and len(text) > MAX_TEXT:
        raise InvalidInput(f"The written explanation is longer than {MAX_TEXT} characters.")
    with db.session() as session:
        explanation = _explanation(session, invitation_id, submission_id)
        old_video = explanation.video_key
        if video_key:
            explanation.video_key, explanation.video_type = video_key, video_type
            explanation.video_size = size
        if text is not None:
            explanation.text = text
            explanation.text_draft = text
        result = {
            "submission_id": submission_id,
            "video": bool(explanation.video_key),
            "video_size": explanation.video_size,
            "text": bool(explanation.text),
        }
    if video_key and old_video and old_video != video_key:
        storage.delete(old_video)
    return result
