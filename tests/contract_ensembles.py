"""Small ONNX ensembles that follow the contract, built with ``onnx.helper`` for tests.

Each instance n is a fixed linear model: confidence = sigmoid(x_flat · w_n + c_n) and
cam[j] = Σ_c m[n, c] · mean_t x[c, t, j]. ``reference`` computes the same in numpy, so runtime
tests compare against an independent computation instead of trusting ONNX Runtime's output.
These models live in temporary directories only (never in models/).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

T = 150


@dataclass(frozen=True)
class LinearEnsemble:
    w: np.ndarray  # (F, N) with F = 6 * T * J
    c: np.ndarray  # (N,)
    m: np.ndarray  # (N, 6)
    joints: int

    @property
    def n(self) -> int:
        return int(self.c.size)

    def subset(self, k: int) -> LinearEnsemble:
        return LinearEnsemble(self.w[:, k : k + 1], self.c[k : k + 1], self.m[k : k + 1], self.joints)


def random_ensemble(n: int, joints: int, seed: int = 0, scale: float = 0.02) -> LinearEnsemble:
    rng = np.random.default_rng(seed)
    f = 6 * T * joints
    return LinearEnsemble(
        w=(rng.normal(size=(f, n)) * scale / np.sqrt(f) * 40).astype(np.float32),
        c=rng.normal(size=n).astype(np.float32),
        m=rng.normal(size=(n, 6)).astype(np.float32),
        joints=joints,
    )


def reference(ens: LinearEnsemble, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """numpy float64 computation of what the ONNX graph returns."""
    x = np.asarray(x, dtype=np.float64)
    logits = x.reshape(x.shape[0], -1) @ ens.w.astype(np.float64) + ens.c
    conf = 1.0 / (1.0 + np.exp(-logits))
    cam = np.einsum("nc,bcj->bnj", ens.m.astype(np.float64), x.mean(axis=2))
    return conf, cam


def build_model(
    ens: LinearEnsemble, *, squeeze_single: bool = False, scale_out: float = 1.0
) -> onnx.ModelProto:
    """The ONNX graph; ``scale_out`` > 1 makes a broken model whose confidences exceed 1."""
    j, n = ens.joints, ens.n
    inits = [
        numpy_helper.from_array(np.array([-1, 6 * T * j], dtype=np.int64), "flat_shape"),
        numpy_helper.from_array(ens.w, "w"),
        numpy_helper.from_array(ens.c, "c"),
        numpy_helper.from_array(ens.m.T.copy(), "m_t"),  # (6, N)
        numpy_helper.from_array(np.array([2], dtype=np.int64), "time_axis"),
        numpy_helper.from_array(np.array(scale_out, dtype=np.float32), "scale_out"),
    ]
    nodes = [
        helper.make_node("Reshape", ["features", "flat_shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["xw"]),
        helper.make_node("Add", ["xw", "c"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["prob"]),
        helper.make_node("Mul", ["prob", "scale_out"], ["conf_bn"]),
        helper.make_node("ReduceMean", ["features", "time_axis"], ["tmean"], keepdims=0),  # (B, 6, J)
        helper.make_node("Transpose", ["tmean"], ["tmean_t"], perm=[0, 2, 1]),  # (B, J, 6)
        helper.make_node("MatMul", ["tmean_t", "m_t"], ["cam_bjn"]),  # (B, J, N)
        helper.make_node("Transpose", ["cam_bjn"], ["cam_bnj"], perm=[0, 2, 1]),
    ]
    conf_name, cam_name = "conf_bn", "cam_bnj"
    conf_shape, cam_shape = ["B", n], ["B", n, j]
    if squeeze_single:  # the per-instance variant: confidences [B], cam [B, J]
        inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"))
        nodes += [
            helper.make_node("Squeeze", ["conf_bn", "axis1"], ["conf_b"]),
            helper.make_node("Squeeze", ["cam_bnj", "axis1"], ["cam_bj"]),
        ]
        conf_name, cam_name = "conf_b", "cam_bj"
        conf_shape, cam_shape = ["B"], ["B", j]
    nodes += [
        helper.make_node("Identity", [conf_name], ["confidences"]),
        helper.make_node("Identity", [cam_name], ["cam"]),
    ]
    graph = helper.make_graph(
        nodes,
        "linear_ensemble",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["B", 6, T, j])],
        [
            helper.make_tensor_value_info("confidences", TensorProto.FLOAT, conf_shape),
            helper.make_tensor_value_info("cam", TensorProto.FLOAT, cam_shape),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def save(model: onnx.ModelProto, path: Path) -> str:
    """Write the model; returns its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def register(
    model_dir: Path, name: str, ens: LinearEnsemble, layout: str, *, per_instance: bool = False, **extra
) -> Path:
    """Write an ensemble manifest (+ weights) into a site model dir, as a site would."""
    folder = model_dir / name
    manifest = {
        "schema_version": 1,
        "kind": "ensemble",
        "name": name,
        "version": "0.0.1-test",
        "layout": layout,
        "n_instances": ens.n,
        "window": 150,
        "hop": 75,
        "fps": 30,
        "label": "test ensemble",
        "intended_use": "unit tests of the EarlyCP runtime only",
        "clinical_validation": "none: fixed linear test models",
        "training_data": "none",
        "validation_metrics": {},
        "thresholds": [0.15, 0.2, 0.25, 0.3, 0.35],
        "architectures": ["linear"],
    }
    if per_instance:
        manifest["instances"] = []
        for k in range(ens.n):
            file = f"{name}-{k}.onnx"
            sha = save(build_model(ens.subset(k), squeeze_single=k % 2 == 1), folder / file)
            manifest["instances"].append({"file": file, "sha256": sha})
    else:
        file = f"{name}.onnx"
        manifest["file"] = file
        manifest["sha256"] = save(build_model(ens), folder / file)
    manifest.update(extra)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return folder
