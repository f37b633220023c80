"""GCN ensemble step on a 5-minute recording: the naive loop versus the serving path.

Usage:
    python bench/ensemble_throughput.py                       # the registered ensemble (settings)
    python bench/ensemble_throughput.py --ensemble NAME
    python bench/ensemble_throughput.py --onnx a.onnx [b.onnx …] --layout mpii16
    python bench/ensemble_throughput.py --stand-in 10         # no trained ensemble yet (see below)

A synthetic 5-minute 30 Hz skeleton (9000 frames → 119 windows of 150 frames, hop 75) is
pre-processed once (worker.science.preprocessing), then the ensemble runs, in the same process
on the same features, two ways:

- naive: one ONNX session per instance and one window per call (119 × N ``run`` calls) — the
  straightforward translation of "each of N networks scores each window";
- serving: ``worker.ensemble.runtime`` as the service uses it — the ensemble's file(s) in as few
  sessions as it ships, windows batched (``--batch``, default the runtime's).

Per-instance files for the naive path come from the manifest's ``instances`` list; for an
ensemble shipped as one file the instances are cut out of it with ``onnx.utils.Extractor``
(the inputs of the Concat that forms ``confidences`` / ``cam``). If that is impossible the
naive path falls back to the single file, one window per call, and says so.

``--stand-in N`` builds a contract-conforming ensemble of N small random graph-convolution
networks (three temporal convolutions, 48→96→96 channels, two graph aggregations, ≈0.3 GFLOPs
per window — the size of the smallest published architectures) in a temporary directory. It
measures the runtime mechanics, not the trained demo ensemble: the lead re-runs the benchmark
on the registered ensemble for the figures that go in docs.

By default each path runs over all windows on its own, two rounds in alternating order, and the
best round counts; ``--interleaved`` alternates them batch by batch instead, so bursts of load
from other processes hit both alike. Prints wall and CPU seconds,
windows/s, the ratio naive/serving and the whole ensemble step (pre-processing + session
creation + inference) for the 5-minute recording. Other processes share the CPU:
compare rows of one run, never runs of different days.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from worker.onnx_session import active_provider, create_session  # noqa: E402
from worker.science.layouts import Layout, get_layout  # noqa: E402
from worker.science.preprocessing import inference_features, prepare_sequence  # noqa: E402

FIVE_MINUTES_FRAMES = 5 * 60 * 30
WINDOW = 150


# --- the recording ----------------------------------------------------------------------


def synthetic_skeleton(
    layout: Layout, frames: int = FIVE_MINUTES_FRAMES, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A supine infant-sized stick figure (pixels, 1280×720) with smooth random limb motion."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 30.0
    j = layout.num_joints
    base = np.zeros((j, 2))
    base[:, 0] = 640 + rng.normal(0, 60, j)
    base[:, 1] = 360 + rng.normal(0, 80, j)
    base[layout.mid_pelvis] = (640, 420)
    base[layout.upper_chest] = (640, 300)
    motion = np.zeros((frames, j, 2))
    for _ in range(4):  # a few sinusoids per coordinate: movement of moderate speed
        freq = rng.uniform(0.2, 2.0, (j, 2))
        phase = rng.uniform(0, 2 * np.pi, (j, 2))
        motion += rng.uniform(2, 10, (j, 2)) * np.sin(2 * np.pi * freq * t[:, None, None] + phase)
    kp = np.empty((frames, j, 3), dtype=np.float32)
    kp[..., :2] = base + motion + rng.normal(0, 1.0, (frames, j, 2))
    kp[..., 2] = rng.uniform(0.3, 0.9, (frames, j))
    return kp, t


# --- a stand-in ensemble ----------------------------------------------------------------


def _stand_in_instance(prefix: str, joints: int, adjacency: np.ndarray, rng: np.random.Generator):
    """Nodes + initializers of one small GCN: features → (conf [B,1], cam [B,1,J])."""
    from onnx import helper, numpy_helper

    def he(*shape: int) -> np.ndarray:
        fan = int(np.prod(shape[1:]))
        return (rng.normal(size=shape) * np.sqrt(2.0 / fan)).astype(np.float32)

    p = prefix
    inits = [
        numpy_helper.from_array(he(48, 6, 9, 1), f"{p}w1"),
        numpy_helper.from_array(he(96, 48, 9, 1), f"{p}w2"),
        numpy_helper.from_array(he(96, 96, 9, 1), f"{p}w3"),
        numpy_helper.from_array(adjacency.T.astype(np.float32).copy(), f"{p}a_t"),
        numpy_helper.from_array((rng.normal(size=(96, 2)) * 0.1).astype(np.float32), f"{p}fc"),
        numpy_helper.from_array(np.zeros(2, np.float32), f"{p}fc_b"),
        numpy_helper.from_array(np.array([2, 3], np.int64), f"{p}tj_axes"),
        numpy_helper.from_array(np.array([2], np.int64), f"{p}t_axis"),
        numpy_helper.from_array(np.array([1], np.int64), f"{p}one"),
        numpy_helper.from_array(np.array([2], np.int64), f"{p}two"),
        numpy_helper.from_array(np.array([1], np.int64), f"{p}axis1"),
    ]
    n = helper.make_node
    nodes = [
        n("Conv", ["features", f"{p}w1"], [f"{p}c1"], pads=[4, 0, 4, 0]),
        n("Relu", [f"{p}c1"], [f"{p}r1"]),
        n("MatMul", [f"{p}r1", f"{p}a_t"], [f"{p}g1"]),
        n("Conv", [f"{p}g1", f"{p}w2"], [f"{p}c2"], pads=[4, 0, 4, 0], strides=[2, 1]),
        n("Relu", [f"{p}c2"], [f"{p}r2"]),
        n("MatMul", [f"{p}r2", f"{p}a_t"], [f"{p}g2"]),
        n("Conv", [f"{p}g2", f"{p}w3"], [f"{p}c3"], pads=[4, 0, 4, 0]),
        n("Relu", [f"{p}c3"], [f"{p}fmap"]),  # (B, 96, 75, J)
        n("ReduceMean", [f"{p}fmap", f"{p}tj_axes"], [f"{p}pooled"], keepdims=0),  # (B, 96)
        n("Gemm", [f"{p}pooled", f"{p}fc", f"{p}fc_b"], [f"{p}logits"]),
        n("Softmax", [f"{p}logits"], [f"{p}probs"], axis=1),
        n("Slice", [f"{p}probs", f"{p}one", f"{p}two", f"{p}axis1"], [f"{p}conf"]),  # (B, 1)
        n("ReduceMean", [f"{p}fmap", f"{p}t_axis"], [f"{p}fmean"], keepdims=0),  # (B, 96, J)
        n("Transpose", [f"{p}fmean"], [f"{p}fmean_t"], perm=[0, 2, 1]),  # (B, J, 96)
        n("MatMul", [f"{p}fmean_t", f"{p}fc"], [f"{p}cam2"]),  # (B, J, 2)
        n("Slice", [f"{p}cam2", f"{p}one", f"{p}two", f"{p}two"], [f"{p}cam_j1"]),  # (B, J, 1)
        n("Transpose", [f"{p}cam_j1"], [f"{p}cam"], perm=[0, 2, 1]),  # (B, 1, J)
    ]
    return nodes, inits, f"{p}conf", f"{p}cam"


def build_stand_in(n_instances: int, layout: Layout, folder: Path, seed: int = 0) -> Path:
    """One ONNX file with N instance branches concatenated into the contract's outputs."""
    import onnx
    from onnx import TensorProto, helper

    from worker.science.graph import spatial_configuration

    adjacency = spatial_configuration(layout).sum(axis=0)
    rng = np.random.default_rng(seed)
    nodes, inits, confs, cams = [], [], [], []
    for k in range(n_instances):
        nd, it, conf, cam = _stand_in_instance(f"i{k}_", layout.num_joints, adjacency, rng)
        nodes += nd
        inits += it
        confs.append(conf)
        cams.append(cam)
    nodes += [
        helper.make_node("Concat", confs, ["confidences"], axis=1),
        helper.make_node("Concat", cams, ["cam"], axis=1),
    ]
    j = layout.num_joints
    graph = helper.make_graph(
        nodes,
        "stand_in_gcn_ensemble",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["B", 6, WINDOW, j])],
        [
            helper.make_tensor_value_info("confidences", TensorProto.FLOAT, ["B", n_instances]),
            helper.make_tensor_value_info("cam", TensorProto.FLOAT, ["B", n_instances, j]),
        ],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    path = folder / f"stand-in-{n_instances}.onnx"
    onnx.save(model, str(path))
    return path


# --- naive per-instance files -----------------------------------------------------------


def _producer(model: Any, name: str) -> Any:
    for node in model.graph.node:
        if name in node.output:
            return node
    return None


def _concat_inputs(model: Any, output: str) -> list[str] | None:
    node = _producer(model, output)
    while node is not None and node.op_type == "Identity":
        node = _producer(model, node.input[0])
    if node is None or node.op_type != "Concat":
        return None
    return list(node.input)


def split_instances(path: Path, folder: Path) -> list[Path] | None:
    """Per-instance models cut out of a combined ensemble file, or None when it cannot be done."""
    import onnx
    from onnx.utils import Extractor

    model = onnx.load(str(path))
    confs, cams = _concat_inputs(model, "confidences"), _concat_inputs(model, "cam")
    if not confs or not cams or len(confs) != len(cams) or len(confs) < 2:
        return None
    try:
        model = onnx.shape_inference.infer_shapes(model)
        extractor = Extractor(model)
        paths = []
        for k, (conf, cam) in enumerate(zip(confs, cams, strict=True)):
            sub = extractor.extract_model(["features"], [conf, cam])
            sub.graph.node.extend(
                [
                    onnx.helper.make_node("Identity", [conf], ["confidences"]),
                    onnx.helper.make_node("Identity", [cam], ["cam"]),
                ]
            )
            outs = list(sub.graph.output)
            del sub.graph.output[:]
            for out, new in zip(outs, ("confidences", "cam"), strict=True):
                vi = onnx.ValueInfoProto()
                vi.CopyFrom(out)
                vi.name = new
                sub.graph.output.append(vi)
            p = folder / f"instance-{k}.onnx"
            onnx.save(sub, str(p))
            paths.append(p)
        return paths
    except Exception as exc:  # any graph the extractor cannot handle → documented fallback
        print(f"note: could not split {path.name} into instances ({exc})")
        return None


# --- the two paths ----------------------------------------------------------------------


def load_serving(
    ensemble: str | None, onnx_paths: list[Path] | None, layout: Layout, threads: int | None
) -> tuple[Any, float]:
    """The service's runtime (worker.ensemble.runtime) and the seconds its sessions took."""
    from worker.ensemble import runtime as rt

    t0 = time.perf_counter()
    if onnx_paths:
        runtime = rt.from_files(onnx_paths, layout, name="bench", provider="cpu", threads=threads)
    else:
        runtime = rt.load_ensemble(ensemble, provider="cpu", threads=threads)
    return runtime, time.perf_counter() - t0


def load_naive(paths: list[Path], threads: int | None) -> tuple[list[Any], float]:
    t0 = time.perf_counter()
    sessions = [create_session(p, "cpu", threads) for p in paths]
    return sessions, time.perf_counter() - t0


def naive_chunk(sessions: list[Any], features: np.ndarray) -> np.ndarray:
    """Every instance's session on every window, one window per call."""
    rows = []
    for w in range(features.shape[0]):
        window = features[w : w + 1]
        rows.append(
            np.concatenate(
                [
                    np.asarray(s.run(["confidences", "cam"], {"features": window})[0]).reshape(-1)
                    for s in sessions
                ]
            )
        )
    return np.stack(rows)


def measure(runtime: Any, sessions: list[Any], features: np.ndarray, batch: int) -> dict[str, Any]:
    """Both paths over the same windows, interleaved chunk by chunk (one serving batch each).

    Other processes share this CPU and their load comes in bursts; alternating the two paths
    every chunk (and which goes first) exposes both to the same load, so the ratio is fair.
    Wall and CPU seconds (this process, all threads) are summed per path.
    """
    t = {"serving_wall": 0.0, "serving_cpu": 0.0, "naive_wall": 0.0, "naive_cpu": 0.0}
    conf_s, conf_n = [], []
    for k, lo in enumerate(range(0, features.shape[0], batch)):
        chunk = features[lo : lo + batch]
        order = ("serving", "naive") if k % 2 == 0 else ("naive", "serving")
        for path in order:
            w0, c0 = time.perf_counter(), time.process_time()
            if path == "serving":
                conf_s.append(runtime.predict(chunk, batch_size=batch)[0])
            else:
                conf_n.append(naive_chunk(sessions, chunk))
            t[f"{path}_wall"] += time.perf_counter() - w0
            t[f"{path}_cpu"] += time.process_time() - c0
    t["max_diff"] = float(np.max(np.abs(np.concatenate(conf_s) - np.concatenate(conf_n))))
    return t


def measure_sequential(
    runtime: Any, sessions: list[Any], features: np.ndarray, batch: int, rounds: int = 2
) -> dict[str, Any]:
    """Each path over all windows on its own, ``rounds`` times in alternating order; best round.

    On a quiet machine this is the fairer figure: interleaving puts one path's idle, still
    spinning ONNX Runtime threads beside the other path's next call, which penalises whichever
    runs second.
    """
    best = {"serving_wall": np.inf, "serving_cpu": np.inf, "naive_wall": np.inf, "naive_cpu": np.inf}
    conf: dict[str, np.ndarray] = {}
    for k in range(rounds):
        for path in ("naive", "serving") if k % 2 == 0 else ("serving", "naive"):
            w0, c0 = time.perf_counter(), time.process_time()
            if path == "serving":
                conf[path] = runtime.predict(features, batch_size=batch)[0]
            else:
                conf[path] = naive_chunk(sessions, features)
            best[f"{path}_wall"] = min(best[f"{path}_wall"], time.perf_counter() - w0)
            best[f"{path}_cpu"] = min(best[f"{path}_cpu"], time.process_time() - c0)
    best["max_diff"] = float(np.max(np.abs(conf["serving"] - conf["naive"])))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ensemble", help="registered ensemble name (default: EARLYCP_ENSEMBLE)")
    ap.add_argument("--onnx", nargs="+", type=Path, help="ensemble ONNX file(s) instead of a registered one")
    ap.add_argument("--layout", default="mpii16", help="layout for --onnx / --stand-in")
    ap.add_argument("--stand-in", type=int, metavar="N", help="build a stand-in ensemble of N random GCNs")
    ap.add_argument("--batch", type=int, default=None, help="serving batch size (default: the runtime's)")
    ap.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads per session")
    ap.add_argument("--frames", type=int, default=FIVE_MINUTES_FRAMES, help="30 Hz frames (5 min = 9000)")
    ap.add_argument(
        "--interleaved",
        action="store_true",
        help="alternate the paths batch by batch (fairer under bursty load from other processes); "
        "default: each path whole, two rounds in alternating order, best round",
    )
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ensemble-bench-"))
    onnx_paths: list[Path] | None = None
    manifest: dict[str, Any] = {}
    if args.stand_in:
        layout = get_layout(args.layout)
        onnx_paths = [build_stand_in(args.stand_in, layout, tmp)]
        label = f"stand-in: {args.stand_in} random GCNs (≈0.3 GFLOPs each), one file"
    elif args.onnx:
        layout = get_layout(args.layout)
        onnx_paths = list(args.onnx)
        label = ", ".join(p.name for p in onnx_paths)
    else:
        from earlycp.config import get_settings
        from models.registry import get_model
        from worker.ensemble.runtime import instance_entries

        name = args.ensemble or get_settings().ensemble
        entry = get_model("ensemble", name)  # UNKNOWN_MODEL when the demo is not exported yet
        manifest = entry.manifest
        layout = get_layout(entry.layout)
        label = f"registered ensemble '{name}' {entry.version}"
        registered_files = [e.verified_path() for e in instance_entries(entry)]

    kp, ts = synthetic_skeleton(layout, args.frames)
    t0 = time.perf_counter()
    seq = prepare_sequence(kp, ts, layout)
    features, _starts = inference_features(seq)
    prep_s = time.perf_counter() - t0
    w = features.shape[0]

    files = onnx_paths or registered_files
    if len(files) > 1:
        naive_files, how = files, "one session per instance file"
    else:
        naive_files = split_instances(files[0], tmp)
        how = "one session per instance (cut out of the combined file)"
        if naive_files is None:
            naive_files, how = files, "FALLBACK: the combined file in one session (could not split)"

    from worker.ensemble.runtime import DEFAULT_BATCH

    batch = args.batch or DEFAULT_BATCH
    runtime, serving_load = load_serving(args.ensemble, onnx_paths, layout, args.threads)
    sessions, naive_load = load_naive(naive_files, args.threads)
    t = (measure if args.interleaved else measure_sequential)(runtime, sessions, features, batch)
    n = runtime.n_instances

    one, five, _ = os.getloadavg()
    print(f"ensemble: {label}; layout {layout.name}; N = {n} instances; provider {runtime.provider}")
    if manifest:
        print(f"  validation: {manifest.get('clinical_validation', 'unknown')}")
    print(f"recording: {args.frames} frames at 30 Hz → {w} windows; pre-processing {prep_s:.2f} s")
    print(f"machine: {os.cpu_count()} CPUs, load average {one:.2f} (1 min) {five:.2f} (5 min)")
    print(
        "the two paths ran interleaved, one serving batch of windows at a time"
        if args.interleaved
        else "each path ran whole, two rounds in alternating order; best round shown"
    )
    print(f"naive   ({how}; {len(naive_files)} session(s), batch 1, {w * len(naive_files)} run calls):")
    print(
        f"  sessions {naive_load:.2f} s, inference {t['naive_wall']:.2f} s wall "
        f"({t['naive_cpu']:.2f} s CPU), {w / t['naive_wall']:.1f} windows/s"
    )
    print(f"serving (worker.ensemble.runtime; {len(runtime.sessions)} session(s), batch {batch}):")
    print(
        f"  sessions {serving_load:.2f} s, inference {t['serving_wall']:.2f} s wall "
        f"({t['serving_cpu']:.2f} s CPU), {w / t['serving_wall']:.1f} windows/s"
    )
    print(
        f"ratio naive/serving: {t['naive_wall'] / t['serving_wall']:.2f}× wall, "
        f"{t['naive_cpu'] / t['serving_cpu']:.2f}× CPU"
    )
    total_serving = prep_s + serving_load + t["serving_wall"]
    total_naive = prep_s + naive_load + t["naive_wall"]
    print(
        f"whole ensemble step for the recording (pre-processing + sessions + inference): "
        f"serving {total_serving:.2f} s, naive {total_naive:.2f} s "
        f"(ratio {total_naive / total_serving:.2f}×; target serving < 10 s, ratio ≥ 3×)"
    )
    print(f"max |confidence difference| naive vs serving: {t['max_diff']:.2e}")
    print(f"ONNX Runtime provider check: {active_provider(runtime.sessions[0])}")


if __name__ == "__main__":
    main()
