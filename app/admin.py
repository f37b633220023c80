"""Admin-only view of the queue and workers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import func, select

from app.core.deps import AdminDep, SessionDep
from app.core.tables import Job
from earlycp.config import get_settings

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/queue")
def queue(request: Request, session: SessionDep, _: AdminDep) -> dict[str, Any]:
    counts = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    workers: Any = "embedded"
    if get_settings().broker_url:
        try:
            from worker.celery_app import producer

            workers = producer().control.inspect(timeout=1.0).ping() or {}
        except Exception as exc:
            workers = f"unreachable: {type(exc).__name__}"
    return {"jobs": counts, "workers": workers}
