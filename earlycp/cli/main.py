"""The ``earlycp`` command. Each command group lives in its own module and registers here."""

from __future__ import annotations

import sys

import typer

from earlycp import __version__
from earlycp.cli import (
    analyze_cmd,
    evaluate_cmd,
    models_cmd,
    serve_cmd,
    skeleton_cmd,
    synth_cmd,
    train_cmd,
)
from earlycp.errors import EarlyCPError

app = typer.Typer(
    name="earlycp",
    help="EarlyCP: cerebral palsy risk from infant movement videos (research software, "
    "not clinically validated).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"earlycp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True),
) -> None:
    """EarlyCP command line."""


models_cmd.register(app)
skeleton_cmd.register(app)
evaluate_cmd.register(app)
analyze_cmd.register(app)
synth_cmd.register(app)
train_cmd.register(app)
serve_cmd.register(app)


def main() -> None:
    """Entry point: renders expected errors as one ``error[CODE]: sentence`` line, exit 2."""
    try:
        app(standalone_mode=False)
    except EarlyCPError as exc:
        print(exc.cli_line(), file=sys.stderr)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # click usage errors carry their own exit code and message
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
