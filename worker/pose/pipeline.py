"""Motion capture: video → 30 Hz skeleton (method.md step 1 and step 2.1).

Speed is a clinical requirement, so the three stages overlap: a producer thread decodes
frames (PyAV releases the GIL) and pre-processes them into model-ready batches (cv2 and numpy
release it too) while the calling thread runs batched ONNX inference (which releases it) and
decodes the heatmaps. A bounded queue keeps memory flat for 10-minute videos and lets a slow
consumer throttle the decoder. Frames above 30 fps are dropped before any work; the
trajectories are then resampled to exactly 30 Hz by timestamp.

A letterboxed 1280×720 frame shows an infant at a few dozen model pixels, too few for the
adult models: when the first pass finds nobody in most frames, square windows are searched on
sample frames and the video is re-run on the best window. With ``refine=True`` a further pass
re-estimates every frame from a square crop around the (smoothed) skeleton, so the infant is
seen at the model's full input resolution.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import av
import cv2
import numpy as np

from earlycp.config import get_settings
from earlycp.errors import EarlyCPError, ErrorCode
from worker.pose.geometry import letterbox_box, person_boxes, square_view, to_frame
from worker.pose.model import PoseModel, load_pose_model
from worker.science.layouts import Layout, get_layout
from worker.science.resample import TARGET_RATE_HZ, resample_uniform
from worker.skeleton.artefact import Skeleton
from worker.skeleton.qc import PERSON_FRAME_SCORE, compute_qc, frame_scores, person_frames, require_person
from worker.video.decode import iter_frames, sample_frames
from worker.video.limits import CLINICAL_LIMITS, VideoLimits
from worker.video.probe import VideoInfo, probe

log = logging.getLogger(__name__)

#: Pose runs on at most this many frames per second of video; the skeleton is 30 Hz anyway.
POSE_MAX_FPS = 30.0
#: Batches waiting between the decoder thread and inference (bounded: flat memory).
QUEUE_BATCHES = 3
#: Crop side = this × the first-pass skeleton's longer extent (limbs drawn short still fit).
REFINE_MARGIN = 1.5
#: Crop boxes are median-smoothed over this many frames (~1 s) so one bad frame cannot jump.
REFINE_SMOOTH_FRAMES = 31

#: A first pass finding the person in fewer frames than this triggers a window search.
SEARCH_BELOW_SHARE = 0.9
#: Frames kept from the first pass for the search, and their size.
SEARCH_SAMPLES = 12
SAMPLE_LONG_SIDE = 960
#: Window sides searched, as fractions of the frame's shorter side (3 scales ≈ 35 windows).
SEARCH_SCALES = (1.0, 0.7, 0.5)
#: The search keeps the best of some 30 windows, and the maximum of many noisy scores runs high:
#: on empty 1280×720 scenes the winner scored up to 0.332 (II Lite), on people at least 0.44 (RT)
#: (bench/pose_throughput.py --calibrate-qc). The winner must therefore clear a stricter bar
#: than a single frame (PERSON_FRAME_SCORE), set between the two.
SEARCH_PERSON_SCORE = 0.38
#: Share of the pose progress bar that the person search accounts for when it runs.
SEARCH_PROGRESS = 0.05

Progress = Callable[[float], None]
_T = TypeVar("_T")


@dataclass
class StageTimes:
    """Seconds spent per stage (thread time, so overlapping stages can add up to more than wall)."""

    decode: float = 0.0
    preprocess: float = 0.0
    inference: float = 0.0
    heatmaps: float = 0.0
    wall: float = 0.0
    frames: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def fps(self) -> float:
        return self.frames / self.wall if self.wall > 0 else 0.0

    def add(self, other: StageTimes) -> None:
        for name in ("decode", "preprocess", "inference", "heatmaps", "wall"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.frames += other.frames


@dataclass
class PassResult:
    timestamps: np.ndarray  # (N,) seconds since the first frame
    keypoints: np.ndarray  # (N, J, 3) x, y in display pixels, confidence
    times: StageTimes


@dataclass
class _Batch:
    timestamps: np.ndarray
    inputs: np.ndarray  # (B, S, S, 3) float32, normalised
    views: np.ndarray  # (B, 4) maps back to frame pixels


_DONE = object()


def expected_frames(info: VideoInfo, max_fps: float = POSE_MAX_FPS) -> int:
    """How many frames pose will see (for progress bars)."""
    if info.fps > max_fps * 1.02:
        return max(1, round(info.duration_s * max_fps))
    return max(1, info.frame_count)


def _batches(
    model: PoseModel,
    path: Path,
    info: VideoInfo,
    batch_size: int,
    boxes: np.ndarray | None,
    times: StageTimes,
    stop: threading.Event | None = None,
    samples: list[tuple[np.ndarray, float]] | None = None,
    sample_every: int = 0,
) -> Iterator[_Batch]:
    """Decode and pre-process into batches; ``boxes`` (N, 3) per frame, else the letterbox.

    With ``samples``, every ``sample_every``-th frame is also kept, shrunk to a long side of at
    most ``SAMPLE_LONG_SIDE`` px, as (image, scale back to frame pixels) for ``search_person``.
    """
    size = model.input_size
    full = letterbox_box(info.width, info.height)
    frames = iter_frames(path, info, max_fps=POSE_MAX_FPS)
    u8 = np.empty((batch_size, size, size, 3), np.uint8)
    maps = np.empty((batch_size, 4))
    stamps = np.empty(batch_size)
    n = 0
    position = 0
    while True:
        if stop is not None and stop.is_set():
            return
        t0 = time.perf_counter()
        frame = next(frames, None)
        t1 = time.perf_counter()
        times.decode += t1 - t0
        if frame is not None:
            box = full if boxes is None else tuple(boxes[min(position, len(boxes) - 1)])
            _, maps[n] = square_view(frame.image, box, size, out=u8[n])
            if samples is not None and sample_every and position % sample_every == 0:
                samples.append(_shrunk(frame.image))
            stamps[n] = frame.timestamp
            n += 1
            position += 1
        if n and (n == batch_size or frame is None):
            batch = _Batch(stamps[:n].copy(), model.normalise(u8[:n]), maps[:n].copy())
            n = 0
            times.preprocess += time.perf_counter() - t1
            yield batch
        else:
            times.preprocess += time.perf_counter() - t1
        if frame is None:
            return


def _shrunk(image: np.ndarray) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    factor = max(1.0, max(h, w) / SAMPLE_LONG_SIDE)
    if factor == 1.0:
        return image.copy(), 1.0
    small = cv2.resize(image, (round(w / factor), round(h / factor)), interpolation=cv2.INTER_AREA)
    return small, w / small.shape[1]


def _threaded(source: Iterator[_Batch], stop: threading.Event) -> Iterator[_Batch]:
    """Run ``source`` in a producer thread behind a bounded queue; re-raise its errors here."""
    q: queue.Queue[object] = queue.Queue(maxsize=QUEUE_BATCHES)

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in source:
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(exc)

    worker = threading.Thread(target=produce, name="pose-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join(timeout=10)


def _in_order(
    pool: ThreadPoolExecutor, fn: Callable[[_Batch], _T], items: Iterator[_Batch], in_flight: int
) -> Iterator[_T]:
    """``map`` with at most ``in_flight`` calls running, results in input order.

    ``Executor.map`` would drain the whole (decoder-fed) iterator up front; this keeps memory
    bounded to a few batches and lets the decoder's back-pressure work.
    """
    if in_flight <= 1:
        yield from map(fn, items)
        return
    pending: deque[Future[_T]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def run_pass(
    model: PoseModel,
    path: str | Path,
    info: VideoInfo,
    *,
    batch_size: int,
    boxes: np.ndarray | None = None,
    pipelined: bool = True,
    progress: Progress | None = None,
    samples: list[tuple[np.ndarray, float]] | None = None,
) -> PassResult:
    """One pose pass over the video: per-frame keypoints in display pixels, with timings.

    ``samples``, if given, receives ``SEARCH_SAMPLES`` evenly spaced shrunk frames.
    """
    times = StageTimes()
    stop = threading.Event()
    start = time.perf_counter()
    every = max(1, expected_frames(info) // SEARCH_SAMPLES)
    source = _batches(model, Path(path), info, batch_size, boxes, times, stop, samples, every)
    batches = _threaded(source, stop) if pipelined else source
    expected = expected_frames(info)
    stamps: list[np.ndarray] = []
    points: list[np.ndarray] = []
    done = 0
    clock = threading.Lock()

    def estimate(batch: _Batch) -> tuple[_Batch, np.ndarray]:
        t0 = time.perf_counter()
        heatmaps = model.infer(batch.inputs)
        t1 = time.perf_counter()
        decoded = model.decode(heatmaps)
        xy = to_frame(decoded[..., :2].astype(np.float64), batch.views)
        kp = np.concatenate([xy.astype(np.float32), decoded[..., 2:3]], axis=-1)
        with clock:  # several stream threads add to the same counters
            times.inference += t1 - t0
            times.heatmaps += time.perf_counter() - t1
        return batch, kp

    streams = model.streams if pipelined else 1
    with ThreadPoolExecutor(max_workers=streams, thread_name_prefix="pose-infer") as pool:
        for batch, kp in _in_order(pool, estimate, batches, streams):
            stamps.append(batch.timestamps)
            points.append(kp)
            done += len(batch.timestamps)
            if progress is not None:
                progress(min(1.0, done / expected))
    times.wall = time.perf_counter() - start
    times.frames = done
    j = model.num_joints
    return PassResult(
        np.concatenate(stamps) if stamps else np.zeros(0),
        np.concatenate(points) if points else np.zeros((0, j, 3), np.float32),
        times,
    )


def refine_boxes(keypoints: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray | None:
    """Square crops around a first-pass skeleton, or None when it found nobody to crop around."""
    present = person_frames(keypoints)
    if not present.any():
        return None
    return person_boxes(
        keypoints[..., :2].astype(np.float64),
        present,
        frame_size,
        margin=REFINE_MARGIN,
        smooth_frames=REFINE_SMOOTH_FRAMES,
    )


def decode_views(model: PoseModel, views: np.ndarray, batch_size: int) -> np.ndarray:
    """uint8 views (N, S, S, 3) → keypoints (N, J, 3) in view pixels, ``model.streams`` calls at once."""

    def estimate(start: int) -> np.ndarray:
        return model.decode(model.infer(model.normalise(views[start : start + batch_size])))

    with ThreadPoolExecutor(max_workers=model.streams, thread_name_prefix="pose-views") as pool:
        return np.concatenate(list(pool.map(estimate, range(0, len(views), batch_size))))


def search_windows(width: int, height: int) -> np.ndarray:
    """Square windows (K, 3) tiling the frame at a few scales with half-window overlap."""
    out = []
    for scale in SEARCH_SCALES:
        side = scale * min(width, height)
        nx = int(np.ceil((width - side) / (side / 2))) + 1
        ny = int(np.ceil((height - side) / (side / 2))) + 1
        for y0 in np.linspace(0, height - side, ny):
            for x0 in np.linspace(0, width - side, nx):
                out.append((x0, y0, side))
    return np.asarray(out, np.float64)


def search_person(
    model: PoseModel, samples: list[tuple[np.ndarray, float]], frame_size: tuple[int, int], batch_size: int
) -> np.ndarray | None:
    """A static square box (3,) around the person, found by trying windows on sample frames.

    The letterboxed frame shows a small infant at a few dozen model pixels, too few for the
    adult models to find them; windows at 1, 0.7 and 0.5 × the shorter side show them 1.4–3.6×
    larger. The window whose median person score over the samples is highest wins if it passes
    the person threshold; the box is the union of its skeletons, with the refine margin.
    """
    if not samples:
        return None
    windows = search_windows(*frame_size)
    views, maps = [], []
    size = model.input_size
    for image, factor in samples:
        for x0, y0, side in windows:
            view, vmap = square_view(image, (x0 / factor, y0 / factor, side / factor), size)
            views.append(view)
            maps.append(vmap * np.array([factor, factor, factor, factor]))
    decoded = decode_views(model, np.stack(views), batch_size)
    xy = to_frame(decoded[..., :2].astype(np.float64), np.stack(maps))
    kp = np.concatenate([xy, decoded[..., 2:3]], axis=-1)
    kp = kp.reshape(len(samples), len(windows), model.num_joints, 3)
    scores = frame_scores(kp.reshape(-1, model.num_joints, 3)).reshape(len(samples), len(windows))
    best = int(np.argmax(np.median(scores, axis=0)))
    good = scores[:, best] >= PERSON_FRAME_SCORE
    if np.median(scores[:, best]) < SEARCH_PERSON_SCORE or not good.any():
        return None
    xy = kp[good, best, :, :2].reshape(-1, 2)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    centre = (lo + hi) / 2
    side = max(float((hi - lo).max()) * REFINE_MARGIN, min(frame_size) * min(SEARCH_SCALES))
    return np.array([centre[0] - side / 2, centre[1] - side / 2, side])


def _seeked_samples(path: Path, info: VideoInfo) -> list[tuple[np.ndarray, float]]:
    """``SEARCH_SAMPLES`` shrunk frames spread over the video, or [] where seeking fails."""
    try:
        return [_shrunk(f.image) for f in sample_frames(path, info, SEARCH_SAMPLES)]
    except (av.error.FFmpegError, OSError, ValueError) as exc:  # e.g. an unseekable AVI index
        log.info("seeking for person-search samples failed (%s); sampling during the pass", exc)
        return []


def letterbox_share(model: PoseModel, samples: list[tuple[np.ndarray, float]], batch_size: int) -> float:
    """Share of sample frames in which the letterboxed whole frame shows a person."""
    size = model.input_size
    views = np.stack(
        [square_view(image, letterbox_box(image.shape[1], image.shape[0]), size)[0] for image, _ in samples]
    )
    scores = frame_scores(decode_views(model, views, batch_size))
    return float((scores >= PERSON_FRAME_SCORE).mean())


def _layout_order(model: PoseModel) -> tuple[Layout, list[int]]:
    layout = get_layout(model.layout)
    names = list(model.keypoint_names)
    if sorted(names) != sorted(layout.keypoints):
        raise EarlyCPError(
            ErrorCode.LAYOUT_MISMATCH,
            detail=f"pose model '{model.name}' keypoints do not match layout '{layout.name}'",
        )
    return layout, [names.index(n) for n in layout.keypoints]


def estimate_skeleton(
    video_path: str | Path,
    *,
    pose_model: str | None = None,
    batch_size: int | None = None,
    refine: bool = False,
    progress: Progress | None = None,
    limits: VideoLimits = CLINICAL_LIMITS,
    info: VideoInfo | None = None,
    timings: StageTimes | None = None,
) -> Skeleton:
    """Probe, run pose, resample to 30 Hz, quality-check: the Skeleton.

    12 frames spread over the video are decoded by seeking and letterboxed (the manifest's
    pre-processing). If they show the person in fewer than 90 % of them, windows are searched on
    them and the pass runs on that static box; otherwise, or if the box pass finds the person in
    fewer than 90 % of frames, the pass letterboxes whole frames (and the better pass is kept).
    ``refine`` adds a pass on per-frame crops around the skeleton so far.

    Raises the probe's refusal codes for unusable files and NO_PERSON when no person is found
    in enough frames; a weakly tracked person is kept, with warnings in ``skeleton.qc``.
    """
    path = Path(video_path)
    info = info or probe(path, limits)
    settings = get_settings()
    model = load_pose_model(pose_model)
    layout, order = _layout_order(model)
    batch = int(batch_size or settings.pose_batch_size)
    if batch < 1:
        raise EarlyCPError(ErrorCode.INVALID_INPUT, detail=f"batch size must be ≥ 1, got {batch}")
    frame_size = (info.width, info.height)
    progress_done = 0.0

    def stage(final: bool = False) -> Progress | None:
        """Progress callback of the next pass: it gets 85 % of what is left (or all if final)."""
        nonlocal progress_done
        offset = progress_done
        share = (1.0 - offset) * (1.0 if final else 0.85)
        progress_done = offset + share
        if progress is None:
            return None
        return lambda f: progress(offset + share * f)

    def share(p: PassResult) -> float:
        return float(person_frames(p.keypoints).mean()) if len(p.keypoints) else 0.0

    # 1. Look at 12 frames spread over the video first (seeking: seconds, not a pass). When the
    #    letterboxed frames miss the infant there, search windows and run the only pass on the
    #    box: one pass instead of a wasted letterbox pass followed by a box pass.
    samples = _seeked_samples(path, info)
    passes: list[PassResult] = []
    result: PassResult | None = None
    searched = refined = False
    sampled_share = letterbox_share(model, samples, batch) if samples else 1.0
    search_tried = sampled_share < SEARCH_BELOW_SHARE
    if search_tried:
        box = search_person(model, samples, frame_size, batch)
        # The search costs seconds (some 400 views): show it as the first few percent.
        progress_done = SEARCH_PROGRESS
        if progress is not None:
            progress(SEARCH_PROGRESS)
        if box is not None:
            found = run_pass(model, path, info, batch_size=batch, boxes=box[None], progress=stage())
            passes.append(found)
            # Keep it when it beats what letterboxing showed on the samples (the rule of the
            # two-pass order, with the letterbox share estimated from the samples).
            if share(found) > sampled_share:
                result, searched = found, True
    if result is None:
        # 2. The manifest's way: whole letterboxed frames. Without seeked samples they are
        #    collected during this pass; a search then follows it, with a second pass.
        collect: list[tuple[np.ndarray, float]] | None = None if samples else []
        final = not refine and bool(passes)
        first = run_pass(model, path, info, batch_size=batch, progress=stage(final=final), samples=collect)
        result = first
        if passes and share(passes[0]) > share(first):
            result, searched = passes[0], True
        passes.append(first)
        if not search_tried and share(first) < SEARCH_BELOW_SHARE:
            box = search_person(model, samples or collect or [], frame_size, batch)
            if box is not None:
                found = run_pass(
                    model, path, info, batch_size=batch, boxes=box[None], progress=stage(final=not refine)
                )
                passes.append(found)
                if share(found) > share(first):
                    result, searched = found, True
    del samples
    if refine:
        boxes = refine_boxes(result.keypoints[:, order], frame_size)
        if boxes is not None:
            result = run_pass(model, path, info, batch_size=batch, boxes=boxes, progress=stage(final=True))
            passes.append(result)
            refined = True
    if timings is not None:
        for p in passes:
            timings.add(p.times)
    if progress is not None:
        progress(1.0)

    keypoints = result.keypoints[:, order]
    if keypoints.shape[0] == 0:
        raise EarlyCPError(ErrorCode.CORRUPT_VIDEO, detail="no frame could be decoded")
    grid, resampled = resample_uniform(result.timestamps, keypoints, TARGET_RATE_HZ)
    qc = compute_qc(resampled, layout)
    qc["refined"] = refined
    qc["person_search"] = searched
    qc["video_frames_used"] = int(result.keypoints.shape[0])
    require_person(qc)
    return Skeleton(
        keypoints=resampled.astype(np.float32),
        timestamps=grid,
        layout=layout.name,
        keypoint_names=layout.keypoints,
        frame_size=frame_size,
        pose_model={**model.summary(), "provider": model.provider, "refine": refined, "search": searched},
        source={**info.as_dict(), "path": Path(info.path).name},  # no server layout in shared files
        qc=qc,
        fps=TARGET_RATE_HZ,
    )
