"""The FHIR read endpoints under the FHIR base ``/api/v1/fhir`` (JSON, R4)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.core.deps import CallerDep, SessionDep, get_or_404
from app.core.tables import Recording
from app.fhir.media import media

router = APIRouter(prefix="/fhir", tags=["fhir"])
FHIR_JSON = "application/fhir+json"


@router.get("/Media/{recording_id}")
def get_media(recording_id: str, session: SessionDep, _: CallerDep) -> JSONResponse:
    """The recording a RiskAssessment's ``basis`` refers to (``Media/{id}``)."""
    recording = get_or_404(session, Recording, recording_id, "recording")
    return JSONResponse(media(recording), media_type=FHIR_JSON)
