"""Job status and cancellation."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from app.core.deps import CallerDep, SessionDep, get_or_404
from app.core.tables import Assessment, Job, utcnow
from app.jobs.schemas import JobOut
from earlycp.errors import EarlyCPError, ErrorCode

router = APIRouter(prefix="/jobs", tags=["jobs"])


def load_job(session: SessionDep, job_id: str) -> Job:
    return get_or_404(session, Job, job_id, "job")


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: str, session: SessionDep, _: CallerDep) -> JobOut:
    job = load_job(session, job_id)
    assessment_id = session.scalar(select(Assessment.id).where(Assessment.job_id == job_id))
    return JobOut.of(job, assessment_id)


@router.post("/{job_id}/cancel", response_model=JobOut)
def cancel_job(job_id: str, session: SessionDep, _: CallerDep) -> JobOut:
    """A queued job is cancelled at once; a running one stops at its next progress update."""
    job = load_job(session, job_id)
    if job.status in ("succeeded", "failed"):
        raise EarlyCPError(ErrorCode.JOB_NOT_CANCELLABLE, detail=f"job is {job.status}")
    if job.status != "cancelled":
        job.cancel_requested = True
        job.updated_at = utcnow()
        if job.status == "queued":
            job.status, job.finished_at = "cancelled", utcnow()
            job.error_code, job.error_message = ErrorCode.JOB_CANCELLED.value, ErrorCode.JOB_CANCELLED.message  # type: ignore[attr-defined]
        session.commit()
    return JobOut.of(job, None)
