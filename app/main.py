"""The FastAPI application: one code path for embedded and distributed mode.

Embedded (no EARLYCP_BROKER_URL): the app migrates its SQLite database if allowed and runs
jobs in an in-process worker thread fed from the job table. Distributed: the app only
enqueues to Celery and refuses to start on an unmigrated database.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse

from app import admin
from app.assessments import routes as assessments
from app.core import health, problems
from app.core.migrate import check_migrated, upgrade
from app.fhir import routes as fhir
from app.jobs import routes as jobs
from app.recordings import routes as recordings
from earlycp import __version__
from earlycp.config import get_settings

log = logging.getLogger("earlycp.api")


def create_app(*, database_url: str | None = None, embedded: bool | None = None) -> FastAPI:
    settings = get_settings()
    url = database_url or settings.resolved_database_url()
    run_embedded = (not settings.broker_url) if embedded is None else embedded

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if run_embedded and settings.auto_migrate and url.startswith("sqlite"):
            upgrade(url)
        check_migrated(url)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if run_embedded:
            from worker.embedded import EmbeddedWorker

            app.state.embedded_worker = EmbeddedWorker(url)
            app.state.embedded_worker.resume()
        try:
            yield
        finally:
            if app.state.embedded_worker is not None:
                app.state.embedded_worker.shutdown()

    app = FastAPI(
        title="EarlyCP",
        version=__version__,
        description="Cerebral palsy risk from infant movement videos. Research software: not "
        "clinically validated.",
        lifespan=lifespan,
    )
    app.state.database_url = url
    app.state.embedded_worker = None
    problems.install(app)
    api = APIRouter(prefix="/api/v1")
    for module in (recordings, jobs, assessments, admin, fhir):
        api.include_router(module.router)
    api.include_router(assessments.fhir_router)
    app.include_router(api)
    app.include_router(health.router)
    try:
        from app.dashboard.routes import router as dashboard

        app.include_router(dashboard)

        @app.get("/", include_in_schema=False)
        def root() -> RedirectResponse:
            """Browsers land on the dashboard; EHR integrations use /api/v1 and /docs."""
            return RedirectResponse("/dashboard/", status_code=307)

    except ImportError as exc:  # the dashboard is optional for a headless API replica
        log.warning("dashboard unavailable: %s", exc)
    return app
