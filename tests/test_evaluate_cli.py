"""``earlycp evaluate`` end to end through the real entry point."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from earlycp.cli.main import main

ROWS = [
    # infant_id, risk, cp, gmfcs, subtype
    ("a1", 0.92, 1, "IV", "bilateral"),
    ("a2", 0.71, 1, "V", "bilateral"),
    ("a3", 0.40, 1, "II", "unilateral"),
    ("a4", 0.22, 1, "I", "unilateral"),
    ("b1", 0.30, 0, "", ""),
    ("b2", 0.12, 0, "", ""),
    ("b3", 0.08, 0, "", ""),
    ("b4", 0.05, 0, "", ""),
    ("b5", 0.26, 0, "", ""),
]


def _csv(path: Path, rows=ROWS, header="infant_id,risk,cp,gmfcs,subtype") -> Path:
    path.write_text(header + "\n" + "\n".join(",".join(str(v) for v in r) for r in rows) + "\n")
    return path


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["earlycp", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_evaluate_json(tmp_path: Path, monkeypatch, capsys) -> None:
    csv_path = _csv(tmp_path / "pred.csv")
    code, out, _ = _run(
        monkeypatch, capsys, "evaluate", str(csv_path), "--threshold", "0.25", "--json",
        "--subgroup", "gmfcs", "--subgroup", "subtype",
    )  # fmt: skip
    assert code == 0
    res = json.loads(out)
    assert res["confusion"] == {"tp": 3, "fp": 2, "tn": 3, "fn": 1}
    assert res["sensitivity"]["k"] == 3 and res["sensitivity"]["n"] == 4
    assert res["specificity"]["value"] == pytest.approx(3 / 5)
    # 20 pairs: CP 0.22 beats 0.12/0.08/0.05 and loses to 0.30/0.26 → 18/20
    assert res["auc"] == pytest.approx(18 / 20)
    assert [op["threshold"] for op in res["operating_points"]] == [0.15, 0.2, 0.25, 0.3, 0.35]
    assert res["target_sensitivity"]["threshold"] == pytest.approx(0.12)
    assert res["target_sensitivity"]["metrics"]["sensitivity"]["value"] == 1.0
    tests = {t["column"]: t for t in res["subgroup_tests"]}
    assert tests["gmfcs"]["n_a"] == 2 and tests["gmfcs"]["n_b"] == 2
    assert tests["subtype"]["group_a"] == "bilateral" and tests["subtype"]["p_value"] is not None
    assert res["roc"]["thresholds"][0] is None  # +inf rendered as null


def test_evaluate_text_and_roc_files(tmp_path: Path, monkeypatch, capsys) -> None:
    csv_path = _csv(tmp_path / "pred.csv")
    html = tmp_path / "roc.html"
    code, out, _ = _run(monkeypatch, capsys, "evaluate", str(csv_path), "--roc-out", str(html))
    assert code == 0
    assert "sensitivity" in out and "AUC" in out and "95% CI" in out
    text = html.read_text()
    assert "<script src=" not in text  # plotly.js is embedded: works offline
    assert len(text) > 1_000_000
    png = tmp_path / "roc.png"
    code, _, _ = _run(monkeypatch, capsys, "evaluate", str(csv_path), "--roc-out", str(png))
    assert code == 0
    import cv2

    img = cv2.imread(str(png))
    assert img is not None and img.shape == (600, 600, 3)
    assert (img < 128).any()  # something was drawn


def test_evaluate_confusion_matrix_only(monkeypatch, capsys) -> None:
    code, out, _ = _run(
        monkeypatch, capsys, "evaluate", "--tp", "8", "--fp", "3", "--tn", "27", "--fn", "2", "--json"
    )
    assert code == 0
    res = json.loads(out)
    assert res["sensitivity"]["value"] == pytest.approx(0.8)
    assert res["sensitivity"]["ci_low"] == pytest.approx(0.4439045, abs=1e-6)
    assert res["sensitivity"]["ci_high"] == pytest.approx(0.9747893, abs=1e-6)
    assert res["accuracy"]["n"] == 40


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("infant_id,risk\na,0.5\n", "missing column"),
        ("infant_id,risk,cp\na,1.5,1\n", "outside 0–1"),
        ("infant_id,risk,cp\na,0.5,2\n", "must be 0 or 1"),
        ("infant_id,risk,cp\na,0.5,1\na,0.2,0\n", "repeated"),
        ("infant_id,risk,cp\na,abc,1\n", "not a number"),
        ("infant_id,risk,cp\n", "no rows"),
    ],
)
def test_invalid_predictions(tmp_path: Path, monkeypatch, capsys, content: str, why: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code, _, err = _run(monkeypatch, capsys, "evaluate", str(path))
    assert code == 2
    assert err.startswith("error[INVALID_PREDICTIONS]") and why in err


def test_unknown_subgroup_column_and_mixed_inputs(tmp_path: Path, monkeypatch, capsys) -> None:
    csv_path = _csv(tmp_path / "pred.csv")
    code, _, err = _run(monkeypatch, capsys, "evaluate", str(csv_path), "--subgroup", "sex")
    assert code == 2 and "INVALID_PREDICTIONS" in err and "sex" in err
    code, _, err = _run(monkeypatch, capsys, "evaluate", str(csv_path), "--tp", "1")
    assert code == 2 and "INVALID_INPUT" in err
    code, _, err = _run(monkeypatch, capsys, "evaluate", str(csv_path), "--target-sensitivity", "0")
    assert code == 2 and "INVALID_INPUT" in err


def test_single_class_auc_is_reported_undefined(tmp_path: Path, monkeypatch, capsys) -> None:
    rows = [(f"x{i}", r, 0, "", "") for i, r in enumerate(np.linspace(0.1, 0.5, 4))]
    code, out, _ = _run(monkeypatch, capsys, "evaluate", str(_csv(tmp_path / "p.csv", rows)), "--json")
    assert code == 0
    res = json.loads(out)
    assert res["auc"] is None and res["sensitivity"]["value"] is None
