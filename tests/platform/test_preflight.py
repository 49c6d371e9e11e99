"""The static read at upload: warnings for likely failures, in the 202, never a refusal."""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from heldout.platform.runtime import runtime
from heldout.platform.services import preflight
from tests.platform.test_api import auth, submit, token  # noqa: F401 (the fixture)
from tests.web import body


def notebook(*sources: str) -> bytes:
    cells: list[dict[str, object]] = [
        {"cell_type": "code", "source": s, "metadata": {}, "outputs": [], "execution_count": None}
        for s in sources
    ]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def test_imports_the_runtime_has_give_no_warning() -> None:
    clean = notebook(
        "import os, json\nimport numpy as np\nfrom sklearn.linear_model import LogisticRegression",
        "import pandas as pd\nfrom dateutil import parser\nimport xgboost, PIL, IPython\n"
        "df = pd.read_csv('data/train.csv')",
    )
    assert preflight.read(clean, runtime()) == []


def test_each_likely_failure_is_named_with_its_cell() -> None:
    warned = preflight.read(
        notebook(
            "%pip install catboost\nimport torch",
            "!pip install -q lightgbm",
            "name = input('your name? ')",
            "df = pd.read_csv('/Users/ada/Downloads/train.csv')\nraw = open(r'C:\\data\\x.csv')",
        ),
        runtime(),
    )
    text = "\n".join(warned)
    assert "Cell 1 imports torch, which the runtime does not have" in text
    assert "Cell 1 runs `%pip install catboost`" in text
    assert "Cell 2 runs `!pip install -q lightgbm`" in text
    assert "Cell 3 calls input()" in text
    assert "Cell 4 uses the path '/Users/ada/Downloads/train.csv'" in text
    assert "C:\\\\data\\\\x.csv" in text
    assert len(warned) == 6


def test_a_cell_that_does_not_parse_is_still_read_line_by_line() -> None:
    warned = preflight.read(notebook("import catboost\nif True print('x')"), runtime())
    assert warned and "imports catboost" in warned[0]


def test_upload_with_warnings_is_accepted_and_the_202_lists_them(
    client: FlaskClient,
    token: str,  # noqa: F811
) -> None:
    response = submit(client, token, notebook("import torch\nx = input()"))
    assert response.status_code == 202
    warnings = body(response)["warnings"]
    assert any("imports torch" in w for w in warnings)
    assert any("input()" in w for w in warnings)
    assert body(submit(client, token))["warnings"] == []
