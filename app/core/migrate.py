"""Alembic, driven from code: ``earlycp db upgrade`` and the start-up revision check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.core.db import get_engine
from earlycp.config import get_settings
from earlycp.errors import EarlyCPError, ErrorCode

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "sqlalchemy.url", (url or get_settings().resolved_database_url()).replace("%", "%%")
    )
    return config


def upgrade(url: str | None = None) -> str:
    """Migrate to the newest revision; returns it."""
    config = alembic_config(url)
    get_engine(url)  # creates the SQLite file's directory in a fresh data directory
    command.upgrade(config, "head")
    return str(ScriptDirectory.from_config(config).get_current_head())


def check_migrated(url: str | None = None) -> None:
    """Refuse to serve a database that is not at the newest revision."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    with get_engine(url).connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current != head:
        raise EarlyCPError(
            ErrorCode.DATABASE_NOT_MIGRATED,
            detail=f"database revision {current or 'none'}, code expects {head}; run 'earlycp db upgrade'",
        )
