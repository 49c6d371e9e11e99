"""Typed access to a parsed challenge.toml that raises SpecErrors located by file and line.

tomllib keeps no positions, so the line of a key is found again in the text by its table
header and its `key =`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NoReturn

from heldout.challenges.errors import SpecError

_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]")


class Reader:
    """Typed access to one TOML table, raising located SpecErrors."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, table: str | None, key: str | None) -> int | None:
        current: str | None = None
        for number, line in enumerate(self.lines, 1):
            match = _HEADER.match(line)
            if match:
                current = match.group(1)
                if key is None and current == table:
                    return number
                continue
            pattern = rf"^\s*\"?{re.escape(key or '')}\"?\s*="
            if current == table and key is not None and re.match(pattern, line):
                return number
        return None

    def fail(self, message: str, table: str | None = None, key: str | None = None) -> NoReturn:
        raise SpecError(message, self.path, self.line_of(table, key))

    def check_keys(self, values: dict[str, Any], table: str, allowed: dict[str, Any]) -> None:
        for key in values:
            if key not in allowed:
                where = f"[{table}]" if table else "the top level"
                self.fail(
                    f"unknown key {key!r} in {where}; valid keys: {', '.join(allowed)}",
                    table or None,
                    key,
                )

    def get(
        self,
        values: dict[str, Any],
        table: str,
        key: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
    ) -> Any:
        name = f"[{table}] {key}" if table else key
        if key not in values:
            if default is ...:
                self.fail(f"missing required key {name}", table or None, None)
            return default
        value = values[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            wanted = " or ".join(type_name(k) for k in kinds)
            self.fail(
                f"{name} must be {wanted}, got {value!r} ({type_name(type(value))})",
                table or None,
                key,
            )
        return value


def type_name(kind: type) -> str:
    return {
        str: "text",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        dict: "a table",
        list: "a list",
    }.get(kind, kind.__name__)
