"""Rate limits and sign-in back-off that every web process shares.

Counters live in the database (`rate_counters`) so that several web processes or machines
count together; `HELDOUT_RATELIMIT_STORAGE=memory://` keeps them in this process instead (one
process only, e.g. `heldout serve`). Keys are hashed: no e-mail or address is stored.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from typing import Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from heldout.platform.db import Database
from heldout.platform.errors import LimitReached
from heldout.platform.models import RateCounter

# A failed sign-in costs nothing for the first few; then each one doubles the wait before the
# next try from that address for that account, up to 15 minutes. Failures are forgotten an
# hour after the last wait ended. Keyed by account *and* address, an attacker who knows an
# admin's e-mail slows only their own address down, never the admin's.
FREE_FAILURES = 3
MAX_DELAY_S = 900.0
FORGET_S = 3600.0
# Failed sign-ins from one address across accounts (guessing many e-mails).
ADDRESS_FAILURES, ADDRESS_WINDOW_S = 20, 900.0


class Counters(Protocol):
    """Where counts live: `(count, expires_at)` per key."""

    def add(self, key: str, expires_at: float, now: float) -> int: ...
    def get(self, key: str, now: float) -> tuple[int, float]: ...
    def put(self, key: str, count: int, expires_at: float) -> None: ...
    def drop(self, key: str) -> None: ...


class MemoryCounters:
    """This process's counts (`memory://`)."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def add(self, key: str, expires_at: float, now: float) -> int:
        with self._lock:
            count, until = self._rows.get(key, (0, expires_at))
            if until <= now:
                count, until = 0, expires_at
            self._rows[key] = (count + 1, until)
            if len(self._rows) > 100_000:  # bound memory under a flood of keys
                self._rows = {k: v for k, v in self._rows.items() if v[1] > now}
            return count + 1

    def get(self, key: str, now: float) -> tuple[int, float]:
        with self._lock:
            return self._rows.get(key, (0, 0.0))

    def put(self, key: str, count: int, expires_at: float) -> None:
        with self._lock:
            self._rows[key] = (count, expires_at)

    def drop(self, key: str) -> None:
        with self._lock:
            self._rows.pop(key, None)


class DatabaseCounters:
    """Counts in `rate_counters`, incremented atomically so processes never lose a hit."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, key: str, expires_at: float, now: float) -> int:
        if random.random() < 0.01:  # noqa: S311  (housekeeping, not security)
            with self.db.session() as session:
                session.execute(delete(RateCounter).where(RateCounter.expires_at < now))
        for _ in range(3):
            try:
                with self.db.session() as session:
                    bumped = session.execute(
                        update(RateCounter)
                        .where(RateCounter.key == key, RateCounter.expires_at > now)
                        .values(count=RateCounter.count + 1)
                    )
                    if bumped.rowcount == 0:  # type: ignore[attr-defined]
                        session.execute(delete(RateCounter).where(RateCounter.key == key))
                        session.add(RateCounter(key=key, count=1, expires_at=expires_at))
                        return 1
                    return int(
                        session.scalars(
                            select(RateCounter.count).where(RateCounter.key == key)
                        ).one()
                    )
            except IntegrityError:  # another process inserted the key first: count on it
                continue
        raise LimitReached("Too many requests at once; try again in a few seconds.", 5)

    def get(self, key: str, now: float) -> tuple[int, float]:
        with self.db.session() as session:
            row = session.get(RateCounter, key)
            return (row.count, row.expires_at) if row is not None else (0, 0.0)

    def put(self, key: str, count: int, expires_at: float) -> None:
        with self.db.session() as session:
            row = session.get(RateCounter, key)
            if row is None:
                session.add(RateCounter(key=key, count=count, expires_at=expires_at))
            else:
                row.count, row.expires_at = count, expires_at

    def drop(self, key: str) -> None:
        with self.db.session() as session:
            session.execute(delete(RateCounter).where(RateCounter.key == key))


def open_counters(storage: str, db: Database) -> Counters:
    """The counters HELDOUT_RATELIMIT_STORAGE names."""
    return MemoryCounters() if storage == "memory://" else DatabaseCounters(db)


def _key(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def hit(counters: Counters, scope: str, who: str, limit: int, window_s: float) -> None:
    """Count one event; LimitReached past `limit` per fixed window of `window_s`."""
    now = time.time()
    window = int(now // window_s)
    ends = (window + 1) * window_s
    if counters.add(_key(scope, who, str(window)), ends, now) > limit:
        wait = int(ends - now) + 1
        raise LimitReached(f"Too many attempts; try again in {wait} seconds.", wait)


def check_sign_in(counters: Counters, email: str, address: str) -> None:
    """LimitReached while this address must wait before trying this account again, or has
    failed too often across accounts."""
    now = time.time()
    _, until = counters.get(_key("backoff", email, address), now)
    failures, ends = counters.get(_key("address", address), now)
    wait = until - now
    if failures >= ADDRESS_FAILURES and ends > now:
        wait = max(wait, ends - now)
    if wait > 0:
        seconds = int(wait) + 1
        raise LimitReached(
            f"Too many failed sign-ins; try again in {seconds} seconds"
            + (f" (about {seconds // 60 + 1} minutes)." if seconds > 90 else "."),
            seconds,
        )


def sign_in_failed(counters: Counters, email: str, address: str) -> None:
    now = time.time()
    key = _key("backoff", email, address)
    failures, until = counters.get(key, now)
    if until and until < now - FORGET_S:
        failures = 0
    failures += 1
    delay = 0.0 if failures < FREE_FAILURES else min(2.0 ** (failures - FREE_FAILURES), MAX_DELAY_S)
    counters.put(key, failures, now + delay)
    window = int(now // ADDRESS_WINDOW_S)
    counters.add(_key("address", address), (window + 1) * ADDRESS_WINDOW_S, now)


def sign_in_succeeded(counters: Counters, email: str, address: str) -> None:
    counters.drop(_key("backoff", email, address))
