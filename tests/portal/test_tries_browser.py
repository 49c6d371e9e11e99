"""The submissions page in headless Chromium: the static read's warnings after an upload, and
a visibly disabled form, with the rule in a sentence, once no tries are left."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from heldout.platform.db import Database
from heldout.platform.models import Invitation
from tests.factories import make_submission
from tests.portal.conftest import notebook
from tests.portal.live import Portal, live_portal, screenshot
from tests.services import axe_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    with live_portal(tmp_path / "home") as running:
        yield running


def test_upload_warnings_show_and_the_form_closes_at_zero_left(
    portal: Portal, page: Any, tmp_path: Path
) -> None:
    page.goto(f"{portal.url}/i/{portal.invite()}")
    page.goto(f"{portal.url}/submissions")
    path = tmp_path / "solution.ipynb"
    path.write_bytes(notebook("import torch\nname = input('name? ')"))
    page.set_input_files("#notebook", str(path))
    page.get_by_role("button", name="Submit notebook").click()
    page.locator("#submit-message").filter(has_text="is queued").wait_for()
    warnings = page.locator("#submit-warnings")
    warnings.filter(has_text="imports torch, which the runtime does not have").wait_for()
    assert "calls input()" in warnings.inner_text()
    assert page.locator("#submit-fields").is_enabled()

    # Four scored beside the one still queued: the five scored submissions are spoken for.
    db: Database = portal.app.extensions["heldout"].db
    with db.session() as session:
        invitation = session.scalars(select(Invitation)).one()
        for _ in range(4):
            make_submission(session, invitation, status="scored", public_score=0.5)
    page.reload()
    closed = page.locator("#submit-closed")
    closed.wait_for()
    assert "You have used all 5 scored submissions" in closed.inner_text()
    assert "1 of them is still running" in closed.inner_text()
    assert "Submissions page" in closed.inner_text()
    assert page.locator("#submit-fields").get_attribute("disabled") is not None
    assert page.locator("#notebook").is_disabled()
    assert page.get_by_role("button", name="Submit notebook").is_disabled()
    assert page.locator("#left").inner_text() == "0"
    assert axe_violations(page) == []
    screenshot(page, "no-tries-left")
