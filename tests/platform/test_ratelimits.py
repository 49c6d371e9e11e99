"""Rate limits behind a proxy, shared by every process, with back-off (issue 17, part 3)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.app import create_app
from heldout.platform.config import Config
from heldout.platform.errors import ConfigError, LimitReached
from heldout.platform.services import ratelimits
from tests.review.conftest import login, seed

PROXY = {"REMOTE_ADDR": "127.0.0.1"}


def _app(env: dict[str, str], **settings: str) -> Flask:
    return create_app({"TESTING": True}, config=Config.from_env({**env, **settings}))


@pytest.fixture
def proxied(env: dict[str, str]) -> Iterator[Flask]:
    app = _app(env, HELDOUT_TRUSTED_PROXIES="1")
    yield app
    app.extensions["heldout"].db.dispose()


def _open_link(client: FlaskClient, client_address: str) -> int:
    response = client.get(
        "/i/not-a-token",
        headers={"X-Forwarded-For": client_address},
        environ_overrides=PROXY,
    )
    return response.status_code


def test_link_opens_count_per_client_behind_a_trusted_proxy(proxied: Flask) -> None:
    client = proxied.test_client()
    for _ in range(30):
        assert _open_link(client, "203.0.113.7") == 403
    assert _open_link(client, "203.0.113.7") == 429
    assert _open_link(client, "198.51.100.2") == 403  # another candidate is not blocked


def test_forwarded_for_from_an_untrusted_peer_is_ignored(env: dict[str, str]) -> None:
    app = _app(env, HELDOUT_TRUSTED_PROXIES="10.0.0.5")
    client = app.test_client()
    for n in range(30):
        assert _open_link(client, f"192.0.2.{n}") == 403
    assert _open_link(client, "192.0.2.200") == 429  # all were 127.0.0.1 after all
    trusted = client.get(
        "/i/not-a-token",
        headers={"X-Forwarded-For": "192.0.2.201"},
        environ_overrides={"REMOTE_ADDR": "10.0.0.5"},
    )
    assert trusted.status_code == 403
    app.extensions["heldout"].db.dispose()


@pytest.fixture
def one_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Freeze the limiter's clock: on a loaded machine requests outlast windows and back-offs."""
    monkeypatch.setattr(ratelimits, "time", SimpleNamespace(time=lambda: 1_000_020.0))


@pytest.mark.usefixtures("one_window")
def test_limits_are_shared_by_every_web_process(env: dict[str, str]) -> None:
    first, second = _app(env), _app(env)
    for _ in range(30):
        assert first.test_client().get("/i/not-a-token").status_code == 403
    assert second.test_client().get("/i/not-a-token").status_code == 429
    for app in (first, second):
        app.extensions["heldout"].db.dispose()


@pytest.mark.usefixtures("one_window")
def test_every_429_says_when_to_retry(app: Flask) -> None:
    client = app.test_client()
    for _ in range(30):
        client.get("/i/not-a-token")
    response = client.get("/i/not-a-token")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 61
    s = seed(app)
    for _ in range(5):
        login(client, s.reviewer, "wrong password!")
    refused = login(client, s.reviewer)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0


@pytest.mark.usefixtures("one_window")  # slow sign-ins under load let the back-off run out
def test_someone_else_failing_cannot_lock_an_account_out(app: Flask) -> None:
    s = seed(app)
    attacker, admin = app.test_client(), app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "192.0.2.66"
    for _ in range(12):
        assert login(attacker, s.admin, "wrong password!").status_code in (401, 429)
    assert login(attacker, s.admin).status_code == 429
    assert login(admin, s.admin).status_code == 302


def test_sign_in_back_off_doubles_and_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr("heldout.platform.services.ratelimits.time.time", lambda: now[0])
    counters = ratelimits.MemoryCounters()
    waits = []
    for _ in range(ratelimits.FREE_FAILURES + 14):
        ratelimits.check_sign_in(counters, "a@example.com", "192.0.2.1")
        ratelimits.sign_in_failed(counters, "a@example.com", "192.0.2.1")
        try:
            ratelimits.check_sign_in(counters, "a@example.com", "192.0.2.1")
            waits.append(0)
        except LimitReached as exc:
            assert exc.retry_after is not None
            waits.append(exc.retry_after)
            now[0] += exc.retry_after
    assert waits[: ratelimits.FREE_FAILURES - 1] == [0] * (ratelimits.FREE_FAILURES - 1)
    growing = waits[ratelimits.FREE_FAILURES - 1 :]
    assert growing[:4] == [2, 3, 5, 9]  # 1, 2, 4, 8 seconds, rounded up
    assert max(growing) == ratelimits.MAX_DELAY_S + 1
    ratelimits.sign_in_succeeded(counters, "a@example.com", "192.0.2.1")
    ratelimits.check_sign_in(counters, "a@example.com", "192.0.2.1")


def test_trusted_proxies_setting_is_validated(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="HELDOUT_TRUSTED_PROXIES"):
        Config.from_env({**env, "HELDOUT_TRUSTED_PROXIES": "the proxy"})
    assert Config.from_env({**env, "HELDOUT_TRUSTED_PROXIES": "2"})["HELDOUT_TRUSTED_PROXIES"] == 2


def test_memory_storage_counts_in_one_process(env: dict[str, str]) -> None:
    app = _app(env, HELDOUT_RATELIMIT_STORAGE="memory://")
    client = app.test_client()
    for _ in range(30):
        client.get("/i/not-a-token")
    assert client.get("/i/not-a-token").status_code == 429
    other = _app(env)
    assert other.test_client().get("/i/not-a-token").status_code == 403
    for each in (app, other):
        each.extensions["heldout"].db.dispose()
