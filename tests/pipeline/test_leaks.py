"""The private test rows never reach a candidate (issue 16), whatever their notebook does.

The sandbox holds every test row's features; the candidate may see only the public ones. Each
notebook below tries to carry the private rows out (printed, displayed, logged, raised, or
named by the grader's complaint about its predictions); one candidate per notebook, and every
view that candidate can reach is searched for any private id or marker value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.pipeline.candidate_views import CandidateViews, leaks
from tests.pipeline.harness import Candidate, Installation, notebook
from tests.pipeline.kits import AnswerKey, write_marked_kit

pytestmark = pytest.mark.docker

READ = (
    "import csv\n"
    "rows = open('data/test.csv').read()\n"
    "ids = [r['row_id'] for r in csv.DictReader(open('data/test.csv'))]"
)
PREDICT = (
    "with open('predictions.csv', 'w') as f:\n"
    "    f.write('row_id,label\\n' + ''.join(f'{i},0\\n' for i in ids))"
)


def attempts(public: list[str]) -> dict[str, bytes]:
    """The notebooks, by name; `public` are the ids of the candidate's own data/test.csv."""
    return {
        "honest": notebook(READ, PREDICT),
        "print": notebook(READ, "print(rows)", PREDICT),
        "display": notebook(
            READ,
            "import pandas as pd\npd.set_option('display.max_rows', 10_000)\n"
            "df = pd.read_csv('data/test.csv')\ndisplay(df)\ndf",
            PREDICT,
        ),
        "stderr": notebook(
            READ,
            "import logging, os, sys\nsys.stderr.write(rows)\nlogging.warning(rows)\n"
            "os.write(2, rows.encode())",
            PREDICT,
        ),
        "exception": notebook(READ, "raise ValueError(rows)"),
        # The notebook tells the private rows apart by the public ids its candidate got in the
        # bundle, so its own source holds no private id.
        "partial_predictions": notebook(
            READ,
            f"private = set(ids) - set({json.dumps(public)})",
            "with open('predictions.csv', 'w') as f:\n"
            "    f.write('row_id,label\\n' + ''.join(f'{i},1\\n' for i in sorted(private)))",
        ),
        "bad_private_values": notebook(
            READ,
            f"private = set(ids) - set({json.dumps(public)})",
            "with open('predictions.csv', 'w') as f:\n"
            "    f.write('row_id,label\\n' + ''.join(\n"
            "        f'{i},banana\\n' if i in private else f'{i},0\\n' for i in ids))",
        ),
    }


@dataclass
class Attempt:
    token: str
    submission_id: int
    final: dict[str, Any]


@dataclass
class LeakSite:
    site: Installation
    key: AnswerKey
    attempts: dict[str, Attempt]


@pytest.fixture(scope="module")
def leak_site(tmp_path_factory: pytest.TempPathFactory, docker_client: Any) -> Iterator[LeakSite]:
    tmp = tmp_path_factory.mktemp("leaks")
    site = Installation(tmp / "home", f"sqlite:///{tmp / 'heldout.db'}")
    try:
        slug = site.build(write_marked_kit(tmp / "kit", "leaks"))["slug"]
        key = AnswerKey.of(site, slug)
        site.serve()
        site.worker()
        queued = {}
        for name, nb in attempts(key.public).items():
            token = site.invite(slug, f"{name.replace('_', '-')}@example.com")
            response = Candidate(site.base, token).submit(nb)
            assert response.status_code == 202, response.text
            queued[name] = (token, int(response.json()["id"]))
        done = {
            name: Attempt(token, sid, Candidate(site.base, token).wait(sid, timeout=300))
            for name, (token, sid) in queued.items()
        }
        yield LeakSite(site, key, done)
    finally:
        site.stop()
        print(site.logs())


def test_the_search_finds_public_rows_in_the_bundle_and_no_private_one(
    leak_site: LeakSite,
) -> None:
    honest = leak_site.attempts["honest"]
    assert honest.final["status"] == "scored", honest.final
    views = CandidateViews(leak_site.site.base, honest.token).collect([honest.submission_id])
    bundle = [v for v in views if v.url.endswith("/challenge/bundle")]
    assert bundle and all(leak_site.key.public[0] in v.text for v in bundle)  # the search works
    assert not leaks(views, leak_site.key.private_marks())


@pytest.mark.parametrize(
    "name",
    ["print", "display", "stderr", "exception", "partial_predictions", "bad_private_values"],
)
def test_no_candidate_view_shows_a_private_test_row(leak_site: LeakSite, name: str) -> None:
    attempt = leak_site.attempts[name]
    if name.endswith("predictions") or name.endswith("values"):  # the grader's complaint is read
        assert (attempt.final["failure"] or {}).get("category") == "invalid_predictions", attempt
    views = CandidateViews(leak_site.site.base, attempt.token).collect([attempt.submission_id])
    assert len(views) >= 10, [v.url for v in views]
    found = leaks(views, leak_site.key.private_marks())
    assert not found, (
        f"{name} ({attempt.final['status']}, {(attempt.final['failure'] or {}).get('category')}) "
        f"showed its candidate private rows in {len(found)} view(s):\n"
        + "\n".join(f"{url}: {hits}" for url, hits in found.items())
    )
