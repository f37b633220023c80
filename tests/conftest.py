"""Shared test fixtures: the ../shared assets and an isolated EarlyCP environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("EARLYCP_SHARED_DIR", REPO.parent / "shared")).resolve()
POSE_WEIGHTS = SHARED / "models" / "efficientpose"

# Tests use the real EfficientPose weights from ../shared unless a model dir is configured.
if "EARLYCP_MODEL_DIR" not in os.environ and POSE_WEIGHTS.is_dir():
    os.environ["EARLYCP_MODEL_DIR"] = str(POSE_WEIGHTS)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"../shared not found at {SHARED}; set EARLYCP_SHARED_DIR")
    return SHARED


@pytest.fixture(scope="session")
def test_media(shared_dir: Path) -> Path:
    return shared_dir / "test-media"


@pytest.fixture()
def earlycp_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A private data directory and fresh settings for one test."""
    from earlycp.config import get_settings

    monkeypatch.setenv("EARLYCP_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
