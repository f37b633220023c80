"""Fixtures shared by the service tests (API, worker, embedded mode): real databases, a
contract-conforming test ensemble beside the real EfficientPose weights, short real videos."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from tests.contract_ensembles import random_ensemble, register
from tests.media_factory import load_photo_crop, moving_photo, write_video

PG_ADMIN_URL = os.environ.get("EARLYCP_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("EARLYCP_TEST_REDIS", "redis://127.0.0.1:6379")
ENSEMBLE = "service-test"
PHOTO = "060754485.jpg"


@dataclass
class Database:
    url: str
    kind: str


def create_pg_database() -> tuple[str, str]:
    """A new, empty PostgreSQL database on the test server: (name, SQLAlchemy URL)."""
    from sqlalchemy import create_engine, text

    name = f"earlycp_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    from app.core.db import dispose_engines

    dispose_engines()
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A fresh, migrated database per test module and backend (unique PostgreSQL database)."""
    from app.core.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'earlycp.db'}"
        upgrade(url)
        yield Database(url, "sqlite")
        from app.core.db import dispose_engines

        dispose_engines()
    else:
        name, url = create_pg_database()
        try:
            upgrade(url)
            yield Database(url, "postgresql")
        finally:
            drop_pg_database(name)


def queue_skeleton_job(
    database_url: str,
    skeleton: Path,
    *,
    subject_id: str,
    file_name: str | None = None,
    recorded_on: date = date(2026, 11, 1),
    callback_url: str | None = None,
    created_by: str = "test",
) -> tuple[str, str]:
    """A recording whose stored file is a skeleton, with a queued job: (recording id, job id).

    The worker skips pose for skeletons, so tests reach the ensemble, storage and the API fast.
    """
    from app.core.db import session_scope
    from app.core.tables import Job, Recording

    with session_scope(database_url) as session:
        rec = Recording(
            subject_id=subject_id,
            age_weeks=12.0,
            recorded_on=recorded_on,
            file_name=file_name or skeleton.name,
            path=str(skeleton),
            size_bytes=skeleton.stat().st_size,
            sha256="0" * 64,
            video={},
            callback_url=callback_url,
            created_by=created_by,
        )
        session.add(rec)
        session.flush()
        job = Job(recording_id=rec.id, threshold=0.25)
        session.add(job)
        session.flush()
        return rec.id, job.id


def site_model_dir(root: Path, shared: Path) -> Path:
    directory = root / "site-models"
    directory.mkdir(parents=True, exist_ok=True)
    for onnx_file in (shared / "models" / "efficientpose").glob("*.onnx"):
        link = directory / onnx_file.name
        if not link.exists():
            link.symlink_to(onnx_file)
    if not (directory / ENSEMBLE).exists():
        register(directory, ENSEMBLE, random_ensemble(4, 16, seed=21), "mpii16")
    return directory


def service_env(root: Path, shared: Path, database_url: str, **extra: str) -> dict[str, str]:
    """EARLYCP_* variables of an isolated service (also handed to worker subprocesses)."""
    env = {
        "EARLYCP_DATA_DIR": str(root / "data"),
        "EARLYCP_DATABASE_URL": database_url,
        "EARLYCP_MODEL_DIR": str(site_model_dir(root, shared)),
        "EARLYCP_ENSEMBLE": ENSEMBLE,
        "EARLYCP_POSE_MODEL": "efficientpose-rt",
        "EARLYCP_EXECUTION_PROVIDER": "cpu",
        "EARLYCP_INTRA_OP_THREADS": "2",
        "EARLYCP_WEBHOOK_SECRET": "whsec_" + "c2VjcmV0LWZvci10ZXN0cw==",
    }
    env.update(extra)
    return env


def make_video(
    path: Path, test_media: Path, *, seconds: float = 5.5, width: int = 1024, height: int = 576
) -> Path:
    """A short real video (a person photo drifting over a mattress) the real pose model can track."""
    ann = {a["image"]: a for a in json.loads((test_media / "mpii" / "test_mpii.json").read_text())}[PHOTO]
    sprite = load_photo_crop(test_media / "mpii" / PHOTO, ann["center"], 1.25 * ann["scale"] * 200)

    def placement(t: float) -> tuple[float, float, float]:
        return (
            width / 2 + 30 * np.sin(2 * np.pi * 0.4 * t),
            height / 2 + 15 * np.sin(2 * np.pi * 0.3 * t),
            0.9 * height,
        )

    return write_video(
        path, moving_photo(sprite, width, height, placement), n_frames=int(seconds * 30), fps=30
    )


def upload(
    client, token: str, video: Path, *, subject: str = "infant-1", headers: dict | None = None, **fields: str
):
    data = {"subject_id": subject, "age_weeks": "12", "recorded_on": "2026-11-02", **fields}
    with video.open("rb") as handle:
        return client.post(
            "/api/v1/recordings",
            data=data,
            files={"file": (video.name, handle, "video/mp4")},
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
        )
