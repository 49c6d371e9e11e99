"""The candidate's result e-mail: one per submission, through retries, races and regrades,
against a real SMTP server on 127.0.0.1 (aiosmtpd) and the real databases."""

from __future__ import annotations

import threading
from typing import Any

from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.models import Submission
from heldout.platform.services import notifications
from heldout.platform.storage import Storage
from heldout.platform.worker import queue
from heldout.sandbox import FakeBackend, RunResult, SandboxError
from tests.platform.test_mail import Inbox, smtp  # noqa: F401  (the fixture)
from tests.platform.worker.helpers import IDS, LABELS, load, run_once, writes
from tests.services import free_port

ROWS = "cid,y\n" + "".join(f"{i},{y}\n" for i, y in zip(IDS, LABELS, strict=True))


def _mailing(env: dict[str, str], port: int) -> Config:
    return Config.from_env(
        {**env, "HELDOUT_SMTP_URL": f"smtp://127.0.0.1:{port}", "HELDOUT_MAIL_FROM": "hr@acme.test"}
    )


def _ready(db: Database, submission_id: int) -> None:
    with db.session() as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        row.not_before = None


def _text(message: Any) -> str:
    return str(message.get_payload(decode=True).decode())


def test_one_email_when_scored_after_a_retry_and_none_after_a_regrade(
    env: dict[str, str],
    db: Database,
    storage: Storage,
    submission_id: int,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    config = _mailing(env, port)

    def engine_down(*_: object) -> RunResult:
        raise SandboxError("cannot reach the Docker engine")

    run_once(config, db, storage, FakeBackend(engine_down))
    assert load(db, submission_id).status == "queued"
    assert inbox.messages == []  # a retry is not an end
    _ready(db, submission_id)
    run_once(config, db, storage, FakeBackend(writes(ROWS)))
    sub = load(db, submission_id)
    assert sub.status == "scored" and sub.notified_at is not None
    [message] = inbox.messages
    with db.session() as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        assert (message["To"], message["From"]) == (row.candidate.email, "hr@acme.test")
    body = _text(message)
    assert f"{config['HELDOUT_BASE_URL']}/submissions/{submission_id}" in body
    assert "public score is 1.0000" in body and "scored" in message["Subject"]
    assert "private" not in body.lower()

    # The worker finishing again (a second call) or a regrade send nothing more.
    assert notifications.submission_finished(db, config, submission_id) is False
    assert queue.regrade(db, submission_id) == 1
    run_once(config, db, storage, FakeBackend(writes(ROWS)))
    assert load(db, submission_id).status == "scored"
    assert len(inbox.messages) == 1


def test_failure_email_names_the_category_never_the_runs_output(
    env: dict[str, str],
    db: Database,
    storage: Storage,
    submission_id: int,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    config = _mailing(env, port)
    failure = {
        "cell": 2,
        "ename": "ValueError",
        "evalue": "row id15 is private",
        "traceback": "id15 private",
    }
    backend = FakeBackend(writes(None, status="failed", failure=failure, reason="id15"))
    run_once(config, db, storage, backend)
    sub = load(db, submission_id)
    assert sub.status == "failed"
    [message] = inbox.messages
    body = _text(message)
    assert "A cell in your notebook raised an error" in body
    assert f"/submissions/{submission_id}" in body
    assert "id15" not in body and "ValueError" not in body


def test_racing_workers_send_one_email(
    env: dict[str, str],
    db: Database,
    storage: Storage,
    submission_id: int,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    config = _mailing(env, port)
    with db.session() as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        row.status, row.public_score = "scored", 0.5
    start = threading.Barrier(8)
    sent: list[bool] = []

    def finish() -> None:
        start.wait()
        sent.append(notifications.submission_finished(db, config, submission_id))

    threads = [threading.Thread(target=finish) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(sent) == [False] * 7 + [True]
    assert len(inbox.messages) == 1


def test_no_email_while_running_or_without_smtp(
    env: dict[str, str],
    config: Config,
    db: Database,
    submission_id: int,
    smtp: tuple[Inbox, int],  # noqa: F811
) -> None:
    inbox, port = smtp
    assert notifications.submission_finished(db, _mailing(env, port), submission_id) is False
    with db.session() as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        row.status = "scored"
    assert notifications.submission_finished(db, config, submission_id) is False  # no SMTP
    assert load(db, submission_id).notified_at is None
    assert inbox.messages == []


def test_an_unreachable_mail_server_never_fails_the_run(
    env: dict[str, str], db: Database, storage: Storage, submission_id: int
) -> None:
    config = _mailing(env, free_port())
    run_once(config, db, storage, FakeBackend(writes(ROWS)))
    sub = load(db, submission_id)
    assert sub.status == "scored" and sub.attempts == 1
