"""``analyze`` end to end on skeleton files, the CLI, and the video path's refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from earlycp.errors import EarlyCPError, ErrorCode
from tests.contract_ensembles import random_ensemble, reference, register
from worker.report import Report, rederive
from worker.science.aggregation import aggregate
from worker.science.layouts import INMOTION19, MPII16, Layout
from worker.science.preprocessing import inference_features, prepare_skeleton

N = 6


@pytest.fixture()
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A site model dir holding linear test ensembles for both layouts (the pose weights stay)."""
    from earlycp.config import get_settings

    directory = tmp_path / "site-models"
    directory.mkdir()
    shared = Path(__file__).resolve().parent.parent.parent / "shared" / "models" / "efficientpose"
    for onnx_file in shared.glob("*.onnx"):  # pose weights are looked up in the same dir
        (directory / onnx_file.name).symlink_to(onnx_file)
    register(directory, "test-mpii16", random_ensemble(N, 16, seed=11), "mpii16")
    register(directory, "test-inmotion19", random_ensemble(N, 19, seed=12), "inmotion19", per_instance=True)
    monkeypatch.setenv("EARLYCP_MODEL_DIR", str(directory))
    monkeypatch.setenv("EARLYCP_ENSEMBLE", "test-mpii16")
    monkeypatch.setenv("EARLYCP_EXECUTION_PROVIDER", "cpu")
    get_settings.cache_clear()
    yield directory
    get_settings.cache_clear()


def _skeleton(frames: int, layout: Layout = MPII16, seed: int = 0):
    from worker.skeleton.artefact import Skeleton

    rng = np.random.default_rng(seed)
    j = layout.num_joints
    pose = rng.uniform(250, 450, size=(j, 2))
    pose[layout.upper_chest] = pose[layout.mid_pelvis] + (3.0, -100.0)
    kp = np.empty((frames, j, 3), dtype=np.float32)
    kp[..., :2] = pose + np.cumsum(rng.normal(0, 0.7, size=(frames, j, 2)), axis=0)
    kp[..., 2] = rng.uniform(0.3, 1.0, size=(frames, j))
    return Skeleton(
        keypoints=kp,
        timestamps=np.arange(frames) / 30.0,
        layout=layout.name,
        keypoint_names=layout.keypoints,
        frame_size=(720, 576),
        pose_model={"name": "efficientpose-rt", "version": "1.0.0", "sha256": "a" * 64, "file": "x.onnx"},
        qc={"status": "ok", "warnings": []},
    )


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_analyze_skeleton_end_to_end(model_dir: Path, tmp_path: Path, suffix: str) -> None:
    from worker.pipeline import analyze

    skeleton = _skeleton(900)  # 30 s → 11 windows
    path = skeleton.save(tmp_path / f"infant{suffix}")
    stages: list[tuple[str, float]] = []
    result = analyze(path, threshold=0.3, progress=lambda s, f: stages.append((s, f)))
    report = result.report
    # independent expectation: the same features through the numpy twin of the ONNX graph
    features, starts = inference_features(prepare_skeleton(skeleton))
    conf, cam = reference(random_ensemble(N, 16, seed=11), features)
    expected = aggregate(conf, 0.3, cam)
    assert len(report.windows) == starts.size == 11
    assert report.risk == pytest.approx(expected.risk, rel=1e-4)
    assert report.classification == ("CP" if expected.classified_cp else "no CP")
    assert report.count_above == expected.count_above and report.colour == expected.colour
    assert report.n_instances == N and len(report.windows[3].instance_values) == N
    assert report.windows[-1].end_s == pytest.approx(30.0)
    assert report.cam["thorax"] == pytest.approx(expected.cam[MPII16.upper_chest], rel=1e-3, abs=1e-4)
    assert report.models["ensemble"].name == "test-mpii16"
    assert report.models["pose"].name == "efficientpose-rt"
    assert report.validation.validated is False
    assert report.qc["preprocessing"]["windows"] == 11
    assert report.recording.kind == "skeleton" and report.recording.file == path.name
    assert stages[0] == ("predicting", 0.0) and stages[-1] == ("predicting", 1.0)
    assert result.skeleton.equals(skeleton) if suffix == ".npz" else result.skeleton.num_frames == 900
    assert rederive(report, 0.3) == report


def test_layout_mismatch_between_skeleton_and_ensemble(model_dir: Path, tmp_path: Path) -> None:
    from worker.pipeline import analyze

    path = _skeleton(300).save(tmp_path / "s.npz")
    with pytest.raises(EarlyCPError) as err:
        analyze(path, ensemble="test-inmotion19")
    assert err.value.code == ErrorCode.LAYOUT_MISMATCH


def test_inmotion19_skeleton_with_a_per_instance_ensemble(model_dir: Path, tmp_path: Path) -> None:
    from worker.pipeline import analyze

    path = _skeleton(300, INMOTION19).save(tmp_path / "s19.npz")
    report = analyze(path, ensemble="test-inmotion19").report
    assert report.n_instances == N and len(report.windows) == 3
    assert set(report.cam) == set(INMOTION19.keypoints)


def test_too_short_skeleton_is_refused(model_dir: Path, tmp_path: Path) -> None:
    from worker.pipeline import analyze

    path = _skeleton(149).save(tmp_path / "short.npz")
    with pytest.raises(EarlyCPError) as err:
        analyze(path)
    assert err.value.code == ErrorCode.SKELETON_TOO_SHORT


def test_video_with_a_pose_model_of_another_layout_fails_before_pose(
    model_dir: Path, test_media: Path
) -> None:
    from worker.pipeline import analyze

    with pytest.raises(EarlyCPError) as err:
        analyze(test_media / "videos" / "asl_book.mkv", ensemble="test-inmotion19")
    assert err.value.code == ErrorCode.LAYOUT_MISMATCH


def test_short_low_resolution_video_is_refused_by_the_probe(model_dir: Path, test_media: Path) -> None:
    from worker.pipeline import analyze

    with pytest.raises(EarlyCPError) as err:
        analyze(test_media / "videos" / "asl_book.mkv")
    assert err.value.code in (ErrorCode.RESOLUTION_OUT_OF_RANGE, ErrorCode.VIDEO_TOO_SHORT)


def test_cli_writes_the_report_and_prints_the_summary(model_dir: Path, tmp_path: Path) -> None:
    from earlycp.cli.main import app

    path = _skeleton(450).save(tmp_path / "s.npz")
    out = tmp_path / "reports" / "r.json"
    result = CliRunner().invoke(
        app, ["analyze", str(path), "--out", str(out), "--threshold", "0.2", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    report = Report.model_validate(json.loads(out.read_text()))
    assert report.threshold == 0.2 and len(report.windows) == 5
    assert f"risk {report.risk:.3f} (threshold 0.20) → {report.classification}" in result.output
    assert report.colour in result.output
    assert "NOT CLINICALLY VALIDATED" in result.output
    assert "model: test-mpii16 (test ensemble)" in result.output


def test_cli_renders_errors_with_their_code(model_dir: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    path = _skeleton(100).save(tmp_path / "short.npz")
    proc = subprocess.run(
        [sys.executable, "-m", "earlycp.cli.main", "analyze", str(path), "--out", str(tmp_path / "r.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "error[SKELETON_TOO_SHORT]" in proc.stderr
    assert not (tmp_path / "r.json").exists()
