"""Anonymization transforms: a registry from rule name to a vectorized Arrow implementation.

A rule in `[columns]` is either a name (`email = "drop"`) or a table whose one transform key
carries the main parameter (`zip = { truncate = 3 }`,
`income = { noise = "laplace", scale = 1000 }`).
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from heldout.challenges.errors import ChallengeError
from heldout.challenges.keyed import KeyedHasher
from heldout.challenges.pii import MASK_KINDS, mask_text


@dataclass(frozen=True)
class Rule:
    """One column's rule as written in challenge.toml."""

    column: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_toml_value(self) -> Any:
        return dict(self.params) if self.params else self.kind

    def describe(self) -> str:
        return TRANSFORMS[self.kind].describe(self)


@dataclass
class Context:
    """What a transform may use besides its column: the source table, the keys, the seed."""

    table: pa.Table
    hasher: KeyedHasher
    seed: int
    id_column: str
    unique: frozenset[str] = frozenset()  # columns known to hold distinct, non-null values


Apply = Callable[[pa.ChunkedArray, Rule, Context], pa.ChunkedArray | None]


@dataclass(frozen=True)
class Transform:
    name: str
    check: Callable[[dict[str, Any]], None]  # raises ValueError naming the bad parameter
    apply: Apply
    describe: Callable[[Rule], str]
    params: tuple[str, ...] = ()


# ---------------------------------------------------------------- parameter checks


def _allowed(params: dict[str, Any], name: str, extra: tuple[str, ...]) -> None:
    unknown = sorted(set(params) - {name, *extra})
    if unknown:
        valid = ", ".join((name, *extra))
        raise ValueError(f"unknown parameter {unknown[0]!r} for {name}; valid: {valid}")


def _number(value: Any, what: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{what} must be positive, got {value!r}")
    return float(value)


def _check_none(name: str, extra: tuple[str, ...] = ()) -> Callable[[dict[str, Any]], None]:
    def check(params: dict[str, Any]) -> None:
        _allowed(params, name, extra)

    return check


def _check_pseudonymize(params: dict[str, Any]) -> None:
    _allowed(params, "pseudonymize", ("prefix", "length"))
    if params and params.get("pseudonymize") is not True:
        raise ValueError("write pseudonymize = true in a table")
    if not isinstance(params.get("prefix", ""), str):
        raise ValueError("prefix must be text")
    length = params.get("length", 16)
    if isinstance(length, bool) or not isinstance(length, int) or not 8 <= length <= 32:
        raise ValueError(f"length must be a whole number of hex digits from 8 to 32, got {length}")


def _check_shift(params: dict[str, Any]) -> None:
    _allowed(params, "shift_days", ("by",))
    days = params["shift_days"]
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"shift_days must be a positive whole number of days, got {days!r}")
    if "by" in params and not isinstance(params["by"], str):
        raise ValueError("by must name a column")


def _check_bins(params: dict[str, Any]) -> None:
    _allowed(params, "bins", ("labels",))
    edges = params["bins"]
    if not isinstance(edges, list) or len(edges) < 2:
        raise ValueError("bins must be a list of at least two edges, e.g. [18, 25, 35]")
    values = [_number(edge, "each bin edge") for edge in edges]
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError(f"bin edges must increase strictly, got {edges}")
    labels = params.get("labels")
    if labels is not None and (
        not isinstance(labels, list)
        or len(labels) != len(edges) + 1
        or not all(isinstance(label, str) for label in labels)
    ):
        raise ValueError(
            f"labels must be {len(edges) + 1} texts: below the first edge, each bin, "
            "and at or above the last edge"
        )


def _check_truncate(params: dict[str, Any]) -> None:
    _allowed(params, "truncate", ())
    value = params["truncate"]
    if isinstance(value, str):
        if value not in TEMPORAL_UNITS:
            raise ValueError(f"truncate unit must be one of {', '.join(TEMPORAL_UNITS)}")
    elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"truncate must keep at least 1 character, got {value!r}")


def _check_noise(params: dict[str, Any]) -> None:
    _allowed(params, "noise", ("scale", "seed", "round"))
    if params["noise"] not in NOISES:
        raise ValueError(f"noise must be one of {', '.join(NOISES)}, got {params['noise']!r}")
    if "scale" not in params:
        raise ValueError("noise needs a scale (the Laplace b, or the Gaussian standard deviation)")
    _number(params["scale"], "scale", positive=True)
    for key in ("seed", "round"):
        value = params.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{key} must be a whole number >= 0, got {value!r}")


def _check_code(name: str) -> Callable[[dict[str, Any]], None]:
    def check(params: dict[str, Any]) -> None:
        _allowed(params, name, ("top_code", "bottom_code"))
        for key in ("top_code", "bottom_code"):
            if key in params:
                _number(params[key], key)
        both = "top_code" in params and "bottom_code" in params
        if both and params["bottom_code"] >= params["top_code"]:
            raise ValueError("bottom_code must be below top_code")

    return check


def _check_mask(params: dict[str, Any]) -> None:
    _allowed(params, "mask", ())
    kinds = params["mask"]
    if kinds is True:
        return
    if not isinstance(kinds, list) or not kinds:
        raise ValueError(f"mask must be true or a list of kinds from: {', '.join(MASK_KINDS)}")
    for kind in kinds:
        if kind not in MASK_KINDS:
            raise ValueError(f"unknown mask kind {kind!r}; valid: {', '.join(MASK_KINDS)}")


# ---------------------------------------------------------------- implementations

NOISES = ("laplace", "gaussian")
TEMPORAL_UNITS = ("year", "month", "week", "day", "hour")


def _drop(column: pa.ChunkedArray, rule: Rule, ctx: Context) -> pa.ChunkedArray | None:
    return None


def _keep(column: pa.ChunkedArray, rule: Rule, ctx: Context) -> pa.ChunkedArray | None:
    return column


def _pseudonymize(column: pa.ChunkedArray, rule: Rule, ctx: Context) -> pa.ChunkedArray:
    keyed = ctx.hasher.of(rule.column, column, rule.column in ctx.unique)
    names = keyed.pseudonyms(rule.params.get("prefix", "p"), rule.params.get("length", 16))
    return pa.chunked_array([keyed.per_row(names)])


def _shift_days(column: pa.ChunkedArray, rule: Rule, ctx: Context) -> pa.ChunkedArray:
    by = rule.params.get("by", ctx.id_column)
    keyed = ctx.hasher.of(by, ctx.table.column(by), by in ctx.unique)
    days = int(rule.params["shift_days"])
    offsets = keyed.per_row(keyed.offsets(days))
    dates = _as_temporal(rule.column, column)
    if pa.types.is_date(dates.type):
        shifted = pc.add(pc.cast(pc.cast(dates, pa.date32()), pa.int32()), offsets)
        return _chunked(pc.cast(pc.cast(shifted, pa.int32()), pa.date32()))
    unit = dates.type.unit
    per_day = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
    delta = pc.cast(pc.multiply(pc.cast(offsets, pa.int64()), per_day[unit]), pa.duration(unit))
    return _chunked(pc.add(dates.combine_chunks(), delta))


def _chunked(values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    # pa.chunked_array([a_chunked_array]) would walk it value by value: wrap arrays only.
    return values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])


def _as_temporal(name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_date(column.type) or pa.types.is_timestamp(column.type):
        return column
    for target in (pa.date32(), pa.timestamp("s")):
        try:
            return pc.cast(column, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    raise ChallengeError(
        f"column {name!r}: values are not dates (expected ISO 8601 like 2024-05-31 or "
        "2024-05-31 14:00:00), so shift_days and truncate to a unit cannot apply"
    )


def _numeric(name: str, column: pa.ChunkedArray, rule: str) -> pa.ChunkedArray:
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return column
    try:
        return pc.cast(column, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ChallengeError(
            f"column {name!r} ({column.type}) is not numeric, so {rule} cannot apply"
        ) from None


def _bins(column: pa.ChunkedArray, rule: Rule, ctx: Context) -> pa.ChunkedArray:
    values = _numeric(rule.column, column, "bins")
    edges = np.asarray(rule.params["bins"], dtype=np.float64)
    labels = rule.params.get("labels") or _bin_labels(rule.params["bins"])
    numbers = pc.cast(values, pa.float64()).combine_chunks().to_numpy(zero_copy_only=False)
    index = np.searchsorted(edges, np.nan_to_num(numbers, nan=edges[0]), side="right")
    codes = pa.array(index.astype(np.int32), mask=np.isnan(numbers))
    return pa.chunked_array([pa.array(labels, pa.string()).take(codes)])


def _bin_labels(edges: list[float]) -> list[str]:
    shown = [f"{e:g}" for e in edges]
    middle = [f"[{a}, {b})" for a, b in itertools.pairwise(shown)]
    return [f"<{shown[0]}", *middle, f">={shown[-1]}"]


def _truncate(column: pa.ChunkedArray, rule: Rule, ctx: Context) -> pa.ChunkedArray:
    keep = rule.params["truncate"]
    if isinstance(keep, str):
        dates = _as_temporal(rule.column, column)
        return _chunked(pc.floor_temporal(dates, unit=keep))
    text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
    return _chunked(pc.utf8_slice_codeunits(text, 0, keep))


def _noise(column: pa.ChunkedArray, rule: Rule, ctx: Context) -> pa.ChunkedArray:
    values = _numeric(rule.column, column, "noise")
    seed = rule.params.get("seed", ctx.seed)
    # One stream per column, so adding a column never changes another column's noise.
    rng = np.random.default_rng([seed, zlib.crc32(rule.column.encode())])
    combined = values.combine_chunks()
    numbers = pc.cast(combined, pa.float64()).to_numpy(zero_copy_only=False)
    scale = float(rule.params["scale"])
    if rule.params["noise"] == "laplace":
        noisy = numbers + rng.laplace(0.0, scale, len(numbers))
    else:
        noisy = numbers + rng.normal(0.0, scale, len(numbers))
    missing = np.isnan(numbers)
    if pa.types.is_integer(values.type):
        return pa.chunked_array([pa.array(np.rint(noisy).astype(np.int64), mask=missing)])
    if "round" in rule.params:
        noisy = np.round(noisy, rule.params["round"])
    return pa.chunked_array([pa.array(noisy, mask=missing)])


def _code(column: pa.ChunkedArray, rule: Rule, ctx: Context) -> pa.ChunkedArray:
    values = _numeric(rule.column, column, rule.kind)
    result = values
    if "top_code" in rule.params:
        top = pa.scalar(rule.params["top_code"]).cast(values.type, safe=False)
        result = pc.min_element_wise(result, top, skip_nulls=False)
    if "bottom_code" in rule.params:
        bottom = pa.scalar(rule.params["bottom_code"]).cast(values.type, safe=False)
        result = pc.max_element_wise(result, bottom, skip_nulls=False)
    return _chunked(result)


def _mask(column: pa.ChunkedArray, rule: Rule, ctx: Context) -> pa.ChunkedArray:
    kinds = rule.params.get("mask", True)
    chosen = MASK_KINDS if kinds is True else tuple(k for k in MASK_KINDS if k in kinds)
    text = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
    return _chunked(mask_text(text, chosen))


def _described(template: str) -> Callable[[Rule], str]:
    def describe(rule: Rule) -> str:
        return template.format(**rule.params)

    return describe


def _describe_code(rule: Rule) -> str:
    parts = []
    if "bottom_code" in rule.params:
        parts.append(f"values below {rule.params['bottom_code']} set to it")
    if "top_code" in rule.params:
        parts.append(f"values above {rule.params['top_code']} set to it")
    return "; ".join(parts)


def _describe_truncate(rule: Rule) -> str:
    keep = rule.params["truncate"]
    if isinstance(keep, str):
        return f"dates truncated to the {keep}"
    return f"truncated to the first {keep} character(s)"


def _describe_shift(rule: Rule) -> str:
    by = rule.params.get("by")
    per = f"per {by}" if by else "per row's id"
    days = rule.params["shift_days"]
    return f"dates shifted by a secret offset of up to ±{days} days, the same {per}"


TRANSFORMS: dict[str, Transform] = {
    t.name: t
    for t in (
        Transform("drop", _check_none("drop"), _drop, _described("removed")),
        Transform("keep", _check_none("keep"), _keep, _described("kept as is (reviewed)")),
        Transform(
            "pseudonymize",
            _check_pseudonymize,
            _pseudonymize,
            _described("replaced by a keyed pseudonym, stable within this challenge"),
            ("prefix", "length"),
        ),
        Transform("shift_days", _check_shift, _shift_days, _describe_shift, ("by",)),
        Transform("bins", _check_bins, _bins, _described("grouped into bins {bins}"), ("labels",)),
        Transform("truncate", _check_truncate, _truncate, _describe_truncate),
        Transform(
            "noise",
            _check_noise,
            _noise,
            _described("{noise} noise added (scale {scale})"),
            ("scale", "seed", "round"),
        ),
        Transform("top_code", _check_code("top_code"), _code, _describe_code, ("bottom_code",)),
        Transform("bottom_code", _check_code("bottom_code"), _code, _describe_code, ("top_code",)),
        Transform("mask", _check_mask, _mask, _described("personal data in the text masked")),
    )
}


def parse_rule(column: str, value: Any) -> Rule:
    """A Rule from its TOML value; raises ValueError with a message for humans."""
    valid = ", ".join(TRANSFORMS)
    if isinstance(value, str):
        if value not in TRANSFORMS:
            raise ValueError(f"unknown rule {value!r}; valid rules: {valid}")
        transform = TRANSFORMS[value]
        if value in ("shift_days", "bins", "truncate", "noise", "top_code", "bottom_code"):
            raise ValueError(f"{value} needs parameters, e.g. {{ {value} = ... }}")
        return Rule(column, value, {})
    if not isinstance(value, dict):
        raise ValueError(
            f'a rule is a name ("drop") or a table ({{ truncate = 3 }}); valid: {valid}'
        )
    kinds = [key for key in value if key in TRANSFORMS]
    if {"top_code", "bottom_code"} <= set(kinds):
        kinds = ["top_code"]
    if len(kinds) != 1:
        raise ValueError(
            f"a rule table needs exactly one of: {valid}; got {', '.join(value) or 'nothing'}"
        )
    transform = TRANSFORMS[kinds[0]]
    transform.check(dict(value))
    return Rule(column, transform.name, dict(value))
