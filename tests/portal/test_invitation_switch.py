"""`/i/<token>` never swaps a signed-in session by a GET: another invitation, or a staff
sign-in, is asked first, and only the confirmation's POST (with the CSRF token) switches."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.services import accounts
from tests.portal.conftest import Invited, invite_to_new_challenge
from tests.portal.live import Portal, live_portal, screenshot
from tests.services import axe_violations


def _form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page carries a form with a CSRF token"
    return found.group(1)


def _session_invitation(client: FlaskClient) -> object:
    with client.session_transaction() as sess:
        return sess.get("invitation_id")


def test_fresh_browser_opens_the_link_at_once(client: FlaskClient, invited: Invited) -> None:
    response = client.get(f"/i/{invited.token}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/challenge"
    assert _session_invitation(client) == invited.invitation_id
    page = client.get("/challenge").get_data(as_text=True)
    assert "Signed in as <strong>ada@example.com</strong>" in page


def test_the_same_invitation_again_keeps_the_session(client: FlaskClient, invited: Invited) -> None:
    client.get(f"/i/{invited.token}")
    with client.session_transaction() as sess:
        sess["csrf"] = "kept"
    again = client.get(f"/i/{invited.token}")
    assert again.status_code == 303 and again.headers["Location"] == "/challenge"
    with client.session_transaction() as sess:
        assert sess["invitation_id"] == invited.invitation_id and sess["csrf"] == "kept"


def test_another_invitation_asks_and_only_the_post_switches(
    app: Flask, client: FlaskClient, invited: Invited
) -> None:
    client.get(f"/i/{invited.token}")
    other = invite_to_new_challenge(app, "mallory@example.com")

    response = client.get(f"/i/{other.token}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/i/switch"
    assert other.token not in response.headers["Location"]
    assert _session_invitation(client) == invited.invitation_id  # the GET alone swaps nothing
    page = client.get("/i/switch")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "You are signed in as <strong>ada@example.com</strong>" in html
    assert "Open the invitation for <strong>mallory@example.com</strong>" in html
    assert other.token not in html
    assert _session_invitation(client) == invited.invitation_id
    assert "ada@example.com" in client.get("/challenge").get_data(as_text=True)

    assert client.post("/i/switch").status_code == 400  # no CSRF token: refused
    assert client.post("/i/switch", data={"csrf_token": "forged"}).status_code == 400
    assert _session_invitation(client) == invited.invitation_id

    switched = client.post("/i/switch", data={"csrf_token": _form_token(html)})
    assert switched.status_code == 303 and switched.headers["Location"] == "/challenge"
    assert _session_invitation(client) == other.invitation_id
    with client.session_transaction() as sess:
        assert "pending_invitation_id" not in sess
    assert "mallory@example.com" in client.get("/challenge").get_data(as_text=True)


def test_staying_keeps_the_current_invitation(
    app: Flask, client: FlaskClient, invited: Invited
) -> None:
    client.get(f"/i/{invited.token}")
    other = invite_to_new_challenge(app, "mallory@example.com")
    client.get(f"/i/{other.token}")
    token = _form_token(client.get("/i/switch").get_data(as_text=True))
    stayed = client.post("/i/switch/cancel", data={"csrf_token": token})
    assert stayed.headers["Location"] == "/challenge"
    assert client.post("/i/switch", data={"csrf_token": token}).headers["Location"] == "/"
    assert _session_invitation(client) == invited.invitation_id


def test_a_staff_session_is_asked_before_becoming_a_candidate(
    app: Flask, client: FlaskClient, invited: Invited
) -> None:
    sv = app.extensions["heldout"]
    user = accounts.add_user(sv.db, "rev@example.com", "reviewer", "a long password 123")
    with client.session_transaction() as sess:
        sess.update(user_id=user.id, session_version=user.session_version)
    response = client.get(f"/i/{invited.token}")
    assert response.headers["Location"] == "/i/switch"
    with client.session_transaction() as sess:
        assert sess["user_id"] == user.id and "invitation_id" not in sess
    html = client.get("/i/switch").get_data(as_text=True)
    assert "You are signed in as <strong>rev@example.com (staff)</strong>" in html
    client.post("/i/switch", data={"csrf_token": _form_token(html)})
    with client.session_transaction() as sess:
        assert sess["invitation_id"] == invited.invitation_id and "user_id" not in sess


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    with live_portal(tmp_path / "home") as running:
        yield running


@pytest.mark.browser
def test_confirmation_page_in_chromium(portal: Portal, page: Any) -> None:
    page.goto(f"{portal.url}/i/{portal.invite('ada@example.com')}")
    assert page.locator(".signed-in-as").inner_text() == "Signed in as ada@example.com"
    other = portal.invite("mallory@example.com")
    page.goto(f"{portal.url}/i/{other}")
    assert page.url == f"{portal.url}/i/switch"
    question = page.locator("#switch-question").inner_text()
    assert "You are signed in as ada@example.com." in question
    assert "Open the invitation for mallory@example.com" in question
    assert axe_violations(page) == []
    screenshot(page, "switch-invitation")
    page.get_by_role("button", name="Open the invitation for mallory@example.com").click()
    page.wait_for_url(f"{portal.url}/challenge")
    assert page.locator(".signed-in-as").inner_text() == "Signed in as mallory@example.com"
