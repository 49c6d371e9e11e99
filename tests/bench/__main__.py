"""Run the benchmarks: `python -m tests.bench [module ...] [--quick]`."""

from __future__ import annotations

import importlib
import os
import pkgutil
import platform
import sys
import time
from pathlib import Path

from tests.bench import Row

HERE = Path(__file__).parent


def machine() -> str:
    cpu = "unknown cpu"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {platform.platform()}"


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("-")] or sorted(
        m.name for m in pkgutil.iter_modules([str(HERE)]) if not m.name.startswith("_")
    )
    rows: list[Row] = []
    for name in names:
        module = importlib.import_module(f"tests.bench.{name}")
        print(f"== {name}", file=sys.stderr, flush=True)
        rows.extend(module.run(quick))
    header = [
        f"Measured {time.strftime('%Y-%m-%d')} on: {machine()}",
        "",
        "| benchmark | ours | baseline | ratio | unit | target | note |",
        "|---|---|---|---|---|---|---|",
    ]
    lines = [
        f"| {r.name} | {r.ours:.4g} | {'-' if r.baseline is None else f'{r.baseline:.4g}'} "
        f"| {r.ratio} | {r.unit} | {r.target} | {r.note} |"
        for r in rows
    ]
    table = "\n".join(header + lines)
    print(table)
    if not quick:
        results = HERE / "RESULTS.md"
        sections = {}
        if results.exists():
            for block in results.read_text().split("\n## ")[1:]:
                title, _, body = block.partition("\n")
                sections[title.strip()] = body.strip()
        for name in names:
            mine = [
                line for row, line in zip(rows, lines, strict=True) if row.name.startswith(name)
            ]
            sections[name] = "\n".join(header + mine)
        text = "# Benchmark results\n\n" + "\n\n".join(
            f"## {title}\n\n{body}" for title, body in sorted(sections.items())
        )
        results.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
