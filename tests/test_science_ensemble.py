"""Ensemble runtime on contract-conforming ONNX graphs, checked against a numpy computation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from earlycp.errors import EarlyCPError, ErrorCode
from tests.contract_ensembles import build_model, random_ensemble, reference, register, save
from worker.ensemble.runtime import from_files, load_ensemble
from worker.science.layouts import INMOTION19, MPII16


@pytest.fixture()
def model_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from earlycp.config import get_settings

    directory = tmp_path / "models"
    directory.mkdir()
    monkeypatch.setenv("EARLYCP_MODEL_DIR", str(directory))
    get_settings.cache_clear()
    yield directory
    get_settings.cache_clear()


def _features(w: int, j: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(w, 6, 150, j)).astype(np.float32)


def test_single_file_ensemble_matches_the_numpy_reference(tmp_path: Path) -> None:
    ens = random_ensemble(n=5, joints=16, seed=1)
    path = tmp_path / "e.onnx"
    save(build_model(ens), path)
    runtime = from_files([path], "mpii16", provider="cpu", threads=1)
    assert runtime.n_instances == 5  # learned from the graph when no manifest says it
    x = _features(37, 16)
    fractions: list[float] = []
    conf, cam = runtime.predict(x, batch_size=16, progress=fractions.append)
    ref_conf, ref_cam = reference(ens, x)
    assert conf.shape == (37, 5) and cam.shape == (37, 5, 16)
    assert conf.dtype == np.float32 and cam.dtype == np.float32
    np.testing.assert_allclose(conf, ref_conf, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(cam, ref_cam, rtol=1e-4, atol=1e-5)
    assert fractions == pytest.approx([16 / 37, 32 / 37, 1.0])
    assert 0.05 < conf.mean() < 0.95  # the test model is not saturated: values carry information


def test_batch_size_does_not_change_results(tmp_path: Path) -> None:
    ens = random_ensemble(n=3, joints=19, seed=2)
    path = tmp_path / "e.onnx"
    save(build_model(ens), path)
    runtime = from_files([path], INMOTION19, n_instances=3, provider="cpu", threads=1)
    x = _features(20, 19, seed=4)
    a = runtime.predict(x, batch_size=1)
    b = runtime.predict(x, batch_size=64)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-6)


def test_registered_ensemble_single_file_and_per_instance_layouts_agree(model_dir: Path) -> None:
    ens = random_ensemble(n=4, joints=16, seed=3)
    register(model_dir, "one-file", ens, "mpii16")
    register(model_dir, "split", ens, "mpii16", per_instance=True)
    one = load_ensemble("one-file", provider="cpu", threads=1)
    split = load_ensemble("split", provider="cpu", threads=1)
    assert len(one.sessions) == 1 and len(split.sessions) == 4
    assert one.n_instances == split.n_instances == 4
    x = _features(9, 16, seed=7)
    c1, m1 = one.predict(x)
    c2, m2 = split.predict(x)
    np.testing.assert_allclose(c1, c2, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(m1, m2, rtol=1e-5, atol=1e-6)
    assert one.summary()["name"] == "one-file" and len(one.summary()["sha256"]) == 64
    assert len(split.summary()["sha256"]) == 4


def test_tampered_weights_are_refused(model_dir: Path) -> None:
    folder = register(model_dir, "tampered", random_ensemble(2, 16), "mpii16")
    with open(folder / "tampered.onnx", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(EarlyCPError) as err:
        load_ensemble("tampered")
    assert err.value.code == ErrorCode.MODEL_CHECKSUM_MISMATCH


def test_missing_instance_file_is_model_not_found(model_dir: Path) -> None:
    folder = register(model_dir, "gone", random_ensemble(2, 16), "mpii16", per_instance=True)
    (folder / "gone-1.onnx").unlink()
    with pytest.raises(EarlyCPError) as err:
        load_ensemble("gone")
    assert err.value.code == ErrorCode.MODEL_NOT_FOUND


def test_invalid_outputs_stop_the_analysis(tmp_path: Path) -> None:
    ens = random_ensemble(n=2, joints=16, seed=5)
    path = tmp_path / "broken.onnx"
    save(build_model(ens, scale_out=3.0), path)  # "probabilities" up to 3
    runtime = from_files([path], MPII16, n_instances=2, provider="cpu", threads=1)
    with pytest.raises(EarlyCPError) as err:
        runtime.predict(_features(4, 16))
    assert err.value.code == ErrorCode.ENSEMBLE_OUTPUT_INVALID


def test_manifest_instance_count_must_match_the_outputs(tmp_path: Path) -> None:
    path = tmp_path / "e.onnx"
    save(build_model(random_ensemble(n=3, joints=16)), path)
    runtime = from_files([path], MPII16, n_instances=4, provider="cpu", threads=1)
    with pytest.raises(EarlyCPError) as err:
        runtime.predict(_features(2, 16))
    assert err.value.code == ErrorCode.ENSEMBLE_OUTPUT_INVALID


def test_keypoint_count_of_the_graph_must_match_the_layout(tmp_path: Path) -> None:
    path = tmp_path / "e19.onnx"
    save(build_model(random_ensemble(n=2, joints=19)), path)
    with pytest.raises(EarlyCPError) as err:
        from_files([path], MPII16, n_instances=2, provider="cpu")
    assert err.value.code == ErrorCode.LAYOUT_MISMATCH


def test_wrong_feature_shape_is_a_programming_error(tmp_path: Path) -> None:
    path = tmp_path / "e.onnx"
    save(build_model(random_ensemble(n=2, joints=16)), path)
    runtime = from_files([path], MPII16, n_instances=2, provider="cpu")
    with pytest.raises(ValueError):
        runtime.predict(np.zeros((2, 6, 100, 16), dtype=np.float32))


def test_register_writes_a_contract_manifest(model_dir: Path) -> None:
    folder = register(model_dir, "m", random_ensemble(2, 16), "mpii16")
    manifest = json.loads((folder / "manifest.json").read_text())
    for key in (
        "name",
        "version",
        "file",
        "sha256",
        "layout",
        "n_instances",
        "window",
        "hop",
        "fps",
        "label",
        "intended_use",
        "clinical_validation",
        "thresholds",
        "architectures",
    ):
        assert key in manifest


def test_factory_style_manifest_with_null_instances_and_object_validation(model_dir: Path) -> None:
    """The model factory writes "instances": null and an object for clinical_validation."""
    register(
        model_dir,
        "factory",
        random_ensemble(3, 16),
        "mpii16",
        instances=None,
        clinical_validation={"status": "none", "statement": "synthetic skeletons only"},
        training_data={"kind": "synthetic", "infants": 10},
    )
    runtime = load_ensemble("factory", provider="cpu", threads=1)
    assert runtime.n_instances == 3 and len(runtime.sessions) == 1
    assert isinstance(runtime.summary()["sha256"], str)
    from worker.report import validation_from_manifest

    v = validation_from_manifest(runtime.manifest)
    assert v.validated is False and v.clinical_validation == "synthetic skeletons only"
