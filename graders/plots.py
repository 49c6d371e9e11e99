"""Reviewer plots as small, deterministic, script-free SVG documents written by hand.

Hand-written rather than matplotlib: no 0.5 s import, byte-identical output for the same input,
and nothing in the markup but shapes and escaped text.
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout.graders.classification import confusion, curve

WIDTH, HEIGHT = 360, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 32, 48
MAX_POINTS = 2000
MAX_CURVE = 1000


def _document(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" font-family="sans-serif" '
            'font-size="11">',
            f"<title>{escape(title)}</title>",
            f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
            f'<text x="{WIDTH / 2:.1f}" y="18" text-anchor="middle" font-size="13">'
            f"{escape(title)}</text>",
            *body,
            "</svg>",
        ]
    )


class _Axes:
    """Maps data coordinates to the plot area and draws the frame, ticks and labels."""

    def __init__(self, x_range: tuple[float, float], y_range: tuple[float, float]) -> None:
        self.x0, self.x1 = _padded(x_range)
        self.y0, self.y1 = _padded(y_range)

    def x(self, value: NDArray[np.float64] | float) -> Any:
        return LEFT + (value - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT)

    def y(self, value: NDArray[np.float64] | float) -> Any:
        return HEIGHT - BOTTOM - (value - self.y0) / (self.y1 - self.y0) * (HEIGHT - TOP - BOTTOM)

    def frame(self, x_label: str, y_label: str) -> list[str]:
        bottom, right = HEIGHT - BOTTOM, WIDTH - RIGHT
        parts = [
            f'<rect x="{LEFT}" y="{TOP}" width="{right - LEFT}" height="{bottom - TOP}" '
            'fill="none" stroke="#888"/>'
        ]
        for tick in np.linspace(self.x0, self.x1, 5):
            parts.append(
                f'<text x="{self.x(tick):.1f}" y="{bottom + 14}" text-anchor="middle">'
                f"{_number(tick)}</text>"
            )
        for tick in np.linspace(self.y0, self.y1, 5):
            parts.append(
                f'<text x="{LEFT - 4}" y="{self.y(tick) + 4:.1f}" text-anchor="end">'
                f"{_number(tick)}</text>"
            )
        parts.append(
            f'<text x="{(LEFT + right) / 2:.1f}" y="{HEIGHT - 12}" text-anchor="middle">'
            f"{escape(x_label)}</text>"
        )
        parts.append(
            f'<text x="14" y="{(TOP + bottom) / 2:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 14 {(TOP + bottom) / 2:.1f})">{escape(y_label)}</text>'
        )
        return parts

    def line(self, xs: NDArray[np.float64], ys: NDArray[np.float64], color: str) -> str:
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(self.x(xs), self.y(ys), strict=True))
        return f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1.5"/>'

    def dots(self, xs: NDArray[np.float64], ys: NDArray[np.float64]) -> str:
        circles = "".join(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.6"/>'
            for x, y in zip(self.x(xs), self.y(ys), strict=True)
        )
        return f'<g fill="#1f77b4" fill-opacity="0.45">{circles}</g>'


def _padded(span: tuple[float, float]) -> tuple[float, float]:
    low, high = float(span[0]), float(span[1])
    if not high > low:
        return low - 1, high + 1
    return low, high


def _number(value: float) -> str:
    return f"{value:.3g}"


def _sample(n: int, seed: int) -> NDArray[np.intp]:
    """At most MAX_POINTS rows, the same ones for the same input."""
    if n <= MAX_POINTS:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, MAX_POINTS, replace=False))


def _thin(*arrays: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    if arrays[0].size <= MAX_CURVE:
        return list(arrays)
    keep = np.unique(np.linspace(0, arrays[0].size - 1, MAX_CURVE).astype(np.intp))
    return [a[keep] for a in arrays]


def confusion_matrix(y_true: NDArray[Any], y_pred: NDArray[Any]) -> str:
    """Counts of true (rows) against predicted (columns) classes, shaded by row share."""
    cm, labels = confusion(y_true, y_pred)
    k = labels.size
    size = min(WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM) / max(k, 1)
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    body = []
    for i in range(k):
        for j in range(k):
            x, y = LEFT + j * size, TOP + i * size
            fill = f"rgb({255 - int(200 * share[i, j])},{255 - int(140 * share[i, j])},255)"
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{size:.1f}" height="{size:.1f}" '
                f'fill="{fill}" stroke="#fff"/>'
            )
            body.append(
                f'<text x="{x + size / 2:.1f}" y="{y + size / 2 + 4:.1f}" '
                f'text-anchor="middle">{int(cm[i, j])}</text>'
            )
    for i, label in enumerate(labels[:k].tolist()):
        text = escape(_number(label) if isinstance(label, float) else str(label))
        body.append(
            f'<text x="{LEFT - 4}" y="{TOP + (i + 0.5) * size + 4:.1f}" text-anchor="end">'
            f"{text}</text>"
        )
        body.append(
            f'<text x="{LEFT + (i + 0.5) * size:.1f}" y="{TOP + k * size + 14:.1f}" '
            f'text-anchor="middle">{text}</text>'
        )
    body.append(f'<text x="{LEFT}" y="{HEIGHT - 8}">rows: true class; columns: predicted</text>')
    return _document("Confusion matrix", body)


def roc_curve(y: NDArray[np.bool_], score: NDArray[np.float64]) -> str:
    tps, fps, _ = curve(y, score)
    tpr = np.r_[0.0, tps] / max(tps[-1], 1)
    fpr = np.r_[0.0, fps] / max(fps[-1], 1)
    fpr, tpr = _thin(fpr, tpr)
    axes = _Axes((0, 1), (0, 1))
    body = axes.frame("false positive rate", "true positive rate")
    body.append(axes.line(np.array([0.0, 1.0]), np.array([0.0, 1.0]), "#bbb"))
    body.append(axes.line(fpr, tpr, "#d62728"))
    return _document("ROC curve", body)


def precision_recall_curve(y: NDArray[np.bool_], score: NDArray[np.float64]) -> str:
    tps, fps, _ = curve(y, score)
    precision = tps / (tps + fps)
    recall = tps / max(tps[-1], 1)
    recall, precision = _thin(np.r_[0.0, recall], np.r_[precision[:1], precision])
    axes = _Axes((0, 1), (0, 1))
    body = axes.frame("recall", "precision")
    prevalence = float(y.mean()) if y.size else 0.0
    body.append(axes.line(np.array([0.0, 1.0]), np.array([prevalence, prevalence]), "#bbb"))
    body.append(axes.line(recall, precision, "#d62728"))
    return _document("Precision-recall curve", body)


def predicted_vs_actual(y: NDArray[np.float64], pred: NDArray[np.float64], seed: int) -> str:
    rows = _sample(y.size, seed)
    low = float(min(y.min(), pred.min())) if y.size else 0.0
    high = float(max(y.max(), pred.max())) if y.size else 1.0
    axes = _Axes((low, high), (low, high))
    body = axes.frame("actual", "predicted")
    body.append(axes.line(np.array([low, high]), np.array([low, high]), "#bbb"))
    body.append(axes.dots(y[rows], pred[rows]))
    return _document("Predicted vs actual", body)


def residuals(y: NDArray[np.float64], pred: NDArray[np.float64], seed: int) -> str:
    rows = _sample(y.size, seed)
    errors = y - pred
    axes = _Axes(
        (float(pred.min()), float(pred.max())) if y.size else (0.0, 1.0),
        (float(errors.min()), float(errors.max())) if y.size else (-1.0, 1.0),
    )
    body = axes.frame("predicted", "actual - predicted")
    body.append(axes.line(np.array([axes.x0, axes.x1]), np.array([0.0, 0.0]), "#bbb"))
    body.append(axes.dots(pred[rows], errors[rows]))
    return _document("Residuals", body)
