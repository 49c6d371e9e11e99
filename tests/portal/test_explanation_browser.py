"""The explanation page in headless Chromium: a video upload with a progress bar that survives
a dropped connection and a closed tab, a recording from Chromium's fake camera, and a
markdown explanation whose script and event handlers stay inert."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from heldout.platform.db import Database
from heldout.platform.models import Explanation, Invitation
from tests.factories import make_submission
from tests.portal.live import Portal, live_portal, screenshot
from tests.services import axe_violations, collect_dialogs

pytestmark = pytest.mark.browser

CHUNK = 8 * 2**20


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    with live_portal(tmp_path / "home") as running:
        yield running


def _sign_in(portal: Portal, page: Any, scored: bool = True) -> int:
    """Open a new invitation; with `scored`, the candidate already has a scored submission."""
    token = portal.invite()
    db: Database = portal.app.extensions["heldout"].db
    with db.session() as session:
        invitation = session.scalars(select(Invitation).order_by(Invitation.id.desc())).first()
        assert invitation is not None
        if scored:
            make_submission(session, invitation, status="scored", public_score=0.8)
        invitation_id = invitation.id
    page.goto(f"{portal.url}/i/{token}")
    page.goto(f"{portal.url}/explanation")
    return invitation_id


def _explanation(portal: Portal, invitation_id: int) -> Explanation:
    db: Database = portal.app.extensions["heldout"].db
    with db.session() as session:
        found = session.scalars(
            select(Explanation).where(Explanation.invitation_id == invitation_id)
        ).first()
        assert found is not None
        return found


def _video(path: Path, size: int) -> bytes:
    data = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + os.urandom(size - 24)
    path.write_bytes(data)
    return data


def test_video_upload_shows_progress_and_resumes_after_a_dropped_connection(
    portal: Portal, page: Any, tmp_path: Path
) -> None:
    invitation_id = _sign_in(portal, page)
    assert "submission" in page.locator("main .card").first.inner_text()
    offsets: list[int] = []
    dropped: list[int] = []

    def chunks(route: Any) -> None:
        offset = int(re.search(r"offset=(\d+)", route.request.url).group(1))  # type: ignore[union-attr]
        offsets.append(offset)
        if offset == CHUNK and not dropped:
            dropped.append(offset)
            route.abort("connectionreset")  # the network drops in the middle of the upload
            return
        route.continue_()

    page.route("**/explanation/upload/*?offset=*", chunks)
    data = _video(tmp_path / "talk.mp4", 2 * CHUNK + 123_456)
    page.set_input_files("#video-file", str(tmp_path / "talk.mp4"))
    page.locator("#video-message").filter(has_text="Connection lost").wait_for()
    assert page.locator("#video-progress-box").is_visible()
    percent = int(page.locator("#video-progress").get_attribute("value") or 0)
    assert 0 < percent < 100
    screenshot(page, "video-resume")
    page.locator("#video-message").filter(has_text="uploaded and saved").wait_for(timeout=60_000)

    assert dropped == [CHUNK]
    assert offsets == [0, CHUNK, CHUNK, 2 * CHUNK]  # continued from the stored chunk
    saved = _explanation(portal, invitation_id)
    storage = portal.app.extensions["heldout"].storage
    assert saved.video_type == "video/mp4" and saved.video_size == len(data)
    assert storage.read_bytes(saved.video_key) == data
    assert saved.submission_id is not None  # attached to the final submission
    assert page.locator("#current-video video").is_visible()
    assert axe_violations(page) == []


def test_closed_tab_upload_continues_when_the_same_file_is_chosen(
    portal: Portal, page: Any, tmp_path: Path
) -> None:
    invitation_id = _sign_in(portal, page)
    data = _video(tmp_path / "talk.mp4", CHUNK + 5000)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    headers = {"X-CSRF-Token": token, "Accept": "application/json"}
    started = page.request.post(
        f"{portal.url}/explanation/upload",
        data=json.dumps({"size": len(data)}),
        headers={**headers, "Content-Type": "application/json"},
    ).json()
    first = page.request.put(
        f"{portal.url}/explanation/upload/{started['id']}?offset=0",
        data=data[:CHUNK],
        headers=headers,
    )
    assert first.json()["received"] == CHUNK  # then the tab closed

    page.reload()
    page.locator("#pending-notice").filter(has_text="interrupted at 99%").wait_for()
    offsets: list[int] = []
    page.on(
        "request",
        lambda request: (
            offsets.append(int(request.url.rsplit("=", 1)[1])) if "offset=" in request.url else None
        ),
    )
    page.set_input_files("#video-file", str(tmp_path / "talk.mp4"))
    page.locator("#video-message").filter(has_text="uploaded and saved").wait_for()
    assert offsets == [CHUNK]  # only the missing part was sent
    saved = _explanation(portal, invitation_id)
    assert portal.app.extensions["heldout"].storage.read_bytes(saved.video_key) == data


def test_a_file_that_is_not_a_video_is_refused_in_the_page(
    portal: Portal, page: Any, tmp_path: Path
) -> None:
    _sign_in(portal, page)
    fake = tmp_path / "talk.mp4"
    fake.write_bytes(b"%PDF-1.7 this is not a video" + b"\0" * 100)
    page.set_input_files("#video-file", str(fake))
    page.locator("#video-message").filter(has_text="not an MP4, WebM or MOV").wait_for()


def test_recording_with_the_fake_camera_uploads_a_webm(portal: Portal, page: Any) -> None:
    invitation_id = _sign_in(portal, page, scored=False)
    page.get_by_role("button", name="Turn on camera").click()
    page.get_by_role("button", name="Start recording").click()
    page.wait_for_function(
        "() => document.querySelector('#record-time').textContent.includes('2 s')"
    )
    page.get_by_role("button", name="Stop recording").click()
    page.get_by_role("button", name="Upload this recording").wait_for()
    assert page.get_by_role("button", name="Record again").is_visible()
    duration = page.evaluate(
        "() => new Promise(r => { const v = document.querySelector('#recorder-preview');"
        " if (v.readyState >= 1) r(v.src); else v.onloadedmetadata = () => r(v.src); })"
    )
    assert duration.startswith("blob:")  # the preview plays the recording before upload
    screenshot(page, "record")
    page.get_by_role("button", name="Upload this recording").click()
    page.locator("#video-message").filter(has_text="uploaded and saved").wait_for(timeout=30_000)
    saved = _explanation(portal, invitation_id)
    assert saved.video_type == "video/webm" and (saved.video_size or 0) > 1000
    head = portal.app.extensions["heldout"].storage.read_bytes(saved.video_key)[:4]
    assert head == b"\x1a\x45\xdf\xa3"  # a real WebM from MediaRecorder


def test_markdown_explanation_renders_inert_and_survives_a_closed_tab(
    portal: Portal, page: Any
) -> None:
    invitation_id = _sign_in(portal, page)
    dialogs = collect_dialogs(page)
    text = (
        "# My approach\n\nI used **logistic regression**.\n\n"
        "<script>window.__pwned = 1; alert('script')</script>\n\n"
        '<img src="x" onerror="window.__pwned = 1; alert(\'img\')">\n\n'
        "[click](javascript:window.__pwned=1)\n"
    )
    page.get_by_label("Your explanation").fill(text)
    page.locator("#draft-status").filter(has_text="Draft saved").wait_for()
    preview = page.locator("#preview")
    preview.get_by_role("heading", name="My approach").wait_for()
    assert preview.locator("strong").inner_text() == "logistic regression"
    assert preview.locator("script, img[onerror], a[href^='javascript']").count() == 0
    screenshot(page, "explanation")

    page.close()  # the tab closes without saving
    again = page.context.new_page()
    collect_dialogs(again, dialogs)
    again.goto(f"{portal.url}/explanation")
    assert again.get_by_label("Your explanation").input_value() == text
    again.locator("#preview").get_by_role("heading", name="My approach").wait_for()
    again.get_by_role("button", name="Save written explanation").click()
    again.get_by_text("Your written explanation is saved.").wait_for()
    assert again.evaluate("() => window.__pwned") is None
    assert dialogs == []
    assert _explanation(portal, invitation_id).text == text
    assert axe_violations(again) == []


def test_keyboard_reaches_every_control_with_visible_focus(portal: Portal, page: Any) -> None:
    _sign_in(portal, page)
    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                "() => { const e = document.activeElement; if (e === document.body) return null;"
                " const o = getComputedStyle(e).outlineStyle;"
                " return [e.id || e.textContent.trim().slice(0, 30), o]; }"
            )
        )
    reached = [r for r in reached if r is not None]  # past the last control: the page itself
    names = [name for name, _ in reached]
    for control in ("video-file", "camera-start", "text"):
        assert control in names
    assert all(outline != "none" for _, outline in reached), reached


def test_a_withdrawn_link_explains_what_to_do(portal: Portal, page: Any) -> None:
    from heldout.platform.services import invitations

    token = portal.invite("zoe@example.com")
    invitations.revoke(portal.app.extensions["heldout"].db, token)
    response = page.goto(f"{portal.url}/i/{token}")
    assert response is not None and response.status == 403
    page.get_by_role("heading", name="This link does not work").wait_for()
    assert "withdrawn" in page.locator("main").inner_text()
    assert "ask for a new link" in page.locator("main").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "link-withdrawn")
    page.goto(f"{portal.url}/")
    page.get_by_role("heading", name="Welcome").wait_for()
    assert axe_violations(page) == []
