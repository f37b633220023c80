"""The REST API against real databases (SQLite and PostgreSQL, same tests) and a real Redis
broker with no consumer, so uploaded jobs stay queued unless a test runs them itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import redis
from fastapi.testclient import TestClient

from tests.service_fixtures import REDIS_URL, Database, make_video, queue_skeleton_job, service_env, upload
from tests.service_fixtures import database as database

pytestmark = pytest.mark.services
BROKER_DB = 11


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory, test_media: Path) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "infant.mp4", test_media, seconds=5.5, width=720)


@pytest.fixture()
def service(
    database: Database,
    tmp_path: Path,
    shared_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict]:
    from earlycp.config import get_settings

    broker = f"{REDIS_URL}/{BROKER_DB}"
    for key, value in service_env(tmp_path, shared_dir, database.url, EARLYCP_BROKER_URL=broker).items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    from app.auth.tokens import create_token
    from app.core.db import session_scope
    from app.main import create_app

    tokens = {}
    with session_scope(database.url) as session:
        for role in ("clinician", "integration", "admin"):
            tokens[role] = create_token(session, role)[1]
    app = create_app(database_url=database.url)
    with TestClient(app) as client:
        yield {"client": client, "tokens": tokens, "db": database, "data": tmp_path / "data", "app": app}
    redis.Redis.from_url(broker).flushdb()
    get_settings.cache_clear()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["status"] == status
    assert body["title"] and body["detail"] and body["instance"]
    return body


def test_health_needs_no_token_but_api_does(service: dict) -> None:
    client = service["client"]
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "models": "ok",
    }
    assert_problem(client.get("/api/v1/recordings"), 401, "UNAUTHORIZED")
    assert_problem(client.get("/api/v1/recordings", headers=auth("ecp_wrong")), 401, "UNAUTHORIZED")
    assert_problem(
        client.get("/api/v1/admin/queue", headers=auth(service["tokens"]["clinician"])), 403, "FORBIDDEN"
    )
    assert client.get("/api/v1/admin/queue", headers=auth(service["tokens"]["admin"])).status_code == 200
    assert "/api/v1/recordings" in client.get("/openapi.json").json()["paths"]


def test_non_video_is_refused_at_once_and_leaves_nothing(service: dict, tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_bytes(b"this is not a video\n" * 100)
    body = assert_problem(upload(service["client"], service["tokens"]["clinician"], text), 415, "NOT_A_VIDEO")
    assert "video" in body["title"]
    assert not any((service["data"] / "uploads").iterdir())
    listing = service["client"].get(
        "/api/v1/recordings?subject_id=infant-1", headers=auth(service["tokens"]["clinician"])
    )
    assert listing.json()["total"] == 0


def test_a_truncated_video_is_refused_without_naming_server_paths(
    service: dict, video: Path, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(video.read_bytes()[: video.stat().st_size // 3])
    response = upload(service["client"], service["tokens"]["clinician"], cut)
    assert response.status_code in (415, 422), response.text
    assert response.json()["code"] in {"CORRUPT_VIDEO", "NOT_A_VIDEO"}
    assert str(service["data"]) not in response.text and "/tmp/" not in response.text
    assert not any((service["data"] / "uploads").iterdir())


def test_upload_over_the_limit_is_413_and_removed(service: dict, video: Path, monkeypatch) -> None:
    from earlycp.config import get_settings

    monkeypatch.setenv("EARLYCP_MAX_UPLOAD_BYTES", str(video.stat().st_size // 2))
    get_settings.cache_clear()
    assert_problem(upload(service["client"], service["tokens"]["clinician"], video), 413, "UPLOAD_TOO_LARGE")
    assert not any((service["data"] / "uploads").iterdir())


def test_missing_fields_are_a_problem(service: dict, video: Path) -> None:
    response = upload(service["client"], service["tokens"]["clinician"], video, age_weeks="many")
    assert "age_weeks" in assert_problem(response, 422, "INVALID_INPUT")["detail"]


def test_upload_queues_a_job_and_honours_idempotency(service: dict, video: Path) -> None:
    client, token = service["client"], service["tokens"]["integration"]
    first = upload(client, token, video, headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == 202, first.text
    body = first.json()
    assert first.headers["location"] == f"/api/v1/jobs/{body['job_id']}"
    again = upload(client, token, video, headers={"Idempotency-Key": "abc-1"})
    assert again.status_code == 202 and again.json() == body
    conflict = upload(client, token, video, subject="someone-else", headers={"Idempotency-Key": "abc-1"})
    assert_problem(conflict, 409, "IDEMPOTENCY_CONFLICT")
    job = client.get(first.headers["location"], headers=auth(token)).json()
    assert job["status"] == "queued" and job["progress"] == 0.0 and job["assessment_id"] is None
    rec = client.get(f"/api/v1/recordings/{body['recording_id']}", headers=auth(token)).json()
    assert rec["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()
    assert rec["video"]["width"] == 720 and rec["job_status"] == "queued"
    assert "path" not in rec["video"] and str(service["data"]) not in first.text + str(rec)
    # the message really is on the broker, waiting for a worker
    assert redis.Redis.from_url(f"{REDIS_URL}/{BROKER_DB}").llen("earlycp") == 1


def test_list_filters_and_paginates(service: dict, video: Path) -> None:
    client, token = service["client"], service["tokens"]["clinician"]
    for subject, day in (("a", "2026-10-01"), ("b", "2026-10-05"), ("a", "2026-10-09")):
        assert upload(client, token, video, subject=subject, recorded_on=day).status_code == 202
    page = client.get("/api/v1/recordings?subject_id=a&limit=1", headers=auth(token)).json()
    assert page["total"] == 2 and len(page["items"]) == 1 and page["items"][0]["subject_id"] == "a"
    dated = client.get(
        "/api/v1/recordings?recorded_from=2026-10-04&recorded_to=2026-10-06", headers=auth(token)
    )
    assert [r["subject_id"] for r in dated.json()["items"]] == ["b"]
    job_id = page["items"][0]["job_id"]
    cancelled = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth(token)).json()
    assert cancelled["status"] == "cancelled" and cancelled["error"]["code"] == "JOB_CANCELLED"
    by_status = client.get("/api/v1/recordings?status=cancelled", headers=auth(token)).json()
    assert [r["job_id"] for r in by_status["items"]] == [job_id]
    queued_a = client.get("/api/v1/recordings?status=queued&subject_id=a", headers=auth(token)).json()
    assert queued_a["total"] == 1 and queued_a["items"][0]["job_id"] != job_id
    assert_problem(client.get("/api/v1/jobs/nope", headers=auth(token)), 404, "NOT_FOUND")


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict, bytes]]] = []
    fail_first = True

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        if _Receiver.fail_first:
            _Receiver.fail_first = False
            self.send_response(503)
        else:
            _Receiver.received.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _skeleton_recording(service: dict, tmp_path: Path, callback: str | None = None) -> tuple[str, str]:
    """A recording whose stored file is a skeleton: the worker then skips pose (fast path)."""
    from train.synthetic import InfantSpec, generate_skeleton

    spec = InfantSpec("s1", 1, "bilateral", "IV", "A", 12, 20.0)
    path = tmp_path / "s1.npz"
    generate_skeleton(spec, "mpii16", seed=3).save_npz(path)
    return queue_skeleton_job(service["db"].url, path, subject_id="s1", callback_url=callback)


def test_worker_result_through_rest_fhir_skeleton_webhook_and_delete(service: dict, tmp_path: Path) -> None:
    from fhir.resources.R4B.media import Media
    from fhir.resources.R4B.riskassessment import RiskAssessment

    from worker.tasks import execute_job, run_and_notify

    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Receiver.received.clear()
    _Receiver.fail_first = True
    rec_id, job_id = _skeleton_recording(service, tmp_path, f"http://127.0.0.1:{server.server_port}/hook")
    assert run_and_notify(job_id, database_url=service["db"].url) == "succeeded"
    server.shutdown()
    # a redelivered task finds the job finished and stores nothing new
    assert execute_job(job_id, database_url=service["db"].url) == "succeeded"
    client, token = service["client"], service["tokens"]["clinician"]
    job = client.get(f"/api/v1/jobs/{job_id}", headers=auth(token)).json()
    assert job["status"] == "succeeded" and job["progress"] == 1.0 and job["attempts"] == 1
    assert set(job["stage_seconds"]) >= {"predicting", "storing"}
    assessment = client.get(f"/api/v1/assessments/{job['assessment_id']}", headers=auth(token)).json()
    report = assessment["report"]
    values = np.array([w["instance_values"] for w in report["windows"]])
    low = client.get(f"/api/v1/assessments/{job['assessment_id']}?threshold=0.0", headers=auth(token)).json()
    high = client.get(f"/api/v1/assessments/{job['assessment_id']}?threshold=1.0", headers=auth(token)).json()
    assert low["report"]["risk"] == report["risk"] == high["report"]["risk"]
    assert high["report"]["threshold"] == 1.0 and high["report"]["classification"] == "no CP"
    assert high["report"]["colour"] == "green"
    assert low["report"]["share_above"] == float(np.mean(np.median(values, axis=0) > 0.0))
    fhir = client.get(f"/api/v1/assessments/{job['assessment_id']}/fhir", headers=auth(token)).json()
    resource = RiskAssessment.model_validate(fhir)
    assert resource.status == "preliminary"
    assert resource.prediction[0].outcome.coding[0].code == "128188000"
    assert float(resource.prediction[0].probabilityDecimal) == pytest.approx(report["risk"], abs=1e-6)
    assert resource.meta.security[0].code == "AIAST"
    assert resource.basis[0].reference == f"Media/{rec_id}"
    assert "NOT CLINICALLY VALIDATED" in resource.note[0].text
    assert "service-test" in resource.method.text
    # the FHIR base /api/v1/fhir resolves both resources, the basis reference included
    base = "/api/v1/fhir"
    assert client.get(f"{base}/RiskAssessment/{job['assessment_id']}", headers=auth(token)).json() == fhir
    media = client.get(f"{base}/{resource.basis[0].reference}", headers=auth(token))
    assert media.headers["content-type"].startswith("application/fhir+json")
    medium = Media.model_validate(media.json())
    assert medium.type.coding[0].code == "video" and medium.identifier[0].value == "0" * 64
    assert medium.subject.identifier.value == resource.subject.identifier.value
    assert_problem(client.get(f"{base}/Media/nope", headers=auth(token)), 404, "NOT_FOUND")
    # the callback: retried after a 503, then delivered with a valid Standard Webhooks signature
    assert len(_Receiver.received) == 1
    headers, body = _Receiver.received[0]
    headers = {k.lower(): v for k, v in headers.items()}
    secret = base64.b64decode("c2VjcmV0LWZvci10ZXN0cw==")
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == expected
    assert json.loads(body)["data"]["assessment_id"] == job["assessment_id"]
    npz = client.get(f"/api/v1/recordings/{rec_id}/skeleton", headers=auth(token))
    assert npz.status_code == 200 and npz.content[:2] == b"PK"
    csv = client.get(f"/api/v1/recordings/{rec_id}/skeleton?format=csv", headers=auth(token))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert_problem(client.get("/metrics"), 401, "UNAUTHORIZED")
    assert_problem(client.get("/metrics", headers=auth(token)), 403, "FORBIDDEN")
    metrics = client.get("/metrics", headers=auth(service["tokens"]["admin"])).text
    assert 'earlycp_jobs{status="succeeded"} 1.0' in metrics
    skeleton_file = service["data"] / "skeletons" / f"{rec_id}.npz"
    assert skeleton_file.is_file()
    assert client.delete(f"/api/v1/recordings/{rec_id}", headers=auth(token)).status_code == 204
    assert not skeleton_file.exists()
    assert_problem(
        client.get(f"/api/v1/assessments/{job['assessment_id']}", headers=auth(token)), 404, "NOT_FOUND"
    )
    assert_problem(client.get(f"/api/v1/jobs/{job_id}", headers=auth(token)), 404, "NOT_FOUND")


def test_distributed_service_refuses_an_unmigrated_database(tmp_path: Path, monkeypatch) -> None:
    from earlycp.config import get_settings
    from earlycp.errors import EarlyCPError

    monkeypatch.setenv("EARLYCP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EARLYCP_BROKER_URL", f"{REDIS_URL}/{BROKER_DB}")
    get_settings.cache_clear()
    from app.main import create_app

    app = create_app(database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(EarlyCPError) as err, TestClient(app):
        pass
    assert err.value.code.value == "DATABASE_NOT_MIGRATED" and "earlycp db upgrade" in err.value.message
    get_settings.cache_clear()


def test_a_failed_analysis_reports_a_code_and_a_clinician_sentence(service: dict, tmp_path: Path) -> None:
    from app.core.db import session_scope
    from app.core.tables import Recording
    from worker.tasks import execute_job

    rec_id, job_id = _skeleton_recording(service, tmp_path)
    with session_scope(service["db"].url) as session:
        broken = tmp_path / "broken.npz"
        broken.write_bytes(b"not an npz archive")
        session.get(Recording, rec_id).path = str(broken)
    assert execute_job(job_id, database_url=service["db"].url) == "failed"
    job = service["client"].get(f"/api/v1/jobs/{job_id}", headers=auth(service["tokens"]["clinician"])).json()
    assert job["status"] == "failed" and job["assessment_id"] is None
    assert job["error"]["code"] == "INVALID_SKELETON"
    assert job["error"]["message"].startswith("The skeleton file is not a valid")
    assert job["finished_at"] is not None and job["finished_at"].endswith(("+00:00", "Z"))
