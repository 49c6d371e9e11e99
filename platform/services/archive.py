"""The export archive: its layout, and the checks an import makes before writing anything.

An archive holds `manifest.json` (format, schema revision, slug, each artifact's sha256 and
size), `records.json` (`{"tables": {name: [row, ...]}}`, every column of every row) and
`artifacts/<storage key>`. Reading refuses traversal, symlinks, encryption, duplicates, zip
bombs (total size, per-entry ratio and entry-count caps, sizes re-counted while reading),
malformed manifests and records, dangling references and artifacts whose hash differs.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Table

from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.models import Base
from heldout.platform.storage import CHUNK, check_key

FORMAT = "heldout-export"
FORMAT_VERSION = 1
MANIFEST, RECORDS, ARTIFACTS = "manifest.json", "records.json", "artifacts/"
ROOT = "challenges"
# Shared rows are matched by a natural key instead of copied; users carry no password hash.
MATCH_BY = {"candidates": "email", "users": "email"}
USER_FIELDS = ("email", "name", "role")
PLAIN_REFERENCES = {("invitations", "final_submission_id"): "submissions"}
AUDIT = "audit_events"


@dataclass(frozen=True)
class Limits:
    """What an import accepts; beyond these an archive is refused before anything is written."""

    max_total_bytes: int = 20 * 1024**3
    max_entries: int = 200_000
    max_ratio: float = 200.0  # uncompressed/compressed per entry, above RATIO_FLOOR bytes
    max_records_bytes: int = 1024**3
    max_manifest_bytes: int = 64 * 1024**2


RATIO_FLOOR = 1024 * 1024  # small entries may compress very well (a CSV of zeros)


def model_tables() -> dict[str, Table]:
    return {table.name: table for table in Base.metadata.sorted_tables}


def foreign_keys(table: Table) -> dict[str, str]:
    """column -> referred table, for the table's foreign keys."""
    return {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}


def references(table: Table) -> dict[str, str]:
    """Foreign keys plus the plain-id references we know of (ids to remap on import)."""
    refs = foreign_keys(table)
    refs.update({col: ref for (name, col), ref in PLAIN_REFERENCES.items() if name == table.name})
    return refs


def is_key(column: Column[Any]) -> bool:
    return column.name.endswith("_key")


def open_archive(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise NotFound(f"no file {path}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise InvalidInput(f"{path} is not a readable zip archive: {exc}") from None


def check_entries(archive: zipfile.ZipFile, limits: Limits) -> dict[str, zipfile.ZipInfo]:
    """Refuse traversal, symlinks, encryption, duplicates and zip bombs, from the headers."""
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise InvalidInput(f"the archive has {len(infos)} entries; at most {limits.max_entries}")
    entries: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        parts = name.split("/")
        if (
            name.startswith("/")
            or "\\" in name
            or ":" in parts[0]
            or any(part in ("", ".", "..") for part in parts)
        ):
            raise InvalidInput(f"the archive entry {name!r} points outside the archive")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise InvalidInput(f"the archive entry {name!r} is a symbolic link")
        if info.flag_bits & 0x1:
            raise InvalidInput(f"the archive entry {name!r} is encrypted")
        if name in entries:
            raise InvalidInput(f"the archive holds {name!r} twice")
        total += info.file_size
        if total > limits.max_total_bytes:
            raise InvalidInput(
                f"the archive unpacks to more than {limits.max_total_bytes} bytes; refused"
            )
        if info.file_size > RATIO_FLOOR and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise InvalidInput(
                f"the archive entry {name!r} compresses more than {limits.max_ratio:g}:1: "
                "refused as a zip bomb"
            )
        entries[name] = info
    return entries


def read_json(
    archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], name: str, cap: int
) -> Any:
    if name not in entries:
        raise InvalidInput(f"the archive has no {name}; is it a Heldout export?")
    data = b"".join(entry_chunks(archive, entries[name], cap))
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{name} in the archive is not valid JSON: {exc}") from None


def entry_chunks(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> Iterator[bytes]:
    """The entry's bytes, refusing more than `cap` or than its header declares."""
    if info.file_size > cap:
        raise InvalidInput(f"{info.filename} is {info.file_size} bytes; at most {cap}")
    read = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(CHUNK):
                read += len(chunk)
                if read > min(cap, info.file_size):
                    raise InvalidInput(f"{info.filename} is larger than its header says")
                yield chunk
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise InvalidInput(f"{info.filename} in the archive is corrupt: {exc}") from None


def read_manifest(
    archive: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo], limits: Limits
) -> dict[str, Any]:
    manifest = read_json(archive, entries, MANIFEST, limits.max_manifest_bytes)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidInput(f"{MANIFEST} is not a Heldout export manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise InvalidInput(
            f"export format {manifest.get('format_version')!r} is not {FORMAT_VERSION}; "
            "use the Heldout version that made it"
        )
    for name, kind in (("schema_revision", str), ("slug", str), ("artifacts", dict)):
        if not isinstance(manifest.get(name), kind):
            raise InvalidInput(f"{MANIFEST}: {name} is missing or not a {kind.__name__}")
    missing = manifest.setdefault("missing_artifacts", [])
    if not isinstance(missing, list) or not all(isinstance(k, str) for k in missing):
        raise InvalidInput(f"{MANIFEST}: missing_artifacts must be a list of keys")
    for key, meta in manifest["artifacts"].items():
        check_key(key)
        sha, size = (meta.get("sha256"), meta.get("size")) if isinstance(meta, dict) else (0, 0)
        if not (isinstance(sha, str) and len(sha) == 64 and isinstance(size, int) and size >= 0):
            raise InvalidInput(f"{MANIFEST}: artifact {key!r} needs a sha256 and a size")
    return manifest


def validate_records(records: Any) -> dict[str, list[dict[str, Any]]]:
    """Check every table, column, type and reference; values decoded for insertion."""
    tables = model_tables()
    found = records.get("tables") if isinstance(records, dict) else None
    if not isinstance(found, dict) or not all(isinstance(v, list) for v in found.values()):
        raise InvalidInput(f"{RECORDS} must hold {{'tables': {{name: [rows]}}}}")
    unknown = sorted(set(found) - set(tables))
    if unknown:
        raise InvalidInput(f"{RECORDS} has tables this version does not know: {unknown}")
    if len(found.get(ROOT, [])) != 1:
        raise InvalidInput(f"{RECORDS} must hold exactly one challenge")
    rows: dict[str, list[dict[str, Any]]] = {}
    for name, raw in found.items():
        table = tables[name]
        expected = {"id", *USER_FIELDS} if name == "users" else {c.name for c in table.columns}
        rows[name] = []
        for row in raw:
            if not isinstance(row, dict) or set(row) != expected:
                extra = sorted(set(row) ^ expected) if isinstance(row, dict) else "not an object"
                raise InvalidInput(f"{RECORDS}: a {name} row does not fit the schema ({extra})")
            rows[name].append({col: _decode(table.c[col], row[col], name) for col in row})
        ids = [row["id"] for row in rows[name]]
        if len(set(ids)) != len(ids):
            raise InvalidInput(f"{RECORDS}: {name} has duplicate ids")
    known = {name: {row["id"] for row in found_rows} for name, found_rows in rows.items()}
    for name, found_rows in rows.items():
        for column, ref in references(tables[name]).items():
            for row in found_rows:
                if row.get(column) is not None and row[column] not in known.get(ref, set()):
                    raise InvalidInput(
                        f"{RECORDS}: {name} {row['id']} refers to {ref} {row[column]}, "
                        "which the archive does not hold"
                    )
    return rows


def _decode(column: Column[Any], value: Any, table: str) -> Any:
    where = f"{RECORDS}: {table}.{column.name}"
    if value is None:
        if column.nullable and not column.primary_key:
            return None
        raise InvalidInput(f"{where} may not be empty")
    if isinstance(column.type, JSON):
        return value
    if isinstance(column.type, DateTime):
        try:
            return datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"{where}: {value!r} is not a timestamp") from None
    kind = column.type.python_type
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidInput(f"{where}: {value!r} is not a {kind.__name__}")
    return value


def check_artifacts(
    archive: zipfile.ZipFile,
    entries: dict[str, zipfile.ZipInfo],
    manifest: dict[str, Any],
    rows: dict[str, list[dict[str, Any]]],
) -> None:
    artifacts: dict[str, dict[str, Any]] = manifest["artifacts"]
    expected = {MANIFEST, RECORDS} | {ARTIFACTS + key for key in artifacts}
    unexpected = sorted(set(entries) - expected)
    absent = sorted(expected - set(entries))
    if unexpected or absent:
        raise InvalidInput(
            f"the archive does not match its manifest: unexpected {unexpected[:5]}, "
            f"missing {absent[:5]}"
        )
    carried = set(artifacts) | set(manifest["missing_artifacts"])
    tables = model_tables()
    for name, found in rows.items():
        for column in (c.name for c in tables[name].columns if is_key(c)):
            for value in (row.get(column) for row in found):
                if value and value not in carried:
                    raise InvalidInput(f"{name}.{column} {value!r} is not in the archive")
    for key, meta in artifacts.items():
        info = entries[ARTIFACTS + key]
        if info.file_size != meta["size"]:
            raise InvalidInput(
                f"artifact {key!r} is {info.file_size} bytes, the manifest says so not"
            )
        digest = hashlib.sha256()
        for chunk in entry_chunks(archive, info, meta["size"]):
            digest.update(chunk)
        if digest.hexdigest() != meta["sha256"]:
            raise InvalidInput(f"artifact {key!r} does not match its sha256")


# ---------------------------------------------------------------- storage keys inside rows

VERSION_KEYS = ("bundle_key", "sandbox_key", "answer_key", "starter_key")
Owner = tuple[str, int]


def looks_like_key(text: str) -> bool:
    try:
        check_key(text)
    except InvalidInput:
        return False
    return "/" in text


def custom_metric(row: dict[str, Any]) -> tuple[str, Any] | None:
    """A version row's custom metric (`"file.py:function"`, its code's key), or None."""
    metric = row["spec"].get("metric") if isinstance(row["spec"], dict) else None
    if not isinstance(metric, dict) or not metric.get("custom"):
        return None
    return metric["custom"], metric.get("custom_key")


def _key_places(rows: dict[str, list[dict[str, Any]]]) -> Iterator[tuple[Any, Owner, str]]:
    """Every place a row names a stored object the platform reads: (key, owner, where)."""
    for row in rows.get("challenge_versions", []):
        owner = ("challenge_versions", row["id"])
        for column in VERSION_KEYS:
            if row[column] is not None:
                yield row[column], owner, f"challenge_versions.{column}"
        if (found := custom_metric(row)) is not None:
            yield found[1], owner, "challenge_versions.spec.metric.custom_key"
    for row in rows.get("runs", []):
        for column in ("executed_key", "predictions_key"):
            if row[column] is not None:
                yield row[column], ("submissions", row["submission_id"]), f"runs.{column}"
    for row in rows.get("submissions", []):
        owner = ("submissions", row["id"])
        grading, view = row["grading"], row["candidate_view"]
        plots = grading.get("plots") if isinstance(grading, dict) else None
        if plots is not None and not isinstance(plots, dict):
            raise InvalidInput(f"{RECORDS}: submission {row['id']} has plots that are not a map")
        for name, key in (plots or {}).items():
            yield key, owner, f"submissions.grading.plots.{name}"
        if isinstance(view, dict) and view.get("executed_key") is not None:
            yield view["executed_key"], owner, "submissions.candidate_view.executed_key"


def check_row_keys(
    manifest: dict[str, Any],
    rows: dict[str, list[dict[str, Any]]],
    stored: Callable[[str], bool],
    trust_code: bool,
) -> dict[str, str]:
    """Every key a row names must be the archive's own and its owner's alone; custom metric
    code only with `trust_code`. Returns the trusted code's keys and sha256 digests."""
    artifacts: dict[str, dict[str, Any]] = manifest["artifacts"]
    carried = set(artifacts) | set(manifest["missing_artifacts"])
    owners: dict[str, set[Owner]] = {}
    roles: dict[str, set[str]] = {}
    for key, owner, where in _key_places(rows):
        if not isinstance(key, str) or key not in carried:
            raise InvalidInput(f"{where} {key!r} of {owner[0]} {owner[1]} is not in the archive")
        owners.setdefault(key, set()).add(owner)
        roles.setdefault(key, set()).add(where)
    for key, found in owners.items():
        shared = len(found) > 1 or (
            next(iter(found))[0] == "challenge_versions" and len(roles[key]) > 1
        )
        if shared:
            raise InvalidInput(
                f"the stored object {key!r} is named by {', '.join(sorted(roles[key]))} of "
                f"{', '.join(f'{t} {i}' for t, i in sorted(found))}: each belongs to one only"
            )
    code: dict[str, str] = {}
    for row in rows.get("challenge_versions", []):
        if (found_metric := custom_metric(row)) is None:
            continue
        spec, key = found_metric
        file_name = spec.partition(":")[0] if isinstance(spec, str) else ""
        if not file_name or any(c in file_name for c in "/\\") or ".." in file_name:
            raise InvalidInput(
                f"challenge_versions {row['id']}: the custom metric file {file_name!r} must be "
                "a bare file name"
            )
        if key not in artifacts:
            raise InvalidInput(f"challenge_versions {row['id']}: the custom metric code is absent")
        if not trust_code:
            raise InvalidInput(
                f"the archive carries custom metric code ({key}), which workers would run; "
                "read it, then import with --trust-code"
            )
        code[key] = artifacts[key]["sha256"]
    tables = model_tables()
    for name, found_rows in rows.items():
        for column in (c.name for c in tables[name].columns if isinstance(c.type, JSON)):
            for row in found_rows:
                for text in json_strings(row[column]):
                    if text not in carried and looks_like_key(text) and stored(text):
                        raise InvalidInput(
                            f"{name}.{column} of {name} {row['id']} names the stored object "
                            f"{text!r}, which the archive does not carry"
                        )
    return code


def json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)
