"""The whole candidate journey in headless Chromium, against a live server and a real worker
running notebooks in the real Docker sandbox, on the churn example kit built as
`heldout challenge build` builds it: invitation, brief, bundle, a scored submission,
a failing one with its help, and the executed notebook. Screenshots go to test-artifacts/."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.portal.live import (
    FAILING_NOTEBOOK,
    GOOD_NOTEBOOK,
    KIT,
    Portal,
    live_portal,
    screenshot,
)
from tests.services import axe_violations, unavailable

pytestmark = [pytest.mark.browser, pytest.mark.docker]

RUN_TIMEOUT_MS = 240_000  # a cold container plus pandas and scikit-learn imports


@pytest.fixture
def sandbox(docker_client: Any) -> Any:
    from heldout.sandbox import DockerBackend, SandboxError, get_backend

    backend = get_backend("docker", worker="portal-journey")
    assert isinstance(backend, DockerBackend)
    try:
        backend.image_ref()
    except SandboxError as exc:
        unavailable(str(exc))
    yield backend
    backend.reap(worker="portal-journey")
    backend.close()


@pytest.fixture
def portal(tmp_path: Path, sandbox: Any) -> Iterator[Portal]:
    with live_portal(tmp_path / "home", backend=sandbox, kit=KIT) as running:
        yield running


def _row(page: Any, submission_id: int) -> Any:
    return page.locator(f'#submission-rows tr[data-id="{submission_id}"]')


def _failure_of(portal: Portal, submission_id: int) -> str:
    from heldout.platform.services import submissions

    with portal.app.extensions["heldout"].db.session() as session:
        from heldout.platform.models import Submission

        found = session.get(Submission, submission_id)
        return str(found and submissions.public_view(found))


def _submit(page: Any, path: Path) -> int:
    page.set_input_files("#notebook", str(path))
    page.get_by_role("button", name="Submit notebook").click()
    message = page.locator("#submit-message")
    message.filter(has_text="is queued").wait_for()
    return int(re.search(r"Submission (\d+)", message.inner_text()).group(1))  # type: ignore[union-attr]


def test_invitation_to_scored_submission_and_failure_help(
    portal: Portal, page: Any, tmp_path: Path
) -> None:
    token = portal.invite()
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))

    # The invitation opens a session and leaves the URL at once.
    page.goto(f"{portal.url}/i/{token}")
    assert page.url == f"{portal.url}/challenge"
    assert token not in page.url
    page.locator("main > h1").filter(has_text="Predict customer churn").wait_for()
    brief = page.locator("article.brief")
    brief.get_by_role("heading").first.wait_for()  # the kit's brief.md, rendered
    assert "churn" in brief.inner_text().lower()
    rules = page.locator(".rules").inner_text()
    assert "no time limit" in rules and "10 minutes" in rules and "2 GB" in rules
    assert "5 scored submissions" in rules and "15 attempts" in rules
    assert "scored privately" in rules and "predictions.csv" in rules
    assert "Python 3.11" in rules and "No internet access and no installing" in rules
    assert axe_violations(page) == []
    screenshot(page, "challenge")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the data and brief (.zip)").click()
    bundle = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert {"data/train.csv", "data/test.csv", "brief.md", "starter.ipynb"} <= set(
        bundle.namelist()
    )

    # A good notebook goes from queued to scored while the page watches.
    page.get_by_role("link", name="2. Submissions").click()
    good = tmp_path / "solution.ipynb"
    good.write_bytes(GOOD_NOTEBOOK)
    scored_id = _submit(page, good)
    assert page.locator("#submit-progress").get_attribute("value") == "100"
    row = _row(page, scored_id)
    row.locator(".status-scored, .status-failed").wait_for(timeout=RUN_TIMEOUT_MS)  # it polls
    assert row.locator(".status-scored").count() == 1, _failure_of(portal, scored_id)
    assert re.search(r"\d\.\d{4}", row.inner_text())  # the public score
    assert "Final" in row.inner_text()  # the latest scored is final by default
    assert "is scored" in page.locator("#announcer").inner_text()
    assert axe_violations(page) == []
    screenshot(page, "submissions")

    # A failing notebook shows its category, the cell, the exception and what to try.
    bad = tmp_path / "broken.ipynb"
    bad.write_bytes(FAILING_NOTEBOOK)
    failed_id = _submit(page, bad)
    _row(page, failed_id).locator(".status-failed").wait_for(timeout=RUN_TIMEOUT_MS)
    _row(page, failed_id).get_by_role("link", name=f"Submission {failed_id}").click()
    failure = page.locator(".failure")
    failure.get_by_role("heading", name="A cell in your notebook raised an error").wait_for()
    text = failure.inner_text()
    assert "cell 1" in text and "KeyError" in text and "monthly_price" in text
    assert "What to try" in text and "Restart" in text
    assert "monthly_price" in failure.locator("pre.traceback").inner_text()
    frame = page.frame_locator("iframe.notebook")
    frame.locator("pre.error").filter(has_text="KeyError").wait_for()
    assert page.locator("iframe.notebook").get_attribute("sandbox") == ""
    assert axe_violations(page) == []
    screenshot(page, "failure")

    # The candidate reads their own executed notebook and keeps the scored one final.
    page.goto(f"{portal.url}/submissions/{scored_id}")
    page.frame_locator("iframe.notebook").locator("pre.stdout").filter(has_text="wrote").wait_for()
    assert page.get_by_text("This is your final submission").is_visible()

    # The token never left the invitation request: not in any later URL or Referer.
    later = [r for r in requests if "/i/" not in r.url]
    assert later and all(token not in r.url for r in later)
    assert all(token not in (r.headers.get("referer") or "") for r in later)
