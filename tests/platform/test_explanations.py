"""Explanations as a service: resumable uploads on both storages, drafts, the final choice."""

from __future__ import annotations

import io
import os

import pytest

from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.models import Explanation, Invitation
from heldout.platform.services import explanations
from heldout.platform.storage import Storage
from tests.factories import make_invitation, make_submission

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  "
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81"
CHUNK = explanations.CHUNK_MIN
LIMIT = 2**30


@pytest.fixture
def invitation_id(db: Database) -> int:
    with db.session() as session:
        return make_invitation(session).id


def _stored(db: Database, invitation_id: int) -> Explanation:
    with db.session() as session:
        found = session.query(Explanation).filter_by(invitation_id=invitation_id).one()
        session.expunge(found)
        return found


@pytest.mark.parametrize(
    ("head", "kind"), [(MP4, "video/mp4"), (MOV, "video/quicktime"), (WEBM, "video/webm")]
)
def test_sniff_video_reads_the_bytes(head: bytes, kind: str) -> None:
    assert explanations.sniff_video(head) == kind
    assert explanations.sniff_video(b"%PDF-1.7" + b"\0" * 8) is None


def test_resumable_upload_survives_a_broken_chunk(
    db: Database, storage: Storage, invitation_id: int
) -> None:
    data = MP4 + os.urandom(2 * CHUNK)
    upload = explanations.start_upload(db, storage, invitation_id, len(data), LIMIT)
    explanations.write_chunk(
        db, storage, invitation_id, upload.id, 0, io.BytesIO(data[:CHUNK]), CHUNK
    )
    with pytest.raises(InvalidInput):  # the connection dropped half-way through the chunk
        explanations.write_chunk(
            db,
            storage,
            invitation_id,
            upload.id,
            CHUNK,
            io.BytesIO(data[CHUNK : CHUNK + 100]),
            CHUNK,
        )
    status = explanations.upload_status(db, invitation_id, upload.id)
    assert status.received == CHUNK  # only whole chunks count
    done = explanations.write_chunk(
        db, storage, invitation_id, upload.id, CHUNK, io.BytesIO(data[CHUNK:]), len(data) - CHUNK
    )
    assert done.complete and done.received == len(data)
    saved = _stored(db, invitation_id)
    assert saved.video_type == "video/mp4" and saved.video_size == len(data)
    assert saved.upload_key is None
    assert storage.read_bytes(saved.video_key or "") == data
    assert storage.list("uploads/") == []


def test_a_new_video_replaces_the_old_one(
    db: Database, storage: Storage, invitation_id: int
) -> None:
    keys: list[str] = []
    for head in (WEBM, MOV):
        upload = explanations.start_upload(db, storage, invitation_id, 64, LIMIT)
        explanations.write_chunk(
            db, storage, invitation_id, upload.id, 0, io.BytesIO(head + b"\0" * 48), 64
        )
        key = _stored(db, invitation_id).video_key
        assert key is not None
        keys.append(key)
    assert not storage.exists(keys[0]) and storage.exists(keys[1])
    assert _stored(db, invitation_id).video_type == "video/quicktime"


def test_size_cap_and_wrong_type_are_refused(
    db: Database, storage: Storage, invitation_id: int
) -> None:
    with pytest.raises(InvalidInput, match="the limit is 1 MB"):
        explanations.start_upload(db, storage, invitation_id, 2 * 2**20, 2**20)
    upload = explanations.start_upload(db, storage, invitation_id, 64, LIMIT)
    with pytest.raises(InvalidInput, match="contents, not its name"):
        explanations.write_chunk(
            db, storage, invitation_id, upload.id, 0, io.BytesIO(b"GIF89a" + b"\0" * 58), 64
        )
    with pytest.raises(NotFound):
        explanations.upload_status(db, invitation_id, upload.id)


def test_final_submission_is_latest_scored_unless_chosen(db: Database) -> None:
    with db.session() as session:
        invitation = make_invitation(session)
        first = make_submission(session, invitation, status="scored").id
        latest = make_submission(session, invitation, status="scored").id
        failed = make_submission(session, invitation, status="failed").id
        invitation_id = invitation.id
    with db.session() as session:
        assert explanations.final_submission_id(session, invitation_id) == latest
    explanations.save_draft(db, invitation_id, "draft")
    assert _stored(db, invitation_id).submission_id == latest
    with pytest.raises(InvalidInput, match="only a scored"):
        explanations.choose_final(db, invitation_id, failed)
    explanations.choose_final(db, invitation_id, first)
    with db.session() as session:
        assert explanations.final_submission_id(session, invitation_id) == first
        assert session.get(Invitation, invitation_id).final_submission_id == first  # type: ignore[union-attr]
    assert _stored(db, invitation_id).submission_id == first


def test_drafts_are_kept_apart_from_the_published_text(db: Database, invitation_id: int) -> None:
    explanations.publish_text(db, invitation_id, "first\r\nversion")
    explanations.save_draft(db, invitation_id, "second version, unfinished")
    state = explanations.state(db, invitation_id)
    assert state["text"] == "first\nversion"
    assert state["text_draft"] == "second version, unfinished"
    with pytest.raises(InvalidInput, match="longer than"):
        explanations.save_draft(db, invitation_id, "x" * (explanations.MAX_TEXT + 1))
