from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from app.core.tables import Job
from earlycp.errors import public_text


class JobOut(BaseModel):
    id: str
    recording_id: str
    status: str
    stage: str | None
    progress: float
    threshold: float
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    stage_seconds: dict[str, float]
    assessment_id: str | None = None
    error: dict[str, str | None] | None = None

    @classmethod
    def of(cls, job: Job, assessment_id: str | None) -> JobOut:
        error = None
        if job.error_code:
            error = {
                "code": job.error_code,
                "message": job.error_message,
                "detail": public_text(job.error_detail),
            }
        return cls(
            id=job.id,
            recording_id=job.recording_id,
            status=job.status,
            stage=job.stage,
            progress=job.progress,
            threshold=job.threshold,
            attempts=job.attempts,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            updated_at=job.updated_at,
            stage_seconds=job.stage_seconds or {},
            assessment_id=assessment_id,
            error=error,
        )
