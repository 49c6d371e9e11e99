"""The worker on the real Docker backend: a notebook that prints and raises with the private
rows shows the candidate only their own rows (the candidate run on the bundle)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.models import Submission
from heldout.platform.services import submissions
from heldout.platform.storage import Storage
from heldout.platform.worker.loop import Worker
from heldout.sandbox import DockerBackend, build_image
from tests.platform.worker.helpers import load

PRIVATE_ID = re.compile(r"\bid1[0-9]\b")
CELLS = [
    'import pandas as pd\ntest = pd.read_csv("data/test.csv")\nprint(test.to_string())',
    'if len(test) > 10:\n    raise KeyError("rows: " + ",".join(test["cid"]))\n'
    'test.assign(y=test["x"] % 2)[["cid", "y"]].to_csv("predictions.csv", index=False)',
]


def notebook() -> dict[str, Any]:
    cells: list[dict[str, Any]] = [
        {"cell_type": "code", "id": f"c{n}", "metadata": {}, "execution_count": None,
         "outputs": [], "source": source}
        for n, source in enumerate(CELLS)
    ]  # fmt: skip
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": kernel}, "cells": cells}


@pytest.fixture
def docker_backend(docker_client: Any) -> Iterator[DockerBackend]:
    build_image(client=docker_client)  # quick when the image is built already
    backend = DockerBackend(worker=f"test-worker-{uuid.uuid4().hex[:8]}", client=docker_client)
    yield backend
    backend.reap(worker=backend.worker)


@pytest.mark.docker
def test_private_rows_printed_and_raised_never_reach_the_candidate(
    config: Config,
    db: Database,
    storage: Storage,
    submission_id: int,
    docker_backend: DockerBackend,
) -> None:
    storage.put_bytes("submissions/nb.ipynb", json.dumps(notebook()).encode())
    worker = Worker(config, db, storage, docker_backend, poll_s=0.01, name=docker_backend.worker)
    worker.run(until_idle=True)
    sub = load(db, submission_id)
    assert (sub.status, sub.failure) == ("failed", "notebook_error"), sub.failure_message
    assert PRIVATE_ID.search(sub.failure_message or "")  # reviewers see the scored run
    with db.session() as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        shown = json.dumps(submissions.public_view(row))
    assert not PRIVATE_ID.search(shown), shown
    failure = json.loads(shown)["failure"]
    assert re.search(
        r"On the test rows you have, your notebook ran; it failed on the hidden test rows "
        r"in cell \d with a KeyError\.",
        failure["message"],
    )
    executed = storage.read_bytes(submissions.executed_key(db, sub.invitation_id, sub.id))
    text = executed.decode()
    assert "id3" in text and not PRIVATE_ID.search(text)  # printed: the candidate's rows only
    statuses = {r.purpose: r.status for r in sub.runs}
    assert statuses == {"scored": "failed", "candidate": "succeeded"}
