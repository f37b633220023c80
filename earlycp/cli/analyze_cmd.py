"""``earlycp analyze``: one recording (video or skeleton) → report JSON and a console summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from worker.science.aggregation import COLOUR_MEANING

_STAGES = {"probing": "probing video", "pose": "motion capture", "predicting": "GCN ensemble"}


class _Bars:
    """One tqdm bar per stage, created when the stage first reports (stderr, 0–100 %)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, fraction: float) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            bar = self.bars[stage] = tqdm(
                total=100,
                desc=f"{_STAGES.get(stage, stage):15s}",
                unit="%",
                leave=True,
                bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}",
            )
        bar.update(max(0, round(100 * fraction) - bar.n))

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def summary_lines(report: Any) -> list[str]:
    """The short console summary of a report (also used by tests)."""
    n = report.n_instances
    qc = report.qc or {}
    warnings = [*qc.get("skeleton", {}).get("warnings", []), *qc.get("preprocessing", {}).get("warnings", [])]
    lines = [
        f"risk {report.risk:.3f} (threshold {report.threshold:.2f}) → {report.classification}",
        f"certainty: {report.colour} ({COLOUR_MEANING[report.colour]}): {report.count_above} of {n} "
        f"instances ({report.share_above:.0%}) above the threshold",
        f"analysed {len(report.windows)} windows of 5 s over {report.recording.duration_s:.1f} s "
        f"({report.recording.layout}); quality: {'WARNING' if warnings else 'ok'}",
    ]
    lines += [f"  warning: {w}" for w in warnings]
    lines.append(report.validation.label)
    if report.validation.model_label:
        lines.append(f"model: {report.models['ensemble'].name} ({report.validation.model_label})")
    return lines


def analyze_cmd(
    recording: Path = typer.Argument(..., help="A video (MP4, MOV, MKV, AVI) or a skeleton (.npz / .csv)."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the report JSON."),
    threshold: float | None = typer.Option(
        None, "--threshold", min=0.0, max=1.0, help="Decision threshold (default EARLYCP_THRESHOLD, 0.25)."
    ),
    ensemble: str | None = typer.Option(None, "--ensemble", help="Registered GCN ensemble name."),
    pose_model: str | None = typer.Option(None, "--pose-model", help="Registered pose model name (videos)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars on stderr."),
) -> None:
    """Estimate the CP risk of one recording and write the full report as JSON."""
    from worker.pipeline import analyze
    from worker.skeleton.artefact import atomic_path

    bars = _Bars(progress)
    try:
        result = analyze(
            recording, threshold=threshold, ensemble=ensemble, pose_model=pose_model, progress=bars
        )
    finally:
        bars.close()
    data = result.report.model_dump(mode="json")
    with atomic_path(out) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.chmod(0o644)  # mkstemp creates 0600; a report is meant to be read by the care team
    for line in summary_lines(result.report):
        typer.echo(line)
    typer.echo(f"report: {out}")


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze_cmd)
