"""The in-process worker of embedded mode.

No broker: the durable queue is the job table itself. At start-up every job still queued or
running (interrupted by a shutdown) is submitted; afterwards the API submits each new job id.
One worker thread runs jobs in order, through the same ``execute_job`` as Celery, so claims,
cancellation and idempotency behave identically in both modes.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy import select

from app.core.db import session_factory
from app.core.tables import Job

log = logging.getLogger("earlycp.worker")


class EmbeddedWorker:
    def __init__(self, database_url: str, threads: int = 1) -> None:
        self.database_url = database_url
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="earlycp-job")

    def resume(self) -> int:
        with session_factory(self.database_url)() as session:
            ids = list(
                session.scalars(
                    select(Job.id).where(Job.status.in_(("queued", "running"))).order_by(Job.created_at)
                )
            )
        for job_id in ids:
            self.submit(job_id)
        if ids:
            log.info("resumed %d unfinished job(s)", len(ids))
        return len(ids)

    def submit(self, job_id: str) -> Future[str]:
        from worker.tasks import run_and_notify

        def run() -> str:
            try:
                return run_and_notify(job_id, database_url=self.database_url)
            except Exception:
                log.exception("job %s crashed", job_id)
                raise

        return self.pool.submit(run)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
