"""``earlycp models``: list registered models and verify their weight files."""

from __future__ import annotations

import typer

from earlycp.errors import EarlyCPError
from models.registry import list_models

models_app = typer.Typer(
    help="List and verify registered pose models and GCN ensembles.", no_args_is_help=True
)


@models_app.command("list")
def list_cmd() -> None:
    """Show every registered model, its layout and whether its weights are present and intact."""
    for kind in ("pose", "ensemble"):
        for name, entry in list_models(kind).items():  # type: ignore[arg-type]
            try:
                entry.verified_path()
                state = "ok"
            except EarlyCPError as exc:
                state = exc.code.value
            validation = entry.manifest.get("clinical_validation", "unknown")
            if isinstance(validation, dict):  # ensemble cards: {"status": …, "statement": …}
                validation = f"{validation.get('status', 'unknown')}: {validation.get('statement', '')}"
            typer.echo(f"{kind:9s} {name:28s} {entry.layout:11s} {state:24s} validation: {validation}")


@models_app.command("verify")
def verify_cmd(name: str, kind: str = typer.Option("pose", help="pose or ensemble")) -> None:
    """Check one model's weight file against the sha256 in its manifest (non-zero exit if not)."""
    from models.registry import get_model

    path = get_model(kind, name).verified_path()  # type: ignore[arg-type]
    typer.echo(f"ok {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
