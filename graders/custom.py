"""Custom metrics: a Python function in a challenge kit (trusted admin code), registered by name."""

from __future__ import annotations

import importlib.util
import inspect
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from heldout.graders.errors import GradingError
from heldout.graders.metric import METRICS, Array, Metric, Needs, register_metric

NEEDS = ("labels", "probabilities", "values")


def load_custom_metric(
    kit_dir: Path,
    spec: str,
    higher_is_better: bool = True,
    needs: Needs = "labels",
    name: str | None = None,
    description: str | None = None,
) -> Metric:
    """Load `spec` ("metric.py:my_score") from the kit and register it (as `name` or the function).

    The function is called as `fn(y_true, y_pred, **params)` with numpy arrays aligned by id and
    must return a number; its keyword parameters with defaults become the metric's params.
    """
    file_name, _, function_name = spec.partition(":")
    if not file_name or not function_name.isidentifier():
        raise GradingError(f"custom metric {spec!r} must look like 'metric.py:function_name'")
    if needs not in NEEDS:
        raise GradingError(f"custom metric needs must be one of {', '.join(NEEDS)}, not {needs!r}")
    kit = Path(kit_dir).resolve()
    path = (kit / file_name).resolve()
    if not path.is_relative_to(kit) or not path.is_file():
        raise GradingError(f"custom metric file {file_name!r} is not a file inside {kit}")
    fn = _load_function(path, function_name)
    metric_name = name or function_name
    existing = METRICS.get(metric_name)
    if existing is not None and not existing.custom:
        raise GradingError(f"custom metric {metric_name!r} would replace a built-in metric")
    doc = (inspect.getdoc(fn) or "").strip().splitlines()
    metric = Metric(
        name=metric_name,
        description=description or (doc[0] if doc else f"Custom metric {spec}."),
        higher_is_better=higher_is_better,
        needs=needs,
        task="regression" if needs == "values" else "classification",
        score=_wrap(fn, metric_name),
        params=_defaults(fn),
        custom=True,
    )
    return register_metric(metric, replace=True)


def _load_function(path: Path, function_name: str) -> Callable[..., Any]:
    module_spec = importlib.util.spec_from_file_location(f"heldout_kit_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        raise GradingError(f"cannot load custom metric file {path}")
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # admin code: any failure becomes one clear line
        raise GradingError(f"custom metric file {path.name} failed to load: {exc!r}") from exc
    fn = getattr(module, function_name, None)
    if not callable(fn):
        raise GradingError(f"{path.name} has no function {function_name!r}")
    return fn  # type: ignore[no-any-return]


def _defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    parameters = list(inspect.signature(fn).parameters.values())[2:]
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def _wrap(fn: Callable[..., Any], name: str) -> Callable[[Array, Array, Mapping[str, Any]], float]:
    def score(y_true: Array, y_pred: Array, params: Mapping[str, Any]) -> float:
        try:
            value = float(fn(y_true, y_pred, **params))
        except GradingError:
            raise
        except Exception as exc:  # admin code: report it, never a traceback
            raise GradingError(f"custom metric {name} failed: {exc!r}") from exc
        if not math.isfinite(value):
            raise GradingError(f"custom metric {name} returned {value}, not a finite number")
        return value

    return score
