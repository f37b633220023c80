"""Distributed mode for real: a Celery worker process on Redis and PostgreSQL, a real video
through the real pose model, a redelivered task, and a worker killed in the middle of a job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from tests.service_fixtures import (
    REDIS_URL,
    create_pg_database,
    drop_pg_database,
    make_video,
    service_env,
    upload,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]
BROKER_DB = 12
REPO = Path(__file__).resolve().parent.parent


class Workers:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.count = env, logs, 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> Path:
        self.count += 1
        log = self.logs / f"worker-{self.count}.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "earlycp.cli.main",
                "worker",
                "--concurrency",
                "1",
                "--hostname",
                f"test{self.count}@%h",
            ],
            cwd=REPO,
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return log

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and its pool child): no chance to ack or clean up."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def distributed(
    tmp_path_factory: pytest.TempPathFactory, shared_dir: Path, test_media: Path
) -> Iterator[dict]:
    from earlycp.config import get_settings

    root = tmp_path_factory.mktemp("distributed")
    name, url = create_pg_database()
    broker = f"{REDIS_URL}/{BROKER_DB}"
    redis.Redis.from_url(broker).flushdb()
    env = service_env(root, shared_dir, url, EARLYCP_BROKER_URL=broker, EARLYCP_VISIBILITY_TIMEOUT_S="6")
    from app.auth.tokens import create_token
    from app.core.db import session_scope
    from app.core.migrate import upgrade
    from app.main import create_app

    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        get_settings.cache_clear()
        workers = Workers(dict(os.environ), root)
        try:
            upgrade(url)
            with session_scope(url) as session:
                token = create_token(session, "integration")[1]
            video = make_video(root / "infant.mp4", test_media, seconds=5.5, width=720)
            with TestClient(create_app()) as client:
                yield {"client": client, "token": token, "url": url, "video": video, "workers": workers}
        finally:
            workers.stop()
            redis.Redis.from_url(broker).flushdb()
            drop_pg_database(name)
    get_settings.cache_clear()


def wait_job(client: TestClient, token: str, job_id: str, until, timeout: float = 240.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {token}"}).json()
        if until(job):
            return job
        assert time.monotonic() < deadline, f"job never reached the expected state: {job}"
        time.sleep(0.3)


def wait_log(log: Path, text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"'{text}' not in worker log:\n{log.read_text()[-3000:]}"
        time.sleep(0.3)


def count_assessments(url: str, job_id: str) -> int:
    from sqlalchemy import func, select

    from app.core.db import session_scope
    from app.core.tables import Assessment

    with session_scope(url) as session:
        return session.scalar(select(func.count()).where(Assessment.job_id == job_id)) or 0


def test_upload_to_fhir_through_celery_and_redelivery_does_not_duplicate(distributed: dict) -> None:
    from fhir.resources.R4B.riskassessment import RiskAssessment

    client, token = distributed["client"], distributed["token"]
    log = distributed["workers"].start()
    accepted = upload(client, token, distributed["video"])
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    seen: set[str] = set()
    job = wait_job(
        client,
        token,
        job_id,
        lambda j: (
            seen.add(f"{j['status']}:{j['stage']}") or j["status"] in ("succeeded", "failed", "cancelled")
        ),
    )
    assert job["status"] == "succeeded", job
    assert "running:pose" in seen
    assert set(job["stage_seconds"]) == {"probing", "pose", "predicting", "storing"}
    fhir = client.get(
        f"/api/v1/assessments/{job['assessment_id']}/fhir", headers={"Authorization": f"Bearer {token}"}
    ).json()
    resource = RiskAssessment.model_validate(fhir)
    assert "efficientpose-rt" in resource.method.text
    wait_log(log, "runs on CPUExecutionProvider")
    # the broker delivers the same task again (as after a lost acknowledgement)
    from worker.celery_app import producer

    producer().send_task("earlycp.run_job", args=[job_id])
    wait_log(log, f"job {job_id} not claimed (status succeeded)")
    assert count_assessments(distributed["url"], job_id) == 1
    again = wait_job(client, token, job_id, lambda j: True)
    assert again["attempts"] == 1 and again["assessment_id"] == job["assessment_id"]
    distributed["workers"].stop()


def test_killed_worker_mid_job_is_finished_by_a_new_worker(distributed: dict) -> None:
    client, token = distributed["client"], distributed["token"]
    workers = distributed["workers"]
    workers.start()
    accepted = upload(client, token, distributed["video"], subject="infant-2")
    job_id = accepted.json()["job_id"]
    wait_job(client, token, job_id, lambda j: j["stage"] == "pose" and j["status"] == "running")
    workers.kill()
    assert wait_job(client, token, job_id, lambda j: True)["status"] == "running"  # nobody finishes it
    workers.start()
    job = wait_job(client, token, job_id, lambda j: j["status"] in ("succeeded", "failed", "cancelled"))
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2
    assert count_assessments(distributed["url"], job_id) == 1
