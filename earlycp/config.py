"""Runtime configuration, read once from ``EARLYCP_*`` environment variables.

Every setting has a default that makes the embedded, single-machine mode work with no
configuration at all; a distributed site overrides the database, broker and model paths.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Where ``make models`` wires the pose weights in a source checkout.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "weights"


class Settings(BaseSettings):
    """All tunables of EarlyCP. Field docs double as the README's variable table."""

    model_config = SettingsConfigDict(env_prefix="EARLYCP_", env_file=None, extra="ignore")

    data_dir: Path = Field(
        default=Path.home() / ".local" / "share" / "earlycp",
        description="Uploads, skeletons, reports and the embedded SQLite database live here.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means SQLite in EARLYCP_DATA_DIR (embedded mode). "
        "Distributed: postgresql+psycopg://user@host/db.",
    )
    broker_url: str | None = Field(
        default=None,
        description="Celery broker; unset means an in-process worker (embedded mode). "
        "Distributed: redis://host:6379/0.",
    )
    model_dir: Path = Field(
        default=DEFAULT_MODEL_DIR,
        description="Directory holding model weight files (e.g. the EfficientPose .onnx files) "
        "and optional site-supplied model manifests.",
    )
    pose_model: str = Field(default="efficientpose-rt", description="Registered pose model name.")
    ensemble: str = Field(default="demo-synthetic-mpii16", description="Registered GCN ensemble name.")
    threshold: float = Field(default=0.25, ge=0.0, le=1.0, description="Default CP decision threshold.")
    pose_batch_size: int = Field(default=8, ge=1, le=1024, description="Frames per pose inference batch.")
    pose_streams: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Pose inference calls in flight at once; 0: one per CPU core (max 4, each "
        "single-threaded) on the CPU, 1 on a GPU.",
    )
    intra_op_threads: int = Field(
        default=0, ge=0, description="ONNX Runtime threads per session; 0 lets ONNX Runtime decide."
    )
    execution_provider: str = Field(
        default="auto", description="'auto' (CUDA when available, else CPU), 'cuda' or 'cpu'."
    )
    max_upload_bytes: int = Field(default=4 * 1024**3, ge=1, description="Largest accepted upload.")
    webhook_secret: str = Field(
        default="",
        description="Secret for signing job notifications to callback_url (Standard Webhooks, "
        "'whsec_<base64>' or raw text); empty disables callbacks.",
    )
    webhook_attempts: int = Field(default=5, ge=1, description="Delivery attempts per job notification.")
    job_time_limit_s: int = Field(
        default=3600, ge=10, description="Hard time limit of one analysis job (Celery task_time_limit)."
    )
    visibility_timeout_s: int = Field(
        default=7200,
        ge=5,
        description="Redis broker visibility timeout: an unacknowledged job is redelivered after this; "
        "must exceed the longest job.",
    )
    auto_migrate: bool = Field(
        default=True,
        description="Embedded mode (no broker) migrates its SQLite database at start-up; distributed "
        "deployments always require 'earlycp db upgrade'.",
    )

    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'earlycp.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings; tests call ``get_settings.cache_clear()`` after changing the env."""
    return Settings()
