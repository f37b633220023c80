"""Report schema: round trip, re-derivation at another threshold, validation label, JSON Schema file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from worker.report import (
    SCHEMA_VERSION,
    UNVALIDATED_LABEL,
    ModelRef,
    Recording,
    Report,
    build_report,
    rederive,
    schema_text,
    validation_from_manifest,
)
from worker.science.aggregation import aggregate

REPO = Path(__file__).resolve().parent.parent
NAMES = ["a", "b", "c"]
MANIFEST = {
    "intended_use": "research on synthetic data",
    "clinical_validation": "none: trained on synthetic movements",
    "training_data": "synthetic",
}


def _report(conf: np.ndarray, threshold: float, cam: np.ndarray | None = None) -> Report:
    w = conf.shape[0]
    return build_report(
        aggregate(conf, threshold, cam),
        conf,
        window_starts_s=np.arange(w) * 2.5,
        window_length_s=5.0,
        keypoints=NAMES,
        recording=Recording(
            file="x.npz",
            kind="skeleton",
            layout="tiny",
            keypoints=NAMES,
            frames_30hz=150 + 75 * (w - 1),
            duration_s=(150 + 75 * (w - 1)) / 30,
        ),
        qc={"skeleton": {"status": "ok"}, "preprocessing": {"imputed_share": 0.0}},
        pose_model=None,
        ensemble=ModelRef(name="e", version="1", sha256="f" * 64, file="e.onnx"),
        ensemble_manifest=MANIFEST,
        software_version="0.1.0",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _conf(seed: int = 0, w: int = 6, n: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 0.6, size=(w, n)).astype(np.float32).astype(np.float64)


def test_report_fields_and_json_round_trip() -> None:
    conf = _conf()
    cam = np.random.default_rng(1).normal(size=(6, 8, 3))
    report = _report(conf, 0.25, cam)
    assert report.schema_version == SCHEMA_VERSION == "1.0"
    assert report.n_instances == 8 and len(report.windows) == 6
    assert report.risk == pytest.approx(float(np.median(np.median(conf, axis=1))))
    assert report.windows[1].start_s == 2.5 and report.windows[1].end_s == 7.5
    assert report.windows[0].instance_values == pytest.approx(conf[0].tolist())
    assert set(report.cam) == set(NAMES) and set(report.windows[0].cam) == set(NAMES)
    assert report.models["pose"] is None
    again = Report.model_validate_json(report.model_dump_json())
    assert again == report
    assert json.loads(report.model_dump_json())["validation"]["validated"] is False


def test_rederive_equals_a_fresh_aggregation_at_the_new_threshold() -> None:
    conf = _conf(seed=2)
    cam = np.random.default_rng(3).normal(size=(6, 8, 3))
    original = _report(conf, 0.25, cam)
    for t in (0.15, 0.2, 0.3, 0.35, 0.0, 1.0):
        derived = rederive(original, t)
        fresh = _report(conf, t, cam)
        assert derived.model_dump() == fresh.model_dump(), t
    assert rederive(rederive(original, 0.35), 0.25) == original


def test_rederive_changes_classification_and_colours() -> None:
    conf = np.array([[0.1, 0.2, 0.3, 0.4]] * 3)  # risk 0.25, instance medians 0.1…0.4
    report = _report(conf, 0.2)
    assert report.classification == "CP" and report.count_above == 2 and report.colour == "yellow"
    high = rederive(report, 0.35)
    assert high.classification == "no CP" and high.count_above == 1 and high.colour == "yellow"
    low = rederive(report, 0.05)
    assert low.count_above == 4 and low.colour == "red" and low.colour_meaning == "certain CP"
    assert [w.colour for w in low.windows] == ["red"] * 3
    assert high.risk == report.risk == pytest.approx(0.25)


def test_unknown_fields_and_versions_are_refused() -> None:
    data = json.loads(_report(_conf(), 0.25).model_dump_json())
    data["surprise"] = 1
    with pytest.raises(ValidationError):
        Report.model_validate(data)
    data.pop("surprise")
    data["schema_version"] = "2.0"
    with pytest.raises(ValidationError):
        Report.model_validate(data)


@pytest.mark.parametrize(
    ("statement", "validated"),
    [
        ("none: trained on synthetic movements", False),
        (None, False),
        ("not validated", False),
        ("Validated in a multicentre cohort (n=557) for infants 12-18 weeks corrected age", True),
        ({"validated": True, "statement": "external test cohort"}, True),
        ({"validated": "yes"}, False),
        ({"status": "none", "statement": "synthetic skeletons only"}, False),
        ({"status": "validated", "statement": "external cohort"}, True),
    ],
)
def test_validation_label_copied_from_the_manifest(statement, validated: bool) -> None:
    v = validation_from_manifest({"clinical_validation": statement, "intended_use": "x"})
    assert v.validated is validated
    assert (v.label == UNVALIDATED_LABEL) is (not validated)


def test_docs_schema_file_is_generated_from_the_model() -> None:
    path = REPO / "docs" / "report-schema.json"
    assert path.read_text(encoding="utf-8") == schema_text(), "run: python -m worker.report"
    schema = json.loads(path.read_text())
    assert schema["properties"]["schema_version"]["const"] == "1.0"
    assert "instance_values" in schema["$defs"]["WindowReport"]["properties"]


def test_rederive_refuses_thresholds_outside_0_1() -> None:
    from earlycp.errors import EarlyCPError, ErrorCode

    with pytest.raises(EarlyCPError) as err:
        rederive(_report(_conf(), 0.25), 1.5)
    assert err.value.code == ErrorCode.INVALID_INPUT
