"""``analyze`` from a video: probe → real pose model → pre-processing → test ensemble → report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.contract_ensembles import random_ensemble, register
from tests.media_factory import load_photo_crop, moving_photo, write_video

W, H = 720, 576
PHOTO = "060754485.jpg"


@pytest.fixture()
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_dir: Path):
    from earlycp.config import get_settings

    directory = tmp_path / "site-models"
    directory.mkdir()
    for onnx_file in (shared_dir / "models" / "efficientpose").glob("*.onnx"):
        (directory / onnx_file.name).symlink_to(onnx_file)
    register(directory, "video-test", random_ensemble(4, 16, seed=21), "mpii16")
    monkeypatch.setenv("EARLYCP_MODEL_DIR", str(directory))
    monkeypatch.setenv("EARLYCP_EXECUTION_PROVIDER", "cpu")
    get_settings.cache_clear()
    yield directory
    get_settings.cache_clear()


@pytest.mark.slow  # real pose inference on 165 frames: ~5 s on an idle 2-core CPU
def test_analyze_video_end_to_end(model_dir: Path, tmp_path: Path, test_media: Path) -> None:
    from models.registry import get_model
    from worker.pipeline import analyze

    ann = {a["image"]: a for a in json.loads((test_media / "mpii" / "test_mpii.json").read_text())}[PHOTO]
    sprite = load_photo_crop(test_media / "mpii" / PHOTO, ann["center"], 1.25 * ann["scale"] * 200)

    def placement(t: float) -> tuple[float, float, float]:
        return W / 2 + 30 * np.sin(2 * np.pi * 0.4 * t), H / 2 + 15 * np.sin(2 * np.pi * 0.3 * t), 520.0

    video = write_video(tmp_path / "infant.mp4", moving_photo(sprite, W, H, placement), n_frames=165, fps=30)
    stages: list[str] = []
    result = analyze(
        video,
        ensemble="video-test",
        pose_model="efficientpose-rt",
        progress=lambda s, f: stages.append(s) if not stages or stages[-1] != s else None,
    )
    report = result.report
    assert stages == ["probing", "pose", "predicting"]
    assert report.recording.kind == "video" and report.recording.layout == "mpii16"
    assert len(report.windows) == 1 and report.n_instances == 4
    pose = get_model("pose", "efficientpose-rt")
    assert report.models["pose"].name == "efficientpose-rt"
    assert report.models["pose"].sha256 == pose.sha256
    assert report.qc["skeleton"]["person_share"] > 0.5
    assert result.skeleton.num_frames >= 150
    assert 0.0 <= report.risk <= 1.0
