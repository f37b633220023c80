"""Errors as values with stable codes.

Raised where bad input is first seen and rendered once at each edge: ``error[CODE]: …`` on
the CLI, RFC 9457 problem details in the API, a sentence in the dashboard. The message is
written for a clinician, not a programmer; ``detail`` may add technical context.
"""

from __future__ import annotations

import re
from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable, machine-readable error codes. Never rename a member: clients match on them."""

    def __new__(cls, value: str, http_status: int, message: str) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.http_status = http_status  # type: ignore[attr-defined]
        member.message = message  # type: ignore[attr-defined]
        return member

    # --- input video -------------------------------------------------------------------
    FILE_NOT_FOUND = ("FILE_NOT_FOUND", 404, "The file could not be found.")
    EMPTY_FILE = ("EMPTY_FILE", 422, "The uploaded file is empty.")
    NOT_A_VIDEO = (
        "NOT_A_VIDEO",
        415,
        "The file is not a video. Please upload the original recording (MP4, MOV, MKV or AVI).",
    )
    UNSUPPORTED_CODEC = (
        "UNSUPPORTED_CODEC",
        415,
        "The video uses a compression format EarlyCP cannot read. Please export it as H.264 MP4.",
    )
    CORRUPT_VIDEO = (
        "CORRUPT_VIDEO",
        422,
        "The video is damaged or incomplete (it stops before its stated end). "
        "Please upload the complete original recording.",
    )
    VIDEO_TOO_SHORT = (
        "VIDEO_TOO_SHORT",
        422,
        "The video is too short: at least 5 seconds of movement are needed for one analysis window.",
    )
    VIDEO_TOO_LONG = (
        "VIDEO_TOO_LONG",
        422,
        "The video is too long: recordings of up to 10 minutes are accepted. Please trim it.",
    )
    RESOLUTION_OUT_OF_RANGE = (
        "RESOLUTION_OUT_OF_RANGE",
        422,
        "The video resolution is outside the supported range (from 576×720 up to 2160×3840).",
    )
    FRAME_RATE_OUT_OF_RANGE = (
        "FRAME_RATE_OUT_OF_RANGE",
        422,
        "The video frame rate is outside the supported range (24 to 60 frames per second).",
    )
    NO_PERSON = (
        "NO_PERSON",
        422,
        "No infant could be found in the video. Check that the whole infant is visible, "
        "lying on the back in the middle of the picture.",
    )
    # --- skeletons and reports ----------------------------------------------------------
    INVALID_SKELETON = ("INVALID_SKELETON", 422, "The skeleton file is not a valid EarlyCP skeleton.")
    SKELETON_TOO_SHORT = (
        "SKELETON_TOO_SHORT",
        422,
        "The movement recording is too short: at least 5 seconds are needed for one analysis window.",
    )
    LAYOUT_MISMATCH = (
        "LAYOUT_MISMATCH",
        422,
        "The skeleton's keypoint layout does not match the one the selected model was trained on.",
    )
    INVALID_INPUT = ("INVALID_INPUT", 422, "The request is not valid.")
    TRUNK_NOT_TRACKED = (
        "TRUNK_NOT_TRACKED",
        422,
        "The infant's chest and pelvis could not be tracked reliably, so the movements cannot be "
        "measured. Check that the whole infant is visible and lit, lying on the back.",
    )
    INVALID_PREDICTIONS = (
        "INVALID_PREDICTIONS",
        422,
        "The predictions file is not valid: it needs the columns infant_id, risk (0 to 1) and cp (0 or 1).",
    )
    # --- models --------------------------------------------------------------------------
    MODEL_NOT_FOUND = ("MODEL_NOT_FOUND", 500, "A model file needed for the analysis is missing.")
    MODEL_CHECKSUM_MISMATCH = (
        "MODEL_CHECKSUM_MISMATCH",
        500,
        "A model file is damaged or is not the expected version.",
    )
    UNKNOWN_MODEL = ("UNKNOWN_MODEL", 422, "The requested model is not installed.")
    ENSEMBLE_OUTPUT_INVALID = (
        "ENSEMBLE_OUTPUT_INVALID",
        500,
        "The prediction model returned invalid values; no risk can be given. Please report this.",
    )

    # --- service (API, jobs, database) ----------------------------------------------------
    UNAUTHORIZED = (
        "UNAUTHORIZED",
        401,
        "Sign-in is required: the access token is missing, unknown or revoked.",
    )
    FORBIDDEN = ("FORBIDDEN", 403, "Your role does not allow this action.")
    NOT_FOUND = ("NOT_FOUND", 404, "The requested item does not exist (it may have been deleted).")
    UPLOAD_TOO_LARGE = ("UPLOAD_TOO_LARGE", 413, "The file is larger than this site accepts.")
    UNSUPPORTED_MEDIA_TYPE = (
        "UNSUPPORTED_MEDIA_TYPE",
        415,
        "The upload must be sent as a form (multipart/form-data) with the video in the field 'file'.",
    )
    IDEMPOTENCY_CONFLICT = (
        "IDEMPOTENCY_CONFLICT",
        409,
        "This request repeats an earlier one (same Idempotency-Key) with different content.",
    )
    JOB_NOT_CANCELLABLE = (
        "JOB_NOT_CANCELLABLE",
        409,
        "The analysis has already finished and cannot be cancelled.",
    )
    JOB_CANCELLED = ("JOB_CANCELLED", 409, "The analysis was cancelled.")
    ASSESSMENT_NOT_READY = ("ASSESSMENT_NOT_READY", 409, "The analysis has not finished yet.")
    JOB_TIMED_OUT = (
        "JOB_TIMED_OUT",
        504,
        "The analysis took longer than this site allows and was stopped. Please retry or contact support.",
    )
    DATABASE_NOT_MIGRATED = (
        "DATABASE_NOT_MIGRATED",
        503,
        "The database is not up to date. An administrator must run 'earlycp db upgrade'.",
    )
    SERVICE_UNAVAILABLE = (
        "SERVICE_UNAVAILABLE",
        503,
        "The service is temporarily unavailable. Please retry shortly.",
    )
    INTERNAL_ERROR = (
        "INTERNAL_ERROR",
        500,
        "An unexpected error stopped the analysis. Please retry; if it happens again, report it.",
    )

    @property
    def status(self) -> int:
        return self.http_status  # type: ignore[attr-defined,no-any-return]


class EarlyCPError(Exception):
    """An expected failure with a stable code, a clinician-readable message and detail."""

    def __init__(self, code: ErrorCode, detail: str | None = None, message: str | None = None) -> None:
        self.code = code
        self.message = message or code.message  # type: ignore[attr-defined]
        self.detail = detail
        super().__init__(f"{code.value}: {self.message}" + (f" ({detail})" if detail else ""))

    def cli_line(self) -> str:
        """The one stderr line the CLI prints for this error."""
        extra = f" ({self.detail})" if self.detail else ""
        return f"error[{self.code.value}]: {self.message}{extra}"


# A POSIX path of at least two components, not part of a URL ("https://host/x" is left alone).
_SERVER_PATH = re.compile(r"(?<![\w:/.])/(?:[\w.+\-]+/)+([\w.+\-]+)")


def public_text(text: str | None) -> str | None:
    """Replace server file paths by their file name before text leaves the service.

    Details from FFmpeg or the file system name the upload's location on the server, which tells
    an outside caller about the host's layout; the file name alone keeps the sentence useful.
    """
    return None if text is None else _SERVER_PATH.sub(r"\1", text)
