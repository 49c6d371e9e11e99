"""Regenerate data/customers.csv: scikit-learn's bundled breast-cancer table dressed as a
customer-churn table, plus synthetic personal columns made deterministically from a seed.

The 569 rows and the signal come from `sklearn.datasets.load_breast_cancer` (no download):
eight of its measurements become customer metrics by monotone rescaling, and its label
becomes `churned`. Names, e-mails, phones, addresses, birth dates and notes are synthetic.
Run: python challenges/examples/churn/generate.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

SEED = 20240531
FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
         "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
         "Sarah", "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty",
         "Priya", "Wei", "Fatima", "Carlos", "Sofia", "Hiroshi", "Aisha", "Lars", "Olga", "Kwame"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
        "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson",
        "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White",
        "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Okafor", "Nakamura",
        "Kowalski", "Larsen", "Novak", "Haddad"]
STREETS = ["Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park", "Sunset"]
SUFFIX = ["Street", "Avenue", "Road", "Lane", "Drive", "Court"]
ZIP3 = ["941", "100", "606", "733", "981"]
NOTES = [
    "Called {name} at {phone} about a billing question.",
    "Customer asked to be emailed at {email} instead of post.",
    "Complained about slow support; follow up next week.",
    "Moved to {street}, {city}; update the account.",
    "Requested a discount on the premium plan.",
    "No issues reported.",
    "",
]
CITY = {"941": "San Francisco", "100": "New York", "606": "Chicago", "733": "Austin",
        "981": "Seattle"}


def generate() -> pd.DataFrame:
    bunch = load_breast_cancer(as_frame=True)
    x, y = bunch.data, bunch.target
    rng = np.random.default_rng(SEED)
    n = len(x)
    first = rng.choice(FIRST, n)
    last = rng.choice(LAST, n)
    names = [f"{f} {l}" for f, l in zip(first, last)]
    emails = [f"{f.lower()}.{l.lower()}{i}@example.com" for i, (f, l) in enumerate(zip(first, last))]
    phones = [f"+1 {rng.integers(201, 989)}-{rng.integers(200, 999)}-{rng.integers(1000, 9999)}"
              for _ in range(n)]
    zip3 = rng.choice(ZIP3, n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    zips = [f"{z}{rng.integers(0, 100):02d}" for z in zip3]
    streets = [f"{rng.integers(1, 9999)} {rng.choice(STREETS)} {rng.choice(SUFFIX)}" for _ in range(n)]
    birth = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 52, n), unit="D")
    as_of = pd.Timestamp("2024-06-01")
    age = ((as_of - birth).days // 365).astype(int)
    signup = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 365 * 8, n), unit="D")
    last_contact = signup + pd.to_timedelta(rng.integers(30, 900, n), unit="D")
    notes = []
    for i in range(n):
        template = NOTES[rng.integers(0, len(NOTES))]
        notes.append(template.format(name=names[i], phone=phones[i], email=emails[i],
                                     street=streets[i], city=CITY[zip3[i]]))
    frame = pd.DataFrame({
        "customer_id": [f"CUST-{100000 + i}" for i in rng.permutation(n)],
        "name": names,
        "email": emails,
        "phone": phones,
        "street": streets,
        "zip": zips,
        "gender": rng.choice(["F", "M"], n),
        "date_of_birth": birth.strftime("%Y-%m-%d"),
        "age": age,
        "signup_date": signup.strftime("%Y-%m-%d"),
        "last_contact": last_contact.strftime("%Y-%m-%d"),
        "income": np.round(28000 + rng.lognormal(10.2, 0.45, n)).astype(int),
        "plan": pd.cut(x["mean area"], [0, 420, 700, 1e9], labels=["basic", "standard", "premium"]).astype(str),
        "monthly_spend": np.round(x["mean radius"] * 4.2, 2),
        "support_tickets": np.round(x["mean concave points"] * 60).astype(int),
        "tenure_months": np.round(120 - x["mean texture"] * 3).clip(1).astype(int),
        "logins_per_week": np.round(x["mean smoothness"] * 100, 1),
        "late_payments": np.round(x["worst concavity"] * 6).astype(int),
        "data_usage_gb": np.round(x["worst perimeter"] / 5, 1),
        "discount_pct": np.round(x["mean symmetry"] * 50).astype(int),
        "satisfaction": np.round(10 - x["worst radius"] / 4, 1),
        "notes": notes,
        "churned": (y == 0).astype(int),
    })
    return frame


if __name__ == "__main__":
    out = Path(__file__).parent / "data" / "customers.csv"
    generate().to_csv(out, index=False, lineterminator="\n")
    print(f"wrote {out}")
