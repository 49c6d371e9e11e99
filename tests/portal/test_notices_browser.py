"""The "Uploading" and "queued" notices on the submissions page go once the run is final."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from heldout.platform.db import Database
from heldout.platform.models import Submission
from tests.portal.conftest import notebook
from tests.portal.live import Portal, live_portal

pytestmark = pytest.mark.browser


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    with live_portal(tmp_path / "home") as running:
        yield running


def _finish(db: Database) -> None:
    with db.session() as session:
        session.execute(update(Submission).values(status="scored", public_score=0.5))


def test_queued_and_uploading_notices_go_when_the_run_is_final(
    portal: Portal, page: Any, tmp_path: Path
) -> None:
    page.goto(f"{portal.url}/i/{portal.invite()}")
    page.goto(f"{portal.url}/submissions")
    path = tmp_path / "solution.ipynb"
    path.write_bytes(notebook("print(1)"))
    page.set_input_files("#notebook", str(path))
    page.get_by_role("button", name="Submit notebook").click()
    page.locator("#submit-message").filter(has_text="is queued").wait_for()
    assert page.locator("#submit-progress-box").is_visible()

    _finish(portal.app.extensions["heldout"].db)
    page.locator("tr[data-status='scored']").wait_for()
    page.wait_for_function("document.getElementById('submit-message').textContent === ''")
    assert not page.locator("#submit-progress-box").is_visible()
    assert "queued" not in page.locator("main").inner_text().lower()


def test_the_queued_flash_of_a_plain_form_post_goes_when_final(
    portal: Portal, page: Any, tmp_path: Path
) -> None:
    page.goto(f"{portal.url}/i/{portal.invite()}")
    page.goto(f"{portal.url}/submissions")
    path = tmp_path / "solution.ipynb"
    path.write_bytes(notebook("print(1)"))
    page.set_input_files("#notebook", str(path))
    # The form as a browser without the script sends it: a plain POST, then the redirect.
    page.evaluate("HTMLFormElement.prototype.submit.call(document.getElementById('submit-form'))")
    flash = page.locator(".flash[data-pending-submission]")
    flash.filter(has_text="is queued").wait_for()

    _finish(portal.app.extensions["heldout"].db)
    flash.wait_for(state="detached")


def test_submission_page_counts_the_running_time_then_shows_the_result(
    portal: Portal, page: Any
) -> None:
    from datetime import timedelta

    from heldout.platform.models import Invitation, utcnow
    from tests.factories import make_submission

    page.goto(f"{portal.url}/i/{portal.invite()}")
    db: Database = portal.app.extensions["heldout"].db
    with db.session() as session:
        invitation = session.query(Invitation).one()
        sub = make_submission(
            session, invitation, status="running", started_at=utcnow() - timedelta(seconds=5)
        )
        sub_id = sub.id
    page.goto(f"{portal.url}/submissions/{sub_id}")
    first = page.locator("#running-for").inner_text()
    from playwright.sync_api import expect

    expect(page.locator("#running-for")).not_to_have_text(first, timeout=10_000)
    _finish(db)
    page.locator(".status-scored").wait_for()
    assert page.locator("#running-for").count() == 0
