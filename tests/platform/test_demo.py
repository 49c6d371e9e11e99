"""`heldout demo` end to end on the real sandbox: the sample run spends no try of the printed
candidate."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from heldout.platform import demo
from heldout.platform.db import Database
from heldout.platform.models import Candidate, Submission

pytestmark = pytest.mark.docker


def test_demo_sample_runs_as_its_own_candidate(
    docker_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("HELDOUT_HOME", str(home))
    monkeypatch.delenv("HELDOUT_DATABASE_URL", raising=False)
    monkeypatch.delenv("HELDOUT_STORAGE_URL", raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    urls = demo.run(port=port, keep_running=False)
    assert urls["candidate"]
    db = Database(f"sqlite:///{home / 'heldout.db'}")
    try:
        with db.session() as session:
            by_email = dict(
                session.execute(
                    select(Candidate.email, func.count(Submission.id))
                    .join(Submission, Submission.candidate_id == Candidate.id, isouter=True)
                    .group_by(Candidate.email)
                ).all()
            )
            statuses = session.scalars(select(Submission.status)).all()
    finally:
        db.dispose()
    assert by_email == {demo.CANDIDATE: 0, demo.SAMPLE: 1}
    assert statuses == ["scored"]
