"""Job notifications to ``callback_url``, signed the Standard Webhooks way.

Signature: ``v1,<base64 HMAC-SHA256(secret, f"{id}.{timestamp}.{body}")>``; a secret written as
``whsec_<base64>`` is base64-decoded first, as the Standard Webhooks libraries do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

import httpx

from app.core.db import session_factory
from app.core.tables import Assessment, Job, Recording
from earlycp.config import get_settings

log = logging.getLogger("earlycp.webhooks")


def secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret_bytes(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def deliver(
    url: str, payload: dict[str, Any], secret: str, *, attempts: int = 5, backoff_s: float = 1.0
) -> bool:
    """POST with retries and exponential backoff; the same webhook-id on every attempt."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    msg_id = "msg_" + uuid.uuid4().hex
    for attempt in range(attempts):
        ts = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": sign(secret, msg_id, ts, body),
        }
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=10.0)
            if 200 <= response.status_code < 300:
                return True
            log.warning("webhook %s answered %s (attempt %d)", url, response.status_code, attempt + 1)
        except httpx.HTTPError as exc:
            log.warning("webhook %s failed: %s (attempt %d)", url, exc, attempt + 1)
        if attempt + 1 < attempts:
            time.sleep(backoff_s * 2**attempt)
    return False


def notify_job(job_id: str, *, database_url: str | None = None) -> bool:
    settings = get_settings()
    with session_factory(database_url)() as session:
        job = session.get(Job, job_id)
        if job is None:
            return False
        recording = session.get(Recording, job.recording_id)
        if recording is None or not recording.callback_url:
            return False
        assessment_id = session.query(Assessment.id).filter(Assessment.job_id == job_id).scalar()
        payload = {
            "type": f"job.{job.status}",
            "timestamp": int(time.time()),
            "data": {
                "job_id": job.id,
                "recording_id": recording.id,
                "status": job.status,
                "assessment_id": assessment_id,
                "error_code": job.error_code,
            },
        }
        url = recording.callback_url
    if not settings.webhook_secret:
        log.warning("callback_url set but EARLYCP_WEBHOOK_SECRET is empty: not notifying %s", url)
        return False
    return deliver(url, payload, settings.webhook_secret, attempts=settings.webhook_attempts)
