"""The Celery application for distributed mode (``earlycp worker``).

Long GPU jobs: one message at a time per process (prefetch 1), acknowledged only after the job
ends (late ack) and handed back to the queue when the worker process dies; the Redis visibility
timeout exceeds the longest job so a slow job is not delivered twice. ONNX sessions are created
after the fork (worker_process_init), because CUDA cannot survive a fork.
"""

from __future__ import annotations

import logging

from celery import Celery, Task
from celery.signals import worker_process_init
from sqlalchemy.exc import DBAPIError, OperationalError

from earlycp.config import get_settings
from earlycp.errors import ErrorCode

log = logging.getLogger("earlycp.worker")
TRANSIENT: tuple[type[BaseException], ...] = (OperationalError, DBAPIError, ConnectionError, TimeoutError)
try:
    from redis.exceptions import ConnectionError as RedisConnectionError

    TRANSIENT = (*TRANSIENT, RedisConnectionError)
except ImportError:  # pragma: no cover - redis is a dependency
    pass


def make_celery() -> Celery:
    settings = get_settings()
    app = Celery("earlycp", broker=settings.broker_url or "memory://")
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.job_time_limit_s,
        task_soft_time_limit=max(10, settings.job_time_limit_s - 60),
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_s,
            # kombu sweeps for expired unacknowledged messages every interval × throttle
            # seconds (default 10 × 10): a job whose worker died would wait up to 100 s more
            # after the visibility timeout. One cheap sorted-set query every 10 s instead.
            "unacked_restore_interval": 10,
            "unacked_restore_throttle": 1,
        },
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        task_default_queue="earlycp",
        worker_hijack_root_logger=False,
    )
    return app


celery_app = make_celery()
_producers: dict[str, Celery] = {}


def producer() -> Celery:
    """The app that sends tasks, for the broker configured now (tests switch brokers)."""
    url = get_settings().broker_url or "memory://"
    if celery_app.conf.broker_url == url:
        return celery_app
    if url not in _producers:
        _producers[url] = make_celery()
    return _producers[url]


@celery_app.task(
    name="earlycp.run_job",
    bind=True,
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def run_job(self: Task, job_id: str) -> str:
    from celery.exceptions import SoftTimeLimitExceeded

    from worker.tasks import fail_job, run_and_notify

    try:
        return run_and_notify(job_id)
    except SoftTimeLimitExceeded:
        fail_job(job_id, ErrorCode.JOB_TIMED_OUT, f"over {get_settings().job_time_limit_s} s")
        return "failed"


@worker_process_init.connect
def _load_models(**_: object) -> None:
    """Create the ONNX sessions once per worker process, after the fork, and log the provider."""
    settings = get_settings()
    try:
        from worker.pipeline import get_ensemble

        runtime = get_ensemble(settings.ensemble)
        log.info("ensemble %s loaded: %s", settings.ensemble, getattr(runtime, "summary", lambda: "")())
        from models.registry import get_model
        from worker.onnx_session import active_provider, create_session

        entry = get_model("pose", settings.pose_model)
        session = create_session(
            entry.verified_path(), settings.execution_provider, settings.intra_op_threads
        )
        log.warning("pose model %s runs on %s", entry.name, active_provider(session))
    except Exception as exc:  # the job reports the error with its code; the worker stays up
        log.error("model warm-up failed: %s", exc)
