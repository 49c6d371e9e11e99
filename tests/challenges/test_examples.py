"""The example kits: they build, their data is reproducible from the installed package, and
their starter notebooks succeed on the host (nbclient) and in the real sandbox."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from heldout.challenges import BuildOutput, build, load_spec
from heldout.graders import grade

EXAMPLES = Path(__file__).parents[2] / "challenges" / "examples"
KITS = {"churn": "data/customers.csv", "diabetes": "data/patients.csv"}


@pytest.fixture(scope="module", params=sorted(KITS))
def example(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    name = request.param
    spec = load_spec(EXAMPLES / name)
    return name, spec, build(spec, "example-secret", tmp_path_factory.mktemp(name))


def workspace(output: BuildOutput, into: Path) -> Path:
    """What a run sees: the candidate's files, with the sandbox inputs as ./data."""
    with zipfile.ZipFile(output.bundle_zip) as bundle:
        bundle.extractall(into)
    shutil.rmtree(into / "data")
    with zipfile.ZipFile(output.sandbox_zip) as sandbox:
        sandbox.extractall(into / "data")
    return into


def test_generated_data_matches_the_committed_file(example: Any) -> None:
    name, _, _ = example
    path = EXAMPLES / name / "generate.py"
    module_spec = importlib.util.spec_from_file_location(f"gen_{name}", path)
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    committed = (EXAMPLES / name / KITS[name]).read_text()
    assert module.generate().to_csv(index=False, lineterminator="\n") == committed
    assert len(committed) < 1_000_000


def test_example_builds_with_a_task_of_each_kind(example: Any) -> None:
    name, spec, output = example
    from heldout.graders import METRICS

    assert (
        METRICS[spec.metric.name].task
        == {"churn": "classification", "diabetes": "regression"}[name]
    )
    assert output.report["rows"]["private_test"] > 0
    assert len(spec.rubric.criteria) >= 4 and spec.rubric.red_flags
    assert spec.starter_path is not None


def test_starter_notebook_succeeds_on_the_host(example: Any, tmp_path: Path) -> None:
    import nbclient

    nbformat: Any = importlib.import_module("nbformat")  # untyped library
    _, spec, output = example
    where = workspace(output, tmp_path)
    notebook = nbformat.reads((where / "starter.ipynb").read_text(), as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=120, resources={"metadata": {"path": str(where)}}
    ).execute()
    _check_predictions(spec, output, where / "predictions.csv")


@pytest.mark.docker
def test_starter_notebook_succeeds_in_the_sandbox(
    example: Any, tmp_path: Path, docker_client: Any
) -> None:
    from heldout.sandbox import DockerBackend, Limits, build_image

    build_image(client=docker_client)
    _, spec, output = example
    where = workspace(output, tmp_path / "work")
    backend = DockerBackend(worker=f"test-{uuid.uuid4().hex[:8]}", client=docker_client)
    try:
        result = backend.run(
            where / "starter.ipynb",
            where / "data",
            tmp_path / "out",
            Limits(timeout_s=float(spec.limits.timeout_s), memory_mb=spec.limits.memory_mb),
        )
    finally:
        backend.reap(worker=backend.worker)
    assert result.status == "succeeded", result.reason
    _check_predictions(spec, output, tmp_path / "out" / "predictions.csv")


def _check_predictions(spec: Any, output: BuildOutput, path: Path) -> None:
    predictions = pd.read_csv(path, dtype={spec.data.id: str})
    answers = pd.read_csv(output.answers_csv, dtype={spec.data.id: str})
    assert list(predictions.columns) == [spec.data.id, spec.data.target]
    assert set(predictions[spec.data.id]) == set(answers[spec.data.id])
    grading = grade(
        path,
        answers,
        spec.metric.name,
        id_col=spec.data.id,
        target_col=spec.data.target,
        confidence=False,
        plots=False,
    )
    assert grading.public.score is not None and grading.private is not None
