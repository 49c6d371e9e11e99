"""The failure help starts at the candidate's own failing line and jumps to that cell."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.models import Invitation
from heldout.platform.services.rendering import failing_line, notebook_html
from tests.factories import make_submission
from tests.portal.conftest import Invited

# Real IPython 8 tracebacks (ANSI colours included), as nbclient records them: a KeyError
# raised deep inside pandas from a cell's third line, and a SyntaxError.
TRACEBACKS: dict[str, list[str]] = json.loads(
    (Path(__file__).parent / "files" / "tracebacks.json").read_text()
)
LINE = "train['monthly_price'].mean()"


def test_failing_line_is_the_cells_arrow_line_not_pandas_internals() -> None:
    assert failing_line(TRACEBACKS["key_error"]) == {"number": 3, "code": LINE}


def test_failing_line_of_a_syntax_error_is_the_line_it_points_at() -> None:
    assert failing_line(TRACEBACKS["syntax_error"]) == {"number": 1, "code": "x = ("}


def test_failing_line_is_none_without_a_cell_frame() -> None:
    library_only = [t for t in TRACEBACKS["key_error"] if "Cell" not in t]
    assert failing_line(library_only) is None
    assert failing_line(None) is None
    assert failing_line("") is None


def test_every_cell_has_an_anchor_numbered_from_one() -> None:
    cells: list[dict[str, Any]] = [
        {"cell_type": "markdown", "source": "# Intro", "metadata": {}},
        {"cell_type": "code", "source": "1", "metadata": {}, "outputs": []},
        {"cell_type": "raw", "source": "r", "metadata": {}},
    ]
    page = notebook_html(json.dumps({"cells": cells}).encode())
    assert re.findall(r'<section class="cell (\w+)" id="cell-(\d+)"', page) == [
        ("markdown", "1"),
        ("code", "2"),
        ("raw", "3"),
    ]


def _failed(app: Flask, invited: Invited) -> int:
    sv = app.extensions["heldout"]
    executed = {
        "cells": [
            {"cell_type": "markdown", "source": "# My analysis", "metadata": {}},
            {
                "cell_type": "code",
                "source": "import pandas as pd\ntrain = pd.DataFrame({'a': [1]})\n" + LINE,
                "metadata": {},
                "execution_count": 1,
                "outputs": [
                    {
                        "output_type": "error",
                        "ename": "KeyError",
                        "evalue": "'monthly_price'",
                        "traceback": TRACEBACKS["key_error"],
                    }
                ],
            },
        ]
    }
    sv.storage.put_bytes("runs/f/candidate/executed.ipynb", json.dumps(executed).encode())
    with sv.db.session() as session:
        sub = make_submission(
            session,
            session.get(Invitation, invited.invitation_id),
            status="failed",
            failure="notebook_error",
        )
        sub.candidate_view = {
            "failure": {
                "category": "notebook_error",
                "message": "Cell 2 raised KeyError.",
                "hint": "Run it top to bottom.",
                "cell": 2,
                "ename": "KeyError",
                "evalue": "'monthly_price'",
                "traceback": TRACEBACKS["key_error"],
            },
            "executed_key": "runs/f/candidate/executed.ipynb",
            "run_time_s": 2.0,
        }
        return sub.id


def test_failure_card_starts_with_the_candidates_line_and_links_to_the_cell(
    app: Flask, signed_in: FlaskClient, invited: Invited
) -> None:
    sub_id = _failed(app, invited)
    page = signed_in.get(f"/submissions/{sub_id}").get_data(as_text=True)
    card = page.split('class="card failure"', 1)[1].split("</section>", 1)[0]
    line = card.index("train[&#39;monthly_price&#39;].mean()")
    heading = card.index('id="failure-heading"')
    assert heading < line < card.index("Your notebook stopped at the cell below")
    assert line < card.index('class="traceback"')
    assert "line 3 of" in card
    assert re.search(r'<a href="#notebook-heading" class="to-cell">cell 2</a>', card)
    # The notebook view opens at the failing cell, whose anchor is cell-2.
    assert f'/submissions/{sub_id}/notebook#cell-2"' in page
    notebook = signed_in.get(f"/submissions/{sub_id}/notebook").get_data(as_text=True)
    assert '<section class="cell code" id="cell-2">' in notebook

    api = signed_in.get(f"/submissions/{sub_id}.json").get_json()
    assert api["failure"]["line"] == {"number": 3, "code": LINE}
