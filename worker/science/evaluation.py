"""Diagnostic accuracy of risk predictions against outcomes (method.md "Evaluation").

Used by ``earlycp evaluate`` (a site's own validation study) and by the model factory (the
NAS ranks candidates by per-infant validation AUC, imported from here so training and
evaluation agree on one definition).

Definitions, all per infant (one risk per infant, never per window):

- an infant is classified CP when ``risk > threshold`` — strictly, exactly as the report
  classifies (worker.science.aggregation);
- sensitivity TP/(TP+FN), specificity TN/(TN+FP), PPV TP/(TP+FP), NPV TN/(TN+FN), accuracy
  (TP+TN)/n, each with the exact Clopper–Pearson 95 % interval
  ``[Beta⁻¹(α/2; k, n−k+1), Beta⁻¹(1−α/2; k+1, n−k)]`` (``scipy.stats.beta.ppf``; 0 and 1 at
  the ends k = 0 and k = n). A proportion with an empty denominator is undefined (None);
- AUC in its Mann–Whitney form: the probability that a random CP infant has a higher risk
  than a random non-CP infant, ties counting ½ (computed from mid-ranks, exact);
- the ROC curve: one point per distinct risk value r (classification ``risk ≥ r``) from (0, 0)
  to (1, 1);
- the threshold reaching a target sensitivity: the largest threshold t (an observed risk, or
  0) whose rule ``risk > t`` still has sensitivity ≥ the target — the operating point used when
  methods are compared at a fixed sensitivity;
- subgroup differences in risk: the two-sided Wilcoxon rank-sum test, computed with
  ``scipy.stats.mannwhitneyu(a, b, alternative="two-sided", method="auto")`` — the same test
  in its Mann–Whitney U form, exact when a group has ≤ 8 members and no risks tie, else the
  normal approximation with tie and continuity correction (as R's ``wilcox.test``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

PUBLISHED_THRESHOLDS = (0.15, 0.20, 0.25, 0.30, 0.35)
CONFIDENCE_LEVEL = 0.95

#: The two GMFCS groups the published work compares (ambulatory vs non-ambulatory).
GMFCS_GROUPS: tuple[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]] = (
    ("GMFCS I–III", ("1", "2", "3")),
    ("GMFCS IV–V", ("4", "5")),
)
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5"}


# --- proportions ------------------------------------------------------------------------


def clopper_pearson(k: int, n: int, level: float = CONFIDENCE_LEVEL) -> tuple[float, float]:
    """Exact two-sided binomial confidence interval for k successes out of n (n > 0)."""
    from scipy.stats import beta

    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 ≤ k ≤ n and n > 0, got k={k}, n={n}")
    alpha = 1.0 - level
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


@dataclass(frozen=True)
class Proportion:
    """k of n with its exact interval; ``value`` and bounds are None when n = 0."""

    k: int
    n: int
    value: float | None
    ci_low: float | None
    ci_high: float | None

    @classmethod
    def of(cls, k: int, n: int, level: float = CONFIDENCE_LEVEL) -> Proportion:
        if n == 0:
            return cls(k, n, None, None, None)
        low, high = clopper_pearson(k, n, level)
        return cls(k, n, k / n, low, high)

    def text(self) -> str:
        if self.value is None:
            return f"undefined (0 of {self.n})"
        return f"{self.value:6.1%} ({self.k}/{self.n}; 95% CI {self.ci_low:.1%}–{self.ci_high:.1%})"


@dataclass(frozen=True)
class Confusion:
    tp: int
    fp: int
    tn: int
    fn: int

    def __post_init__(self) -> None:
        if min(self.tp, self.fp, self.tn, self.fn) < 0:
            raise ValueError("confusion-matrix counts must be ≥ 0")

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @classmethod
    def from_predictions(cls, risk: Sequence[float], cp: Sequence[int], threshold: float) -> Confusion:
        r, y = _arrays(risk, cp)
        pred = r > threshold
        return cls(
            tp=int(np.sum(pred & y)),
            fp=int(np.sum(pred & ~y)),
            tn=int(np.sum(~pred & ~y)),
            fn=int(np.sum(~pred & y)),
        )


@dataclass(frozen=True)
class DiagnosticMetrics:
    """A confusion matrix and the five proportions the method reports, with exact CIs."""

    confusion: Confusion
    sensitivity: Proportion
    specificity: Proportion
    ppv: Proportion
    npv: Proportion
    accuracy: Proportion
    threshold: float | None = None

    @classmethod
    def of(cls, confusion: Confusion, threshold: float | None = None) -> DiagnosticMetrics:
        c = confusion
        return cls(
            confusion=c,
            sensitivity=Proportion.of(c.tp, c.tp + c.fn),
            specificity=Proportion.of(c.tn, c.tn + c.fp),
            ppv=Proportion.of(c.tp, c.tp + c.fp),
            npv=Proportion.of(c.tn, c.tn + c.fn),
            accuracy=Proportion.of(c.tp + c.tn, c.n),
            threshold=threshold,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- ranking metrics --------------------------------------------------------------------


def _arrays(risk: Sequence[float], cp: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(risk, dtype=np.float64).ravel()
    y = np.asarray(cp).ravel()
    if r.shape != y.shape:
        raise ValueError(f"{r.size} risks but {y.size} labels")
    if not np.isin(y, (0, 1, False, True)).all():
        raise ValueError("labels must be 0 or 1")
    return r, y.astype(bool)


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Mann–Whitney AUC (ties ½); NaN when either class is absent. Argument order as sklearn."""
    from scipy.stats import rankdata

    r, y = _arrays(scores, labels)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(r)  # mid-ranks for ties → each tied pair counts ½
    u = float(ranks[y].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def roc_curve(labels: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds): rule ``score ≥ threshold``, thresholds descending, from (0, 0)."""
    r, y = _arrays(scores, labels)
    n_pos, n_neg = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    order = np.argsort(-r, kind="stable")
    r_sorted, y_sorted = r[order], y[order]
    distinct = np.flatnonzero(np.diff(r_sorted)) if r.size > 1 else np.zeros(0, dtype=int)
    last = np.concatenate([distinct, [r.size - 1]]) if r.size else np.zeros(0, dtype=int)
    tps = np.cumsum(y_sorted)[last]
    fps = np.cumsum(~y_sorted)[last]
    tpr = np.concatenate([[0.0], tps / n_pos])
    fpr = np.concatenate([[0.0], fps / n_neg])
    thresholds = np.concatenate([[np.inf], r_sorted[last]])
    return fpr, tpr, thresholds


def threshold_for_sensitivity(labels: Sequence[int], scores: Sequence[float], target: float) -> float | None:
    """Largest threshold t (an observed risk, or 0) with sensitivity(risk > t) ≥ target."""
    r, y = _arrays(scores, labels)
    if not 0.0 < target <= 1.0:
        raise ValueError("target sensitivity must be in (0, 1]")
    positives = np.sort(r[y])[::-1]
    if positives.size == 0:
        return None
    needed = math.ceil(target * positives.size - 1e-12)
    cutoff = positives[needed - 1]  # the needed-th highest CP risk must lie above t
    below = r[r < cutoff]
    if below.size:
        return float(below.max())
    return 0.0 if cutoff > 0.0 else None


def operating_points(
    labels: Sequence[int], scores: Sequence[float], thresholds: Sequence[float] = PUBLISHED_THRESHOLDS
) -> list[DiagnosticMetrics]:
    return [DiagnosticMetrics.of(Confusion.from_predictions(scores, labels, t), t) for t in thresholds]


# --- subgroups --------------------------------------------------------------------------


@dataclass(frozen=True)
class RankSumResult:
    column: str
    group_a: str
    group_b: str
    n_a: int
    n_b: int
    median_a: float | None
    median_b: float | None
    statistic_u: float | None
    p_value: float | None
    test: str = "two-sided Wilcoxon rank-sum (scipy.stats.mannwhitneyu, method='auto')"
    note: str = ""


def rank_sum(column: str, name_a: str, a: Sequence[float], name_b: str, b: Sequence[float]) -> RankSumResult:
    """Two-sided Wilcoxon rank-sum test of risk between two groups (None when a group is empty)."""
    from scipy.stats import mannwhitneyu

    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    med_a = float(np.median(xa)) if xa.size else None
    med_b = float(np.median(xb)) if xb.size else None
    if xa.size == 0 or xb.size == 0:
        return RankSumResult(
            column, name_a, name_b, xa.size, xb.size, med_a, med_b, None, None, note="a group is empty"
        )
    res = mannwhitneyu(xa, xb, alternative="two-sided", method="auto")
    return RankSumResult(
        column, name_a, name_b, xa.size, xb.size, med_a, med_b, float(res.statistic), float(res.pvalue)
    )


def normalise_gmfcs(value: str) -> str:
    """'I'…'V', 'GMFCS III', '3' → '1'…'5'; anything else unchanged (lower case)."""
    v = value.strip().lower().removeprefix("gmfcs").strip()
    return _ROMAN.get(v, v)


@dataclass(frozen=True)
class SubgroupSpec:
    """Which values of a column form the two compared groups (None: derive from the data)."""

    column: str
    groups: tuple[tuple[str, tuple[str, ...]], ...] | None = None

    @classmethod
    def parse(cls, text: str) -> SubgroupSpec:
        """``COL`` or ``COL=A,B:C,D`` (group 1 values A or B against group 2 values C or D)."""
        column, _, spec = text.partition("=")
        column = column.strip()
        if not column:
            raise ValueError(f"no column name in subgroup '{text}'")
        if not spec:
            return cls(column)
        parts = spec.split(":")
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise ValueError(f"subgroup '{text}': write COL=A,B:C,D (two groups separated by ':')")
        groups = tuple(
            (p.strip().replace(",", "+"), tuple(v.strip().lower() for v in p.split(",") if v.strip()))
            for p in parts
        )
        return cls(column, groups)


@dataclass
class SubgroupComparison:
    spec: SubgroupSpec
    results: list[RankSumResult] = field(default_factory=list)


def compare_subgroups(
    spec: SubgroupSpec, values: Sequence[str], risk: Sequence[float]
) -> list[RankSumResult]:
    """Rank-sum tests for one column; rows with an empty value are left out.

    Without explicit groups: a column named ``gmfcs`` is split I–III vs IV–V (the published
    comparison); otherwise every pair of its distinct values is compared (one pair for a
    two-valued column such as unilateral/bilateral).
    """
    r = np.asarray(risk, dtype=np.float64)
    is_gmfcs = spec.column.strip().lower() == "gmfcs"
    norm = [(normalise_gmfcs(v) if is_gmfcs else v.strip().lower()) for v in values]
    present = [i for i, v in enumerate(norm) if v]
    groups = spec.groups
    if groups is not None and is_gmfcs:
        groups = tuple((name, tuple(normalise_gmfcs(v) for v in vals)) for name, vals in groups)
    if groups is None and is_gmfcs:
        groups = GMFCS_GROUPS
    if groups is not None:
        (name_a, vals_a), (name_b, vals_b) = groups
        a = [r[i] for i in present if norm[i] in vals_a]
        b = [r[i] for i in present if norm[i] in vals_b]
        return [rank_sum(spec.column, name_a, a, name_b, b)]
    distinct = sorted({norm[i] for i in present})
    results = []
    for x in range(len(distinct)):
        for z in range(x + 1, len(distinct)):
            a = [r[i] for i in present if norm[i] == distinct[x]]
            b = [r[i] for i in present if norm[i] == distinct[z]]
            results.append(rank_sum(spec.column, distinct[x], a, distinct[z], b))
    return results
