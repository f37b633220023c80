"""Streaming multipart upload with bounded memory.

Starlette's form parser spools a whole file to the temporary directory with no size limit, so
the request stream is parsed here with ``streaming-form-data``: each chunk is hashed and
written straight to its final directory, and the request fails with 413 the moment the limit is
passed (the partial file is removed).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from streaming_form_data import StreamingFormDataParser
from streaming_form_data.targets import BaseTarget, ValueTarget

from earlycp.errors import EarlyCPError, ErrorCode

FIELDS = ("subject_id", "age_weeks", "recorded_on", "callback_url")


class HashingFileTarget(BaseTarget):
    """Writes the file part to disk while hashing it and enforcing the size limit."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__()
        self.path, self.limit = path, limit
        self.size = 0
        self.digest = hashlib.sha256()
        self.handle = None
        self.seen = False

    def on_start(self) -> None:
        self.seen = True
        self.handle = self.path.open("wb")  # type: ignore[assignment]

    def on_data_received(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise EarlyCPError(ErrorCode.UPLOAD_TOO_LARGE, detail=f"the limit is {self.limit} bytes")
        self.digest.update(chunk)
        self.handle.write(chunk)  # type: ignore[attr-defined]

    def on_finish(self) -> None:
        if self.handle is not None:
            self.handle.close()

    def close(self) -> None:
        if self.handle is not None and not self.handle.closed:
            self.handle.close()


@dataclass
class Upload:
    path: Path
    file_name: str
    size: int
    sha256: str
    fields: dict[str, str] = field(default_factory=dict)


def safe_name(name: str | None) -> str:
    base = Path(name or "recording").name
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "recording"
    return cleaned[:120]


async def receive_upload(request: Request, dest: Path, limit: int) -> Upload:
    """Parse the multipart body into ``dest`` (removed again on any failure)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise EarlyCPError(ErrorCode.UNSUPPORTED_MEDIA_TYPE, detail=f"got '{content_type or 'none'}'")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise EarlyCPError(ErrorCode.UPLOAD_TOO_LARGE, detail=f"the limit is {limit} bytes")
    parser = StreamingFormDataParser(headers={"Content-Type": content_type})
    target = HashingFileTarget(dest, limit)
    values = {name: ValueTarget() for name in FIELDS}
    parser.register("file", target)
    for name, value in values.items():
        parser.register(name, value)
    try:
        async for chunk in request.stream():
            parser.data_received(chunk)
    except BaseException:
        target.close()
        dest.unlink(missing_ok=True)
        raise
    target.close()
    if not target.seen:
        dest.unlink(missing_ok=True)
        raise EarlyCPError(ErrorCode.INVALID_INPUT, detail="the form has no 'file' part")
    fields = {name: v.value.decode("utf-8", "replace") for name, v in values.items() if v.value}
    return Upload(dest, safe_name(target.multipart_filename), target.size, target.digest.hexdigest(), fields)
