"""Sanitized rendering of markdown and executed notebooks: nothing a candidate wrote runs."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser
from typing import Any

import pytest

from heldout.platform.services.rendering import markdown_html, notebook_html, strip_ansi

ATTACKS = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 1">',
    '<a href="javascript:window.__pwned = 1">click</a>',
    "[click](javascript:window.__pwned=1)",
    '<svg onload="window.__pwned = 1"><circle r="4"/></svg>',
    '<iframe src="https://evil.example"></iframe>',
    '<div style="background:url(https://evil.example/x)" onclick="x()">styled</div>',
    '<object data="x.swf"></object><embed src="x">',
    '<form action="https://evil.example"><input name="a"></form>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
]


DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "form", "svg", "style", "math", "input"}


class _Elements(HTMLParser):
    """The real elements and attributes of a document (escaped text does not count)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


def inert(html: str) -> bool:
    """No executable or styling vector survives as a real element or attribute."""
    for tag, attrs in elements(html):
        if tag in DANGEROUS_TAGS or "style" in attrs:
            return False
        if any(name.startswith("on") for name in attrs):
            return False
        for name in ("href", "src", "xlink:href", "action"):
            if attrs.get(name, "").strip().lower().startswith(("javascript:", "vbscript:")):
                return False
    return True


@pytest.mark.parametrize("attack", ATTACKS)
def test_markdown_renders_attacks_inert(attack: str) -> None:
    html = markdown_html(f"# Title\n\n{attack}\n\nafter")
    assert "<h1>Title</h1>" in html
    assert "after" in html
    assert inert(html), html


def test_markdown_keeps_ordinary_formatting() -> None:
    html = markdown_html(
        "**bold** _it_ `code`\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "[docs](https://example.com)\n\n```python\nx = 1 < 2\n```"
    )
    for part in ("<strong>bold</strong>", "<em>it</em>", "<code>code</code>", "<li>one</li>"):
        assert part in html
    assert "<table>" in html and "<td>2</td>" in html
    assert 'href="https://example.com"' in html and "noopener" in html
    assert "x = 1 &lt; 2" in html


def _notebook(outputs: list[dict[str, Any]], markdown: str = "# Notes") -> bytes:
    return json.dumps(
        {
            "cells": [
                {"cell_type": "markdown", "metadata": {}, "source": markdown},
                {
                    "cell_type": "code",
                    "execution_count": 1,
                    "metadata": {},
                    "source": "print('<b>hi</b>')",
                    "outputs": outputs,
                },
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    ).encode()


PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def test_notebook_outputs_are_sanitized() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
    )
    html = notebook_html(
        _notebook(
            [
                {"output_type": "stream", "name": "stdout", "text": "<script>x()</script>\n"},
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {
                        "text/html": '<table><tr><td onmouseover="x()">1</td></tr></table>'
                        '<script>alert(3)</script><img src="https://evil.example/p.png">',
                        "text/plain": "table",
                    },
                },
                {"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": svg}},
                {"output_type": "display_data", "metadata": {}, "data": {"image/png": PNG}},
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"application/javascript": "alert(4)", "text/plain": "js"},
                },
            ],
            markdown='# Notes <img src=x onerror="alert(5)">',
        )
    )
    body = html.split("<body>", 1)[1]
    assert inert(body)
    assert "&lt;script&gt;x()&lt;/script&gt;" in body  # printed text is shown, escaped
    assert "<td>1</td>" in body  # DataFrame-like tables survive
    assert "evil.example" not in body  # images only as data: URIs
    srcs = [attrs["src"] for tag, attrs in elements(body) if tag == "img" and "src" in attrs]
    assert srcs and all(src.startswith("data:image/") for src in srcs)
    assert f"data:image/png;base64,{PNG}" in srcs
    assert any(src.startswith("data:image/svg+xml;base64,") for src in srcs)  # SVG only in <img>
    assert "alert(4)" not in body  # javascript outputs are never included


def test_notebook_error_shows_traceback_without_colour_codes() -> None:
    html = notebook_html(
        _notebook(
            [
                {
                    "output_type": "error",
                    "ename": "KeyError",
                    "evalue": "'price'",
                    "traceback": ["\x1b[0;31mKeyError\x1b[0m: 'price'"],
                }
            ]
        )
    )
    assert "KeyError</span>" not in html and "\x1b" not in html
    assert "KeyError: &#x27;price&#x27;" in html or "KeyError: 'price'" in html


def test_unreadable_notebook_is_a_page_that_says_so() -> None:
    assert "not a readable notebook" in notebook_html(b"\xff\xfe nope")
    assert "not a readable notebook" in notebook_html(b'{"cells": 3}')


def test_strip_ansi() -> None:
    assert strip_ansi("\x1b[1;32mok\x1b[0m") == "ok"


def test_headings_can_be_demoted_to_fit_the_page() -> None:
    html = markdown_html("# Brief\n\n## Data\n\n###### Deep", heading_offset=2)
    assert "<h3>Brief</h3>" in html and "<h4>Data</h4>" in html and "<h6>Deep</h6>" in html
