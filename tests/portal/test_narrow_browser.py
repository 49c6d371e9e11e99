"""The portal on a phone (390 px wide, an iPhone 12-15): no page is wider than the screen and
the steps stay on screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from heldout.platform.models import Invitation
from tests.factories import make_submission
from tests.portal.live import Portal, live_portal, screenshot

pytestmark = pytest.mark.browser

WIDTH = 390


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    with live_portal(tmp_path / "home") as running:
        yield running


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": WIDTH, "height": 844})
    yield context.new_page()
    context.close()


def test_portal_pages_fit_a_390px_screen(portal: Portal, phone: Any) -> None:
    phone.goto(f"{portal.url}/i/{portal.invite()}")
    with portal.app.extensions["heldout"].db.session() as session:
        invitation = session.scalars(select(Invitation)).one()
        sub = make_submission(
            session,
            invitation,
            status="failed",
            failure="notebook_error",
            filename="a-rather-long-notebook-name-for-a-phone-screen-final-v2.ipynb",
        )
        sub.candidate_view = {
            "failure": {
                "category": "notebook_error",
                "message": "Cell 1 raised KeyError.",
                "hint": "Run it top to bottom.",
                "cell": 1,
                "ename": "KeyError",
                "evalue": "'monthly_price'",
                "traceback": ["Cell In[1], line 1\n----> 1 " + "x" * 200 + "\n"],
            },
            "executed_key": None,
        }
        sub_id = sub.id
    for path in ("/challenge", "/submissions", f"/submissions/{sub_id}", "/explanation"):
        phone.goto(f"{portal.url}{path}")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= WIDTH, f"{path} is {width} px wide"
        for name in ("1. The challenge", "2. Submissions", "3. Explanation"):
            box = phone.get_by_role("link", name=name).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, name
    screenshot(phone, "narrow-submission")
