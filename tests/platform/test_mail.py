"""Invitation e-mails against a real SMTP server on 127.0.0.1 (aiosmtpd)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskCliRunner

from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.errors import ServiceUnavailable
from heldout.platform.services import invitations, mail
from tests.factories import make_challenge
from tests.services import free_port


class Inbox:
    """Keeps every message the server accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def slug(db: Database) -> str:
    with db.session() as session:
        return make_challenge(session).slug


def _config(env: dict[str, str], **extra: str) -> Config:
    return Config.from_env({**env, **extra})


def test_invitation_is_emailed_with_its_link(
    db: Database, env: dict[str, str], smtp: tuple[Inbox, int], slug: str
) -> None:
    inbox, port = smtp
    config = _config(
        env, HELDOUT_SMTP_URL=f"smtp://127.0.0.1:{port}", HELDOUT_MAIL_FROM="hr@acme.test"
    )
    issued = invitations.invite(db, config, slug, "Ada@Example.com")
    assert mail.send_invitation(config, issued, slug) is True
    [message] = inbox.messages
    assert message["To"] == "ada@example.com" and message["From"] == "hr@acme.test"
    assert slug in message["Subject"]
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert issued.url in body and "untimed" in body
    assert f"valid until {issued.expires_at:%Y-%m-%d}" in body
    assert inbox.envelopes[0].rcpt_tos == ["ada@example.com"]


def test_without_smtp_nothing_is_sent(db: Database, env: dict[str, str], slug: str) -> None:
    config = _config(env)
    issued = invitations.invite(db, config, slug, "bob@example.com")
    assert mail.send_invitation(config, issued, slug) is False


def test_unreachable_smtp_is_a_clear_service_error(
    db: Database, env: dict[str, str], slug: str
) -> None:
    port = free_port()
    config = _config(env, HELDOUT_SMTP_URL=f"smtp://127.0.0.1:{port}")
    issued = invitations.invite(db, config, slug, "eve@example.com")
    with pytest.raises(ServiceUnavailable, match="invitation was created"):
        mail.send_invitation(config, issued, slug)


def test_heldout_invite_sends_the_emails(
    runner: FlaskCliRunner,
    monkeypatch: pytest.MonkeyPatch,
    smtp: tuple[Inbox, int],
    slug: str,
) -> None:
    from heldout.platform.cli import main

    inbox, port = smtp
    monkeypatch.setenv("HELDOUT_SMTP_URL", f"smtp://127.0.0.1:{port}")
    result = runner.invoke(main, ["invite", slug, "a@example.com", "b@example.com", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output.strip().splitlines()[-1])
    assert [row["emailed"] for row in rows] == [True, True]
    assert sorted(m["To"] for m in inbox.messages) == ["a@example.com", "b@example.com"]
    for row, message in zip(
        sorted(rows, key=lambda r: r["email"]),
        sorted(inbox.messages, key=lambda m: m["To"]),
        strict=True,
    ):
        assert row["url"] in message.get_payload(decode=True).decode()  # type: ignore[union-attr]
