"""Regenerate data/patients.csv from scikit-learn's bundled diabetes table (no download).

The 442 rows, the ten measurements and the target (disease progression one year after the
baseline visit) are `sklearn.datasets.load_diabetes(scaled=False)`; the patient ids, names
and visit dates are synthetic, made deterministically from a seed, so the anonymization
rules have something to do.
Run: python challenges/examples/diabetes/generate.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes

SEED = 442
FIRST = ["Mary", "James", "Linda", "Robert", "Susan", "John", "Karen", "David", "Nancy", "Paul"]
LAST = ["Walker", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill"]


def generate() -> pd.DataFrame:
    bunch = load_diabetes(as_frame=True, scaled=False)
    x, y = bunch.data, bunch.target
    rng = np.random.default_rng(SEED)
    n = len(x)
    visit = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 365 * 3, n), unit="D")
    frame = pd.DataFrame({
        "patient_id": rng.permutation(n) + 70001,
        "patient_name": [f"{f} {l}" for f, l in zip(rng.choice(FIRST, n), rng.choice(LAST, n))],
        "visit_date": visit.strftime("%Y-%m-%d"),
        "age": x["age"].astype(int),
        "sex": x["sex"].map({1.0: "A", 2.0: "B"}),
        "bmi": x["bmi"],
        "blood_pressure": x["bp"],
        "total_cholesterol": x["s1"],
        "ldl": x["s2"],
        "hdl": x["s3"],
        "cholesterol_ratio": x["s4"],
        "log_triglycerides": x["s5"],
        "glucose": x["s6"].astype(int),
        "progression": y.astype(int),
    })
    return frame


if __name__ == "__main__":
    out = Path(__file__).parent / "data" / "patients.csv"
    generate().to_csv(out, index=False, lineterminator="\n")
    print(f"wrote {out}")
