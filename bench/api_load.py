"""API read load: concurrent clients reading assessments from a real ``earlycp serve`` for a fixed
time, on SQLite (embedded) and PostgreSQL (distributed), loopback only.

    python -m bench.api_load [--clients 50] [--seconds 30] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx

from bench.service_runner import (
    REPO,
    base_env,
    cli,
    create_pg_database,
    drop_pg_database,
    ensemble_env,
    serve,
    token,
)

N_ASSESSMENTS = 200


def seed(url: str, root: Path) -> list[str]:
    """Store assessments produced by the real worker code path on synthetic skeletons."""
    import sys

    sys.path.insert(0, str(REPO))
    from app.core.db import dispose_engines, session_scope
    from app.core.tables import Assessment, Job, Recording
    from train.synthetic import InfantSpec, generate_skeleton
    from worker.pipeline import analyze

    path = root / "skeleton.npz"
    generate_skeleton(InfantSpec("b", 0, "none", "", "A", 12, 30.0), "mpii16", seed=1).save_npz(path)
    report = analyze(path, ensemble=None).report.model_dump(mode="json")
    ids = []
    with session_scope(url) as session:
        for i in range(N_ASSESSMENTS):
            rec = Recording(
                subject_id=f"s{i}",
                age_weeks=12,
                recorded_on=date(2026, 11, 1),
                file_name="x.npz",
                path=str(path),
                size_bytes=1,
                sha256="0" * 64,
                video={},
                created_by="bench",
            )
            session.add(rec)
            session.flush()
            job = Job(recording_id=rec.id, threshold=0.25, status="succeeded")
            session.add(job)
            session.flush()
            row = Assessment(job_id=job.id, recording_id=rec.id, risk=report["risk"], report=report)
            session.add(row)
            session.flush()
            ids.append(row.id)
    dispose_engines()
    return ids


async def load(
    base: str, bearer: str, ids: list[str], clients: int, seconds: float
) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {bearer}"}, limits=limits, timeout=30
    ) as client:

        async def one(k: int) -> None:
            nonlocal errors
            i = k
            while time.monotonic() < stop:  # bounded by the deadline
                start = time.perf_counter()
                response = await client.get(f"/api/v1/assessments/{ids[i % len(ids)]}")
                latencies.append(time.perf_counter() - start)
                errors += response.status_code != 200
                i += clients

        await asyncio.gather(*(one(k) for k in range(clients)))
    return latencies, errors


def run_backend(backend: str, clients: int, seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="earlycp-load-") as tmp:
        root = Path(tmp)
        pg_name = None
        extra: dict[str, str] = {}
        if backend == "postgresql":
            pg_name, url = create_pg_database()
            extra = {"EARLYCP_DATABASE_URL": url, "EARLYCP_BROKER_URL": "redis://127.0.0.1:6379/13"}
        else:
            url = f"sqlite:///{root / 'data' / 'earlycp.db'}"
        env = base_env(root, **extra)
        env.update(ensemble_env(root))
        try:
            cli(env, "db", "upgrade")
            import os

            os.environ.update({k: v for k, v in env.items() if k.startswith("EARLYCP_")})
            from earlycp.config import get_settings

            get_settings.cache_clear()
            ids = seed(url, root)
            bearer = token(env, "clinician")
            proc, base = serve(env, root / "serve.log")
            try:
                start = time.perf_counter()
                latencies, errors = asyncio.run(load(base, bearer, ids, clients, seconds))
                elapsed = time.perf_counter() - start
            finally:
                proc.stop()
        finally:
            if pg_name:
                from app.core.db import dispose_engines

                dispose_engines()
                drop_pg_database(pg_name)
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    rows = {b: run_backend(b, args.clients, args.seconds) for b in args.backends.split(",")}
    print(
        f"{args.clients} clients, {args.seconds:.0f} s, GET /api/v1/assessments/{{id}} (one uvicorn process)"
    )
    print("| backend | requests | errors | req/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|")
    for backend, r in rows.items():
        print(
            f"| {backend} | {r['requests']} | {r['errors']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} |"
        )


if __name__ == "__main__":
    main()
