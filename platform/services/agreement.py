"""Inter-rater agreement: Cohen's kappa for two raters, Krippendorff's alpha for more.

Rubric scores are ordinal (1 to 5), so kappa is quadratically weighted (a 1 against a 5 is a
worse disagreement than a 4 against a 5) and alpha uses the ordinal distance metric.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np

Unit = Sequence[float | None]  # one item's ratings, None where a rater did not rate it


@dataclass(frozen=True)
class Agreement:
    """Agreement on one criterion across a challenge's reviewed submissions."""

    criterion: str
    method: str  # "cohen_kappa_quadratic" | "krippendorff_alpha_ordinal" | "none"
    value: float | None
    raters: int
    items: int  # submissions rated by at least two raters
    note: str = ""


def cohen_kappa(a: Sequence[float], b: Sequence[float], labels: Sequence[float]) -> float | None:
    """Quadratically weighted Cohen's kappa; None when it is undefined (no variation)."""
    from sklearn.metrics import cohen_kappa_score

    if len(a) != len(b) or len(a) < 2:
        return None
    if len(set(a) | set(b)) < 2:
        return None
    value = float(cohen_kappa_score(a, b, labels=list(labels), weights="quadratic"))
    return None if math.isnan(value) else value


def _delta_nominal(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    result: np.ndarray = (values[:, None] != values[None, :]).astype(float)
    return result


def _delta_interval(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    diff: np.ndarray = (values[:, None] - values[None, :]) ** 2
    return diff


def _delta_ordinal(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    # Krippendorff: delta(c,k) = (sum of n_g for g from c to k - (n_c + n_k) / 2) ** 2
    cumulative = np.cumsum(counts)
    low = np.minimum.outer(np.arange(len(values)), np.arange(len(values)))
    high = np.maximum.outer(np.arange(len(values)), np.arange(len(values)))
    between = cumulative[high] - cumulative[low] + counts[low]
    result: np.ndarray = (between - (counts[:, None] + counts[None, :]) / 2) ** 2
    return result


DISTANCES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "nominal": _delta_nominal,
    "ordinal": _delta_ordinal,
    "interval": _delta_interval,
}


def krippendorff_alpha(units: Sequence[Unit], level: str = "ordinal") -> float | None:
    """Krippendorff's alpha over units (items) of ratings with gaps; None if undefined."""
    if level not in DISTANCES:
        raise ValueError(f"unknown level {level!r}; valid: {', '.join(DISTANCES)}")
    pairable = [[v for v in unit if v is not None] for unit in units]
    pairable = [unit for unit in pairable if len(unit) >= 2]
    if not pairable:
        return None
    values = np.array(sorted({v for unit in pairable for v in unit}), dtype=float)
    index = {v: i for i, v in enumerate(values.tolist())}
    coincidence = np.zeros((len(values), len(values)))
    for unit in pairable:
        counts = np.zeros(len(values))
        for v in unit:
            counts[index[float(v)]] += 1
        # Every ordered pair of different ratings within a unit, weighted by 1 / (m_u - 1).
        pairs = np.outer(counts, counts) - np.diag(counts)
        coincidence += pairs / (len(unit) - 1)
    marginals = coincidence.sum(axis=1)
    total = marginals.sum()
    delta = DISTANCES[level](values, marginals)
    expected = float((np.outer(marginals, marginals) * delta).sum())
    if expected == 0:
        return None  # every rating the same value: agreement is undefined, not perfect
    observed = float((coincidence * delta).sum())
    return float(1.0 - (total - 1) * observed / expected)


def agreement(
    criterion: str,
    ratings: dict[Hashable, dict[Hashable, float]],
    labels: Sequence[float],
) -> Agreement:
    """Agreement on one criterion from {item: {rater: score}}, by the number of raters."""
    raters = sorted({r for by_rater in ratings.values() for r in by_rater}, key=str)
    shared = {item: by_rater for item, by_rater in ratings.items() if len(by_rater) >= 2}
    if len(raters) < 2 or not shared:
        return Agreement(criterion, "none", None, len(raters), len(shared), "needs two raters")
    if len(raters) == 2:
        first, second = raters
        a = [by_rater[first] for by_rater in shared.values()]
        b = [by_rater[second] for by_rater in shared.values()]
        value = cohen_kappa(a, b, labels)
        note = "" if value is not None else "undefined: too few items or no variation"
        return Agreement(criterion, "cohen_kappa_quadratic", value, 2, len(shared), note)
    units = [[by_rater.get(r) for r in raters] for by_rater in shared.values()]
    alpha = krippendorff_alpha(units, "ordinal")
    note = "" if alpha is not None else "undefined: no variation"
    return Agreement(criterion, "krippendorff_alpha_ordinal", alpha, len(raters), len(shared), note)
