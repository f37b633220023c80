"""An assessment as a FHIR R4 RiskAssessment, marked as AI-asserted and preliminary."""

from __future__ import annotations

from typing import Any

from app.core.tables import Assessment, Recording

SNOMED = "http://snomed.info/sct"
CP_CODE = "128188000"
AI_SECURITY = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "AIAST",
    "display": "Artificial Intelligence asserted",
}
COLOUR_SYSTEM = "https://earlycp.org/fhir/CodeSystem/certainty-colour"
SUBJECT_SYSTEM = "https://earlycp.org/fhir/subject-id"


def risk_assessment(assessment: Assessment, recording: Recording, base_url: str = "") -> dict[str, Any]:
    report = assessment.report
    models = report.get("models", {})
    ensemble, pose = models.get("ensemble") or {}, models.get("pose") or {}
    method_text = f"EarlyCP Ensemble-NAS-GCN ensemble {ensemble.get('name')} {ensemble.get('version')}"
    if pose:
        method_text += f"; pose model {pose.get('name')} {pose.get('version')}"
    validation = report.get("validation", {})
    threshold, share = report["threshold"], report["share_above"]
    colour = report["colour"]
    software = report.get("software", {})
    return {
        "resourceType": "RiskAssessment",
        "id": assessment.id,
        "meta": {"security": [AI_SECURITY]},
        "status": "preliminary",
        "subject": {
            "identifier": {"system": SUBJECT_SYSTEM, "value": recording.subject_id},
            "display": f"Infant {recording.subject_id}",
        },
        "occurrenceDateTime": recording.recorded_on.isoformat(),
        "method": {
            "coding": [
                {
                    "system": "https://earlycp.org/fhir/CodeSystem/method",
                    "code": f"{ensemble.get('name')}@{ensemble.get('version')}",
                    "display": method_text,
                }
            ],
            "text": method_text,
        },
        "performer": {"display": f"EarlyCP {software.get('version', '')} ({method_text})".strip()},
        "basis": [
            {
                "reference": f"Media/{recording.id}",
                "display": f"Infant movement video {recording.file_name} (sha256 {recording.sha256})",
            }
        ],
        "prediction": [
            {
                "outcome": {
                    "coding": [{"system": SNOMED, "code": CP_CODE, "display": "Cerebral palsy"}],
                    "text": "Cerebral palsy",
                },
                "probabilityDecimal": round(float(report["risk"]), 6),
                "qualitativeRisk": {
                    "coding": [
                        {
                            "system": COLOUR_SYSTEM,
                            "code": colour,
                            "display": report.get("colour_meaning", colour),
                        }
                    ],
                    "text": f"{colour}: {report.get('colour_meaning', '')}".strip(),
                },
                "rationale": (
                    f"Decision threshold {threshold:.2f}; {share * 100:.0f}% of {report['n_instances']} model "
                    f"instances predict above it; classified {report['classification']}."
                ),
            }
        ],
        "note": [
            {
                "text": f"{validation.get('label', '')} {validation.get('intended_use', '')}".strip()
                or "Research software: not clinically validated."
            }
        ],
    }
