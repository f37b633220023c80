from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field


class UploadAccepted(BaseModel):
    recording_id: str
    job_id: str
    status: str
    location: str


class RecordingOut(BaseModel):
    id: str
    subject_id: str
    age_weeks: float
    recorded_on: date
    file_name: str
    size_bytes: int
    sha256: str
    video: dict[str, Any]
    created_at: datetime
    job_id: str | None = None
    job_status: str | None = None
    assessment_id: str | None = None
    stage: str | None = None
    progress: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    risk: float | None = None
    colour: str | None = None
    classification: str | None = None
    has_skeleton: bool = False


class RecordingPage(BaseModel):
    items: list[RecordingOut]
    total: int
    limit: int
    offset: int


class UploadForm(BaseModel):
    subject_id: str = Field(min_length=1, max_length=200)
    age_weeks: float = Field(ge=0, le=104)
    recorded_on: date
    callback_url: str | None = Field(default=None, pattern=r"^https?://")
