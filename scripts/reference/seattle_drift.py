#!/usr/bin/env python3
"""Measures which features of test/fixtures/datasets/seattle-weather.csv really move between the
training window and the later stream window (two-sample Kolmogorov–Smirnov per feature), and that
a control stream held out of the training window does not. Figures go into that folder's README.

Needs scipy (Debian: python3-scipy). Run from the repository root:
    /usr/bin/python3 scripts/reference/seattle_drift.py
"""

import collections
import csv
import datetime
import os

from scipy.stats import ks_2samp

FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "datasets", "seattle-weather.csv")
FEATURES = ["precipitation", "temp_max", "temp_min", "wind"]
TRAIN = ("2012-06-01", "2012-08-31")
STREAM = ("2015-06-01", "2015-08-31")
YEAR_TRAIN = ("2012-01-01", "2012-12-31")
YEAR_STREAM = ("2015-01-01", "2015-12-31")


def held_out(row):
    """The control: every 4th day of the training window (days since its start ≡ 3 mod 4)."""
    start = datetime.date.fromisoformat(TRAIN[0])
    return (datetime.date.fromisoformat(row["date"]) - start).days % 4 == 3


def window(rows, bounds):
    return [r for r in rows if bounds[0] <= r["date"] <= bounds[1]]


def report(name, a, b):
    print(f"{name}: {len(a)} vs {len(b)} rows")
    for f in FEATURES:
        xa = [float(r[f]) for r in a]
        xb = [float(r[f]) for r in b]
        result = ks_2samp(xa, xb)
        print(
            f"  {f:13s} KS {result.statistic:.3f}  p {result.pvalue:.1e}  "
            f"mean {sum(xa) / len(xa):6.2f} -> {sum(xb) / len(xb):6.2f}"
        )
    print("  weather", dict(collections.Counter(r["weather"] for r in a)), "->", dict(collections.Counter(r["weather"] for r in b)))


def main():
    with open(FILE, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    summer = window(rows, TRAIN)
    train = [r for r in summer if not held_out(r)]
    control = [r for r in summer if held_out(r)]
    report("train (summer 2012, 3 of 4 days) vs stream (summer 2015)", train, window(rows, STREAM))
    report("train vs control (every 4th day of summer 2012, held out)", train, control)
    report("whole year 2012 vs whole year 2015", window(rows, YEAR_TRAIN), window(rows, YEAR_STREAM))


if __name__ == "__main__":
    main()
