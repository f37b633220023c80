"""``earlycp serve``, ``earlycp worker``, ``earlycp db upgrade`` and ``earlycp tokens create``."""

from __future__ import annotations

import os

import typer

from earlycp.config import get_settings


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
        port: int = typer.Option(8000, help="TCP port."),
    ) -> None:
        """Run the API and dashboard (and, without EARLYCP_BROKER_URL, an in-process worker)."""
        import uvicorn

        from app.core.migrate import check_migrated
        from app.main import create_app

        settings = get_settings()
        if settings.broker_url or not settings.auto_migrate:
            check_migrated()  # a clear error[DATABASE_NOT_MIGRATED] line instead of a traceback
        uvicorn.run(create_app(), host=host, port=port, log_level="info")

    @app.command()
    def worker(
        concurrency: int = typer.Option(
            1, help="Worker processes (GPU: one per GPU, pinned with CUDA_VISIBLE_DEVICES)."
        ),
        loglevel: str = typer.Option("info"),
        hostname: str | None = typer.Option(None, help="Celery node name."),
    ) -> None:
        """Run a Celery worker (distributed mode; needs EARLYCP_BROKER_URL)."""
        if not get_settings().broker_url:
            typer.echo("EARLYCP_BROKER_URL is not set: 'earlycp serve' runs jobs in-process.", err=True)
            raise typer.Exit(2)
        from app.core.migrate import check_migrated
        from worker.celery_app import celery_app

        check_migrated()
        import logging

        logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        argv = [
            "worker",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            "-Q",
            "earlycp",
            "--pool=prefork",
            "-O",
            "fair",
        ]
        if hostname:
            argv.append(f"--hostname={hostname}")
        os.environ.setdefault("FORKED_BY_MULTIPROCESSING", "1")
        celery_app.worker_main(argv)

    db = typer.Typer(help="Database schema.", no_args_is_help=True)

    @db.command("upgrade")
    def db_upgrade() -> None:
        """Apply all Alembic migrations to EARLYCP_DATABASE_URL."""
        from app.core.migrate import upgrade

        typer.echo(f"database at revision {upgrade()}")

    tokens = typer.Typer(help="API access tokens.", no_args_is_help=True)

    @tokens.command("create")
    def tokens_create(
        role: str = typer.Option(..., help="clinician, integration or admin"),
        name: str = typer.Option("", help="Who or what uses the token."),
    ) -> None:
        """Create a bearer token; it is printed once, as the last word of the last line."""
        from app.auth.tokens import ROLES, create_token
        from app.core.db import session_scope
        from app.core.migrate import check_migrated, upgrade

        if role not in ROLES:
            raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}")
        settings = get_settings()
        if not settings.broker_url and settings.auto_migrate and not settings.database_url:
            upgrade()
        check_migrated()
        with session_scope() as session:
            row, token = create_token(session, role, name)
            typer.echo(
                f"created {row.role} token {row.id} ({row.name}); store it now, it is not shown again:"
            )
        typer.echo(f"token: {token}")

    app.add_typer(db, name="db")
    app.add_typer(tokens, name="tokens")
