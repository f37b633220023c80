"""End to end: upload a generated video (default 3 minutes of 1280×720) through the API and
time it to the result, with the per-stage breakdown the worker records, in embedded mode
(``earlycp serve`` + SQLite) and distributed mode (``earlycp serve`` + ``earlycp worker`` with
PostgreSQL and Redis), same video, same run.

    python -m bench.e2e [--seconds 180] [--width 1280 --height 720] [--modes embedded,distributed]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from bench.service_runner import (
    SHARED,
    Process,
    base_env,
    cli,
    create_pg_database,
    drop_pg_database,
    ensemble_env,
    serve,
    token,
)


def make_video(path: Path, seconds: float, width: int, height: int) -> Path:
    """The service tests' video (a photographed person drifting over a mattress), longer."""
    from tests.service_fixtures import make_video as test_video

    return test_video(path, SHARED / "test-media", seconds=seconds, width=width, height=height)


def run_mode(mode: str, video: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"earlycp-e2e-{mode}-") as tmp:
        root = Path(tmp)
        pg_name = None
        extra: dict[str, str] = {}
        if mode == "distributed":
            pg_name, url = create_pg_database()
            extra = {"EARLYCP_DATABASE_URL": url, "EARLYCP_BROKER_URL": "redis://127.0.0.1:6379/14"}
        env = base_env(root, **extra)
        env.update(ensemble_env(root))
        worker = None
        try:
            cli(env, "db", "upgrade")
            bearer = token(env)
            headers = {"Authorization": f"Bearer {bearer}"}
            if mode == "distributed":
                worker = Process(["worker", "--concurrency", "1"], env, root / "worker.log")
            api, base = serve(env, root / "serve.log")
            try:
                time.sleep(3 if worker else 0)  # let the worker load its models before the clock starts
                start = time.perf_counter()
                with video.open("rb") as handle:
                    response = httpx.post(
                        f"{base}/api/v1/recordings",
                        headers=headers,
                        timeout=600,
                        data={"subject_id": "bench", "age_weeks": "12", "recorded_on": "2026-11-01"},
                        files={"file": (video.name, handle, "video/mp4")},
                    )
                response.raise_for_status()
                uploaded = time.perf_counter() - start
                job_url = base + response.headers["location"]
                while (job := httpx.get(job_url, headers=headers).json())["status"] in ("queued", "running"):
                    time.sleep(0.5)
                total = time.perf_counter() - start
                if job["status"] != "succeeded":
                    raise RuntimeError(f"job ended {job['status']}: {job['error']}")
                httpx.get(
                    f"{base}/api/v1/assessments/{job['assessment_id']}", headers=headers
                ).raise_for_status()
            finally:
                api.stop()
        finally:
            if worker:
                worker.stop()
            if pg_name:
                drop_pg_database(pg_name)
    return {"upload": uploaded, **{k: float(v) for k, v in job["stage_seconds"].items()}, "total": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--modes", default="embedded,distributed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="earlycp-e2e-video-") as tmp:
        video = make_video(Path(tmp) / "bench.mp4", args.seconds, args.width, args.height)
        stages = ["upload", "probing", "pose", "predicting", "storing", "total"]
        print(
            f"{args.seconds:.0f} s of {args.width}×{args.height} at 30 fps; seconds from upload start to result"
        )
        print("| mode | " + " | ".join(stages) + " |\n|---|" + "---|" * len(stages), flush=True)
        for mode in args.modes.split(","):
            r = run_mode(mode, video)
            print(f"| {mode} | " + " | ".join(f"{r.get(s, 0.0):.2f}" for s in stages) + " |", flush=True)


if __name__ == "__main__":
    main()
