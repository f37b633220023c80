"""Decode + pose throughput: the naive loop versus the overlapped pipeline, per pose model.

Usage: python bench/pose_throughput.py [--models efficientpose-rt,...] [--seconds 20] [--batch 8]

Generates a 1280×720 30 fps clip (a real MPII photograph moving over a mattress), then for
each model runs, in the same process and on the same file:

- naive: decode one frame, pre-process it, infer it alone (batch 1), decode its heatmaps;
- pipeline: decode + pre-process in a producer thread, batched inference in this thread.

Prints frames/s, the ratio, a per-stage breakdown (ms per frame of thread time) and the
extrapolated time for a 3-minute 30 fps video.

With ``--refine-gain`` it instead measures what the refine pass buys: each MPII photograph is
placed at several sizes in a 1280×720 frame and moved by a known transform; PCKh against the
transformed annotation, mean confidence, person share and wall time are printed for one pass
versus first pass + refine pass.

With ``--calibrate-qc`` it measures the person-score calibration of worker/skeleton/qc.py:
scores on real people (MPII crops, every 10th frame of the sample videos) versus scenes
without one (uniform, noise, generated mattresses with and without a blob, background corners
of the MPII photographs), per model. Note the machine load: other processes share
the CPU, so compare rows of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from earlycp.errors import EarlyCPError  # noqa: E402
from models.registry import list_models  # noqa: E402
from tests.media_factory import load_photo_crop, moving_photo, write_video  # noqa: E402
from worker.pose.model import PoseModel  # noqa: E402
from worker.pose.pipeline import StageTimes, run_pass  # noqa: E402
from worker.video.probe import probe  # noqa: E402

SHARED = Path(os.environ.get("EARLYCP_SHARED_DIR", REPO.parent / "shared"))
THREE_MINUTES_FRAMES = 180 * 30


def make_clip(path: Path, seconds: float, width: int = 1280, height: int = 720) -> Path:
    mpii = SHARED / "test-media" / "mpii"
    ann = json.loads((mpii / "test_mpii.json").read_text())[4]
    sprite = load_photo_crop(mpii / ann["image"], ann["center"], 1.25 * ann["scale"] * 200)
    fn = moving_photo(
        sprite, width, height, lambda t: (width / 2 + 60 * np.sin(1.3 * t), height / 2, 0.9 * height)
    )
    return write_video(path, fn, n_frames=round(seconds * 30), fps=30, crf=20)


def load_avg() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def per_frame_ms(times: StageTimes) -> str:
    n = max(times.frames, 1)
    return (
        f"decode {1000 * times.decode / n:5.1f}  pre-process {1000 * times.preprocess / n:5.1f}  "
        f"inference {1000 * times.inference / n:5.1f}  heatmaps {1000 * times.heatmaps / n:5.1f} ms/frame"
    )


def inference_only(model: PoseModel, batch: int, seconds: float = 3.0) -> float:
    """Frames/s of inference alone, with ``model.streams`` calls in flight (no video at all)."""
    import threading

    x = np.zeros((batch, model.input_size, model.input_size, 3), np.float32)
    model.infer(x)
    counts = [0] * model.streams
    start = time.perf_counter()

    def work(k: int) -> None:
        while time.perf_counter() - start < seconds:
            model.infer(x)
            counts[k] += batch

    threads = [threading.Thread(target=work, args=(k,)) for k in range(model.streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


MPII_ORDER = [
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "right_wrist", "right_elbow", "right_shoulder", "left_shoulder",
    "left_elbow", "left_wrist",
]  # fmt: skip


def refine_gain(model_name: str, sides: list[float], seconds: float, frame: str = "1280x720") -> None:
    """PCKh and cost of one pass versus refine, on photos of known motion at several sizes."""
    from tests.media_factory import photo_affine
    from worker.pose.pckh import pckh
    from worker.pose.pipeline import estimate_skeleton
    from worker.science.layouts import MPII16
    from worker.video.limits import PERMISSIVE_LIMITS

    mpii = SHARED / "test-media" / "mpii"
    perm = [MPII_ORDER.index(n) for n in MPII16.keypoints]
    width, height = (int(v) for v in frame.split("x"))
    print(f"refine gain, {model_name}, {width}×{height}, {seconds:g} s clips; person height = side")
    print("| photo side (px) | pass | PCKh@0.5 | PCKh@0.2 | PCKh@0.1 | mean conf | person share | time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for side in sides:
            acc: dict[bool, list] = {False: [], True: []}
            for k, ann in enumerate(json.loads((mpii / "test_mpii.json").read_text())):
                crop = 1.25 * ann["scale"] * 200
                sprite = load_photo_crop(mpii / ann["image"], ann["center"], crop)
                truth = (np.asarray(ann["joints"], float)[perm] - (np.asarray(ann["center"]) - crop / 2)) * (
                    sprite.shape[1] / round(crop)
                )

                def place(t: float, side: float = side) -> tuple[float, float, float]:
                    return (width / 2 + 50 * np.sin(1.3 * t), height / 2 + 15 * np.sin(0.7 * t), side)

                clip = write_video(
                    Path(tmp) / f"r{k}_{side:g}.mp4",
                    moving_photo(sprite, width, height, place),
                    n_frames=round(seconds * 30),
                    crf=20,
                )
                for refine in (False, True):
                    start = time.perf_counter()
                    try:
                        s = estimate_skeleton(
                            clip, pose_model=model_name, refine=refine, limits=PERMISSIVE_LIMITS
                        )
                    except EarlyCPError:  # NO_PERSON counts as a miss on every keypoint
                        acc[refine].append((None, 0.0, 0.0, time.perf_counter() - start, False))
                        continue
                    elapsed = time.perf_counter() - start
                    gts = []
                    for t in s.timestamps:
                        m = photo_affine(sprite, place(float(t)))
                        gts.append(truth @ m[:, :2].T + m[:, 2])
                    scores = pckh(s.xy.astype(float), np.asarray(gts), MPII16)
                    searched = bool(s.qc.get("person_search"))
                    acc[refine].append(
                        (scores, s.qc["mean_confidence"], s.qc["person_share"], elapsed, searched)
                    )
            for refine in (False, True):
                rows = acc[refine]
                got = [r[0] for r in rows if r[0] is not None]
                mean = {
                    key: np.mean([g[key] for g in got] + [0.0] * (len(rows) - len(got)))
                    for key in ("pckh@0.5", "pckh@0.2", "pckh@0.1")
                }
                print(
                    f"| {side:g} | {'refine' if refine else 'one pass'} | {mean['pckh@0.5']:.1f} | "
                    f"{mean['pckh@0.2']:.1f} | {mean['pckh@0.1']:.1f} | "
                    f"{np.mean([r[1] for r in rows]):.3f} | {np.mean([r[2] for r in rows]):.2f} | "
                    f"{np.mean([r[3] for r in rows]):.1f} |"
                    + (f" {len(rows) - len(got)} refused" if len(got) < len(rows) else "")
                    + (
                        f" search used {sum(r[4] is True for r in rows)}×"
                        if any(r[4] is True for r in rows)
                        else ""
                    )
                )


def calibration_images() -> tuple[list[tuple[str, np.ndarray, tuple]], list[tuple[str, np.ndarray, tuple]]]:
    """(people, no-person) lists of (label, RGB image, square box) for the QC calibration."""
    import cv2

    from tests.media_factory import mattress_background
    from worker.pose.geometry import letterbox_box
    from worker.video.decode import iter_frames
    from worker.video.limits import PERMISSIVE_LIMITS

    mpii = SHARED / "test-media" / "mpii"
    people: list[tuple[str, np.ndarray, tuple]] = []
    empty: list[tuple[str, np.ndarray, tuple]] = []
    for ann in json.loads((mpii / "test_mpii.json").read_text()):
        image = cv2.cvtColor(cv2.imread(str(mpii / ann["image"])), cv2.COLOR_BGR2RGB)
        side = 1.25 * ann["scale"] * 200
        people.append(
            (f"mpii {ann['image']}", image, (ann["center"][0] - side / 2, ann["center"][1] - side / 2, side))
        )
        # Background patches: the photo's quarter-size corners that hold no annotated joint.
        h, w = image.shape[:2]
        joints = np.asarray(ann["joints"], float)
        pad = 0.1 * ann["scale"] * 200
        for x0 in (0, 3 * w // 4):
            for y0 in (0, 3 * h // 4):
                x1, y1 = x0 + w // 4, y0 + h // 4
                inside = (
                    (joints[:, 0] > x0 - pad) & (joints[:, 0] < x1 + pad)
                    & (joints[:, 1] > y0 - pad) & (joints[:, 1] < y1 + pad)
                )  # fmt: skip
                if not inside.any():
                    patch = image[y0:y1, x0:x1]
                    empty.append((f"patch {ann['image']}", patch, letterbox_box(w // 4, h // 4)))
    for clip in sorted((SHARED / "test-media" / "videos").glob("*.mkv")):
        for frame in iter_frames(clip, probe(clip, PERMISSIVE_LIMITS)):
            if frame.index % 10 == 0:
                ih, iw = frame.image.shape[:2]
                people.append((f"video {clip.name}", frame.image, letterbox_box(iw, ih)))
    width, height = 1280, 720
    full = letterbox_box(width, height)
    rng = np.random.default_rng(0)
    for value in (0, 128, 255):
        empty.append((f"uniform {value}", np.full((height, width, 3), value, np.uint8), full))
    for k in range(3):
        noise = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        empty.append(("noise", noise, full))
        empty.append(("blurred noise", cv2.GaussianBlur(noise, (0, 0), 4 + 4 * k), full))
    for seed, tint in enumerate(((1.0, 1.0, 1.0), (0.85, 0.95, 1.05), (1.05, 0.9, 0.9))):
        bed = np.clip(mattress_background(width, height, seed) * np.asarray(tint), 0, 255).astype(np.uint8)
        empty.append(("mattress", bed, full))
        blob = bed.copy()
        cv2.ellipse(blob, (width // 2, height // 2), (140, 60), 20 + 30 * seed, 0, 360, (200, 120, 110), -1)
        empty.append(("mattress + blob", cv2.GaussianBlur(blob, (0, 0), 3), full))
    return people, empty


def calibrate_qc(names: list[str]) -> None:
    """Person-score statistics on real people vs scenes without one, per model (docs/motion-capture.md)."""
    from worker.pose.geometry import square_view
    from worker.pose.pipeline import search_windows
    from worker.skeleton.qc import PERSON_FRAME_SCORE, frame_scores

    people, empty = calibration_images()
    print(f"QC calibration: {len(people)} person images, {len(empty)} no-person images")
    stats = {"mean of all": None, "mean of best 12": 12, "mean of best 8 (used)": 8}
    overall: dict[str, list[float]] = {k: [1.0, 0.0] for k in stats}
    print("| model | statistic | people min | people median | no-person max | no-person median |")
    print("|---|---|---|---|---|---|")
    for name in names:
        model = PoseModel(list_models("pose")[name])
        conf = {}
        for group, items in (("people", people), ("empty", empty)):
            views = np.stack([square_view(img, tuple(box), model.input_size)[0] for _, img, box in items])
            out = [
                model.decode(model.infer(model.normalise(views[i : i + 8])))[..., 2]
                for i in range(0, len(views), 8)
            ]
            conf[group] = np.sort(np.concatenate(out), axis=1)
        for label, best in stats.items():
            p = conf["people"][:, -best:].mean(axis=1) if best else conf["people"].mean(axis=1)
            e = conf["empty"][:, -best:].mean(axis=1) if best else conf["empty"].mean(axis=1)
            overall[label] = [min(overall[label][0], p.min()), max(overall[label][1], e.max())]
            print(
                f"| {name} | {label} | {p.min():.3f} | {np.median(p):.3f} | {e.max():.3f} | {np.median(e):.3f} |"
            )
        worst = empty[int(np.argmax(conf["empty"][:, -8:].mean(axis=1)))][0]
        print(f"|  | highest no-person image | {worst} |  |  |  |")
        # The person search tries ~35 windows per frame: noise gets more chances to look human.
        scenes = [(label, img) for label, img, _ in empty if img.shape[:2] == (720, 1280)]
        windows = search_windows(1280, 720)
        best = []
        for label, img in scenes:
            views = np.stack([square_view(img, tuple(w), model.input_size)[0] for w in windows])
            heat = [
                model.decode(model.infer(model.normalise(views[i : i + 8]))) for i in range(0, len(views), 8)
            ]
            best.append((float(frame_scores(np.concatenate(heat)).max()), label))
        top = max(best)
        print(f"|  | window search, best of {len(windows)} windows |  |  | {top[0]:.3f} ({top[1]}) |  |")
    print("\n| statistic (all models) | people minimum | no-person maximum | ratio |")
    print("|---|---|---|---|")
    for label, (pmin, emax) in overall.items():
        print(f"| {label} | {pmin:.3f} | {emax:.3f} | {pmin / max(emax, 1e-9):.2f} |")
    print(f"threshold in worker/skeleton/qc.py: {PERSON_FRAME_SCORE}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="", help="comma-separated names (default: all registered)")
    parser.add_argument("--seconds", type=float, default=20.0, help="clip length")
    parser.add_argument("--batch", type=int, default=8, help="pipeline batch size")
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0: its default)")
    parser.add_argument("--provider", default=None, help="auto, cuda or cpu")
    parser.add_argument("--refine-gain", action="store_true", help="measure the refine pass instead")
    parser.add_argument("--sides", default="660,480,360", help="photo sizes for --refine-gain")
    parser.add_argument("--frame", default="1280x720", help="frame size for --refine-gain")
    parser.add_argument("--calibrate-qc", action="store_true", help="measure the person-score calibration")
    args = parser.parse_args()
    if args.calibrate_qc:
        calibrate_qc([n for n in args.models.split(",") if n] or sorted(list_models("pose")))
        return
    if args.refine_gain:
        print(load_avg())
        for name in [n for n in args.models.split(",") if n] or ["efficientpose-rt"]:
            refine_gain(name, [float(v) for v in args.sides.split(",")], min(args.seconds, 5.0), args.frame)
        print(load_avg())
        return

    names = [n for n in args.models.split(",") if n] or sorted(list_models("pose"))
    print(load_avg())
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "bench.mp4", args.seconds)
        info = probe(clip)
        print(
            f"clip: {info.width}×{info.height}, {info.fps:.0f} fps, {info.frame_count} frames, {info.codec}"
        )
        rows = []
        for name in names:
            entry = list_models("pose")[name]
            # naive: ONNX Runtime's default session (all cores inside one call), one frame at a time
            plain = PoseModel(entry, provider=args.provider, threads=args.threads or None, streams=1)
            model = PoseModel(entry, provider=args.provider, threads=args.threads or None)
            run_pass(model, clip, info, batch_size=args.batch, pipelined=True)  # warm-up
            naive = run_pass(plain, clip, info, batch_size=1, pipelined=False).times
            piped = run_pass(model, clip, info, batch_size=args.batch, pipelined=True).times
            infer = inference_only(model, args.batch)
            ratio = piped.fps() / naive.fps()
            rows.append((name, naive.fps(), piped.fps(), ratio, infer))
            print(f"\n{name} ({model.input_size}px, {model.provider})")
            print(f"  naive    {naive.fps():6.1f} frames/s   {per_frame_ms(naive)}")
            print(f"  pipeline {piped.fps():6.1f} frames/s   {per_frame_ms(piped)}  (batch {args.batch})")
            print(
                f"  ratio    {ratio:6.2f}×   inference only (batch {args.batch}, {model.streams} in flight): {infer:6.1f} frames/s"
            )
            print(f"  3-minute 30 fps video: {THREE_MINUTES_FRAMES / piped.fps():6.0f} s (pipeline)")
        print("\n| model | naive f/s | pipeline f/s | ratio | inference-only f/s | 3-min video (s) |")
        print("|---|---|---|---|---|---|")
        for name, nf, pf, r, inf in rows:
            print(
                f"| {name} | {nf:.1f} | {pf:.1f} | {r:.2f}× | {inf:.1f} | {THREE_MINUTES_FRAMES / pf:.0f} |"
            )
    print(load_avg())


if __name__ == "__main__":
    main()
