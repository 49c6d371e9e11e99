"""Keyed HMAC-SHA256 over a column's distinct values, shared by pseudonyms and date shifts.

Each distinct value is hashed once (the per-challenge secret is the key; the inner and outer
pads are precomputed so each value costs two SHA-256 block updates). The value's canonical
text does not depend on the column, so the same customer id in two columns, or in a rebuild
with the same secret, maps to the same pseudonym and the same date offset.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from heldout.challenges.errors import ChallengeError, PseudonymCollision


def hmac_sha256(secret: bytes, messages: list[bytes]) -> np.ndarray:
    """HMAC-SHA256 of each message as an (n, 32) uint8 matrix (RFC 2104, pads precomputed)."""
    key = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    digests: list[bytes] = []
    append = digests.append
    for message in messages:  # one pass per distinct value; hashlib has no batch API
        i = inner.copy()
        i.update(message)
        o = outer.copy()
        o.update(i.digest())
        append(o.digest())
    return np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, 32)


def canonical(value: object) -> bytes:
    """The text a value is hashed as: integral floats as integers, dates in ISO 8601."""
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)).encode()
    if isinstance(value, date | datetime):
        return value.isoformat().encode()
    if isinstance(value, bytes):
        return value
    return str(value).encode()


@dataclass(frozen=True)
class Keyed:
    """A column's dictionary encoding plus one digest per distinct value."""

    indices: pa.Array | None  # per row: index into the distinct values; None: rows are distinct
    digests: np.ndarray  # (distinct, 32) uint8

    def per_row(self, values: pa.Array) -> pa.Array:
        """One value per distinct value, spread back to the rows."""
        return values if self.indices is None else values.take(self.indices)

    def pseudonyms(self, prefix: str, length: int) -> pa.Array:
        """`prefix` + `length` hex digits per distinct value, built without a Python loop."""
        count = len(self.digests)
        raw = np.ascontiguousarray(self.digests[:, : (length + 1) // 2])
        hexed = np.frombuffer(raw.tobytes().hex().encode(), dtype=np.uint8)
        hexed = hexed.reshape(count, 2 * raw.shape[1])
        head = np.frombuffer(prefix.encode(), dtype=np.uint8)
        width = len(head) + length
        rows = np.empty((count, width), dtype=np.uint8)
        rows[:, : len(head)] = head
        rows[:, len(head) :] = hexed[:, :length]
        offsets = np.arange(count + 1, dtype=np.int32) * width
        names = pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(rows))
        if length < 16:
            prefix_bits = self.digests[:, :8].copy().view(">u8").reshape(-1) >> (64 - 4 * length)
        else:  # distinct 64-bit prefixes mean distinct longer pseudonyms too
            prefix_bits = self.digests[:, :8].copy().view(">u8").reshape(-1)
        ordered = np.sort(prefix_bits)
        if len(ordered) > 1 and bool((ordered[1:] == ordered[:-1]).any()):
            raise PseudonymCollision(
                "two values got the same pseudonym; raise the rule's length (hex digits)"
            )
        return names

    def offsets(self, max_days: int) -> pa.Array:
        """A non-zero offset in [-max_days, max_days] per distinct value (bytes 16..23)."""
        word = self.digests[:, 16:24].copy().view(">u8").reshape(-1).astype(np.uint64)
        span = np.uint64(2 * max_days)
        drawn = (word % span).astype(np.int64) - max_days
        drawn[drawn >= 0] += 1  # skip 0: an unshifted date would be the real one
        return pa.array(drawn.astype(np.int32))


BATCH = 65_536


class KeyedHasher:
    """HMACs of source columns under one challenge secret, computed once per column."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ChallengeError("the challenge secret must not be empty")
        self.secret = secret.encode()
        self._cache: dict[str, Keyed] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def of(self, name: str, column: pa.ChunkedArray, unique: bool = False) -> Keyed:
        """The column's Keyed, computed once even when several threads ask at the same time.

        `unique` (no nulls, no repeats, e.g. the checked id column) skips the encoding pass.
        """
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._cache:
                self._cache[name] = self._compute(column, unique)
            return self._cache[name]

    def _compute(self, column: pa.ChunkedArray, unique: bool) -> Keyed:
        flat = column.combine_chunks()
        indices = None
        if not unique:
            encoded = pc.dictionary_encode(flat)
            flat, indices = encoded.dictionary, encoded.indices
        text = pa.types.is_string(flat.type) or pa.types.is_large_string(flat.type)
        digests = np.empty((len(flat), 32), dtype=np.uint8)
        # In batches, so the Python objects of one batch reuse the memory of the last.
        for start in range(0, len(flat), BATCH):
            values = flat.slice(start, BATCH)
            if text:
                messages = values.cast(pa.binary()).to_pylist()  # UTF-8 bytes, not decoded
            else:
                messages = [canonical(v) for v in values.to_pylist()]
            digests[start : start + len(values)] = hmac_sha256(self.secret, messages)
        return Keyed(indices, digests)
