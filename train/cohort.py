"""Cohort format, loading and the stratified development / external-test / fold split.

A cohort is a CSV with one row per infant (columns ``COLUMNS``) next to skeleton files
(``worker.skeleton.artefact.Skeleton`` .npz or .csv); the ``skeleton`` column is relative to the
CSV so a cohort directory can be moved. Skeletons go through the worker's own pre-processing
(``worker.science.preprocessing.prepare_skeleton``) so training sees exactly what inference sees.

Split (method.md): stratified on (centre, CP subtype); 25 % external test, the rest into 7 folds.
Within each stratum the infants are shuffled with the seed and dealt out, so every stratum is
spread as evenly as possible and the same seed always gives the same split.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from earlycp.errors import EarlyCPError, ErrorCode
from worker.science.preprocessing import PreparedSequence, prepare_skeleton
from worker.skeleton.artefact import Skeleton

COLUMNS = ("infant_id", "skeleton", "cp", "subtype", "gmfcs", "centre", "age_weeks")
TEST_SHARE = 0.25
N_FOLDS = 7


@dataclass(frozen=True)
class Infant:
    infant_id: str
    skeleton: Path
    cp: int
    subtype: str
    gmfcs: str
    centre: str
    age_weeks: float

    @property
    def stratum(self) -> tuple[str, str]:
        return (self.centre, self.subtype)


def load_cohort(csv_path: str | Path) -> list[Infant]:
    """Read a cohort CSV; refuses missing columns, unknown outcomes and duplicate ids."""
    path = Path(csv_path)
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise EarlyCPError(ErrorCode.INVALID_INPUT, detail=f"{path}: missing columns {sorted(missing)}")
        rows = list(reader)
    infants, seen = [], set()
    for i, r in enumerate(rows, start=2):
        if r["cp"] not in ("0", "1"):
            raise EarlyCPError(
                ErrorCode.INVALID_INPUT, detail=f"{path}:{i}: cp must be 0 or 1, got {r['cp']!r}"
            )
        if r["infant_id"] in seen:
            raise EarlyCPError(
                ErrorCode.INVALID_INPUT, detail=f"{path}:{i}: duplicate infant_id {r['infant_id']}"
            )
        seen.add(r["infant_id"])
        infants.append(
            Infant(
                infant_id=r["infant_id"],
                skeleton=(path.parent / r["skeleton"]).resolve(),
                cp=int(r["cp"]),
                subtype=r["subtype"] or ("none" if r["cp"] == "0" else "unknown"),
                gmfcs=r["gmfcs"],
                centre=r["centre"],
                age_weeks=float(r["age_weeks"] or "nan"),
            )
        )
    return infants


def prepare(infants: list[Infant]) -> dict[str, PreparedSequence]:
    """Pre-processed sequences (worker's steps 0–3) by infant id."""
    return {i.infant_id: prepare_skeleton(Skeleton.load(i.skeleton)) for i in infants}


@dataclass(frozen=True)
class Split:
    test: list[str]
    folds: list[list[str]]

    def fold(self, k: int) -> tuple[list[str], list[str]]:
        """(training ids, validation ids) for fold ``k``: validate on fold k, train on the others."""
        val = self.folds[k]
        train = [i for j, f in enumerate(self.folds) if j != k for i in f]
        return train, val

    @property
    def development(self) -> list[str]:
        return [i for f in self.folds for i in f]

    def as_dict(self) -> dict[str, object]:
        return {"test": self.test, "folds": self.folds}


def stratified_split(
    infants: list[Infant], *, seed: int = 0, test_share: float = TEST_SHARE, n_folds: int = N_FOLDS
) -> Split:
    """Deterministic split stratified on (centre, subtype).

    Strata are processed in sorted order; each is shuffled with the seed. The test set takes
    round(test_share · size) of each stratum, carrying the rounding remainder across strata so the
    total is round(test_share · n). The rest is dealt round-robin into folds, continuing the
    deal across strata so fold sizes differ by at most one.
    """
    rng = np.random.default_rng(seed)
    strata: dict[tuple[str, str], list[str]] = {}
    for inf in sorted(infants, key=lambda x: x.infant_id):
        strata.setdefault(inf.stratum, []).append(inf.infant_id)
    test: list[str] = []
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    carry, deal = 0.0, 0
    for key in sorted(strata):
        ids = [strata[key][i] for i in rng.permutation(len(strata[key]))]
        want = test_share * len(ids) + carry
        k = int(np.floor(want + 0.5))
        k = min(k, len(ids))
        carry = want - k
        test.extend(ids[:k])
        for i in ids[k:]:
            folds[deal % n_folds].append(i)
            deal += 1
    return Split(test=sorted(test), folds=[sorted(f) for f in folds])
