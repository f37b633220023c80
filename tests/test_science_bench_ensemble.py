"""The throughput benchmark's own machinery: its stand-in follows the contract and the naive
path's per-instance models, cut out of a combined file, give exactly the combined outputs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from worker.science.layouts import MPII16

pytest.importorskip("onnx")
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "ensemble_throughput", REPO / "bench" / "ensemble_throughput.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["ensemble_throughput"] = module
    spec.loader.exec_module(module)
    return module


def test_split_instances_reproduce_the_combined_model(bench, tmp_path: Path) -> None:
    from worker.onnx_session import create_session

    combined = bench.build_stand_in(3, MPII16, tmp_path)
    parts = bench.split_instances(combined, tmp_path)
    assert parts is not None and len(parts) == 3
    x = np.random.default_rng(0).normal(size=(2, 6, 150, 16)).astype(np.float32)
    conf, cam = create_session(combined, "cpu", 1).run(["confidences", "cam"], {"features": x})
    assert conf.shape == (2, 3) and cam.shape == (2, 3, 16)
    assert np.all((conf >= 0) & (conf <= 1))
    for k, part in enumerate(parts):
        c_k, cam_k = create_session(part, "cpu", 1).run(["confidences", "cam"], {"features": x})
        np.testing.assert_array_equal(np.asarray(c_k).reshape(2), conf[:, k])
        np.testing.assert_array_equal(np.asarray(cam_k).reshape(2, 16), cam[:, k])


def test_split_refuses_a_graph_without_concat(bench, tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Identity", ["features"], ["confidences"]),
            helper.make_node("Identity", ["features"], ["cam"]),
        ],
        "g",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["B", 6, 150, 16])],
        [
            helper.make_tensor_value_info("confidences", TensorProto.FLOAT, None),
            helper.make_tensor_value_info("cam", TensorProto.FLOAT, None),
        ],
    )
    path = tmp_path / "flat.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    assert bench.split_instances(path, tmp_path) is None


def test_synthetic_five_minute_skeleton_gives_119_windows(bench) -> None:
    from worker.science.preprocessing import prepare_sequence, window_starts

    kp, ts = bench.synthetic_skeleton(MPII16)
    assert kp.shape == (9000, 16, 3)
    seq = prepare_sequence(kp, ts, MPII16)
    assert window_starts(seq.num_frames).size == 119


def test_interleaved_measurement_agrees_between_paths(bench, tmp_path: Path) -> None:
    combined = bench.build_stand_in(2, MPII16, tmp_path)
    runtime, _ = bench.load_serving(None, [combined], MPII16, 1)
    sessions, _ = bench.load_naive(bench.split_instances(combined, tmp_path), 1)
    x = np.random.default_rng(1).normal(size=(5, 6, 150, 16)).astype(np.float32)
    t = bench.measure(runtime, sessions, x, batch=2)
    assert t["max_diff"] < 1e-5  # batching may change float rounding, not results
    assert t["serving_wall"] > 0 and t["naive_wall"] > 0
