"""A small challenge kit whose rows carry markers, and its answer key read back from storage.

Every row has an id `ZQX0000Q`..., a text column `PRIVATEMARK<id>` and a number column
`98765<nnn>`: whatever a candidate sees can be searched for the private rows' values. The
target is a label the test knows from the answer key, so a notebook can be made right on
exactly N public rows and its public accuracy is known in advance.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from heldout.platform.models import Challenge, ChallengeVersion
from tests.pipeline.harness import Installation

ID, TARGET = "row_id", "label"
CODE_BASE = 98_765_000


def row_id(n: int) -> str:
    return f"ZQX{n:04d}Q"


def code_of(rid: str) -> int:
    return CODE_BASE + int(rid[3:7])


def write_marked_kit(
    folder: Path, slug: str, rows: int = 400, timeout_s: int = 30, submissions: int = 20
) -> Path:
    """A kit of `rows` rows: half test, half of those private; accuracy on a 0/1 label."""
    (folder / "data").mkdir(parents=True)
    rng = random.Random(slug)
    with (folder / "data" / "rows.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([ID, "x", "note", "code", TARGET])
        for n in range(rows):
            rid = row_id(n)
            writer.writerow([rid, round(rng.random(), 4), f"PRIVATEMARK{rid}", code_of(rid), n % 2])
    (folder / "brief.md").write_text("# Integrity\n\nPredict `label` for every row.\n")
    # The marker columns are kept on purpose ("keep" skips the PII scan, see challenges/README).
    (folder / "challenge.toml").write_text(
        f"""slug = "{slug}"
title = "Integrity {slug}"
brief = "brief.md"
[data]
source = "data/rows.csv"
id = "{ID}"
target = "{TARGET}"
[split]
test_fraction = 0.5
private_fraction = 0.5
stratify = true
seed = 5
[metric]
name = "accuracy"
[columns]
{ID} = "keep"
note = "keep"
code = "keep"
[privacy]
quasi_identifiers = []
[limits]
timeout_s = {timeout_s}
memory_mb = 1024
cpus = 1
submissions = {submissions}
"""
    )
    return folder


@dataclass(frozen=True)
class AnswerKey:
    """The hidden labels and split of a challenge version, as the grader holds them."""

    labels: dict[str, int]
    split: dict[str, str]

    @classmethod
    def of(cls, site: Installation, slug: str) -> AnswerKey:
        """Read the latest version's answer key from the installation's own storage."""
        database = site.database()
        try:
            with database.session() as session:
                key = session.execute(
                    select(ChallengeVersion.answer_key)
                    .join(Challenge)
                    .where(Challenge.slug == slug)
                    .order_by(ChallengeVersion.number.desc())
                    .limit(1)
                ).scalar_one()
        finally:
            database.dispose()
        labels: dict[str, int] = {}
        split: dict[str, str] = {}
        for row in csv.DictReader(io.StringIO(site.stored(key).read_text())):
            labels[row[ID]] = int(row[TARGET])
            split[row[ID]] = row["split"]
        return cls(labels, split)

    @property
    def public(self) -> list[str]:
        return sorted(i for i, s in self.split.items() if s == "public")

    @property
    def private(self) -> list[str]:
        return sorted(i for i, s in self.split.items() if s == "private")

    def predictions(self, right_public: int) -> dict[str, int]:
        """Right on the first `right_public` public rows and every private one, wrong elsewhere."""
        right = set(self.public[:right_public]) | set(self.private)
        return {i: y if i in right else 1 - y for i, y in self.labels.items()}

    def public_accuracy(self, predicted: Mapping[str, int]) -> float:
        """Accuracy on the public rows, computed here, independently of the grader."""
        public = self.public
        return sum(predicted[i] == self.labels[i] for i in public) / len(public)

    def private_marks(self) -> set[str]:
        """Every value of a private row that must never reach its candidate."""
        return {m for i in self.private for m in (i, f"PRIVATEMARK{i}", str(code_of(i)))}

    def public_marks(self) -> set[str]:
        return {m for i in self.public for m in (i, f"PRIVATEMARK{i}", str(code_of(i)))}
