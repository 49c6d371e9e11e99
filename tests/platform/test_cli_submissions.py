"""`heldout submissions list|regrade`: admins see challenge errors; regrade uses the queue."""

from __future__ import annotations

import json

from heldout.platform.db import Database
from heldout.platform.models import Submission
from tests.factories import make_submission
from tests.platform.test_cli import heldout


def test_list_shows_challenge_errors_and_regrade_queues_them_again(
    env: dict[str, str], db: Database
) -> None:
    with db.session() as session:
        sub = make_submission(
            session,
            status="failed",
            failure="challenge_error",
            failure_message="Custom metric boom failed: RuntimeError('kaput')",
            candidate_view={"failure": {"category": "challenge_error"}, "executed_key": None},
        )
        sub_id = sub.id
    table = heldout("submissions", "list", env=env)
    assert table.returncode == 0, table.stderr
    assert "failed (challenge_error)" in table.stdout
    rows = json.loads(heldout("submissions", "list", "--json", env=env).stdout)
    assert rows[0]["failure"] == "challenge_error" and "kaput" in rows[0]["failure_message"]
    regraded = heldout("submissions", "regrade", str(sub_id), env=env)
    assert regraded.returncode == 0, regraded.stderr
    with db.session() as session:
        row = session.get(Submission, sub_id)
        assert row is not None
        assert (row.status, row.failure, row.candidate_view) == ("queued", None, None)
