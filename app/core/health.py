"""/healthz (process alive), /readyz (database, broker, model files) and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select, text

from app.core.db import session_factory
from app.core.deps import AdminDep
from app.core.tables import Job
from earlycp.config import get_settings

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _checks(request: Request) -> dict[str, str]:
    settings = get_settings()
    checks: dict[str, str] = {}
    try:
        with session_factory(request.app.state.database_url)() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    if settings.broker_url:
        try:
            from worker.celery_app import producer

            with producer().connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"error: {type(exc).__name__}"
    else:
        checks["broker"] = "embedded"
    try:
        from models.registry import get_model

        get_model("pose", settings.pose_model).locate()
        ensemble = get_model("ensemble", settings.ensemble)
        if ensemble.manifest.get("file"):
            ensemble.locate()
        checks["models"] = "ok"
    except Exception as exc:
        checks["models"] = f"error: {exc}"
    return checks


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    checks = _checks(request)
    ready = all(v in ("ok", "embedded") for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics")
def metrics(request: Request, _: AdminDep) -> Response:
    """Computed from the job table at scrape time, so every API replica reports the same.

    Admin token required: job counts and timings are operational data about a clinic; Prometheus
    sends it with ``authorization: {type: Bearer, credentials_file: …}`` in its scrape config.
    """
    registry = CollectorRegistry()
    by_status = Gauge("earlycp_jobs", "Jobs by status", ["status"], registry=registry)
    depth = Gauge("earlycp_queue_depth", "Jobs waiting to run", registry=registry)
    stage = Gauge(
        "earlycp_stage_seconds_avg", "Mean stage duration of succeeded jobs", ["stage"], registry=registry
    )
    with session_factory(request.app.state.database_url)() as session:
        counts = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
        for status in ("queued", "running", "succeeded", "failed", "cancelled"):
            by_status.labels(status).set(counts.get(status, 0))
        depth.set(counts.get("queued", 0))
        recent = session.scalars(
            select(Job.stage_seconds)
            .where(Job.status == "succeeded")
            .order_by(Job.finished_at.desc())
            .limit(200)
        ).all()
    totals: dict[str, list[float]] = {}
    for seconds in recent:
        for name, value in (seconds or {}).items():
            totals.setdefault(name, []).append(float(value))
    for name, values in totals.items():
        stage.labels(name).set(sum(values) / len(values))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
