"""A live portal for the browser tests: the app on a real HTTP server, a real worker, a
challenge with its three stored artifacts, and axe-core in the page."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from heldout.platform.app import create_app
from heldout.platform.config import Config
from heldout.platform.services import invitations
from tests.factories import latest_version, make_challenge
from tests.portal.conftest import BRIEF, notebook

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "portal"

TRAIN = "id,tenure,charges,churned\n" + "".join(
    f"{i},{i % 50},{20 + (i * 7) % 80},{int(i % 50 < 12)}\n" for i in range(1, 201)
)
TEST_ROWS = [(i, i % 50, 20 + (i * 7) % 80, int(i % 50 < 12)) for i in range(201, 261)]
PUBLIC = {row[0] for row in TEST_ROWS[:30]}

KIT = Path(__file__).resolve().parents[2] / "challenges" / "examples" / "churn"

# A plain solution for the churn example kit: numeric columns, logistic regression.
GOOD_NOTEBOOK = notebook(
    "import pandas as pd\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "train = pd.read_csv('data/train.csv')\n"
    "test = pd.read_csv('data/test.csv')\n"
    "features = [c for c in test.select_dtypes('number').columns if c in train]\n"
    "model = LogisticRegression(max_iter=2000)\n"
    "model.fit(train[features].fillna(0), train['churned'])\n"
    "predictions = model.predict(test[features].fillna(0))\n"
    "pd.DataFrame({'customer_id': test['customer_id'], 'churned': predictions})"
    ".to_csv('predictions.csv', index=False)\n"
    "print('wrote', len(test), 'predictions')"
)
FAILING_NOTEBOOK = notebook(
    "import pandas as pd\ntrain = pd.read_csv('data/train.csv')\ntrain['monthly_price'].mean()"
)


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _test_csv(rows: list[tuple[int, int, int, int]]) -> str:
    return "id,tenure,charges\n" + "".join(f"{i},{t},{c}\n" for i, t, c, _ in rows)


def build_challenge(app: Flask) -> str:
    """A churn challenge stored as the build would: bundle, sandbox inputs, answer key."""
    sv = app.extensions["heldout"]
    public_rows = [row for row in TEST_ROWS if row[0] in PUBLIC]
    bundle = _zip(
        {
            "brief.md": BRIEF,
            "data/train.csv": TRAIN,
            "data/test.csv": _test_csv(public_rows),
            "starter.ipynb": notebook("import pandas as pd").decode(),
        }
    )
    inputs = _zip({"train.csv": TRAIN, "test.csv": _test_csv(TEST_ROWS)})
    answers = "id,churned,split\n" + "".join(
        f"{i},{y},{'public' if i in PUBLIC else 'private'}\n" for i, _, _, y in TEST_ROWS
    )
    with sv.db.session() as session:
        challenge = make_challenge(session)
        challenge.title = "Predict customer churn"
        challenge.state = "published"
        version = latest_version(challenge)
        version.spec = {
            "slug": challenge.slug,
            "limits": {"submissions": 5, "timeout_s": 120, "memory_mb": 1024, "cpus": 1},
            "data": {"id": "id", "target": "churned"},
            "split": {"private_fraction": 0.5},
            "metric": {"name": "f1"},
        }
        version.brief = BRIEF
        version.data_sha256 = hashlib.sha256(inputs).hexdigest()
        version.starter_key = f"c/{challenge.slug}/starter.ipynb"
        keys = {
            version.bundle_key: bundle,
            version.sandbox_key: inputs,
            version.answer_key: answers.encode(),
            version.starter_key: notebook("import pandas as pd"),
        }
        slug = challenge.slug
    for key, data in keys.items():
        sv.storage.put_bytes(key, data)
    return slug


def build_kit(app: Flask, kit: Path = KIT) -> str:
    """The example kit built as `heldout challenge build` builds it, then published."""
    from heldout.platform.services import challenges

    sv = app.extensions["heldout"]
    info = challenges.build(sv.db, sv.storage, kit)
    challenges.publish(sv.db, info.slug)
    return info.slug


@dataclass
class Portal:
    url: str
    app: Flask
    slug: str

    def invite(self, email: str = "ada@example.com", days: int | None = None) -> str:
        sv = self.app.extensions["heldout"]
        return invitations.invite(sv.db, sv.config, self.slug, email, days=days).token


@contextmanager
def live_portal(home: Path, backend: Any = None, kit: Path | None = None) -> Iterator[Portal]:
    """The app on 127.0.0.1 (a free port) and, given a sandbox backend, a worker beside it;
    the challenge is the built `kit`, or a small one stored directly."""
    config = Config.from_env(
        {
            "HELDOUT_HOME": str(home),
            "HELDOUT_SECRET_KEY": "browser-test",
            "HELDOUT_LEASE_SECONDS": "30",
        }
    )
    app = create_app({"TESTING": False}, config=config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    worker = None
    working = None
    if backend is not None:
        from heldout.platform.worker.loop import Worker

        sv = app.extensions["heldout"]
        worker = Worker(config, sv.db, sv.storage, backend, concurrency=1, poll_s=0.3)
        working = threading.Thread(target=worker.run, daemon=True)
        working.start()
    try:
        slug = build_kit(app, kit) if kit else build_challenge(app)
        yield Portal(f"http://127.0.0.1:{server.server_port}", app, slug)
    finally:
        if worker is not None and working is not None:
            worker.stop()
            working.join(timeout=60)
        server.shutdown()
        serving.join(timeout=10)
        app.extensions["heldout"].db.dispose()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"portal-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
