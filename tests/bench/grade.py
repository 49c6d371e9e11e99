"""`heldout grade` on 1,000,000 rows against the obvious pandas + scikit-learn script.

Both are whole processes doing the same work: read the predictions and the answer key, join
on the id, score the public and the private rows. Runs alternate; medians are compared.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tests.bench import Row

CACHE = Path("/tmp/heldout-bench-grade")
ROWS = 1_000_000
BASELINE = """\
import json, sys
import pandas as pd
from sklearn.metrics import f1_score, roc_auc_score

pred_path, labels_path, metric = sys.argv[1:4]
labels = pd.read_csv(labels_path)
pred = pd.read_csv(pred_path)
rows = labels.merge(pred, on="id", suffixes=("", "_pred"))
score = {"f1": f1_score, "roc_auc": roc_auc_score}[metric]
public = rows[rows.split == "public"]
private = rows[rows.split == "private"]
print(json.dumps({"metric": metric, "score": score(public.target, public.target_pred),
                  "private_score": score(private.target, private.target_pred)}))
"""


def _data(rows: int) -> Path:
    """Answer key and two predictions files (classes, probabilities), shuffled; made once."""
    folder = CACHE / str(rows)
    if (folder / "done").exists():
        return folder
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    # ids as the platform's pseudonymized ids look: hex text
    ids = np.char.mod("%012x", rng.choice(2**47, size=rows, replace=False))
    target = (rng.random(rows) < 0.3).astype(int)
    split = np.where(rng.random(rows) < 0.5, "public", "private")
    pd.DataFrame({"id": ids, "target": target, "split": split}).to_csv(
        folder / "labels.csv", index=False
    )
    probability = np.round(np.clip(target * 0.3 + rng.random(rows) * 0.7, 0, 1), 6)
    order = rng.permutation(rows)
    frame = pd.DataFrame({"id": ids[order], "target": probability[order]})
    frame.to_csv(folder / "roc_auc.csv", index=False)
    frame.assign(target=(frame.target > 0.5).astype(int)).to_csv(folder / "f1.csv", index=False)
    (folder / "baseline.py").write_text(BASELINE)
    (folder / "done").touch()
    return folder


def _time(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout


def run(quick: bool) -> list[Row]:
    rows = 100_000 if quick else ROWS
    repeats = 2 if quick else 5
    folder = _data(rows)
    exe = shutil.which("heldout") or str(Path(sys.executable).parent / "heldout")
    results = []
    for metric in ("f1", "roc_auc"):
        pred, labels = str(folder / f"{metric}.csv"), str(folder / "labels.csv")
        ours_cmd = [exe, "grade", pred, "--labels", labels, "--metric", metric, "--json"]
        base_cmd = [sys.executable, str(folder / "baseline.py"), pred, labels, metric]
        ours, base = [], []
        for _ in range(repeats):
            seconds, ours_out = _time(ours_cmd)
            ours.append(seconds)
            seconds, base_out = _time(base_cmd)
            base.append(seconds)
        import json

        a, b = json.loads(ours_out), json.loads(base_out)
        agree = (
            abs(a["score"] - b["score"]) < 1e-9
            and abs(a["private_score"] - b["private_score"]) < 1e-9
        )
        results.append(
            Row(
                name=f"grade {metric}, {rows:,} rows",
                ours=statistics.median(ours),
                baseline=statistics.median(base),
                unit="s",
                target="<= 1.0x",
                note=f"whole process, median of {repeats}; scores agree: {agree}",
            )
        )
    return results
