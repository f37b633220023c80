"""``earlycp evaluate``: diagnostic accuracy of EarlyCP risks against known outcomes.

A site validating EarlyCP on its own infants exports one row per infant — ``infant_id``,
``risk`` (the report's video risk) and ``cp`` (1 = CP diagnosed at follow-up, 0 = not) plus
optional subgroup columns (``gmfcs``, ``subtype``…) — and gets the numbers method.md asks for:
confusion matrix, sensitivity, specificity, PPV, NPV and accuracy with exact Clopper–Pearson
95 % intervals, AUC, the ROC curve, the published operating points 0.15…0.35, the threshold
reaching a target sensitivity and two-sided Wilcoxon rank-sum tests between subgroups.
``--tp/--fp/--tn/--fn`` evaluates a bare confusion matrix (e.g. from a paper).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import typer

from earlycp.errors import EarlyCPError, ErrorCode
from worker.science.evaluation import (
    PUBLISHED_THRESHOLDS,
    Confusion,
    DiagnosticMetrics,
    SubgroupSpec,
    compare_subgroups,
    operating_points,
    roc_auc,
    roc_curve,
    threshold_for_sensitivity,
)

REQUIRED_COLUMNS = ("infant_id", "risk", "cp")
_TRUE = {"1", "true", "yes", "cp"}
_FALSE = {"0", "false", "no", "non-cp", "no cp"}


@dataclass
class PredictionTable:
    """One row per infant, read from a predictions CSV."""

    infant_ids: list[str]
    risk: np.ndarray
    cp: np.ndarray
    extra: dict[str, list[str]] = field(default_factory=dict)


def _invalid(detail: str) -> EarlyCPError:
    return EarlyCPError(ErrorCode.INVALID_PREDICTIONS, detail=detail)


def read_predictions(path: Path) -> PredictionTable:
    """Parse and check the CSV: required columns, risks in [0, 1], 0/1 outcomes, unique infants."""
    if not path.is_file():
        raise EarlyCPError(ErrorCode.FILE_NOT_FOUND, detail=str(path))
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _invalid(f"{path.name}: {exc}") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise _invalid(
            f"{path.name}: missing column(s) {', '.join(missing)}; found {', '.join(columns) or 'none'}"
        )
    if not rows:
        raise _invalid(f"{path.name}: no rows")
    ids: list[str] = []
    risk: list[float] = []
    cp: list[int] = []
    for line, row in enumerate(rows, start=2):
        infant = row["infant_id"]
        if not infant:
            raise _invalid(f"line {line}: empty infant_id")
        try:
            r = float(row["risk"])
        except ValueError:
            raise _invalid(f"line {line}: risk '{row['risk']}' is not a number") from None
        if not (math.isfinite(r) and 0.0 <= r <= 1.0):
            raise _invalid(f"line {line}: risk {row['risk']} is outside 0–1")
        label = row["cp"].lower()
        if label in _TRUE:
            cp.append(1)
        elif label in _FALSE:
            cp.append(0)
        else:
            raise _invalid(f"line {line}: cp '{row['cp']}' must be 0 or 1")
        ids.append(infant)
        risk.append(r)
    seen: set[str] = set()
    duplicates = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    if duplicates:
        raise _invalid(f"one row per infant is required; repeated: {', '.join(duplicates[:5])}")
    extra = {c: [row.get(c, "") for row in rows] for c in columns if c not in REQUIRED_COLUMNS}
    return PredictionTable(ids, np.array(risk), np.array(cp, dtype=np.int64), extra)


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf → None, numpy scalars → Python."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def evaluate_table(
    table: PredictionTable, threshold: float, target_sensitivity: float, subgroups: list[SubgroupSpec]
) -> dict[str, Any]:
    """Everything ``evaluate`` reports, as plain JSON types."""
    metrics = DiagnosticMetrics.of(Confusion.from_predictions(table.risk, table.cp, threshold), threshold)
    fpr, tpr, thr = roc_curve(table.cp, table.risk)
    target_t = threshold_for_sensitivity(table.cp, table.risk, target_sensitivity)
    at_target = (
        DiagnosticMetrics.of(Confusion.from_predictions(table.risk, table.cp, target_t), target_t)
        if target_t is not None
        else None
    )
    tests = []
    for spec in subgroups:
        if spec.column not in table.extra:
            raise _invalid(
                f"no column '{spec.column}' for --subgroup; columns: {', '.join(table.extra) or 'none'}"
            )
        tests.extend(asdict(r) for r in compare_subgroups(spec, table.extra[spec.column], table.risk))
    return _clean(
        {
            "n_infants": len(table.infant_ids),
            "n_cp": int(table.cp.sum()),
            "threshold": threshold,
            "rule": "CP when risk > threshold",
            **metrics.as_dict(),
            "auc": roc_auc(table.cp, table.risk),
            "auc_method": "Mann–Whitney (ties count ½)",
            "operating_points": [m.as_dict() for m in operating_points(table.cp, table.risk)],
            "target_sensitivity": {
                "target": target_sensitivity,
                "threshold": target_t,
                "metrics": at_target.as_dict() if at_target else None,
            },
            "subgroup_tests": tests,
            "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thr.tolist()},
        }
    )


# --- output -----------------------------------------------------------------------------


def _fmt(p: dict[str, Any]) -> str:
    if p["value"] is None:
        return f"undefined (0 of {p['n']})"
    return f"{p['value']:6.1%}  ({p['k']}/{p['n']}; 95% CI {p['ci_low']:.1%}–{p['ci_high']:.1%})"


def _metrics_lines(m: dict[str, Any]) -> list[str]:
    c = m["confusion"]
    lines = [f"  TP {c['tp']}  FP {c['fp']}  TN {c['tn']}  FN {c['fn']}"]
    for key, label in (
        ("sensitivity", "sensitivity"),
        ("specificity", "specificity"),
        ("ppv", "PPV"),
        ("npv", "NPV"),
        ("accuracy", "accuracy"),
    ):
        lines.append(f"  {label:12s} {_fmt(m[key])}")
    return lines


def render_text(result: dict[str, Any]) -> str:
    out: list[str] = []
    if "n_infants" in result:
        out.append(f"{result['n_infants']} infants, {result['n_cp']} with CP")
        out.append(f"threshold {result['threshold']:g} (CP when risk > threshold)")
    else:
        out.append("confusion matrix")
    out.extend(_metrics_lines(result))
    if "auc" in result:
        auc = result["auc"]
        out.append(f"  AUC          {'undefined (one outcome class only)' if auc is None else f'{auc:.3f}'}")
        out.append("operating points (CP when risk > t):")
        out.append("      t   sens    spec    PPV     NPV     acc")
        for op in result["operating_points"]:
            vals = [op[k]["value"] for k in ("sensitivity", "specificity", "ppv", "npv", "accuracy")]
            cells = "  ".join("   —  " if v is None else f"{v:6.1%}" for v in vals)
            out.append(f"  {op['threshold']:5.2f}  {cells}")
        ts = result["target_sensitivity"]
        if ts["threshold"] is None:
            out.append(f"no threshold reaches sensitivity {ts['target']:.0%}")
        else:
            out.append(f"threshold for sensitivity ≥ {ts['target']:.0%}: {ts['threshold']:.4g}")
            out.extend(_metrics_lines(ts["metrics"]))
        for t in result["subgroup_tests"]:
            head = f"rank-sum {t['column']}: {t['group_a']} (n={t['n_a']}) vs {t['group_b']} (n={t['n_b']})"
            if t["p_value"] is None:
                out.append(f"{head}: not tested ({t['note']})")
            else:
                out.append(
                    f"{head}: median risk {t['median_a']:.3f} vs {t['median_b']:.3f}, "
                    f"U = {t['statistic_u']:g}, two-sided p = {t['p_value']:.4g}"
                )
    return "\n".join(out)


def write_roc(result: dict[str, Any], path: Path) -> Path:
    """The ROC curve as self-contained HTML (plotly.js embedded, works offline) or a PNG."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return _roc_html(result, path)
    if suffix == ".png":
        return _roc_png(result, path)
    raise EarlyCPError(
        ErrorCode.INVALID_INPUT, detail=f"--roc-out must end in .html or .png, got {path.name}"
    )


def _roc_html(result: dict[str, Any], path: Path) -> Path:
    import plotly.graph_objects as go

    roc = result["roc"]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash", "color": "grey"})
    )
    labels = ["" if t is None else f"risk ≥ {t:.3f}" for t in roc["thresholds"]]
    fig.add_trace(
        go.Scatter(
            x=roc["fpr"],
            y=roc["tpr"],
            mode="lines+markers",
            name="ROC",
            text=labels,
            line={"shape": "linear"},
        )
    )
    ops = result["operating_points"]
    fig.add_trace(
        go.Scatter(
            x=[None if o["specificity"]["value"] is None else 1 - o["specificity"]["value"] for o in ops],
            y=[o["sensitivity"]["value"] for o in ops],
            mode="markers+text",
            name="operating points (risk > t)",
            text=[f"{o['threshold']:.2f}" for o in ops],
            textposition="bottom right",
            marker={"size": 10, "symbol": "diamond"},
        )
    )
    auc = result["auc"]
    fig.update_layout(
        title=f"ROC — {result['n_infants']} infants, {result['n_cp']} CP, AUC "
        + ("undefined" if auc is None else f"{auc:.3f}"),
        xaxis={"title": "1 − specificity", "range": [0, 1]},
        yaxis={"title": "sensitivity", "range": [0, 1.02], "scaleanchor": "x"},
        width=640,
        height=640,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)
    return path


def _roc_png(result: dict[str, Any], path: Path) -> Path:
    """Drawn with OpenCV (already a dependency): plotly's PNG export would need a browser."""
    import cv2

    size, margin = 600, 70
    img = np.full((size, size, 3), 255, np.uint8)
    span = size - 2 * margin

    def pt(x: float, y: float) -> tuple[int, int]:
        return round(margin + x * span), round(size - margin - y * span)

    cv2.rectangle(img, pt(0, 0), pt(1, 1), (0, 0, 0), 1)
    for tick in (0.25, 0.5, 0.75):
        cv2.line(img, pt(tick, 0), pt(tick, 1), (225, 225, 225), 1)
        cv2.line(img, pt(0, tick), pt(1, tick), (225, 225, 225), 1)
    cv2.line(img, pt(0, 0), pt(1, 1), (160, 160, 160), 1, cv2.LINE_AA)
    roc = result["roc"]
    pts = np.array([pt(x, y) for x, y in zip(roc["fpr"], roc["tpr"], strict=True)], np.int32)
    cv2.polylines(img, [pts], False, (180, 90, 20), 2, cv2.LINE_AA)
    for o in result["operating_points"]:
        if o["specificity"]["value"] is None or o["sensitivity"]["value"] is None:
            continue
        centre = pt(1 - o["specificity"]["value"], o["sensitivity"]["value"])
        cv2.circle(img, centre, 5, (30, 30, 200), -1, cv2.LINE_AA)
        cv2.putText(
            img,
            f"{o['threshold']:.2f}",
            (centre[0] + 6, centre[1] + 14),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4,
            (30, 30, 200),
            1,
            cv2.LINE_AA,
        )
    font = cv2.FONT_HERSHEY_SIMPLEX
    for v in (0.0, 0.5, 1.0):
        cv2.putText(
            img, f"{v:.1f}", (pt(v, 0)[0] - 10, size - margin + 20), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA
        )
        cv2.putText(img, f"{v:.1f}", (margin - 35, pt(0, v)[1] + 5), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "1 - specificity", (size // 2 - 60, size - 20), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "sensitivity", (8, margin - 20), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    auc = result["auc"]
    title = f"ROC  n={result['n_infants']}  CP={result['n_cp']}  AUC=" + (
        "n/a" if auc is None else f"{auc:.3f}"
    )
    cv2.putText(img, title, (margin, 35), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", img[:, :, ::-1].copy())
    if not ok:  # pragma: no cover - encoder failure
        raise OSError(f"could not encode {path}")
    path.write_bytes(buf.tobytes())
    return path


# --- command ----------------------------------------------------------------------------


def evaluate(
    predictions: Path | None = typer.Argument(
        None, help="CSV with columns infant_id, risk, cp (0/1) and optional subgroup columns."
    ),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        min=0.0,
        max=1.0,
        help="Decision threshold (CP when risk > T); default from settings.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
    roc_out: Path | None = typer.Option(
        None, "--roc-out", help="Write the ROC curve to roc.html (offline) or roc.png."
    ),
    target_sensitivity: float = typer.Option(
        0.9,
        "--target-sensitivity",
        min=0.0,
        max=1.0,
        help="Report the threshold reaching this sensitivity.",
    ),
    subgroup: list[str] = typer.Option(
        [],
        "--subgroup",
        help="Compare risk between groups of a column with the two-sided Wilcoxon rank-sum test; "
        "repeat for several. COL (gmfcs: I–III vs IV–V; else every pair of values) or COL=A,B:C,D.",
    ),
    tp: int | None = typer.Option(None, "--tp", min=0, help="Confusion matrix alone: true positives."),
    fp: int | None = typer.Option(None, "--fp", min=0, help="false positives"),
    tn: int | None = typer.Option(None, "--tn", min=0, help="true negatives"),
    fn: int | None = typer.Option(None, "--fn", min=0, help="false negatives"),
) -> None:
    """Sensitivity, specificity, PPV, NPV, accuracy (exact 95 % CIs), AUC, ROC and subgroup tests."""
    counts = (tp, fp, tn, fn)
    if any(c is not None for c in counts):
        if predictions is not None or None in counts:
            raise EarlyCPError(
                ErrorCode.INVALID_INPUT,
                detail="give either PREDICTIONS.csv or all four of --tp --fp --tn --fn",
            )
        metrics = DiagnosticMetrics.of(Confusion(tp, fp, tn, fn))  # type: ignore[arg-type]
        result = _clean(metrics.as_dict())
    else:
        if predictions is None:
            raise EarlyCPError(ErrorCode.INVALID_INPUT, detail="give PREDICTIONS.csv or --tp --fp --tn --fn")
        from earlycp.config import get_settings

        t = get_settings().threshold if threshold is None else threshold
        if not 0.0 < target_sensitivity <= 1.0:
            raise EarlyCPError(
                ErrorCode.INVALID_INPUT, detail="--target-sensitivity must be above 0 and at most 1"
            )
        try:
            specs = [SubgroupSpec.parse(s) for s in subgroup]
        except ValueError as exc:
            raise EarlyCPError(ErrorCode.INVALID_INPUT, detail=str(exc)) from exc
        result = evaluate_table(read_predictions(predictions), t, target_sensitivity, specs)
        if roc_out is not None:
            result["roc_file"] = str(write_roc(result, roc_out))
    if as_json:
        typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        typer.echo(render_text(result))
        if result.get("roc_file"):
            typer.echo(f"ROC curve written to {result['roc_file']}")


def register(app: typer.Typer) -> None:
    app.command("evaluate", help=evaluate.__doc__)(evaluate)


__all__ = ["PUBLISHED_THRESHOLDS", "evaluate", "evaluate_table", "read_predictions", "register", "write_roc"]
