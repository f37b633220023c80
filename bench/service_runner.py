"""Starts real EarlyCP processes for the service benchmarks (loopback only)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("EARLYCP_SHARED_DIR", REPO.parent / "shared"))
sys.path.insert(0, str(REPO))
# One implementation of the test server's throw-away PostgreSQL databases (EARLYCP_TEST_PG).
from tests.service_fixtures import create_pg_database, drop_pg_database  # noqa: E402

__all__ = ["create_pg_database", "drop_pg_database"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARLYCP_")}
    env.update({"EARLYCP_DATA_DIR": str(root / "data"), "EARLYCP_EXECUTION_PROVIDER": "cpu"})
    if (SHARED / "models" / "efficientpose").is_dir():
        env["EARLYCP_MODEL_DIR"] = str(SHARED / "models" / "efficientpose")
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "earlycp.cli.main", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def token(env: dict[str, str], role: str = "integration") -> str:
    return cli(env, "tokens", "create", "--role", role).strip().splitlines()[-1].split()[-1]


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "earlycp.cli.main", *args],
            cwd=REPO,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.log = log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def serve(env: dict[str, str], log: Path) -> tuple[Process, str]:
    port = free_port()
    proc = Process(["serve", "--port", str(port)], env, log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text()[-3000:])
        time.sleep(0.3)


def ensemble_env(root: Path) -> dict[str, str]:
    """Use the configured ensemble when installed; otherwise (a fresh checkout without trained
    ensembles) a small contract-conforming test ensemble beside the real pose weights. Its risks
    mean nothing; the benchmarks measure the service, not the science."""
    import sys

    sys.path.insert(0, str(REPO))
    from earlycp.config import get_settings
    from models.registry import get_model

    get_settings.cache_clear()
    try:
        get_model("ensemble", get_settings().ensemble).locate()
        return {}
    except Exception:
        from tests.contract_ensembles import random_ensemble, register

        directory = root / "site-models"
        directory.mkdir(parents=True, exist_ok=True)
        for onnx_file in (SHARED / "models" / "efficientpose").glob("*.onnx"):
            (directory / onnx_file.name).symlink_to(onnx_file)
        register(directory, "bench-test", random_ensemble(8, 16, seed=5), "mpii16")
        return {"EARLYCP_MODEL_DIR": str(directory), "EARLYCP_ENSEMBLE": "bench-test"}
