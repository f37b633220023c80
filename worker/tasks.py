"""Job execution: one function, used by the Celery task and the embedded executor alike.

The job's state machine lives in the database (queued → running → succeeded | failed |
cancelled). Running a job is idempotent: a redelivered message (worker killed, visibility
timeout) re-claims a job still marked running, but a finished or cancelled job is left alone,
and ``assessments.job_id`` is unique so a race between two deliveries cannot store two
assessments.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.core.db import session_factory
from app.core.tables import Assessment, Job, Recording, utcnow
from earlycp.config import get_settings
from earlycp.errors import EarlyCPError, ErrorCode

log = logging.getLogger("earlycp.worker")

TERMINAL = ("succeeded", "failed", "cancelled")
#: Progress writes are throttled to one per this many seconds (and one per stage change).
PROGRESS_INTERVAL_S = 1.0


class JobCancelled(Exception):
    """Raised from the progress callback when a user cancelled the running job."""


def _claim(session: Session, job_id: str) -> bool:
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(("queued", "running")), Job.cancel_requested.is_(False))
        .values(
            status="running",
            started_at=utcnow(),
            updated_at=utcnow(),
            attempts=Job.attempts + 1,
            stage="probing",
            progress=0.0,
        )
    )
    session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


class _Progress:
    """Writes stage/progress to the job row at most once a second and notices cancellation."""

    def __init__(self, factory: Any, job_id: str) -> None:
        self.factory, self.job_id = factory, job_id
        self.stage: str | None = None
        self.last_write = 0.0
        self.stage_started = time.monotonic()
        self.seconds: dict[str, float] = {}

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        changed = stage != self.stage
        if changed and self.stage is not None:
            self.seconds[self.stage] = round(self.seconds.get(self.stage, 0.0) + now - self.stage_started, 3)
        if changed:
            self.stage, self.stage_started = stage, now
        if not changed and now - self.last_write < PROGRESS_INTERVAL_S:
            return
        self.last_write = now
        with self.factory() as session:
            job = session.get(Job, self.job_id)
            if job is None or job.cancel_requested or job.status != "running":
                raise JobCancelled
            job.stage, job.progress, job.updated_at = stage, float(max(0.0, min(1.0, fraction))), utcnow()
            job.stage_seconds = dict(self.seconds)
            session.commit()

    def finish(self) -> dict[str, float]:
        if self.stage is not None:
            self.seconds[self.stage] = round(
                self.seconds.get(self.stage, 0.0) + time.monotonic() - self.stage_started, 3
            )
            self.stage = None
        return dict(self.seconds)


def _finish(factory: Any, job_id: str, status: str, **values: Any) -> bool:
    with factory() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(("queued", "running")))
            .values(status=status, finished_at=utcnow(), updated_at=utcnow(), **values)
        )
        session.commit()
        return result.rowcount == 1  # type: ignore[attr-defined]


def execute_job(job_id: str, *, database_url: str | None = None) -> str:
    """Run one job to a terminal state; returns the job's final status.

    Transient database errors propagate (the Celery task retries them); analysis errors with a
    code end the job as failed with a clinician-readable message.
    """
    factory = session_factory(database_url)
    with factory() as session:
        if not _claim(session, job_id):
            job = session.get(Job, job_id)
            status = job.status if job else "missing"
            if job is not None and job.cancel_requested and job.status in ("queued", "running"):
                status = _cancel(factory, job_id)
            log.info("job %s not claimed (status %s)", job_id, status)
            return status
        job = session.get(Job, job_id)
        assert job is not None
        if session.scalar(select(Assessment.id).where(Assessment.job_id == job_id)):
            _finish(factory, job_id, "succeeded", stage="storing", progress=1.0)
            return "succeeded"
        recording = session.get(Recording, job.recording_id)
        assert recording is not None
        video, rec_id, threshold = Path(recording.path), recording.id, job.threshold
    log.info("job %s: analysing recording %s", job_id, rec_id)
    progress = _Progress(factory, job_id)
    settings = get_settings()
    try:
        from worker.pipeline import analyze

        result = analyze(video, threshold=threshold, progress=progress)
        progress("storing", 0.0)
        skeleton_dir = settings.data_dir / "skeletons"
        skeleton_dir.mkdir(parents=True, exist_ok=True)
        skeleton_path = skeleton_dir / f"{rec_id}.npz"
        result.skeleton.save_npz(skeleton_path)
        stage_seconds = progress.finish()
        report = result.report.model_dump(mode="json")
        with factory() as session:
            current = session.get(Job, job_id)
            if current is None or current.status != "running" or current.cancel_requested:
                raise JobCancelled
            session.add(
                Assessment(job_id=job_id, recording_id=rec_id, risk=result.report.risk, report=report)
            )
            rec = session.get(Recording, rec_id)
            if rec is not None:
                rec.skeleton_path = str(skeleton_path)
            current.status, current.stage, current.progress = "succeeded", "storing", 1.0
            current.finished_at = current.updated_at = utcnow()
            current.stage_seconds = stage_seconds
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                log.warning("job %s: assessment already stored by another delivery", job_id)
                _finish(factory, job_id, "succeeded", stage="storing", progress=1.0)
        return "succeeded"
    except JobCancelled:
        return _cancel(factory, job_id)
    except EarlyCPError as exc:
        _finish(
            factory,
            job_id,
            "failed",
            error_code=exc.code.value,
            error_message=exc.message,
            error_detail=exc.detail,
            stage_seconds=progress.finish(),
        )
        return "failed"
    except (OperationalError, InterfaceError):
        raise  # transient database trouble: the Celery task retries with backoff
    except Exception as exc:  # any other failure ends the job with a code, never leaves it running
        log.exception("job %s failed", job_id)
        _finish(
            factory,
            job_id,
            "failed",
            error_code=ErrorCode.INTERNAL_ERROR.value,
            error_message=ErrorCode.INTERNAL_ERROR.message,  # type: ignore[attr-defined]
            error_detail=f"{type(exc).__name__}: {exc}",
            stage_seconds=progress.finish(),
        )
        return "failed"


def _cancel(factory: sessionmaker, job_id: str) -> str:
    """End a job whose cancellation was requested; the same record whether queued or running."""
    _finish(
        factory,
        job_id,
        "cancelled",
        error_code=ErrorCode.JOB_CANCELLED.value,
        error_message=ErrorCode.JOB_CANCELLED.message,  # type: ignore[attr-defined]
    )
    return "cancelled"


def fail_job(job_id: str, code: ErrorCode, detail: str, *, database_url: str | None = None) -> bool:
    """End a job as failed from outside the analysis (e.g. the Celery soft time limit)."""
    return _finish(
        session_factory(database_url),
        job_id,
        "failed",
        error_code=code.value,
        error_message=code.message,  # type: ignore[attr-defined]
        error_detail=detail,
    )


def run_and_notify(job_id: str, *, database_url: str | None = None) -> str:
    status = execute_job(job_id, database_url=database_url)
    if status in TERMINAL:
        from app.jobs.webhooks import notify_job

        notify_job(job_id, database_url=database_url)
    return status


def _celery_task() -> Any:
    from worker.celery_app import celery_app

    return celery_app.tasks["earlycp.run_job"]
