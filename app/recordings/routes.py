"""Recordings: upload (→ job), list, read, skeleton download, delete."""

from __future__ import annotations

import shutil
import uuid
from datetime import date
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from pydantic import ValidationError
from sqlalchemy import func, select

from app.core.deps import CallerDep, SessionDep, get_or_404
from app.core.tables import Assessment, Job, Recording
from app.jobs.dispatch import enqueue
from app.recordings.schemas import RecordingOut, RecordingPage, UploadAccepted, UploadForm
from app.recordings.upload import receive_upload
from earlycp.config import get_settings
from earlycp.errors import EarlyCPError, ErrorCode

router = APIRouter(prefix="/recordings", tags=["recordings"])


def _accepted(request: Request, rec: Recording, job: Job) -> JSONResponse:
    location = str(request.url_for("get_job", job_id=job.id).path)
    body = UploadAccepted(recording_id=rec.id, job_id=job.id, status=job.status, location=location)
    return JSONResponse(body.model_dump(), status_code=202, headers={"Location": location})


def _latest_job(session: SessionDep, rec_id: str) -> Job | None:
    return session.scalar(
        select(Job).where(Job.recording_id == rec_id).order_by(Job.created_at.desc()).limit(1)
    )


def _out(session: SessionDep, rec: Recording) -> RecordingOut:
    job = _latest_job(session, rec.id)
    assessment = session.scalar(select(Assessment).where(Assessment.recording_id == rec.id).limit(1))
    return RecordingOut(
        id=rec.id,
        subject_id=rec.subject_id,
        age_weeks=rec.age_weeks,
        recorded_on=rec.recorded_on,
        file_name=rec.file_name,
        size_bytes=rec.size_bytes,
        sha256=rec.sha256,
        video={k: v for k, v in (rec.video or {}).items() if k != "path"},  # server-side only
        created_at=rec.created_at,
        job_id=job.id if job else None,
        job_status=job.status if job else None,
        stage=job.stage if job else None,
        progress=job.progress if job else None,
        error_code=job.error_code if job else None,
        error_message=job.error_message if job else None,
        assessment_id=assessment.id if assessment else None,
        risk=assessment.risk if assessment else None,
        colour=assessment.report.get("colour") if assessment else None,
        classification=assessment.report.get("classification") if assessment else None,
        has_skeleton=bool(rec.skeleton_path and Path(rec.skeleton_path).is_file()),
    )


@router.post(
    "",
    status_code=202,
    response_model=UploadAccepted,
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file", "subject_id", "age_weeks", "recorded_on"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "subject_id": {"type": "string"},
                            "age_weeks": {"type": "number"},
                            "recorded_on": {"type": "string", "format": "date"},
                            "callback_url": {"type": "string", "format": "uri"},
                        },
                    }
                }
            }
        }
    },
)
async def upload_recording(request: Request, session: SessionDep, caller: CallerDep) -> JSONResponse:
    """Stream the video to disk, probe it, and queue its analysis (202 + Location of the job)."""
    settings = get_settings()
    key = request.headers.get("idempotency-key")
    rec_id = uuid.uuid4().hex
    folder = settings.data_dir / "uploads" / rec_id
    folder.mkdir(parents=True, exist_ok=True)
    try:
        upload = await receive_upload(request, folder / "upload.part", settings.max_upload_bytes)
        try:
            form = UploadForm(**upload.fields)  # type: ignore[arg-type]
        except ValidationError as exc:
            parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
            raise EarlyCPError(ErrorCode.INVALID_INPUT, detail="; ".join(parts)) from exc
        if key:
            existing = session.scalar(
                select(Recording).where(Recording.created_by == caller.id, Recording.idempotency_key == key)
            )
            if existing is not None:
                shutil.rmtree(folder, ignore_errors=True)
                if existing.sha256 != upload.sha256 or existing.subject_id != form.subject_id:
                    raise EarlyCPError(ErrorCode.IDEMPOTENCY_CONFLICT, detail=f"Idempotency-Key {key}")
                job = _latest_job(session, existing.id)
                assert job is not None
                return _accepted(request, existing, job)
        final = folder / upload.file_name
        upload.path.rename(final)
        from worker.video.probe import probe

        info = await run_in_threadpool(probe, final)
        rec = Recording(
            id=rec_id,
            subject_id=form.subject_id,
            age_weeks=form.age_weeks,
            recorded_on=form.recorded_on,
            file_name=upload.file_name,
            path=str(final),
            size_bytes=upload.size,
            sha256=upload.sha256,
            video=info.as_dict(),
            callback_url=form.callback_url,
            idempotency_key=key,
            created_by=caller.id,
        )
        job = Job(recording_id=rec_id, threshold=settings.threshold)
        session.add(rec)
        session.flush()
        session.add(job)
        session.commit()
    except BaseException:
        session.rollback()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    enqueue(request, job.id)
    return _accepted(request, rec, job)


@router.get("", response_model=RecordingPage)
def list_recordings(
    session: SessionDep,
    _: CallerDep,
    subject_id: str | None = None,
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"] | None = None,
    recorded_from: date | None = None,
    recorded_to: date | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> RecordingPage:
    query = select(Recording)
    if subject_id:
        query = query.where(Recording.subject_id == subject_id)
    if recorded_from:
        query = query.where(Recording.recorded_on >= recorded_from)
    if recorded_to:
        query = query.where(Recording.recorded_on <= recorded_to)
    if status:
        latest = (
            select(Job.recording_id, func.max(Job.created_at).label("at"))
            .group_by(Job.recording_id)
            .subquery()
        )
        query = (
            query.join(latest, latest.c.recording_id == Recording.id)
            .join(Job, (Job.recording_id == Recording.id) & (Job.created_at == latest.c.at))
            .where(Job.status == status)
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Recording.created_at.desc(), Recording.id).limit(limit).offset(offset)
    )
    return RecordingPage(items=[_out(session, r) for r in rows], total=total, limit=limit, offset=offset)


def load_recording(session: SessionDep, rec_id: str) -> Recording:
    return get_or_404(session, Recording, rec_id, "recording")


@router.get("/{recording_id}", response_model=RecordingOut)
def get_recording(recording_id: str, session: SessionDep, _: CallerDep) -> RecordingOut:
    return _out(session, load_recording(session, recording_id))


@router.get("/{recording_id}/skeleton", response_class=Response)
def get_skeleton(
    recording_id: str, session: SessionDep, _: CallerDep, format: Literal["npz", "csv"] = "npz"
) -> Response:
    rec = load_recording(session, recording_id)
    if not rec.skeleton_path or not Path(rec.skeleton_path).is_file():
        raise EarlyCPError(ErrorCode.ASSESSMENT_NOT_READY, detail="no skeleton stored for this recording yet")
    npz = Path(rec.skeleton_path)
    if format == "npz":
        return FileResponse(npz, media_type="application/octet-stream", filename=f"{rec.id}-skeleton.npz")
    csv = npz.with_suffix(".csv")
    if not csv.is_file():
        from worker.skeleton.artefact import Skeleton

        Skeleton.load(npz).save_csv(csv)
    return FileResponse(csv, media_type="text/csv", filename=f"{rec.id}-skeleton.csv")


@router.delete("/{recording_id}", status_code=204, response_class=Response)
def delete_recording(recording_id: str, session: SessionDep, _: CallerDep) -> Response:
    """Remove the video, the skeleton, the jobs and the assessments of a recording."""
    rec = load_recording(session, recording_id)
    for job in session.scalars(select(Job).where(Job.recording_id == rec.id)):
        if job.status in ("queued", "running"):
            job.cancel_requested = True
    paths = [Path(rec.path).parent]
    if rec.skeleton_path:
        paths += [Path(rec.skeleton_path), Path(rec.skeleton_path).with_suffix(".csv")]
    session.query(Assessment).filter(Assessment.recording_id == rec.id).delete()
    session.query(Job).filter(Job.recording_id == rec.id).delete()
    session.delete(rec)
    session.commit()
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return Response(status_code=204)
