"""Fixtures shared by the service tests (API, worker, embedded mode): real databases, a
contract-conforming test ensemble beside the real EfficientPose weights, short real videos."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
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


def _pg_create() -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    name = f"earlycp_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _pg_drop(name: str) -> None:
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
        name, url = _pg_create()
        try:
            upgrade(url)
            yield Database(url, "postgresql")
        finally:
            _pg_drop(name)


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
