"""The analysis report: a versioned, documented schema for everything one analysis produced.

The report is the contract with the service, the dashboard, FHIR export and audit: it stores
the N instance values of every window, so the classification and certainty colours can be
re-derived at any other threshold (``rederive``) without running the models again, and it
records which models (with sha256) and which software version produced it, plus the model's
intended-use / validation statement copied from its manifest. Its JSON Schema is generated
from these pydantic models into docs/report-schema.json (``python -m worker.report``).

Versioning: ``schema_version`` "MAJOR.MINOR"; a new optional field bumps MINOR, any renamed,
removed or re-typed field bumps MAJOR.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from earlycp.errors import EarlyCPError, ErrorCode
from worker.science.aggregation import COLOUR_MEANING, Aggregate, Colour, aggregate

SCHEMA_VERSION = "1.0"
Classification = Literal["CP", "no CP"]
UNVALIDATED_LABEL = "NOT CLINICALLY VALIDATED: research use only, not for clinical decisions"
VALIDATED_LABEL = "Clinically validated for the intended use stated below"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelRef(_Model):
    """A model that contributed to the report, identified down to its weight file's checksum."""

    name: str
    version: str
    sha256: str | list[str] = Field(description="sha256 of the weight file (one per instance file if split).")
    file: str | list[str] | None = None


class Software(_Model):
    name: str = "earlycp"
    version: str


class Validation(_Model):
    """The ensemble manifest's intended-use statement; ``validated`` false means research only."""

    validated: bool = Field(description="True only when the manifest declares a clinical validation.")
    label: str = Field(description="The one line every display of this report must show.")
    model_label: str | None = Field(default=None, description="The ensemble manifest's own label.")
    clinical_validation: str
    intended_use: str
    training_data: str | None = None
    validation_metrics: dict[str, Any] = Field(default_factory=dict)


class Box(_Model):
    """Box-plot statistics of the N instance values (quartiles: linear, Tukey whiskers)."""

    median: float
    q1: float
    q3: float
    whisker_low: float = Field(description="Smallest value ≥ q1 − 1.5 × IQR.")
    whisker_high: float = Field(description="Largest value ≤ q3 + 1.5 × IQR.")
    min: float
    max: float


class WindowReport(_Model):
    """One 5-second window: its risk, the N instance values and their certainty."""

    index: int
    start_s: float = Field(description="Start time in seconds from the first 30 Hz sample.")
    end_s: float
    risk: float = Field(description="Median of the N instance confidences (the window risk).")
    box: Box
    instance_values: list[float] = Field(description="Each instance's CP confidence, manifest order.")
    count_above: int = Field(description="Instances whose confidence exceeds the threshold.")
    share_above: float
    colour: Colour
    cam: dict[str, float] = Field(
        default_factory=dict, description="Per keypoint: median over instances of the class activation."
    )


class Recording(_Model):
    file: str | None = None
    kind: Literal["video", "skeleton"]
    layout: str
    keypoints: list[str]
    frames_30hz: int
    duration_s: float


class Report(_Model):
    """Risk of cerebral palsy for one recording, with certainty, explanations and provenance."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    created_at: datetime
    software: Software
    risk: float = Field(description="Video risk: median of the window risks, 0–1.")
    threshold: float = Field(description="Decision threshold; CP when risk > threshold.")
    classification: Classification
    colour: Colour = Field(description="Certainty from the share of instances above the threshold.")
    colour_meaning: str
    share_above: float = Field(
        description="Share of instances whose median over windows exceeds the threshold."
    )
    count_above: int
    n_instances: int
    instance_predictions: list[float] = Field(description="Each instance's median over the windows.")
    windows: list[WindowReport]
    cam: dict[str, float] = Field(
        default_factory=dict, description="Overall CAM: per-keypoint median of the window CAMs."
    )
    recording: Recording
    qc: dict[str, Any] = Field(
        default_factory=dict, description="Skeleton and pre-processing quality control."
    )
    models: dict[str, ModelRef | None] = Field(
        description="'pose' (None for an uploaded skeleton) and 'ensemble'."
    )
    validation: Validation


def validation_from_manifest(manifest: dict[str, Any]) -> Validation:
    """Copy the intended-use statement; only an explicit declaration counts as validated.

    ``clinical_validation`` may be a string or an object. The model counts as validated only
    when it is an object with ``"validated": true`` or ``"status": "validated"`` (its text is
    ``"statement"``), or a string starting with "validated";
    anything else (missing, "none: …", free text) is labelled as not clinically validated.
    """
    raw = manifest.get("clinical_validation")
    if isinstance(raw, dict):
        validated = raw.get("validated") is True or str(raw.get("status", "")).strip().lower() == "validated"
        text = str(raw.get("statement") or json.dumps(raw, sort_keys=True))
    else:
        text = str(raw) if raw else "not stated in the model manifest"
        validated = text.strip().lower().startswith("validated")
    training = manifest.get("training_data")
    metrics = manifest.get("validation_metrics") or {}
    return Validation(
        validated=validated,
        label=VALIDATED_LABEL if validated else UNVALIDATED_LABEL,
        model_label=str(manifest["label"]) if manifest.get("label") else None,
        clinical_validation=text,
        intended_use=str(manifest.get("intended_use") or "not stated in the model manifest"),
        training_data=_training_sentence(training),
        validation_metrics=metrics if isinstance(metrics, dict) else {"value": metrics},
    )


def _training_sentence(training: Any) -> str | None:
    """The card's training data as one readable line (cards hold a dict; reports show text)."""
    if training is None or isinstance(training, str):
        return training
    if not isinstance(training, dict):
        return json.dumps(training)
    facts = [str(training["kind"])] if training.get("kind") else []
    if training.get("infants"):
        facts.append(f"{training['infants']} infants")
    if training.get("recording_s"):
        facts.append(f"{training['recording_s']} s each")
    if training.get("cp_share") is not None:
        facts.append(f"{round(100 * float(training['cp_share']))} % CP")
    head = ", ".join(facts)
    description = str(training.get("description") or "")
    if not head and not description:
        return json.dumps(training, sort_keys=True)
    return f"{head}. {description}" if head and description else head or description


def _classification(cp: bool) -> Classification:
    return "CP" if cp else "no CP"


def build_report(
    agg: Aggregate,
    confidences: np.ndarray,
    *,
    window_starts_s: np.ndarray,
    window_length_s: float,
    keypoints: list[str] | tuple[str, ...],
    recording: Recording,
    qc: dict[str, Any],
    pose_model: ModelRef | None,
    ensemble: ModelRef,
    ensemble_manifest: dict[str, Any],
    software_version: str,
    created_at: datetime | None = None,
) -> Report:
    """Assemble the report from the aggregate and the (W, N) per-instance values."""
    names = list(keypoints)
    windows = []
    for w, box in enumerate(agg.boxes):
        start = float(window_starts_s[w])
        cam = {} if agg.window_cam is None else dict(zip(names, map(float, agg.window_cam[w]), strict=True))
        windows.append(
            WindowReport(
                index=w,
                start_s=round(start, 6),
                end_s=round(start + window_length_s, 6),
                risk=float(agg.window_risk[w]),
                box=Box(**box.__dict__),
                instance_values=[float(v) for v in confidences[w]],
                count_above=int(agg.window_count_above[w]),
                share_above=float(agg.window_share_above[w]),
                colour=agg.window_colours[w],
                cam=cam,
            )
        )
    return Report(
        created_at=created_at or datetime.now(UTC),
        software=Software(version=software_version),
        risk=agg.risk,
        threshold=agg.threshold,
        classification=_classification(agg.classified_cp),
        colour=agg.colour,
        colour_meaning=COLOUR_MEANING[agg.colour],
        share_above=agg.share_above,
        count_above=agg.count_above,
        n_instances=agg.n_instances,
        instance_predictions=[float(v) for v in agg.instance_predictions],
        windows=windows,
        cam={} if agg.cam is None else dict(zip(names, map(float, agg.cam), strict=True)),
        recording=recording,
        qc=qc,
        models={"pose": pose_model, "ensemble": ensemble},
        validation=validation_from_manifest(ensemble_manifest),
    )


def instance_matrix(report: Report) -> np.ndarray:
    """The stored (W, N) per-instance window confidences."""
    return np.array([w.instance_values for w in report.windows], dtype=np.float64)


def rederive(report: Report, threshold: float) -> Report:
    """The same report at another threshold, from the stored per-instance values (no inference).

    Risk, box plots and CAM do not depend on the threshold and are kept; classification, counts,
    shares and colours are recomputed for the video and every window.
    """
    if not 0.0 <= threshold <= 1.0:
        raise EarlyCPError(ErrorCode.INVALID_INPUT, detail=f"threshold {threshold} outside 0–1")
    agg = aggregate(instance_matrix(report), threshold)
    windows = [
        w.model_copy(
            update={
                "count_above": int(agg.window_count_above[i]),
                "share_above": float(agg.window_share_above[i]),
                "colour": agg.window_colours[i],
            }
        )
        for i, w in enumerate(report.windows)
    ]
    return report.model_copy(
        update={
            "threshold": float(threshold),
            "risk": agg.risk,
            "classification": _classification(agg.classified_cp),
            "colour": agg.colour,
            "colour_meaning": COLOUR_MEANING[agg.colour],
            "share_above": agg.share_above,
            "count_above": agg.count_above,
            "instance_predictions": [float(v) for v in agg.instance_predictions],
            "windows": windows,
        }
    )


def json_schema() -> dict[str, Any]:
    schema = Report.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path) -> Path:
    path.write_text(schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":  # regenerate docs/report-schema.json
    import sys

    target = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parent.parent / "docs" / "report-schema.json"
    )
    print(write_schema(target))
