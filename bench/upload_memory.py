"""Upload memory: stream a generated file (default 1 GiB) to a real ``earlycp serve`` and report
the API process's peak RSS growth (target < 100 MB) and throughput, against writing the same
bytes straight to disk in the same run.

    python bench/upload_memory.py [--gib 1.0]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

import httpx

from bench.service_runner import base_env, serve, token

CHUNK = 1 << 20


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def make_file(path: Path, size: int) -> None:
    block = os.urandom(CHUNK)
    with path.open("wb") as handle:
        for _ in range(size // CHUNK):
            handle.write(block)


def direct_write(src: Path, dst: Path) -> float:
    start = time.perf_counter()
    digest = hashlib.sha256()
    with src.open("rb") as reader, dst.open("wb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gib", type=float, default=1.0)
    args = parser.parse_args()
    size = int(args.gib * (1 << 30))
    with tempfile.TemporaryDirectory(prefix="earlycp-upload-") as tmp:
        root = Path(tmp)
        env = base_env(root, EARLYCP_MAX_UPLOAD_BYTES=str(size * 2))
        bearer = token(env)
        source = root / "payload.mp4"
        make_file(source, size)
        proc, base = serve(env, root / "serve.log")
        try:
            pid = proc.pid
            httpx.get(f"{base}/readyz")  # warm the app before the baseline
            before = rss_kib(pid, "VmRSS")
            start = time.perf_counter()
            with source.open("rb") as handle:
                response = httpx.post(
                    f"{base}/api/v1/recordings",
                    headers={"Authorization": f"Bearer {bearer}"},
                    timeout=600,
                    data={"subject_id": "bench", "age_weeks": "12", "recorded_on": "2026-11-01"},
                    files={"file": ("payload.mp4", handle, "video/mp4")},
                )
            api_s = time.perf_counter() - start
            peak = rss_kib(pid, "VmHWM")
        finally:
            proc.stop()
        disk_s = direct_write(source, root / "direct.bin")
    mib = size / (1 << 20)
    print("| measure | value |\n|---|---|")
    print(
        f"| file | {mib:.0f} MiB random bytes (refused by the probe after the full stream: HTTP {response.status_code} {response.json().get('code')}) |"
    )
    print(f"| API RSS before | {before / 1024:.1f} MiB |")
    print(f"| API peak RSS growth | {(peak - before) / 1024:.1f} MiB (target < 100 MB) |")
    print(f"| API upload (stream+hash+write+probe) | {api_s:.2f} s, {mib / api_s:.0f} MiB/s |")
    print(f"| direct write+hash+fsync, same bytes | {disk_s:.2f} s, {mib / disk_s:.0f} MiB/s |")
    print(f"| API / direct | {api_s / disk_s:.2f}× |")


if __name__ == "__main__":
    main()
