"""Cohort CSV loading and the stratified split (train/cohort.py)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from earlycp.errors import EarlyCPError
from train.cohort import COLUMNS, Infant, load_cohort, stratified_split


def _infants(n: int = 140) -> list[Infant]:
    out = []
    for i in range(n):
        cp = int(i % 10 < 3)
        subtype = "none" if not cp else ("unilateral" if i % 2 else "bilateral")
        out.append(Infant(f"i{i:03d}", Path(f"/x/{i}.npz"), cp, subtype, "", f"c{i % 3}", 12))
    return out


def test_split_sizes_partition_and_determinism() -> None:
    infants = _infants()
    s = stratified_split(infants, seed=5)
    all_ids = s.test + s.development
    assert sorted(all_ids) == sorted(i.infant_id for i in infants)  # a partition
    assert len(set(all_ids)) == len(all_ids)
    assert len(s.test) == 35 and len(s.folds) == 7
    sizes = [len(f) for f in s.folds]
    assert max(sizes) - min(sizes) <= 1
    assert stratified_split(infants, seed=5) == s
    assert stratified_split(infants, seed=6) != s


def test_split_is_stratified_on_centre_and_subtype() -> None:
    infants = _infants()
    by_id = {i.infant_id: i for i in infants}
    s = stratified_split(infants, seed=1)
    total = Counter(i.stratum for i in infants)
    test = Counter(by_id[i].stratum for i in s.test)
    for stratum, n in total.items():
        assert abs(test[stratum] - 0.25 * n) <= 1, stratum
    for k in range(7):
        fold = Counter(by_id[i].stratum for i in s.folds[k])
        for stratum, n in total.items():
            dev = n - test[stratum]
            assert abs(fold[stratum] - dev / 7) <= 1.01, (k, stratum)
    train, val = s.fold(3)
    assert (
        set(val) == set(s.folds[3])
        and not set(train) & set(val)
        and len(train) + len(val) == len(s.development)
    )


def _write(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_load_cohort_resolves_paths_and_refuses_bad_rows(tmp_path: Path) -> None:
    row = dict(zip(COLUMNS, ["a", "sk/a.npz", "1", "unilateral", "II", "c1", "12"], strict=True))
    infants = load_cohort(_write(tmp_path / "c.csv", [row]))
    assert infants[0].skeleton == (tmp_path / "sk/a.npz").resolve() and infants[0].cp == 1
    with pytest.raises(EarlyCPError):
        load_cohort(_write(tmp_path / "d.csv", [{**row, "cp": "maybe"}]))
    with pytest.raises(EarlyCPError):
        load_cohort(_write(tmp_path / "e.csv", [row, row]))
    with pytest.raises(EarlyCPError):
        load_cohort(_write(tmp_path / "f.csv", [{k: v for k, v in row.items() if k != "centre"}]))
