"""Embedded mode for real: ``earlycp serve`` with SQLite and its in-process worker, a token from
``earlycp tokens create``, a real video end to end to FHIR, and a crash mid-job that the next
start-up resumes from the job table."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.service_fixtures import make_video, service_env

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "earlycp.cli.main", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.3)


def test_embedded_end_to_end_and_resume_after_crash(
    tmp_path: Path, shared_dir: Path, test_media: Path
) -> None:
    from fhir.resources.R4B.riskassessment import RiskAssessment

    env = {**os.environ, **service_env(tmp_path, shared_dir, "")}
    env.pop("EARLYCP_DATABASE_URL")
    env.pop("EARLYCP_BROKER_URL", None)
    created = subprocess.run(
        [sys.executable, "-m", "earlycp.cli.main", "tokens", "create", "--role", "clinician"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = created.stdout.strip().splitlines()[-1].split()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert (tmp_path / "data" / "earlycp.db").is_file()  # embedded: SQLite in the data directory
    video = make_video(tmp_path / "infant.mp4", test_media, seconds=5.5, width=720)
    port, log = free_port(), tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    proc = start(env, port, log)
    try:
        with video.open("rb") as handle:
            response = httpx.post(
                f"{base}/api/v1/recordings",
                headers=headers,
                timeout=60,
                data={"subject_id": "e1", "age_weeks": "11", "recorded_on": "2026-11-20"},
                files={"file": ("infant.mp4", handle, "video/mp4")},
            )
        assert response.status_code == 202, response.text
        job_url = base + response.headers["location"]
        deadline = time.monotonic() + 120
        while (job := httpx.get(job_url, headers=headers).json())["stage"] != "pose":
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)  # a crash: the job row stays 'running'
        proc.wait(10)
        proc = start(env, port, log)
        deadline = time.monotonic() + 240
        while (job := httpx.get(job_url, headers=headers).json())["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.5)
        assert job["status"] == "succeeded" and job["attempts"] == 2, job
        fhir = httpx.get(f"{base}/api/v1/assessments/{job['assessment_id']}/fhir", headers=headers).json()
        assert RiskAssessment.model_validate(fhir).subject.identifier.value == "e1"
        page = httpx.get(f"{base}/api/v1/recordings", headers=headers).json()
        assert page["total"] == 1 and page["items"][0]["assessment_id"] == job["assessment_id"]
        plotly_js = httpx.get(f"{base}/dashboard/", headers=headers)
        assert plotly_js.status_code == 200
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
