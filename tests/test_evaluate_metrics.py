"""Evaluation metrics against independently computed references.

Clopper–Pearson bounds are checked two ways: hard-coded textbook values and bisection on the
binomial CDF (the interval's definition), never against scipy's beta quantiles themselves.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.stats import binom

from worker.science.evaluation import (
    Confusion,
    DiagnosticMetrics,
    Proportion,
    SubgroupSpec,
    clopper_pearson,
    compare_subgroups,
    normalise_gmfcs,
    operating_points,
    rank_sum,
    roc_auc,
    roc_curve,
    threshold_for_sensitivity,
)


def _bisect(f, lo: float = 0.0, hi: float = 1.0, steps: int = 80) -> float:
    """Root of a function that is increasing on [lo, hi]."""
    for _ in range(steps):
        mid = (lo + hi) / 2
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def reference_interval(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Definition: P(X ≥ k | p_low) = α/2 and P(X ≤ k | p_high) = α/2."""
    low = 0.0 if k == 0 else _bisect(lambda p: binom.sf(k - 1, n, p) - alpha / 2)
    high = 1.0 if k == n else _bisect(lambda p: alpha / 2 - binom.cdf(k, n, p))
    return low, high


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (8, 10, 0.4439045, 0.9747893),  # classic textbook example
        (0, 10, 0.0, 1 - 0.025 ** (1 / 10)),  # closed form at k = 0
        (10, 10, 0.025 ** (1 / 10), 1.0),  # closed form at k = n
        (1, 1, 0.025, 1.0),
        (0, 1, 0.0, 0.975),
    ],
)
def test_clopper_pearson_hard_coded(k: int, n: int, low: float, high: float) -> None:
    got = clopper_pearson(k, n)
    assert got[0] == pytest.approx(low, abs=1e-6)
    assert got[1] == pytest.approx(high, abs=1e-6)


@pytest.mark.parametrize(("k", "n"), [(3, 17), (45, 50), (1, 2), (13, 100), (99, 100), (27, 31)])
def test_clopper_pearson_matches_binomial_bisection(k: int, n: int) -> None:
    got = clopper_pearson(k, n)
    ref = reference_interval(k, n)
    assert got[0] == pytest.approx(ref[0], abs=1e-9)
    assert got[1] == pytest.approx(ref[1], abs=1e-9)


def test_clopper_pearson_rejects_bad_counts() -> None:
    for k, n in ((0, 0), (3, 2), (-1, 4)):
        with pytest.raises(ValueError):
            clopper_pearson(k, n)


def test_diagnostic_metrics_of_a_confusion_matrix() -> None:
    m = DiagnosticMetrics.of(Confusion(tp=20, fp=10, tn=60, fn=5))
    expected = {
        "sensitivity": (20, 25),
        "specificity": (60, 70),
        "ppv": (20, 30),
        "npv": (60, 65),
        "accuracy": (80, 95),
    }
    for name, (k, n) in expected.items():
        p: Proportion = getattr(m, name)
        assert (p.k, p.n) == (k, n)
        assert p.value == pytest.approx(k / n)
        ref = reference_interval(k, n)
        assert (p.ci_low, p.ci_high) == pytest.approx(ref, abs=1e-9)


def test_empty_denominator_is_undefined_not_zero() -> None:
    m = DiagnosticMetrics.of(Confusion(tp=0, fp=0, tn=5, fn=0))
    assert m.sensitivity.value is None and m.sensitivity.ci_low is None
    assert m.ppv.value is None
    assert m.specificity.value == 1.0


def test_classification_is_strictly_above_threshold() -> None:
    c = Confusion.from_predictions([0.25, 0.2500001, 0.1, 0.9], [1, 1, 0, 0], 0.25)
    assert (c.tp, c.fn, c.tn, c.fp) == (1, 1, 1, 1)


def test_auc_hand_example_with_a_tie() -> None:
    # pairs (pos, neg): (0.9,0.5)=1 (0.9,0.1)=1 (0.5,0.5)=½ (0.5,0.1)=1 → 3.5/4
    assert roc_auc([1, 1, 0, 0], [0.9, 0.5, 0.5, 0.1]) == pytest.approx(0.875)
    assert roc_auc([1, 0], [0.8, 0.2]) == 1.0
    assert roc_auc([1, 0], [0.2, 0.8]) == 0.0
    assert roc_auc([1, 1, 0, 0], [0.3] * 4) == 0.5
    assert math.isnan(roc_auc([1, 1], [0.1, 0.2]))


def test_auc_equals_brute_force_pair_count_and_roc_area() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.random(60) * 0.5 + 0.3 * y, 1)  # coarse values: many ties
    pos, neg = s[y == 1], s[y == 0]
    brute = np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(pos, neg)])
    assert roc_auc(y, s) == pytest.approx(brute, abs=1e-12)
    fpr, tpr, thr = roc_curve(y, s)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(thr) < 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(brute, abs=1e-12)


def test_threshold_for_target_sensitivity() -> None:
    cp = [1, 1, 1, 1, 0, 0, 0]
    risk = [0.9, 0.6, 0.4, 0.2, 0.5, 0.3, 0.1]
    t = threshold_for_sensitivity(cp, risk, 0.75)  # 3 of 4 CP infants must lie above t
    assert t == 0.3
    c = Confusion.from_predictions(risk, cp, t)
    assert (c.tp, c.fn, c.fp, c.tn) == (3, 1, 1, 2)
    assert threshold_for_sensitivity(cp, risk, 1.0) == 0.1
    assert threshold_for_sensitivity(cp, risk, 0.25) == 0.6
    assert threshold_for_sensitivity([0, 0], [0.1, 0.2], 0.9) is None


def test_operating_points_cover_published_thresholds() -> None:
    ops = operating_points([1, 0, 1, 0], [0.32, 0.18, 0.16, 0.05])
    assert [o.threshold for o in ops] == [0.15, 0.20, 0.25, 0.30, 0.35]
    assert [o.sensitivity.k for o in ops] == [2, 1, 1, 1, 0]
    assert [o.specificity.k for o in ops] == [1, 2, 2, 2, 2]


def test_rank_sum_exact_small_sample() -> None:
    # complete separation of 3 vs 3: exact two-sided p = 2 / C(6, 3) = 0.1
    r = rank_sum("gmfcs", "a", [0.1, 0.2, 0.3], "b", [0.4, 0.5, 0.6])
    assert r.statistic_u == 0.0
    assert r.p_value == pytest.approx(0.1)
    assert r.median_a == pytest.approx(0.2) and r.n_b == 3
    empty = rank_sum("x", "a", [], "b", [0.5])
    assert empty.p_value is None and empty.note


def test_gmfcs_grouping_and_explicit_groups() -> None:
    assert [normalise_gmfcs(v) for v in ("I", "iii", "GMFCS IV", "5", "")] == ["1", "3", "4", "5", ""]
    values = ["I", "II", "III", "IV", "V", "", "2"]
    risk = [0.1, 0.2, 0.3, 0.7, 0.8, 0.99, 0.25]
    (res,) = compare_subgroups(SubgroupSpec.parse("gmfcs"), values, risk)
    assert (res.group_a, res.n_a, res.group_b, res.n_b) == ("GMFCS I–III", 4, "GMFCS IV–V", 2)
    (res2,) = compare_subgroups(SubgroupSpec.parse("gmfcs=I,II:III,IV,V"), values, risk)
    assert (res2.n_a, res2.n_b) == (3, 3)
    pairs = compare_subgroups(
        SubgroupSpec.parse("subtype"), ["unilateral", "bilateral", "Bilateral", ""], risk[:4]
    )
    assert len(pairs) == 1 and (pairs[0].group_a, pairs[0].n_a, pairs[0].n_b) == ("bilateral", 2, 1)
    with pytest.raises(ValueError):
        SubgroupSpec.parse("gmfcs=I,II")
