"""Hands a committed job to whichever executor this deployment runs (Celery or embedded)."""

from __future__ import annotations

from fastapi import Request


def enqueue(request: Request, job_id: str) -> None:
    """Called only after the job row is committed, so a fast worker always finds it."""
    embedded = getattr(request.app.state, "embedded_worker", None)
    if embedded is not None:
        embedded.submit(job_id)
        return
    from worker.celery_app import producer

    producer().send_task("earlycp.run_job", args=[job_id])
