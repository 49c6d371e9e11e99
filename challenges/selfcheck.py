"""What lets a candidate check before they spend a try: sample_submission.csv and the
check_predictions.py script (standard library only) that ship in the bundle.

Both are made from what the candidate already holds: the training target and the public test
ids. The classes a label metric accepts come from the training rows and the public test rows
(the grader's public message names the latter anyway); nothing from the private rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from heldout.challenges import artifacts
from heldout.challenges.spec import ChallengeSpec

SCRIPT = Path(__file__).with_name("check_predictions.py")
_PLACEHOLDER = "CONFIG_JSON = '"


def needs(spec: ChallengeSpec) -> str:
    """What the metric wants in the target column: labels, probabilities or values."""
    if spec.metric.custom:
        return spec.metric.needs
    from heldout.graders.metric import get_metric

    return str(get_metric(spec.metric.name).needs)


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def constant(spec: ChallengeSpec, train_target: pa.Array) -> Any:
    """A valid prediction for every row: the commonest class, a probability of 0.5, the median."""
    wanted = needs(spec)
    if wanted == "probabilities":
        return 0.5
    if wanted == "labels":
        counts = pc.value_counts(train_target.drop_null())
        values, freq = counts.field("values"), counts.field("counts").to_numpy()
        return _plain(values[int(np.argmax(freq))].as_py())
    return _plain(float(np.median(train_target.drop_null().cast(pa.float64()).to_numpy())))


def sample_submission(spec: ChallengeSpec, public_ids: pa.Array, train_target: pa.Array) -> bytes:
    """The id column of every public test row and one constant, valid target."""
    value = constant(spec, train_target)
    table = pa.table(
        {spec.data.id: public_ids, spec.data.target: pa.array([value] * len(public_ids))}
    )
    return bytes(artifacts.csv_buffer(table))


def checker(spec: ChallengeSpec, train_target: pa.Array, public_target: pa.Array) -> bytes:
    """check_predictions.py with this challenge's columns, metric and classes filled in."""
    numeric = pa.types.is_integer(train_target.type) or pa.types.is_floating(train_target.type)
    classes: list[Any] = []
    if needs(spec) == "labels":
        seen = pa.chunked_array([train_target, public_target.cast(train_target.type)])
        classes = [_plain(v) for v in pc.unique(seen.drop_null()).to_pylist()]
        classes.sort(key=(float if numeric else str))
    config = {
        "id": spec.data.id,
        "target": spec.data.target,
        "needs": needs(spec),
        "metric": spec.metric.name,
        "classes": classes,
        "numeric": numeric,
        # The worker reads the answer key's ids as text ("007" stays "007"), so the grader
        # compares ids as text, and so does the script.
        "int_ids": False,
    }
    return script(config)


def script(config: dict[str, Any]) -> bytes:
    """check_predictions.py with `config` (id, target, needs, metric, classes, numeric, int_ids)."""
    lines = SCRIPT.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith(_PLACEHOLDER))
    lines[at] = f"CONFIG_JSON = {json.dumps(json.dumps(config))}  # noqa: E501\n"
    return "".join(lines).encode()
