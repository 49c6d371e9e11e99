"""Hostile candidate content never runs in the reviewer's browser (asserted in Chromium).

The notebook's outputs and the written explanation carry <script>, <img onerror>,
javascript: links and SVG with script. Every payload tries to set `__pwned` on the
reviewer's window (or mark its own document) and to open a dialog; none may succeed.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask import Flask

from tests.review.browser import shot, sign_in
from tests.review.conftest import seed
from tests.services import collect_dialogs

pytestmark = pytest.mark.browser

SVG_SCRIPT = (
    '<svg xmlns="http://www.w3.org/2000/svg" onload="top.__pwned=\'svg-onload\'">'
    "<script>top.__pwned='svg-script';alert('svg')</script>"
    '<rect width="10" height="10"/></svg>'
)
HTML_PAYLOAD = (
    "<script>top.__pwned='script';document.body.dataset.pwned='1';alert('x')</script>"
    "<img src=x onerror=\"top.__pwned='onerror';document.body.dataset.pwned='1'\">"
    "<a id=jslink href=\"javascript:top.__pwned='js-link';alert('link')\">click me</a>"
    "<iframe src=\"javascript:top.__pwned='iframe'\"></iframe>"
    "<form action=\"javascript:top.__pwned='form'\"><button id=jsform>go</button></form>"
    f"{SVG_SCRIPT}"
    "<object data=\"javascript:top.__pwned='object'\"></object>"
    '<div style="background:url(javascript:alert(1))">styled</div>'
)
OUTPUTS: list[dict[str, Any]] = [
    {"output_type": "display_data", "metadata": {}, "data": {"text/html": HTML_PAYLOAD}},
    {"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": SVG_SCRIPT}},
    {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "text/markdown": "[md link](javascript:top.__pwned='md')\n\n"
            "<script>top.__pwned='md-script'</script>"
        },
    },
    {
        "output_type": "execute_result",
        "execution_count": 1,
        "metadata": {},
        "data": {"text/plain": "<script>top.__pwned='plain'</script>"},
    },
    {"output_type": "stream", "name": "stdout", "text": "<img src=x onerror=top.__pwned='stream'>"},
]
EXPLANATION = (
    "My approach.\n\n<script>window.__pwned='exp-script';alert('exp')</script>\n\n"
    "<img src=x onerror=\"window.__pwned='exp-onerror'\">\n\n"
    "[explanation link](javascript:window.__pwned='exp-link')\n\n"
    f"{SVG_SCRIPT}\n\n"
    "![svg](data:image/svg+xml;base64," + base64.b64encode(SVG_SCRIPT.encode()).decode() + ")\n"
)

# Counts what could run inside `root`: handlers, javascript: URLs, script-capable elements.
DOM_CHECK = """(root) => {
    const all = [root, ...root.querySelectorAll('*')];
    const urls = ['href', 'src', 'action', 'data', 'formaction', 'xlink:href'];
    return {
        handlers: all.filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
        js_urls: all.filter(e => urls.some(n => /^\\s*javascript:/i.test(e.getAttribute(n) || '')))
            .length,
        runnable: root.querySelectorAll('script, iframe:not(#notebook), object, embed, svg, style')
            .length,
    };
}"""
SAFE = {"handlers": 0, "js_urls": 0, "runnable": 0}

CHECK = """() => ({
    pwned: window.__pwned || null,
    marked: document.body.dataset.pwned || null,
    scripts: Array.from(document.scripts).map(s => s.src),
})"""


LOGS = "Traceback <script>top.__pwned='logs'</script><img src=x onerror=top.__pwned='logs'>"


def _open(page: Any, live_server: str, app: Flask) -> tuple[Any, list[str]]:
    s = seed(app, outputs=OUTPUTS, text=EXPLANATION, logs=LOGS, filename="<img src=x onerror=1>")
    dialogs = collect_dialogs(page)
    sign_in(page, live_server, s.reviewer)
    page.goto(f"{live_server}/review/s/{s.submission_id}")
    page.wait_for_selector("#explanation")
    page.frame_locator("#notebook").locator("text=click me").wait_for()
    return s, dialogs


def test_hostile_notebook_and_explanation_never_run(
    app: Flask, page: Any, live_server: str
) -> None:
    _, dialogs = _open(page, live_server, app)
    # Give onerror/onload handlers their chance to fire.
    page.wait_for_timeout(500)
    # Click every link and button the candidate controls, in the page and in the notebook.
    page.click("#explanation >> text=explanation link")
    frame = page.frame_locator("#notebook")
    frame.locator("text=click me").click()
    frame.locator("text=md link").click()
    page.wait_for_timeout(300)

    top = page.evaluate(CHECK)
    shot(page, "hostile")
    assert top["pwned"] is None
    assert all(src.endswith("/static/review.js") for src in top["scripts"])
    assert dialogs == []

    notebook = page.frame(url=lambda u: u.endswith("/notebook"))
    assert notebook is not None
    inside = notebook.evaluate(CHECK)
    assert inside["marked"] is None
    assert inside["scripts"] == []
    assert notebook.evaluate(f"({DOM_CHECK})(document.body)") == SAFE
    # Candidate text stays visible as text where it was text.
    assert "<script>top.__pwned='plain'</script>" in notebook.inner_text("body")

    assert page.eval_on_selector("#explanation", DOM_CHECK) == SAFE
    assert "My approach." in page.inner_text("#explanation")
    # The whole reviewer page around it: logs, file name, other candidate text.
    assert page.eval_on_selector("#main", DOM_CHECK) == SAFE
    page.click("summary:has-text('Logs')")
    assert LOGS in page.inner_text("pre.logs")


def test_notebook_iframe_is_a_second_wall(
    app: Flask, page: Any, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even if the sanitizer let everything through, the sandbox and CSP stop the script."""
    from heldout.platform.services import rendering

    monkeypatch.setattr(
        rendering,
        "notebook_html",
        lambda _bytes, title="": f"<!doctype html><body><p>raw</p>{HTML_PAYLOAD}</body>",
    )
    _, dialogs = _open(page, live_server, app)
    page.wait_for_timeout(500)
    page.frame_locator("#notebook").locator("#jslink").click()
    page.wait_for_timeout(300)
    assert page.evaluate(CHECK)["pwned"] is None
    assert dialogs == []
    notebook = page.frame(url=lambda u: u.endswith("/notebook"))
    assert notebook is not None
    # The payloads are in this unsanitized document (the check sees them), yet none ran.
    found = notebook.evaluate(f"({DOM_CHECK})(document.body)")
    assert found["handlers"] > 0 and found["js_urls"] > 0 and found["runnable"] > 0
    assert notebook.evaluate(CHECK)["marked"] is None
    assert page.get_attribute("#notebook", "sandbox") == ""


def test_notebook_route_sends_the_strict_policy(app: Flask, live_server: str) -> None:
    from heldout.platform.services.rendering import NOTEBOOK_CSP
    from tests.review.conftest import login

    s = seed(app, outputs=OUTPUTS)
    client = app.test_client()
    login(client, s.reviewer)
    response = client.get(f"/review/s/{s.submission_id}/notebook")
    assert response.headers["Content-Security-Policy"] == NOTEBOOK_CSP
    assert "<script" not in response.get_data(as_text=True)
