"""Every reviewer page passes axe-core without serious or critical violations."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.review.browser import sign_in
from tests.review.conftest import seed
from tests.services import axe_violations

pytestmark = pytest.mark.browser


def test_reviewer_pages_are_accessible(app: Flask, page: Any, live_server: str) -> None:
    s = seed(app)
    page.goto(f"{live_server}/review/login")
    pages = {"login": axe_violations(page)}
    sign_in(page, live_server, s.admin)
    for name, path in (
        ("challenges", "/review/"),
        ("dashboard", f"/review/c/{s.slug}"),
        ("submission", f"/review/s/{s.submission_id}"),
        ("agreement", f"/review/c/{s.slug}/agreement"),
        ("audit", "/review/audit"),
    ):
        page.goto(f"{live_server}{path}")
        pages[name] = axe_violations(page)
    assert {name: found for name, found in pages.items() if found} == {}
