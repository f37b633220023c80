"""``earlycp train``: the model factory — K-Best Search, cross-validation and ONNX export.

Defaults are the published settings (method.md); every reduction for small budgets is an
explicit option and ends up in the search/CV records and the model card (docs/training.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from tqdm import tqdm


def _train_config(epochs: int, lr: float, windows: int, seed: int, threads: int) -> object:
    from train.trainer import TrainConfig

    return TrainConfig(epochs=epochs, lr=lr, windows_per_sequence=windows, seed=seed, threads=threads)


def register(app: typer.Typer) -> None:
    train = typer.Typer(
        help="Train Ensemble-NAS-GCN ensembles (needs the 'train' extra: torch).", no_args_is_help=True
    )

    @train.command("search")
    def search(
        cohort: Path = typer.Argument(
            ..., exists=True, dir_okay=False, help="Cohort CSV (docs/training.md)."
        ),
        out: Path = typer.Option(..., "--out", help="Search directory (state, trials.jsonl, summary.json)."),
        k: int = typer.Option(5, "--k", min=1, help="Population size K."),
        epochs: int = typer.Option(100, "--epochs", min=1, help="Epochs per candidate (published 100)."),
        lr: float = typer.Option(5e-4, "--lr", help="SGD learning rate (published 5e-4)."),
        windows: int = typer.Option(
            12, "--windows-per-sequence", min=1, help="Windows per non-CP infant per epoch (CP: 5×)."
        ),
        keep_threshold: float = typer.Option(
            0.9, "--keep-threshold", help="Phase-1 AUC to join the population."
        ),
        max_trials: int = typer.Option(
            0, "--max-trials", min=0, help="Cap on trials (0: none, as published)."
        ),
        space: Path = typer.Option(
            None, "--space", exists=True, help="JSON {choice: [alternatives]} restricting the search space."
        ),
        stop_first: float = typer.Option(
            0.75, "--stop-first", help="Early-stopping AUC floor at the first check (published 0.75)."
        ),
        stop_step: float = typer.Option(
            0.025, "--stop-step", help="Rise of the floor per check (published 0.025, nine checks)."
        ),
        seed: int = typer.Option(0, "--seed", help="Search seed."),
        split_seed: int = typer.Option(0, "--split-seed", help="Seed of the stratified split."),
        threads: int = typer.Option(2, "--threads", min=1, help="torch CPU threads."),
        resume: bool = typer.Option(False, "--resume", help="Continue an interrupted search in --out."),
    ) -> None:
        """K-Best Search: phase 1 random architectures, phase 2 rank-softmax composition."""
        from train.kbest import SearchConfig, published_space, run_search

        sp = published_space()
        if space:
            sp.update(json.loads(space.read_text()))
        cfg = SearchConfig(
            k=k,
            epochs=epochs,
            keep_threshold=keep_threshold,
            stop_first=stop_first,
            stop_step=stop_step,
            max_trials=max_trials or None,
            seed=seed,
        )
        bar = tqdm(total=epochs, desc="trial 0", unit="epoch", leave=False)

        def on_epoch(epoch: int, auc: float) -> None:
            if epoch == 1:
                bar.reset()
            bar.update(1)
            bar.set_postfix(auc=f"{auc:.3f}")

        def on_trial(rec: dict) -> None:
            status = "abandoned" if rec["abandoned_at"] else ("kept" if rec["accepted"] else "rejected")
            tqdm.write(f"trial {rec['trial']} phase {rec['phase']} AUC {rec['auc']:.3f} {status}")
            bar.set_description(f"trial {rec['trial'] + 1}")

        summary = run_search(
            cohort,
            out,
            cfg,
            _train_config(epochs, lr, windows, seed, threads),
            space=sp,
            split_seed=split_seed,
            resume=resume,
            on_trial=on_trial,
            on_epoch=on_epoch,
        )
        bar.close()
        typer.echo(
            json.dumps({k: summary[k] for k in ("trials", "abandoned", "best_auc", "auc_bins")}, indent=1)
        )

    @train.command("cv")
    def cv(
        cohort: Path = typer.Argument(..., exists=True, dir_okay=False, help="Cohort CSV."),
        search_dir: Path = typer.Option(
            ..., "--search", exists=True, file_okay=False, help="Search directory."
        ),
        out: Path = typer.Option(..., "--out", help="CV directory (instances/, cv.json)."),
        epochs: int = typer.Option(200, "--epochs", min=1, help="Epochs per instance (published 200)."),
        lr: float = typer.Option(5e-4, "--lr", help="SGD learning rate (published 5e-4)."),
        windows: int = typer.Option(
            12, "--windows-per-sequence", min=1, help="Windows per non-CP infant per epoch."
        ),
        n_select: int = typer.Option(
            0, "--n-select", min=0, help="Use the best n architectures (0: whole population)."
        ),
        seed: int = typer.Option(0, "--seed", help="Training seed."),
        threads: int = typer.Option(2, "--threads", min=1, help="torch CPU threads."),
    ) -> None:
        """Train every selected architecture once per fold (7 folds) and score the external test set."""
        from train.cv import run_cv

        bar = tqdm(desc="instances", unit="instance")
        info = run_cv(
            cohort,
            search_dir,
            out,
            _train_config(epochs, lr, windows, seed, threads),
            n_select=n_select or None,
            on_instance=lambda i: (bar.update(1), bar.set_postfix(auc=f"{i.val_auc:.3f}")),
        )
        bar.close()
        m = info["metrics"]
        typer.echo(
            json.dumps({k: m[k] for k in ("per_fold_auc", "mean_fold_auc", "external_test_auc")}, indent=1)
        )

    @train.command("export")
    def export(
        cv_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="CV directory."),
        name: str = typer.Option(..., "--name", help="Ensemble name (registry key)."),
        out: Path = typer.Option(..., "--out", help="Target, e.g. models/ensembles/NAME."),
        search_dir: Path = typer.Option(
            None, "--search", help="Search directory (its summary goes in the card)."
        ),
        version: str = typer.Option("1.0.0", "--version", help="Model version."),
        card: Path = typer.Option(
            None, "--card", exists=True, help="JSON merged into the card (training_data, departures)."
        ),
    ) -> None:
        """ONNX ensemble + manifest.json model card; benchmarks merged graph vs N sessions."""
        from train.export import export_ensemble

        extra = json.loads(card.read_text()) if card else {}
        with tqdm(total=1, desc="export") as bar:
            m = export_ensemble(
                cv_dir,
                out,
                name=name,
                version=version,
                search_dir=search_dir,
                training_data=extra.get("training_data"),
                departures=extra.get("departures"),
                title=extra.get("title"),
            )
            bar.update(1)
        typer.echo(
            json.dumps({"n_instances": m["n_instances"], "benchmark": m["export"]["benchmark"]}, indent=1)
        )

    app.add_typer(train, name="train")
