"""Candidate-controlled content as safe HTML: markdown, and executed notebooks.

Everything a candidate wrote or a notebook printed goes through nh3 with a short allowlist:
no script, no event handlers, no `style`, no javascript: URLs; images only as data: URIs
(SVG only inside <img>, where it cannot run script). The notebook document is meant for a
sandboxed iframe served with `NOTEBOOK_CSP`, a second wall behind the sanitizer.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from typing import Any

import nh3
from markdown_it import MarkdownIt

# The notebook route sends this header; the page embeds it with `sandbox=""`.
# `sandbox`: opened directly (not in the page's sandboxed iframe) it still runs nothing and
# gets an opaque origin.
NOTEBOOK_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"

_TAGS = set(nh3.ALLOWED_TAGS) - {"area", "map"}
_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "ol": {"start"},
    "code": {"class"},
    "span": {"class"},
    "div": {"class"},
    "table": {"class"},
    "abbr": {"title"},
}
_LINK_SCHEMES = {"http", "https", "mailto"}
_IMAGE_DATA = re.compile(r"^data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*$")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_RASTER = ("image/png", "image/jpeg", "image/gif", "image/webp")
MAX_OUTPUT_CHARS = 200_000  # a runaway print loop must not make a 100 MB page


def _keep_attribute(element: str, attribute: str, value: str) -> str | None:
    """Links may point at the web or mail; images only at inline data."""
    if element == "img" and attribute == "src":
        return value if _IMAGE_DATA.match(value.strip()) else None
    if element == "a" and attribute == "href":
        scheme = value.split(":", 1)[0].strip().lower() if ":" in value else ""
        if value.startswith("#") or scheme in _LINK_SCHEMES:
            return value
        return None
    return value


def clean_html(fragment: str) -> str:
    """Sanitize an HTML fragment with the allowlist shared by briefs, explanations, notebooks."""
    return str(
        nh3.clean(
            fragment,
            tags=_TAGS,
            clean_content_tags={"script", "style", "template", "textarea", "title"},
            attributes=_ATTRIBUTES,
            attribute_filter=_keep_attribute,
            url_schemes=_LINK_SCHEMES | {"data"},
            link_rel="noopener noreferrer nofollow",
            strip_comments=True,
        )
    )


_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])


_HEADING = re.compile(r"<(/?)h([1-6])>")


def markdown_html(text: str, heading_offset: int = 0) -> str:
    """Markdown to sanitized HTML; raw HTML in the source is shown as text, never run.

    `heading_offset` demotes headings so that an embedded document keeps the page's outline.
    """
    html = clean_html(_MD.render(text or ""))
    if heading_offset:
        html = _HEADING.sub(
            lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + heading_offset, 6)}>", html
        )
    return html


def strip_ansi(text: str) -> str:
    """Remove terminal colour codes (IPython colours its tracebacks)."""
    return _ANSI.sub("", text)


# IPython heads a frame in a notebook cell with "Cell In[3], line 2" (older: "Input In [3]",
# "<ipython-input-3-...>"); library frames start with "File /path/to/module.py:...".
_CELL_FRAME = re.compile(r"^\s*(Cell In ?\[|Input In ?\[|<ipython-input-)")
_ARROW = re.compile(r"^-+>\s*(\d+)\s?(.*)$")
_NUMBERED = re.compile(r"^\s*\d+\s")


def failing_line(traceback: Any) -> dict[str, Any] | None:
    """The candidate's own line that failed, from an IPython traceback: the `---->` line of the
    innermost frame in a notebook cell, not the library internals below it.

    Returns {"number": line in its cell, "code": the line} or None when no cell frame has one.
    """
    frames = traceback if isinstance(traceback, list) else [traceback or ""]
    found: dict[str, Any] | None = None
    for frame in frames:
        lines = strip_ansi(str(frame)).splitlines()
        head = next((i for i, line in enumerate(lines) if _CELL_FRAME.match(line)), None)
        if head is None:
            continue
        for line in lines[head + 1 :]:
            arrow = _ARROW.match(line.strip())
            if arrow:
                found = {"number": int(arrow.group(1)), "code": arrow.group(2).rstrip()[:500]}
                break
        else:  # a SyntaxError's frame: the header, then the offending line, unnumbered
            body = lines[head + 1 :]
            code = next((x.strip() for x in body if x.strip().strip("^")), None)
            number = re.search(r"line (\d+)", lines[head])
            if code and number and not any(_NUMBERED.match(x) for x in body):
                found = {"number": int(number.group(1)), "code": code[:500]}
    return found


def _text(value: Any) -> str:
    text = "".join(value) if isinstance(value, list) else str(value or "")
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + "\n… (output truncated)"
    return text


def _pre(text: str, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f"<pre{cls}>{html.escape(strip_ansi(_text(text)))}</pre>"


def _image(mime: str, data: Any) -> str:
    payload = _text(data).strip()
    if mime == "image/svg+xml":
        payload = base64.b64encode(payload.encode()).decode()
    else:
        try:
            base64.b64decode(re.sub(r"\s+", "", payload), validate=True)
        except (binascii.Error, ValueError):
            return '<p class="note">[an image that could not be read]</p>'
        payload = re.sub(r"\s+", "", payload)
    return f'<img alt="output image" src="data:{mime};base64,{payload}">'


def _rich(data: dict[str, Any]) -> str:
    """The richest safe rendering of one display_data / execute_result bundle."""
    for mime in _RASTER:
        if mime in data:
            return _image(mime, data[mime])
    if "image/svg+xml" in data:
        return _image("image/svg+xml", data["image/svg+xml"])
    if "text/html" in data:
        return f'<div class="html-output">{clean_html(_text(data["text/html"]))}</div>'
    if "text/markdown" in data:
        return markdown_html(_text(data["text/markdown"]))
    if "application/json" in data:
        return _pre(json.dumps(data["application/json"], indent=2))
    for mime in ("text/latex", "text/plain"):
        if mime in data:
            return _pre(data[mime])
    return '<p class="note">[output of a type that is not shown]</p>'


def _output(output: dict[str, Any]) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        css = "stderr" if output.get("name") == "stderr" else "stdout"
        return _pre(output.get("text", ""), css)
    if kind == "error":
        head = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
        trace = "\n".join(strip_ansi(str(line)) for line in output.get("traceback") or [])
        return _pre(trace or head, "error")
    if kind in ("display_data", "execute_result"):
        return _rich(output.get("data") or {})
    return ""


def _source(source: str) -> str:
    try:
        from pygments import highlight  # type: ignore[import-untyped,unused-ignore]
        from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped,unused-ignore]
        from pygments.lexers import PythonLexer  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # pragma: no cover  (pygments comes with nbconvert)
        return _pre(source, "source")
    body = highlight(source, PythonLexer(), HtmlFormatter(nowrap=True))
    return f'<pre class="source highlight">{body}</pre>'


def _cell(index: int, cell: dict[str, Any]) -> str:
    # Every cell's anchor is its number counting every cell from 1, as the failure card and
    # the sandbox count them: `#cell-3` is the third cell, whatever its type.
    anchor = f'id="cell-{index + 1}"'
    kind = cell.get("cell_type")
    source = _text(cell.get("source", ""))
    if kind == "markdown":
        return f'<section class="cell markdown" {anchor}>{markdown_html(source)}</section>'
    if kind == "raw":
        return f'<section class="cell raw" {anchor}>{_pre(source)}</section>'
    count = cell.get("execution_count")
    label = f"[{count}]" if isinstance(count, int) else "[ ]"
    outputs = "".join(_output(o) for o in cell.get("outputs") or [] if isinstance(o, dict))
    return (
        f'<section class="cell code" {anchor}>'
        f'<div class="prompt">Cell {index + 1} <span>{label}</span></div>{_source(source)}'
        f'<div class="outputs">{outputs}</div></section>'
    )


def _pygments_css() -> str:
    try:
        from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # pragma: no cover
        return ""
    return str(HtmlFormatter(style="friendly").get_style_defs(".highlight"))


_PAGE_CSS = """
body { font: 15px/1.5 system-ui, sans-serif; color: #1d2330; margin: 0; padding: 1rem; }
.cell { margin: 0 0 1rem; }
.cell:target { outline: 3px solid #c0392b; outline-offset: 4px; border-radius: 4px; }
.prompt { color: #5a6275; font-size: 0.8rem; margin-bottom: 0.2rem; }
pre { background: #f3f4f7; padding: 0.6rem; overflow: auto; border-radius: 6px;
      font: 13px/1.4 ui-monospace, monospace; white-space: pre-wrap; word-break: break-word; }
.outputs pre { background: #fff; border: 1px solid #dfe3ea; }
pre.stderr { background: #fff8e6; } pre.error { background: #fdecea; color: #7a1a14; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border: 1px solid #dfe3ea; padding: 0.2rem 0.5rem; text-align: right; }
.note { color: #5a6275; font-style: italic; }
"""


def notebook_html(notebook_bytes: bytes, title: str = "Executed notebook") -> str:
    """A whole HTML document of an executed notebook, every candidate output sanitized."""
    try:
        notebook = json.loads(notebook_bytes)
        cells = notebook.get("cells") if isinstance(notebook, dict) else None
        if not isinstance(cells, list):
            raise ValueError("no cells")
    except (ValueError, UnicodeDecodeError):
        body = '<p class="note">This file is not a readable notebook.</p>'
    else:
        body = "".join(_cell(i, c) for i, c in enumerate(cells) if isinstance(c, dict))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        f"<style>{_PAGE_CSS}{_pygments_css()}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
