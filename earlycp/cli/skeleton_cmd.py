"""``earlycp skeleton`` (video → skeleton file) and ``earlycp overlay`` (skeleton drawn on video).

Both write their output atomically only after all work succeeded, so a refused or failing
input leaves no file behind; the error is the single ``error[CODE]: …`` line from main.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

from earlycp.errors import EarlyCPError, ErrorCode


@contextmanager
def _progress_bar(description: str) -> Iterator[Callable[[float], None]]:
    """A tqdm bar (on stderr) driven by a 0–1 fraction callback."""
    from tqdm import tqdm

    with tqdm(total=100, desc=description, unit="%", bar_format="{l_bar}{bar}| {elapsed}<{remaining}") as bar:

        def update(fraction: float) -> None:
            target = round(100 * min(max(fraction, 0.0), 1.0))
            if target > bar.n:
                bar.update(target - bar.n)

        yield update


def _require_suffix(path: Path, suffix: str, option: str) -> None:
    if path.suffix.lower() != suffix:
        raise EarlyCPError(
            ErrorCode.INVALID_INPUT, detail=f"{option} must name a {suffix} file, got '{path.name}'"
        )


def skeleton_cmd(
    video: Path = typer.Argument(..., help="The infant video (MP4, MOV, MKV or AVI)."),
    out: Path = typer.Option(..., "--out", "-o", help="Skeleton file to write (.npz)."),
    csv: Path | None = typer.Option(None, "--csv", help="Also write the skeleton as CSV."),
    pose_model: str | None = typer.Option(None, "--pose-model", help="Registered pose model name."),
    batch: int | None = typer.Option(None, "--batch", min=1, help="Frames per inference batch."),
    refine: bool = typer.Option(False, "--refine", help="Second pass on crops around the infant."),
) -> None:
    """Estimate the infant's skeleton in every frame and save it (30 Hz, display pixels)."""
    from worker.pose.pipeline import estimate_skeleton
    from worker.skeleton.qc import format_qc

    _require_suffix(out, ".npz", "--out")
    if csv is not None:
        _require_suffix(csv, ".csv", "--csv")
    with _progress_bar("pose") as progress:
        skeleton = estimate_skeleton(
            video, pose_model=pose_model, batch_size=batch, refine=refine, progress=progress
        )
    skeleton.save_npz(out)
    if csv is not None:
        skeleton.save_csv(csv)
    model = skeleton.pose_model
    typer.echo(
        f"skeleton: {skeleton.num_frames} frames at {skeleton.fps:g} Hz ({skeleton.duration_s:.1f} s), "
        f"{skeleton.num_joints} keypoints ({skeleton.layout}), model {model['name']} {model['version']} "
        f"on {model.get('provider', '?')}{', refined' if model.get('refine') else ''}"
    )
    typer.echo(format_qc(skeleton.qc))
    typer.echo(f"wrote {out}" + (f" and {csv}" if csv is not None else ""))


def overlay_cmd(
    video: Path = typer.Argument(..., help="The video the skeleton was made from."),
    skeleton: Path = typer.Argument(..., help="Skeleton file (.npz or .csv)."),
    out: Path = typer.Option(..., "--out", "-o", help="Overlay video to write (.mp4, H.264)."),
) -> None:
    """Draw the skeleton on the video (keypoints coloured by confidence) to check tracking."""
    from worker.skeleton.artefact import Skeleton
    from worker.skeleton.overlay import render_overlay

    _require_suffix(out, ".mp4", "--out")
    loaded = Skeleton.load(skeleton)
    with _progress_bar("overlay") as progress:
        render_overlay(video, loaded, out, progress=progress)
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    app.command("skeleton")(skeleton_cmd)
    app.command("overlay")(overlay_cmd)
