"""Export a challenge with everything hanging off it to one zip, and import it elsewhere.

Generic over the model: the rows exported are the challenge and every row that reaches it
through foreign keys; candidates and users are matched by e-mail on import; every column is
carried; ids are remapped; artifacts are the objects named by `*_key` columns and by storage
keys inside JSON columns (grading plots). An import validates the whole archive first (zip
bombs, traversal, symlinks, manifest, schema version, hashes, references, every storage key a
row names being the archive's own and its owner's, custom metric code only when trusted), then
writes the artifacts and inserts every row in one transaction, removing them again on failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Column, DateTime, Table, null, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.services.archive import (
    ARTIFACTS,
    AUDIT,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MATCH_BY,
    PLAIN_REFERENCES,
    RECORDS,
    ROOT,
    USER_FIELDS,
    Limits,
    check_artifacts,
    check_entries,
    check_row_keys,
    foreign_keys,
    is_key,
    json_strings,
    looks_like_key,
    model_tables,
    open_archive,
    read_json,
    read_manifest,
    references,
    validate_records,
)
from heldout.platform.storage import CHUNK, Storage

PACKED = (".zip", ".webm", ".mp4", ".mov", ".mkv", ".png", ".jpg", ".jpeg", ".gz", ".parquet")


@dataclass(frozen=True)
class ExportResult:
    slug: str
    path: Path
    records: dict[str, int]
    artifacts: int
    bytes: int
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    slug: str
    challenge_id: int
    records: dict[str, int]
    artifacts_written: int
    artifacts_reused: int
    trusted_code: dict[str, str] = field(default_factory=dict)  # key -> sha256


def schema_revision(db: Database) -> str:
    with db.engine.connect() as connection:
        return str(MigrationContext.configure(connection).get_current_revision())


def _scope() -> list[str]:
    """Tables copied with a challenge: the root and all that reach it by foreign keys."""
    inside = [ROOT]
    for name, table in model_tables().items():  # sorted: parents come before children
        shared = name in MATCH_BY or name == AUDIT
        if name not in inside and not shared and set(foreign_keys(table).values()) & set(inside):
            inside.append(name)
    return inside


def _encode(column: Column[Any], value: Any) -> Any:
    if value is not None and isinstance(column.type, DateTime):
        return value.isoformat()
    return value


# ---------------------------------------------------------------- export


def export_challenge(db: Database, storage: Storage, slug: str, out: Path) -> ExportResult:
    """Write the challenge `slug`, its rows and artifacts to the zip `out`."""
    tables = model_tables()
    rows: dict[str, list[dict[str, Any]]] = {}
    with db.session() as session:
        root = session.execute(select(tables[ROOT]).where(tables[ROOT].c.slug == slug)).first()
        if root is None:
            raise NotFound(f"no challenge {slug!r}; `heldout challenge list` shows them")
        rows[ROOT] = [dict(root._mapping)]
        for name in _scope()[1:]:
            rows[name] = _rows_reaching(session, tables[name], rows)
        rows[AUDIT] = _audit_rows(session, tables[AUDIT], rows)
        for name in MATCH_BY:
            rows[name] = _referenced(session, tables[name], rows)
    keys = _artifact_keys(tables, rows, storage)
    encoded = {
        name: [{c.name: _encode(c, row[c.name]) for c in tables[name].columns} for row in found]
        for name, found in rows.items()
    }
    for user in encoded["users"]:
        for column in list(user):
            if column not in ("id", *USER_FIELDS):
                del user[column]
    out.parent.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    total = 0
    # An export holds answer keys and candidates' work: readable by its owner only.
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with (
        os.fdopen(fd, "w+b") as handle,
        zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive,
    ):
        archive.writestr(RECORDS, json.dumps({"tables": encoded}, default=str))
        for key in sorted(keys):
            if not storage.exists(key):
                missing.append(key)
                continue
            digest, size = hashlib.sha256(), 0
            info = zipfile.ZipInfo(ARTIFACTS + key, date_time=datetime.now().timetuple()[:6])
            # Videos and zips are compressed already: storing them saves minutes of CPU.
            packed = key.lower().endswith(PACKED)
            info.compress_type = zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED
            entry = archive.open(info, "w", force_zip64=True)
            with storage.open(key) as src, entry as dst:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    dst.write(chunk)
                    size += len(chunk)
            artifacts[key] = {"sha256": digest.hexdigest(), "size": size}
            total += size
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "schema_revision": schema_revision(db),
            "slug": slug,
            "exported_at": datetime.now().astimezone().isoformat(),
            "records": {name: len(found) for name, found in encoded.items()},
            "artifacts": artifacts,
            "missing_artifacts": missing,
        }
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
    counts = {name: len(found) for name, found in rows.items()}
    return ExportResult(slug, out, counts, len(artifacts), total, missing)


def _rows_reaching(
    session: Session, table: Table, rows: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    conditions = [
        table.c[column].in_([row["id"] for row in rows[ref]])
        for column, ref in foreign_keys(table).items()
        if ref in rows
    ]
    query = select(table).where(or_(*conditions)).order_by(table.c.id)
    return [dict(row._mapping) for row in session.execute(query)]


def _referenced(
    session: Session, table: Table, rows: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    wanted = {
        row[column]
        for name, found in rows.items()
        for column, ref in references(model_tables()[name]).items()
        if ref == table.name
        for row in found
        if row[column] is not None
    }
    query = select(table).where(table.c.id.in_(wanted)).order_by(table.c.id)
    return [dict(row._mapping) for row in session.execute(query)]


def _audit_rows(
    session: Session, table: Table, rows: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Audit events whose target (`submission:12`) is a row being exported."""
    targets = [f"{name[:-1]}:{row['id']}" for name in _scope() for row in rows.get(name, [])]
    found: list[dict[str, Any]] = []
    for start in range(0, len(targets), 500):
        query = select(table).where(table.c.target.in_(targets[start : start + 500]))
        found += [dict(row._mapping) for row in session.execute(query)]
    return sorted(found, key=lambda row: int(row["id"]))


def _artifact_keys(
    tables: dict[str, Table], rows: dict[str, list[dict[str, Any]]], storage: Storage
) -> set[str]:
    keys: set[str] = set()
    for name, found in rows.items():
        for column in tables[name].columns:
            for row in found:
                value = row[column.name]
                if value and is_key(column):
                    keys.add(value)
                elif value is not None and isinstance(column.type, JSON):
                    keys |= {
                        text
                        for text in json_strings(value)
                        if looks_like_key(text) and storage.exists(text)
                    }
    return keys


# ---------------------------------------------------------------- import


def import_challenge(
    db: Database,
    storage: Storage,
    path: Path,
    slug: str | None = None,
    limits: Limits | None = None,
    trust_code: bool = False,
) -> ImportResult:
    """Validate the archive fully, then write its artifacts and rows; nothing on failure.

    Custom metric code in the archive runs in the workers: refused unless `trust_code`.
    """
    archive = open_archive(path)
    with archive:
        limits = limits or Limits()
        entries = check_entries(archive, limits)
        manifest = read_manifest(archive, entries, limits)
        current = schema_revision(db)
        if manifest["schema_revision"] != current:
            raise InvalidInput(
                f"the archive has schema {manifest['schema_revision']}, this installation "
                f"{current}: upgrade the older installation to the same version and export again"
            )
        rows = validate_records(read_json(archive, entries, RECORDS, limits.max_records_bytes))
        if rows[ROOT][0]["slug"] != manifest["slug"]:
            raise InvalidInput("the manifest and the records name different challenges")
        check_artifacts(archive, entries, manifest, rows)
        code = check_row_keys(manifest, rows, storage.exists, trust_code)
        new_slug = slug or manifest["slug"]
        with db.session() as session:
            if session.execute(
                select(model_tables()[ROOT].c.id).where(model_tables()[ROOT].c.slug == new_slug)
            ).first():
                raise InvalidInput(
                    f"a challenge {new_slug!r} already exists here; import it under another "
                    "slug with --slug NEW"
                )
        key_map, to_write, reused = _plan_keys(
            storage, manifest["artifacts"], manifest["missing_artifacts"]
        )
        written: list[str] = []
        try:
            for key in to_write:
                size = manifest["artifacts"][key]["size"]
                with archive.open(ARTIFACTS + key) as stream:
                    storage.put(key_map[key], cast(BinaryIO, stream), size)
                written.append(key_map[key])
            try:
                with db.session() as session:
                    ids = _insert(session, rows, key_map, new_slug)
            except IntegrityError as exc:
                detail = str(exc.orig).strip().splitlines()[0]
                raise InvalidInput(
                    f"the archive clashes with rows already here ({detail}); was it imported "
                    "before?"
                ) from None
        except BaseException:
            for key in written:
                try:
                    storage.delete(key)
                except Exception:  # noqa: BLE001, S112  (best effort; the original error matters)
                    continue
            raise
    counts = {name: len(found) for name, found in rows.items()}
    root_id = ids[ROOT][rows[ROOT][0]["id"]]
    return ImportResult(new_slug, root_id, counts, len(written), reused, code)


def _plan_keys(
    storage: Storage, artifacts: dict[str, dict[str, Any]], missing: list[str]
) -> tuple[dict[str, str], list[str], int]:
    """Keep each key; reuse an identical object already stored; move a clashing one aside.

    A key the export could not find points at nothing here either (never at an object that
    happens to be stored under that name).
    """
    aside = f"imported/{secrets.token_hex(6)}"
    key_map = {key: f"{aside}/missing/{key}" for key in missing if key not in artifacts}
    to_write: list[str] = []
    reused = 0
    for key, meta in artifacts.items():
        if not storage.exists(key):
            key_map[key] = key
            to_write.append(key)
        elif _stored_sha256(storage, key) == meta["sha256"]:
            key_map[key] = key
            reused += 1
        else:
            key_map[key] = f"{aside}/{key}"
            to_write.append(key)
    return key_map, to_write, reused


def _stored_sha256(storage: Storage, key: str) -> str:
    digest = hashlib.sha256()
    with storage.open(key) as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _insert(
    session: Session, rows: dict[str, list[dict[str, Any]]], key_map: dict[str, str], slug: str
) -> dict[str, dict[int, int]]:
    tables = model_tables()
    ids: dict[str, dict[int, int]] = {name: {} for name in tables}
    order = [name for name in tables if name in rows and name != AUDIT]
    order += [AUDIT] if AUDIT in rows else []
    deferred: list[tuple[Table, int, str, Any]] = []
    for name in order:
        table = tables[name]
        refs = foreign_keys(table)
        for row in rows[name]:
            if name in MATCH_BY and (match := _match(session, table, row)) is not None:
                ids[name][row["id"]] = match
                continue
            values = {col: value for col, value in row.items() if col != "id"}
            for column, value in row.items():
                if column in refs and value is not None:
                    values[column] = ids[refs[column]][value]
                elif (name, column) in PLAIN_REFERENCES and value is not None:
                    values[column] = None
                    deferred.append((table, row["id"], column, value))
                elif is_key(table.c[column]) and value is not None:
                    values[column] = key_map.get(value, value)
                elif isinstance(table.c[column].type, JSON):
                    values[column] = null() if value is None else _rekey(value, key_map)
            _adjust(session, name, table, values, ids, slug)
            result = session.execute(table.insert().values(values).returning(table.c.id))
            ids[name][row["id"]] = int(result.scalar_one())
    for table, old_id, column, value in deferred:
        new = ids[PLAIN_REFERENCES[(table.name, column)]][value]
        session.execute(
            table.update().where(table.c.id == ids[table.name][old_id]).values({column: new})
        )
    return ids


def _match(session: Session, table: Table, row: dict[str, Any]) -> int | None:
    column = table.c[MATCH_BY[table.name]]
    found = session.execute(select(table.c.id).where(column == row[column.name])).scalar()
    return None if found is None else int(found)


def _adjust(
    session: Session,
    name: str,
    table: Table,
    values: dict[str, Any],
    ids: dict[str, dict[int, int]],
    slug: str,
) -> None:
    """Per-table fix-ups: the new slug, disabled users, unique pseudonyms, audit targets."""
    if name == ROOT:
        values["slug"] = slug
    elif name == "users":
        values.update(password_hash="!", disabled=True)  # noqa: S106  (matches no password)
    elif name == "candidates":
        base, n = values["pseudonym"], 1
        while session.execute(
            select(table.c.id).where(table.c.pseudonym == values["pseudonym"])
        ).first():
            n += 1
            values["pseudonym"] = f"{base} ({n})"
    elif name == AUDIT:
        noun, _, old = str(values["target"]).partition(":")
        target_table = f"{noun}s"
        if old.isdigit() and int(old) in ids.get(target_table, {}):
            values["target"] = f"{noun}:{ids[target_table][int(old)]}"


def _rekey(value: Any, key_map: dict[str, str]) -> Any:
    if isinstance(value, str):
        return key_map.get(value, value)
    if isinstance(value, dict):
        return {k: _rekey(v, key_map) for k, v in value.items()}
    if isinstance(value, list):
        return [_rekey(v, key_map) for v in value]
    return value
