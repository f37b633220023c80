"""``earlycp synth``: write a seeded synthetic infant cohort (train/synthetic.py) for training demos."""

from __future__ import annotations

from pathlib import Path

import typer
from tqdm import tqdm


def register(app: typer.Typer) -> None:
    synth = typer.Typer(
        help="Synthetic data for software demonstrations (never for clinical use).", no_args_is_help=True
    )

    @synth.command("cohort")
    def cohort(
        out: Path = typer.Option(..., "--out", help="Output directory (cohort.csv + skeletons/)."),
        n: int = typer.Option(100, "--n", min=2, help="Number of infants."),
        layout: str = typer.Option("mpii16", "--layout", help="mpii16 or inmotion19."),
        seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same cohort."),
        cp_share: float = typer.Option(0.3, "--cp-share", min=0.0, max=1.0, help="Share of infants with CP."),
        duration: float = typer.Option(
            60.0, "--duration", min=5.0, help="Recording length per infant, seconds."
        ),
    ) -> None:
        """Synthetic supine-infant skeletons (typical: fidgety movements; CP-like: cramped-synchronised)."""
        from train.synthetic import write_cohort
        from worker.science.layouts import get_layout

        get_layout(layout)
        with tqdm(total=n, desc="infants", unit="infant") as bar:
            path = write_cohort(
                out, n, layout=layout, seed=seed, cp_share=cp_share, duration_s=duration, progress=bar.update
            )
        typer.echo(str(path))

    app.add_typer(synth, name="synth")
