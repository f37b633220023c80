"""Assessments: the stored report (optionally re-derived at another threshold) and its FHIR form."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from app.core.deps import CallerDep, SessionDep, get_or_404
from app.core.tables import Assessment, Recording
from app.fhir.risk_assessment import risk_assessment

router = APIRouter(prefix="/assessments", tags=["assessments"])
#: The same resource at its place under the FHIR base (/api/v1/fhir/RiskAssessment/{id}).
fhir_router = APIRouter(prefix="/fhir", tags=["fhir"])


def _load(session: SessionDep, assessment_id: str) -> Assessment:
    return get_or_404(session, Assessment, assessment_id, "assessment")


def _report(row: Assessment, threshold: float | None) -> dict[str, Any]:
    if threshold is None:
        return row.report
    from worker.report import Report, rederive

    return rederive(Report.model_validate(row.report), threshold).model_dump(mode="json")


@router.get("/{assessment_id}")
def get_assessment(
    assessment_id: str,
    session: SessionDep,
    _: CallerDep,
    threshold: float | None = Query(None, ge=0.0, le=1.0),
) -> dict[str, Any]:
    """The report; ``?threshold=`` recomputes classification and colours without inference."""
    row = _load(session, assessment_id)
    return {
        "id": row.id,
        "job_id": row.job_id,
        "recording_id": row.recording_id,
        "created_at": row.created_at.isoformat(),
        "report": _report(row, threshold),
    }


@router.get("/{assessment_id}/fhir")
@fhir_router.get("/RiskAssessment/{assessment_id}")
def get_fhir(
    assessment_id: str,
    session: SessionDep,
    _: CallerDep,
    threshold: float | None = Query(None, ge=0.0, le=1.0),
) -> JSONResponse:
    row = _load(session, assessment_id)
    recording = session.get(Recording, row.recording_id)
    assert recording is not None
    view = Assessment(
        id=row.id,
        job_id=row.job_id,
        recording_id=row.recording_id,
        risk=row.risk,
        report=_report(row, threshold),
        created_at=row.created_at,
    )
    return JSONResponse(risk_assessment(view, recording), media_type="application/fhir+json")
