"""Resumable uploads on both storage backends: parts at offsets become one object."""

from __future__ import annotations

import io
import os

import pytest

from heldout.platform.errors import InvalidInput
from heldout.platform.storage import Storage

PART = 5 * 2**20  # S3's smallest part that is not the last


def test_parts_join_into_one_object_in_order(storage: Storage) -> None:
    data = os.urandom(2 * PART + 1234)
    for offset in (0, PART, 2 * PART):
        chunk = data[offset : offset + PART]
        assert storage.write_part("uploads/u1", offset, io.BytesIO(chunk), len(chunk)) == len(chunk)
    assert storage.finish_parts("uploads/u1", "videos/v1", "video/webm") == len(data)
    assert storage.read_bytes("videos/v1") == data
    assert storage.list("uploads/") == []


def test_rewriting_a_part_replaces_everything_after_it(storage: Storage) -> None:
    first, second = os.urandom(PART), os.urandom(1000)
    storage.write_part("uploads/u2", 0, io.BytesIO(first), PART)
    storage.write_part("uploads/u2", PART, io.BytesIO(b"x" * 500), 500)  # dropped connection
    storage.write_part("uploads/u2", PART, io.BytesIO(second), len(second))  # resumed
    storage.finish_parts("uploads/u2", "videos/v2")
    assert storage.read_bytes("videos/v2") == first + second


def test_a_short_body_is_refused_and_not_counted(storage: Storage) -> None:
    with pytest.raises(InvalidInput, match="expected 100 bytes"):
        storage.write_part("uploads/u3", 0, io.BytesIO(b"y" * 40), 100)
    storage.write_part("uploads/u3", 0, io.BytesIO(b"z" * 100), 100)
    storage.finish_parts("uploads/u3", "videos/v3")
    assert storage.read_bytes("videos/v3") == b"z" * 100


def test_dropped_parts_leave_nothing(storage: Storage) -> None:
    storage.write_part("uploads/u4", 0, io.BytesIO(b"abc"), 3)
    storage.drop_parts("uploads/u4")
    assert storage.list("uploads/") == []
