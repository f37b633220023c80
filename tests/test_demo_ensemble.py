"""The shipped demo ensemble: intact, honestly labelled, small, and it does what its card says."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

DEMO = "demo-synthetic-mpii16"
DEMO_DIR = Path(__file__).resolve().parent.parent / "models" / "ensembles" / DEMO


def test_card_labels_it_a_synthetic_demonstration() -> None:
    card = json.loads((DEMO_DIR / "manifest.json").read_text())
    assert card["label"] == "trained on synthetic movements — software demonstration, not for clinical use"
    assert card["clinical_validation"]["status"] == "none"
    assert card["training_data"]["kind"] == "synthetic"
    assert card["layout"] == "mpii16" and card["n_instances"] == 14
    assert card["validation_metrics"]["external_test_auc"] >= 0.9
    assert card["training"]["departures_from_method"]  # the reduced budget is declared
    assert card["export"]["parity_max_abs_difference"] < 1e-4
    total = sum(f.stat().st_size for f in DEMO_DIR.rglob("*") if f.is_file())
    assert total < 25 * 1024**2


def test_registry_verifies_and_serves_it() -> None:
    from worker.ensemble.runtime import load_ensemble

    runtime = load_ensemble(DEMO)  # sha256 checked on load
    assert runtime.n_instances == 14 and runtime.layout.name == "mpii16"
    features = np.zeros((3, 6, 150, 16), np.float32)
    confidences, cam = runtime.predict(features)
    assert confidences.shape == (3, 14) and cam.shape == (3, 14, 16)
    assert np.all((confidences >= 0) & (confidences <= 1))


@pytest.mark.parametrize(("cp", "subtype"), [(0, "none"), (1, "bilateral"), (1, "unilateral")])
def test_it_tells_synthetic_classes_apart_at_the_default_threshold(
    tmp_path: Path, cp: int, subtype: str
) -> None:
    """Fresh synthetic infants (seeds outside the training cohort), 30 s each."""
    from train.synthetic import InfantSpec, generate_skeleton
    from worker.pipeline import analyze

    side = "left" if subtype == "unilateral" else ""
    spec = InfantSpec("fresh", cp, subtype, "II" if cp else "", "centre1", 12, 30.0, affected_side=side)
    path = tmp_path / "infant.npz"
    generate_skeleton(spec, "mpii16", seed=9001 + cp).save_npz(path)
    report = analyze(path, ensemble=DEMO).report
    assert report.classification == ("CP" if cp else "no CP"), report.risk
    assert report.validation.validated is False and "NOT CLINICALLY VALIDATED" in report.validation.label
    assert "not for clinical use" in (report.validation.model_label or "")
    assert report.validation.training_data.startswith("synthetic, 100 infants, 30 s each")  # prose
