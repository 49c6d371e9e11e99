"""Build a challenge: read, scan, anonymize, split, check k, write the three artifacts.

Everything is written to a temporary directory inside `out_dir` and moved into place only
when every stage succeeded, so a failed build leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from heldout.challenges import artifacts, pii, privacy, selfcheck, source
from heldout.challenges.errors import (
    ChallengeError,
    KAnonymityError,
    PIIFound,
    PseudonymCollision,
    SourceError,
)
from heldout.challenges.keyed import KeyedHasher
from heldout.challenges.spec import ChallengeSpec
from heldout.challenges.split import Split, split_rows, strata
from heldout.challenges.transforms import TRANSFORMS, Context

Progress = Callable[[str, int, int], None]
"""`progress(stage, done, total)`; stages come in the order of STAGES."""

STAGES = ("read", "scan", "anonymize", "split", "privacy", "write")
NAMES = {
    "bundle": "bundle.zip",
    "sandbox": "sandbox.zip",
    "answers": "answers.csv",
    "report": "report.json",
}


@dataclass(frozen=True)
class BuildOutput:
    """Paths of the artifacts, the anonymization report and the hash of the sandbox inputs."""

    bundle_zip: Path
    sandbox_zip: Path
    answers_csv: Path
    report_json: Path
    report: dict[str, Any]
    data_sha256: str
    starter: Path | None

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.report["rows"]
        return counts


def _quiet(stage: str, done: int, total: int) -> None:
    return None


def build(
    spec: ChallengeSpec,
    secret: str,
    out_dir: Path,
    progress: Progress | None = None,
    extra: Sequence[tuple[str, bytes]] = (),
) -> BuildOutput:
    """Build `spec` with the per-challenge `secret` into `out_dir` (bundle, sandbox, answers);
    `extra` files (name, bytes) go into the bundle as they are (the platform's requirements)."""
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=out_dir))
    try:
        report, data_sha = _build(spec, secret, work, progress or _quiet, extra)
        for name in NAMES.values():
            (work / name).replace(out_dir / name)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    shutil.rmtree(work, ignore_errors=True)
    return BuildOutput(
        bundle_zip=out_dir / NAMES["bundle"],
        sandbox_zip=out_dir / NAMES["sandbox"],
        answers_csv=out_dir / NAMES["answers"],
        report_json=out_dir / NAMES["report"],
        report=report,
        data_sha256=data_sha,
        starter=spec.starter_path,
    )


def _build(
    spec: ChallengeSpec,
    secret: str,
    work: Path,
    progress: Progress,
    extra: Sequence[tuple[str, bytes]],
) -> tuple[dict[str, Any], str]:
    # Laps of this thread: the pool's work overlaps them (the split and the k check are done
    # inside "anonymize"), so they show where the wait was, not what each stage cost alone.
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    clock, cpu_clock = time.perf_counter(), time.process_time()

    def lap(stage: str) -> None:
        nonlocal clock, cpu_clock
        now, cpu_now = time.perf_counter(), time.process_time()
        timings[stage], cpu[stage] = round(now - clock, 3), round(cpu_now - cpu_clock, 3)
        clock, cpu_clock = now, cpu_now

    progress("read", 0, 1)
    data = spec.data
    table = source.read_table(
        data.source, data.encoding, data.delimiter, data.max_mb, _text_columns(spec)
    )
    _check_columns(spec, table)
    progress("read", 1, 1)
    lap("read")

    # One pool for the whole build. The columns are anonymized on it while this thread checks
    # the ids, scans, splits (once the target is done) and checks k (once the quasi-identifiers
    # are): those run beside the hashing instead of before or after it.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        try:
            columns_done = _start_anonymize(spec, table, secret, pool)
            # Distinct ids have distinct pseudonyms: when the id is pseudonymized, the
            # pseudonyms' collision check stands in for counting the ids here.
            hashed = getattr(spec.rule_for(data.id), "kind", "") == "pseudonymize"
            source.check_ids_and_target(
                table, data.source.name, data.id, data.target, unique=not hashed
            )
            scanned = _scan(spec, table, progress)
            lap("scan")
            split, k_report = _split_and_check(spec, columns_done)
            out, columns = _collect(spec, table, columns_done, progress)
            lap("anonymize")
            progress("split", 1, 1)
            progress("privacy", 1, 1)
            data_sha = _write(spec, out, split, columns, work, progress, pool, extra)
            lap("write")
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise

    report = {
        "slug": spec.slug,
        "title": spec.title,
        "source": {"file": data.source.name, "rows": table.num_rows, "columns": table.num_columns},
        "rows": split.counts() | {"suppressed": k_report["rows_suppressed"]},
        "columns": columns,
        "pii_scan": {"scanned": scanned, "findings": []},
        "privacy": k_report,
        "k_achieved": k_report["k_achieved"],
        "rows_suppressed": k_report["rows_suppressed"],
        "split": {
            "test_fraction": spec.split.test_fraction,
            "private_fraction": spec.split.private_fraction,
            "stratify": spec.split.stratify,
            "seed": spec.split.seed,
        },
        "metric": spec.metric.name,
        "data_sha256": data_sha,
        "seconds": timings,
        "cpu_seconds": cpu,
    }
    (work / NAMES["report"]).write_text(json.dumps(report, indent=2, default=str) + "\n")
    return report, data_sha


def _text_columns(spec: ChallengeSpec) -> tuple[str, ...]:
    """Identifiers and text rules read as text: a zip or id like 02134 keeps its leading 0."""
    text = {spec.data.id}
    for rule in spec.columns:
        if rule.kind in ("pseudonymize", "mask") or (
            rule.kind == "truncate" and isinstance(rule.params["truncate"], int)
        ):
            text.add(rule.column)
    return tuple(sorted(text))


def _check_columns(spec: ChallengeSpec, table: pa.Table) -> None:
    """The header was checked by load_spec; the file may have changed since."""
    names = set(table.column_names)
    needed = {spec.data.id, spec.data.target, *(r.column for r in spec.columns)}
    needed |= set(spec.privacy.quasi_identifiers)
    missing = sorted(needed - names)
    if missing:
        raise SourceError(
            f"{spec.data.source.name} has no column {missing[0]!r} named in challenge.toml"
        )


def _scan(spec: ChallengeSpec, table: pa.Table, progress: Progress) -> list[str]:
    """PII scan of every column no rule names; the first finding stops the build."""
    named = {rule.column for rule in spec.columns}
    unnamed = [name for name in table.column_names if name not in named]
    findings = []
    for index, name in enumerate(unnamed):
        progress("scan", index, len(unnamed))
        found = pii.scan_column(name, table.column(name))
        if found is not None:
            findings.append(found)
    progress("scan", len(unnamed), len(unnamed))
    if findings:
        first = findings[0]
        others = [f"{f.column} ({f.kind})" for f in findings[1:]]
        raise PIIFound(first.column, first.kind, first.example, first.suggestion, others)
    return unnamed


Column = tuple[dict[str, Any], pa.ChunkedArray | None]
"""A column's report entry and what ships (None when dropped)."""


def _order(spec: ChallengeSpec, name: str) -> int:
    """Hashing holds the GIL longest, so it starts first; the target and the quasi-identifiers
    next, as the split and the k check wait for them; shift_days waits for the hash of its
    `by` column, so it goes last rather than block a worker."""
    kind = getattr(spec.rule_for(name), "kind", "")
    if kind == "pseudonymize":
        return 0
    if name == spec.data.target or name in spec.privacy.quasi_identifiers:
        return 1
    return {"mask": 2, "shift_days": 4}.get(kind, 3)


def _start_anonymize(
    spec: ChallengeSpec, table: pa.Table, secret: str, pool: ThreadPoolExecutor
) -> dict[str, Future[Column]]:
    """Apply every rule on the pool (Arrow and numpy release the GIL); futures by column."""
    # The id column is checked (distinct, never null) beside this, so hashing skips encoding.
    ctx = Context(
        table, KeyedHasher(secret), spec.split.seed, spec.data.id, frozenset([spec.data.id])
    )

    def one(name: str) -> Column:
        column = table.column(name)
        rule = spec.rule_for(name)
        result = column if rule is None else TRANSFORMS[rule.kind].apply(column, rule, ctx)
        before = table.num_rows if name == spec.data.id else source.count_distinct(column)
        unchanged = rule is None or rule.kind in ("keep", "pseudonymize")
        after = None
        if result is not None:
            after = before if unchanged else source.count_distinct(result)
        entry: dict[str, Any] = {
            "column": name,
            "rule": rule.kind if rule else "none",
            "params": rule.params if rule else {},
            "description": rule.describe() if rule else "kept: the PII scan found nothing",
            "before_distinct": before,
            "after_distinct": after,
            "shipped": result is not None,
        }
        if result is not None:
            entry["type"] = artifacts.type_name(result.type)
            entry["missing"] = result.null_count
        return entry, result

    order = sorted(table.column_names, key=lambda name: _order(spec, name))
    return {name: pool.submit(one, name) for name in order}


def _shipped(future: Future[Column]) -> pa.ChunkedArray:
    entry, result = future.result()
    if result is None:  # load_spec refuses this; a spec built by hand might not
        raise ChallengeError(f"{entry['column']!r} is dropped but the split or k needs it")
    return result


def _split_and_check(
    spec: ChallengeSpec, columns: dict[str, Future[Column]]
) -> tuple[Split, dict[str, Any]]:
    """The split (of the anonymized target) and k-anonymity (of the anonymized QIs)."""
    target = _shipped(columns[spec.data.target])
    groups = strata(target) if spec.split.stratify else np.zeros(len(target), dtype=np.int64)
    split = split_rows(
        groups, spec.split.test_fraction, spec.split.private_fraction, spec.split.seed
    )
    qis = spec.privacy.quasi_identifiers
    k = spec.privacy.k
    quasi = pa.table({name: _shipped(columns[name]) for name in qis}) if qis else pa.table({})
    # Over every row that enters the sandbox (train + public + private test): a notebook can
    # read the private rows' features, so they must be as anonymous as what candidates get.
    shipped = _in_sandbox(split)
    result = privacy.k_anonymity(quasi, qis, k, shipped)
    suppressed = 0
    if qis and result.achieved < k:
        if not spec.privacy.suppress:
            raise KAnonymityError(k, result.achieved, result.smallest)
        suppressed = len(result.suppress)
        split = split.without(result.suppress)
        if len(split.train) == 0 or len(split.public) == 0:
            raise KAnonymityError(k, result.achieved, result.smallest)
        shipped = _in_sandbox(split)
        result = privacy.k_anonymity(quasi, qis, k, shipped)
    return split, {
        "quasi_identifiers": list(qis),
        "k_required": k if qis else None,
        "k_achieved": result.achieved if qis else None,
        "suppress": spec.privacy.suppress,
        "rows_suppressed": suppressed,
    }


def _in_sandbox(split: Split) -> np.ndarray:
    return np.concatenate([split.train, split.public, split.private])


def _collect(
    spec: ChallengeSpec, table: pa.Table, futures: dict[str, Future[Column]], progress: Progress
) -> tuple[pa.Table, list[dict[str, Any]]]:
    """The anonymized table and the report's column entries, in the source's column order."""
    results: dict[str, Column] = {}
    for done, (name, future) in enumerate(futures.items()):
        try:
            results[name] = future.result()
        except PseudonymCollision:
            if name == spec.data.id:  # repeated ids collide first: say that instead
                source.check_unique_ids(table, spec.data.source.name, name)
            raise
        progress("anonymize", done + 1, len(futures))
    names = table.column_names
    columns = [results[name][0] for name in names]
    kept = [(name, results[name][1]) for name in names if results[name][1] is not None]
    out = pa.table([array for _, array in kept], names=[name for name, _ in kept])
    id_rule = spec.rule_for(spec.data.id)
    # Unique in the source (checked) and pseudonyms are collision-checked: others may collide.
    recheck = id_rule is not None and id_rule.kind not in ("keep", "pseudonymize")
    if recheck and source.count_distinct(out.column(spec.data.id)) != out.num_rows:
        raise ChallengeError(
            f"the rule for the id column {spec.data.id!r} made ids collide; "
            "use pseudonymize (or no rule) for the id"
        )
    return out, columns


def _write(
    spec: ChallengeSpec,
    out: pa.Table,
    split: Split,
    columns: list[dict[str, Any]],
    work: Path,
    progress: Progress,
    pool: ThreadPoolExecutor,
    extra: Sequence[tuple[str, bytes]] = (),
) -> str:
    """The pool runs first what is biggest (train.csv) while this thread orders the test rows;
    takes, CSV and deflate work by column, row slice or chunk, without the GIL."""
    id_col, target = spec.data.id, spec.data.target
    progress("write", 0, 4)
    train = _take(out, split.train, pool)
    train_csv = artifacts.Csv.start(train, pool)
    # Test rows in id order, so the order says nothing about which part a row is in.
    every = np.concatenate([split.public, split.private])
    order = pc.sort_indices(out.column(id_col).take(pa.array(every))).to_numpy()
    is_public = order < len(split.public)
    tested = _take(out, every[order], pool)
    all_test = tested.drop_columns([target])
    all_csv = artifacts.Csv.start(all_test, pool)
    answers_csv = artifacts.Csv.start(
        pa.table(
            {
                id_col: tested.column(id_col),
                target: tested.column(target),
                "split": pa.array(np.where(is_public, "public", "private")),
            }
        ),
        pool,
    )
    public_mask = pa.array(is_public)
    public = all_csv.lines(is_public, pool)
    shipped = [
        c
        | {"missing": train.column(c["column"]).null_count + _public_nulls(tested, c, public_mask)}
        for c in columns
        if c["shipped"]
    ]
    readme = artifacts.data_readme(
        spec.title, id_col, target, spec.metric.name, shipped, split.counts()
    )
    public_rows = tested.filter(public_mask)
    train_target = train.column(target).combine_chunks()
    small = [
        ("README.md", readme.encode()),
        ("brief.md", spec.brief.encode()),
        (
            "sample_submission.csv",
            selfcheck.sample_submission(spec, public_rows.column(id_col), train_target),
        ),
        (
            "check_predictions.py",
            selfcheck.checker(spec, train_target, public_rows.column(target).combine_chunks()),
        ),
        *extra,
    ]
    if spec.starter_path is not None:
        small.append(("starter.ipynb", spec.starter_path.read_bytes()))
    train_z = artifacts.compress("train.csv", train_csv.result(), pool)
    all_z = artifacts.compress("test.csv", all_csv.result(), pool)
    # The public test file is a subset of the lines of the full one, unless a value spans
    # lines: then it is written on its own.
    selected = [part.result() for part in public]
    public_parts = [part for part in selected if part is not None]
    if len(public_parts) < len(selected):
        public_parts = artifacts.Csv.start(all_test.filter(public_mask), pool).result()
    public_z = artifacts.compress("test.csv", public_parts, pool)
    small_z = [artifacts.compress(name, [data], pool) for name, data in small]
    with (work / NAMES["answers"]).open("wb") as stream:
        for part in answers_csv.result():
            stream.write(part)
    progress("write", 1, 4)
    train_m = train_z()
    artifacts.write_zip(work / NAMES["sandbox"], [train_m, all_z()])
    digest = pool.submit(_sha256, work / NAMES["sandbox"])  # while the bundle is written
    progress("write", 2, 4)
    # The same deflated train.csv goes into both archives: compressed once.
    bundle = [wait() for wait in small_z] + [
        replace(train_m, name="data/train.csv"),
        replace(public_z(), name="data/test.csv"),
    ]
    artifacts.write_zip(work / NAMES["bundle"], bundle)
    progress("write", 3, 4)
    result = digest.result()
    progress("write", 4, 4)
    return result


def _take(table: pa.Table, rows: np.ndarray, pool: ThreadPoolExecutor) -> pa.Table:
    """The rows, in order, column by column on the pool."""
    indices = pa.array(rows)
    taken = pool.map(lambda column: column.take(indices), table.columns)
    return pa.table(list(taken), names=table.column_names)


def _public_nulls(tested: pa.Table, column: dict[str, Any], public: pa.Array) -> int:
    values = tested.column(column["column"])
    if values.null_count == 0:
        return 0
    return int(pc.sum(pc.and_(pc.is_null(values), public)).as_py() or 0)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
