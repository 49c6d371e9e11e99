"""A challenge version with real artifacts (sandbox inputs, bundle, answer key) and one
queued submission, on the real database and storage."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.storage import Storage, open_storage
from tests.factories import make_challenge, make_invitation, make_submission
from tests.platform.worker.helpers import IDS, LABELS, SPLIT


@pytest.fixture
def storage(config: Config) -> Storage:
    return open_storage(config)


@pytest.fixture
def submission_id(db: Database, storage: Storage) -> int:
    """A challenge version with real artifacts and one queued submission."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("train.csv", "cid,x,y\na,1,0\nb,2,1\n")
        archive.writestr("test.csv", "cid,x\n" + "".join(f"{i},{n}\n" for n, i in enumerate(IDS)))
    storage.put_bytes("c/1/sandbox.zip", buffer.getvalue())
    bundle = io.BytesIO()
    with zipfile.ZipFile(bundle, "w") as archive:  # what the candidate downloaded
        archive.writestr("README.md", "brief")
        archive.writestr("data/train.csv", "cid,x,y\na,1,0\nb,2,1\n")
        archive.writestr(
            "data/test.csv", "cid,x\n" + "".join(f"{i},{n}\n" for n, i in enumerate(IDS[:10]))
        )
    storage.put_bytes("c/1/bundle.zip", bundle.getvalue())
    answers = pd.DataFrame({"cid": IDS, "y": LABELS, "split": SPLIT})
    storage.put_bytes("c/1/answers.csv", answers.to_csv(index=False).encode())
    storage.put_bytes("submissions/nb.ipynb", b"{}")
    with db.session() as session:
        challenge = make_challenge(session)
        version = challenge.versions[0]
        version.sandbox_key, version.answer_key = "c/1/sandbox.zip", "c/1/answers.csv"
        version.bundle_key = "c/1/bundle.zip"
        version.data_sha256 = "d" * 64
        version.spec = {
            "data": {"id": "cid", "target": "y"},
            "metric": {"name": "accuracy"},
            "limits": {"timeout_s": 30, "memory_mb": 512, "cpus": 1},
        }
        version.metric = "accuracy"
        invitation = make_invitation(session, challenge=challenge)
        return make_submission(session, invitation, notebook_key="submissions/nb.ipynb").id
