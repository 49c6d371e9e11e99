"""`heldout challenge new DIR`: a kit to fill in (challenge.toml, brief.md, starter.ipynb)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from heldout.challenges.errors import ChallengeError
from heldout.challenges.rubric import toml_text

TOML = """\
# Challenge-as-code: review this file like any other change. Keys: see challenges/README.md.
slug = "{slug}"
title = "{title}"
brief = "brief.md"            # markdown shown to candidates
starter = "starter.ipynb"     # optional

[data]
source = "data/source.csv"    # csv or parquet, relative to this file: put your table here
id = "id"                     # one unique, non-empty value per row
target = "target"             # what candidates predict

[split]
test_fraction = 0.3
private_fraction = 0.5        # share of test rows scored for reviewers only
stratify = true
seed = 7

[metric]
name = "f1"                   # `heldout metrics` lists the registry; [metric] params allowed

[columns]                     # one rule per personal column; unnamed columns are PII-scanned
id = "pseudonymize"           # keyed HMAC; the key is per challenge and never shipped
# name = "drop"
# signup_date = {{ shift_days = 30, by = "id" }}
# age = {{ bins = [18, 25, 35, 50, 65, 120] }}
# zip = {{ truncate = 3 }}
# income = {{ noise = "laplace", scale = 1000 }}
# salary = {{ top_code = 250000 }}
# notes = "mask"

[privacy]
quasi_identifiers = []        # e.g. ["age", "zip", "gender"]
k = 5                         # build fails below k (or drops those rows with suppress = true)
suppress = false

[limits]
timeout_s = 600
memory_mb = 2048
cpus = 1
submissions = 5               # per candidate

"""

BRIEF = """\
# {title}

What the business needs, who will use the predictions and what a wrong prediction costs.

## The data

`data/train.csv` has one row per ... with the label `target`; `data/test.csv` has the same
columns without it. See `README.md` in the download for every column and how it was
anonymized.

## What to hand in

1. A notebook that writes `predictions.csv` with the columns `id` and `target` for every row
   of `data/test.csv`. It runs on our platform without network access.
2. A short video or written explanation of your choices and trade-offs.
"""


def _starter(id_column: str, target: str) -> dict[str, object]:
    cells = [
        ("markdown", "# Starter\n\nReads the data, fits a baseline, writes `predictions.csv`."),
        (
            "code",
            "import pandas as pd\n"
            "from sklearn.dummy import DummyClassifier\n\n"
            f'ID, TARGET = "{id_column}", "{target}"\n'
            'train = pd.read_csv("data/train.csv")\n'
            'test = pd.read_csv("data/test.csv")\n'
            "train.head()",
        ),
        (
            "code",
            "model = DummyClassifier().fit(train.drop(columns=[ID, TARGET]), train[TARGET])\n"
            "predictions = pd.DataFrame(\n"
            "    {ID: test[ID], TARGET: model.predict(test.drop(columns=[ID]))}\n"
            ")\n"
            'predictions.to_csv("predictions.csv", index=False)',
        ),
    ]
    return {
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": text}
            | ({"execution_count": None, "outputs": []} if kind == "code" else {})
            for kind, text in cells
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def slug_for(directory: Path) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", directory.resolve().name.lower()).strip("-")[:63]
    return slug or "challenge"


def scaffold(directory: Path, title: str | None = None, force: bool = False) -> list[Path]:
    """Write a new kit into `directory`; refuses to overwrite an existing challenge.toml."""
    directory = Path(directory)
    toml = directory / "challenge.toml"
    if toml.exists() and not force:
        raise ChallengeError(f"{toml} already exists; pass --force to overwrite the kit files")
    slug = slug_for(directory)
    title = title or slug.replace("-", " ").capitalize()
    (directory / "data").mkdir(parents=True, exist_ok=True)
    files = {
        toml: TOML.format(slug=slug, title=title.replace('"', "'")) + toml_text(),
        directory / "brief.md": BRIEF.format(title=title),
        directory / "starter.ipynb": json.dumps(_starter("id", "target"), indent=1) + "\n",
    }
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    # Keep the data folder in git without its (personal) contents.
    gitignore = directory / "data" / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("# The source table holds personal data: keep it out of git.\n*\n")
    return list(files)
