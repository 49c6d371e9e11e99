"""Candidates' explanations: a video (type sniffed from its bytes, uploaded whole or in
resumable chunks) and/or markdown text with saved drafts, attached to the final submission."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from heldout.platform.db import Database
from heldout.platform.errors import Conflict, InvalidInput, NotFound
from heldout.platform.models import Explanation, Submission, utcnow
from heldout.platform.services.finals import final_submission_id
from heldout.platform.storage import CHUNK, Storage

__all__ = ["attach", "choose_final", "final_submission_id"]

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


def _explanation(
    session: Session, invitation_id: int, submission_id: int, replace: bool
) -> Explanation:
    """The explanation to write for `submission_id`: attaching is explicit, so an id that is not
    the final one, or an explanation already on another submission, is a Conflict unless
    `replace` says to move it."""
    submission = session.get(Submission, submission_id)
    if submission is None or submission.invitation_id != invitation_id:
        raise NotFound(f"no submission {submission_id}")
    found = _own(session, invitation_id)
    if not replace:
        final = final_submission_id(session, invitation_id)
        bound = found.submission_id if found is not None and _has_content(found) else None
        if bound is not None and bound != submission_id:
            raise Conflict(
                f"Your explanation is attached to submission {bound}; it was left as it is. "
                f"Send replace=true to move it to submission {submission_id} and overwrite it."
            )
        if final != submission_id:
            now = f"submission {final} is" if final else "you have no scored submission yet"
            raise Conflict(
                f"Submission {submission_id} is not your final submission ({now}). "
                "The explanation goes with the final submission: choose it as final first, "
                "or send replace=true to attach the explanation to this one."
            )
    if found is None:
        found = Explanation(invitation_id=invitation_id)
        session.add(found)
    found.submission_id = submission_id
    return found


def _has_content(found: Explanation) -> bool:
    return bool(found.text or found.video_key)


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
    replace: bool = False,
) -> dict[str, Any]:
    """Attach a video and/or text to the final submission (or, with `replace`, to this one,
    moving the explanation); the video streams straight to storage."""
    with db.session() as session:
        _explanation(session, invitation_id, submission_id, replace)  # checked before upload
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
        explanation = _explanation(session, invitation_id, submission_id, replace)
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


# ---------------------------------------------------------------- the final submission


def choose_final(db: Database, invitation_id: int, submission_id: int) -> int:
    """Make a scored submission the final one; the explanation goes with it."""
    with db.session() as session:
        submission = session.get(Submission, submission_id)
        if submission is None or submission.invitation_id != invitation_id:
            raise NotFound(f"no submission {submission_id}")
        if submission.status != "scored":
            raise InvalidInput(
                f"Submission {submission_id} is {submission.status}; only a scored "
                "submission can be your final one."
            )
        submission.invitation.final_submission_id = submission_id
        found = _own(session, invitation_id)
        if found is not None:
            found.submission_id = submission_id
        return submission_id


def _own(session: Session, invitation_id: int) -> Explanation | None:
    return session.scalars(
        select(Explanation).where(Explanation.invitation_id == invitation_id)
    ).first()


def _own_or_new(session: Session, invitation_id: int) -> Explanation:
    found = _own(session, invitation_id)
    if found is None:
        found = Explanation(invitation_id=invitation_id, upload_received=0)
        session.add(found)
    found.submission_id = final_submission_id(session, invitation_id)
    return found


# ---------------------------------------------------------------- written explanation


def save_draft(db: Database, invitation_id: int, text: str) -> dict[str, Any]:
    """Keep what the candidate is typing, so a closed tab loses nothing."""
    text = text.replace("\r\n", "\n")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"The written explanation is longer than {MAX_TEXT} characters.")
    with db.session() as session:
        found = _own_or_new(session, invitation_id)
        found.text_draft = text
        found.updated_at = utcnow()
        return {"saved_at": found.updated_at.isoformat() + "Z", "published": found.text == text}


def publish_text(db: Database, invitation_id: int, text: str) -> dict[str, Any]:
    """Make the written explanation the one reviewers read."""
    text = text.replace("\r\n", "\n")  # browsers send form text with CRLF
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"The written explanation is longer than {MAX_TEXT} characters.")
    with db.session() as session:
        found = _own_or_new(session, invitation_id)
        found.text = found.text_draft = text
        found.updated_at = utcnow()
        return {"saved_at": found.updated_at.isoformat() + "Z", "published": True}


def state(db: Database, invitation_id: int) -> dict[str, Any]:
    """Everything the explanation page shows: text, draft, video, an unfinished upload."""
    with db.session() as session:
        found = _own(session, invitation_id)
        final = final_submission_id(session, invitation_id)
        upload = None
        if found is not None and found.upload_key:
            upload = _upload_view(found)
        return {
            "final_submission_id": final,
            "text": found.text if found else "",
            "text_draft": found.text_draft if found else "",
            "video": bool(found and found.video_key),
            "video_type": found.video_type if found else None,
            "video_size": found.video_size if found else None,
            "upload": upload and upload.as_json(),
            "updated_at": found.updated_at.isoformat() + "Z" if found else None,
        }


def video(db: Database, invitation_id: int) -> tuple[str, str]:
    """Storage key and type of the candidate's own video."""
    with db.session() as session:
        found = _own(session, invitation_id)
        if found is None or not found.video_key:
            raise NotFound("you have not uploaded a video yet")
        return found.video_key, found.video_type or "video/mp4"


# ---------------------------------------------------------------- resumable video upload

CHUNK_SIZE = 8 * 2**20  # what the page sends per request
CHUNK_MIN = 5 * 2**20  # S3's smallest part that is not the last one
CHUNK_MAX = 64 * 2**20
_EXT = {"video/webm": ".webm", "video/mp4": ".mp4", "video/quicktime": ".mov"}
_TYPE = {ext: kind for kind, ext in _EXT.items()}


@dataclass(frozen=True)
class Upload:
    """A resumable upload: the page continues from `received` after a dropped connection."""

    id: str
    size: int
    received: int
    complete: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "size": self.size,
            "received": self.received,
            "complete": self.complete,
            "chunk_size": CHUNK_SIZE,
        }


def _upload_id(key: str) -> str:
    return key.rsplit("/", 1)[-1].split(".", 1)[0]


def _upload_view(found: Explanation) -> Upload:
    return Upload(_upload_id(found.upload_key or ""), found.upload_size or 0, found.upload_received)


def _current(session: Session, invitation_id: int, upload_id: str) -> Explanation:
    found = _own(session, invitation_id)
    if found is None or not found.upload_key or _upload_id(found.upload_key) != upload_id:
        raise NotFound("this upload is no longer in progress; start the upload again")
    return found


def start_upload(
    db: Database, storage: Storage, invitation_id: int, size: int, max_bytes: int
) -> Upload:
    """Begin a video upload of `size` bytes, abandoning any unfinished one."""
    if size <= 0:
        raise InvalidInput("The video file is empty.")
    if size > max_bytes:
        raise InvalidInput(
            f"The video is {size / 2**20:.0f} MB; the limit is {max_bytes // 2**20} MB. "
            "Record a shorter video or export it at a lower resolution."
        )
    token = secrets.token_hex(12)
    with db.session() as session:
        found = _own_or_new(session, invitation_id)
        old = found.upload_key
        found.upload_key = f"uploads/{invitation_id}/{token}"
        found.upload_size, found.upload_received = size, 0
    if old:
        storage.drop_parts(old)
    return Upload(token, size, 0)


def upload_status(db: Database, invitation_id: int, upload_id: str) -> Upload:
    with db.session() as session:
        return _upload_view(_current(session, invitation_id, upload_id))


def _read_head(stream: IO[bytes], want: int) -> bytes:
    head = b""
    while len(head) < want and (data := stream.read(want - len(head))):
        head += data
    return head


class _Prefixed:
    """`head` then the rest of `stream`."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self.head, self.stream = head, stream

    def read(self, size: int = -1) -> bytes:
        if self.head:
            data = self.head if size < 0 else self.head[:size]
            self.head = self.head[len(data) :]
            return data
        return self.stream.read(size)


def write_chunk(
    db: Database,
    storage: Storage,
    invitation_id: int,
    upload_id: str,
    offset: int,
    stream: IO[bytes],
    length: int,
) -> Upload:
    """Store one chunk at `offset`; the last one turns the upload into the video."""
    with db.session() as session:
        found = _current(session, invitation_id, upload_id)
        key, size, received = found.upload_key or "", found.upload_size or 0, found.upload_received
    if offset < 0 or offset > received:
        raise InvalidInput(
            f"This upload has {received} bytes; continue from byte {received}, not {offset}."
        )
    if length <= 0 or length > CHUNK_MAX or offset + length > size:
        raise InvalidInput(f"A chunk must hold 1 to {CHUNK_MAX} bytes within the declared size.")
    if length < CHUNK_MIN and offset + length != size:
        raise InvalidInput(f"Only the last chunk may be smaller than {CHUNK_MIN} bytes.")
    if offset == 0:
        head = _read_head(stream, 16)
        kind = sniff_video(head)
        if kind is None:
            storage.drop_parts(key)
            with db.session() as session:
                found = _current(session, invitation_id, upload_id)
                found.upload_key = found.upload_size = None
                found.upload_received = 0
            raise InvalidInput(
                "The video must be an MP4, WebM or MOV file (checked from its contents, "
                "not its name)."
            )
        typed = f"uploads/{invitation_id}/{upload_id}{_EXT[kind]}"
        if typed != key:
            storage.drop_parts(key)
            key = typed
        stream = _Prefixed(head, stream)  # type: ignore[assignment]
    storage.write_part(key, offset, stream, length)  # type: ignore[arg-type]
    with db.session() as session:
        found = _current(session, invitation_id, upload_id)
        found.upload_key, found.upload_received = key, offset + length
    if offset + length < size:
        return Upload(upload_id, size, offset + length)
    return _finish(db, storage, invitation_id, upload_id, key)


def _finish(db: Database, storage: Storage, invitation_id: int, upload_id: str, key: str) -> Upload:
    kind = _TYPE.get("." + key.rsplit(".", 1)[-1]) if "." in key else None
    if kind is None:  # offset 0 always names the type; anything else is a bug or a race
        raise InvalidInput("The upload lost its first chunk; start the upload again.")
    video_key = f"videos/{invitation_id}/{upload_id}{_EXT[kind]}"
    size = storage.finish_parts(key, video_key, kind)
    with db.session() as session:
        found = _current(session, invitation_id, upload_id)
        old = found.video_key
        found.video_key, found.video_type, found.video_size = video_key, kind, size
        found.upload_key = found.upload_size = None
        found.upload_received = 0
        found.submission_id = final_submission_id(session, invitation_id)
    if old and old != video_key:
        storage.delete(old)
    return Upload(upload_id, size, size, complete=True)
