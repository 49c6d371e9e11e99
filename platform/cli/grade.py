"""`heldout grade` and `heldout metrics`: score a predictions file, list the metrics.

The graders (numpy, pyarrow) are imported inside the commands so `heldout --help` and the other
commands stay fast; scikit-learn is never imported on this path.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from heldout.graders.errors import GradingError, InvalidPredictions, UnknownMetric
from heldout.platform.cli.common import echo_json

# Invalid predictions and unknown metrics exit 2 with {"error": ...} (the contract).
EXIT_INVALID = 2


def _param(values: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--param")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw  # a bare word is a string: --param pos_label=yes
    return params


def _fail(message: str, as_json: bool, code: int) -> None:
    if as_json:
        echo_json({"error": message})
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.command("grade")
@click.argument("pred", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--labels",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Answer key CSV: id, target and optionally split (public/private).",
)
@click.option("--metric", "metric_name", required=True, help="Metric name (`heldout metrics`).")
@click.option("--id", "id_col", help="Id column; default: the first column of LABELS.")
@click.option("--target", "target_col", help="Target column; default: LABELS' other column.")
@click.option("--param", "params", multiple=True, help="Metric parameter NAME=VALUE (repeat).")
@click.option("--ci", is_flag=True, help="Add bootstrap 95% confidence intervals and baselines.")
@click.option("--resamples", default=1000, show_default=True, help="Bootstrap resamples.")
@click.option("--plots", "plots_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write the reviewer plots (SVG) into this directory.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def grade(
    pred: Path,
    labels: Path,
    metric_name: str,
    id_col: str | None,
    target_col: str | None,
    params: tuple[str, ...],
    ci: bool,
    resamples: int,
    plots_dir: Path | None,
    as_json: bool,
) -> None:
    """Score the predictions file PRED against LABELS.

    With a split column in LABELS, "score" is the public score and "private_score" the private
    one; without it, "score" covers every row.
    """
    from heldout.graders.answers import Answers
    from heldout.graders.grading import grade as run_grade

    try:
        answers = Answers.from_csv(labels, id_col, target_col)
        result = run_grade(
            pred,
            answers,
            metric_name,
            params=_param(params),
            confidence=ci,
            plots=plots_dir is not None,
            resamples=resamples,
            name=pred.name,
        )
    except (InvalidPredictions, UnknownMetric) as exc:
        _fail(str(exc), as_json, EXIT_INVALID)
        return
    except GradingError as exc:
        _fail(str(exc), as_json, 1)
        return
    if plots_dir is not None:
        plots_dir.mkdir(parents=True, exist_ok=True)
        for plot, svg in result.plots.items():
            (plots_dir / f"{plot}.svg").write_text(svg)
    if as_json:
        echo_json(result.to_json())
        return
    click.echo(_human(result.to_json()))


def _human(payload: dict[str, Any]) -> str:
    def part(label: str, split: dict[str, Any]) -> str:
        text = f"{label} {split['score']:.6g} on {split['n']} rows"
        extras = []
        if split["ci_low"] is not None:
            extras.append(f"95% CI {split['ci_low']:.4g} to {split['ci_high']:.4g}")
        if split["baseline"] is not None:
            extras.append(f"baseline {split['baseline']:.4g}")
        return text + (f" ({'; '.join(extras)})" if extras else "")

    direction = "higher" if payload["higher_is_better"] else "lower"
    pieces = [part("public" if payload["private"] else "score", payload["public"])]
    if payload["private"]:
        pieces.append(part("private", payload["private"]))
    return f"{payload['metric']} ({direction} is better): " + ", ".join(pieces)


@click.command("metrics")
@click.option("--json", "as_json", is_flag=True, help="Print the registry as JSON.")
def metrics(as_json: bool) -> None:
    """List the metrics a challenge can use, one line each."""
    from heldout.graders.metric import METRICS

    if as_json:
        echo_json(
            [
                {
                    "name": m.name,
                    "description": m.description,
                    "higher_is_better": m.higher_is_better,
                    "needs": m.needs,
                    "task": m.task,
                    "params": dict(m.params),
                }
                for m in METRICS.values()
            ]
        )
        return
    width = max(len(name) for name in METRICS)
    for m in METRICS.values():
        arrow = "↑" if m.higher_is_better else "↓"
        click.echo(f"{m.name:<{width}}  {arrow} {m.needs:<13} {m.description}")


COMMANDS = [grade, metrics]
