"""A recording as a FHIR R4 Media resource: what a RiskAssessment's ``basis`` points at.

EarlyCP's FHIR base is ``/api/v1/fhir``: the relative reference ``Media/{id}`` in a
RiskAssessment resolves to ``/api/v1/fhir/Media/{id}``. The video itself stays in EarlyCP (it is
identifiable patient data); the resource describes it and carries its sha256 so an EHR can
match it to its own copy.
"""

from __future__ import annotations

from typing import Any

from app.core.tables import Recording
from app.fhir.risk_assessment import SUBJECT_SYSTEM

MEDIA_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/media-type"
SHA256_SYSTEM = "https://earlycp.org/fhir/recording-sha256"
#: FHIR R4 Attachment.size is an unsignedInt (at most 2³¹ − 1).
_MAX_ATTACHMENT_SIZE = 2**31 - 1
_CONTAINER_TYPES = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "matroska": "video/x-matroska",
    "avi": "video/x-msvideo",
}


def _content_type(container: str) -> str:
    names = container.replace(",", " ").split()
    return next((_CONTAINER_TYPES[n] for n in names if n in _CONTAINER_TYPES), "application/octet-stream")


def media(recording: Recording) -> dict[str, Any]:
    video = recording.video or {}
    content: dict[str, Any] = {
        "contentType": _content_type(str(video.get("container", ""))),
        "title": recording.file_name,
        "creation": recording.recorded_on.isoformat(),
    }
    if 0 <= recording.size_bytes <= _MAX_ATTACHMENT_SIZE:
        content["size"] = recording.size_bytes
    resource: dict[str, Any] = {
        "resourceType": "Media",
        "id": recording.id,
        "identifier": [{"system": SHA256_SYSTEM, "value": recording.sha256}],
        "status": "completed",
        "type": {"coding": [{"system": MEDIA_TYPE_SYSTEM, "code": "video", "display": "Video"}]},
        "subject": {
            "identifier": {"system": SUBJECT_SYSTEM, "value": recording.subject_id},
            "display": f"Infant {recording.subject_id}",
        },
        "createdDateTime": recording.recorded_on.isoformat(),
        "content": content,
        "note": [{"text": f"Spontaneous movements at {recording.age_weeks:g} weeks post-term age."}],
    }
    if video.get("width") and video.get("height"):
        resource["width"], resource["height"] = int(video["width"]), int(video["height"])
    if video.get("frame_count"):
        resource["frames"] = int(video["frame_count"])
    if video.get("duration_s"):
        resource["duration"] = round(float(video["duration_s"]), 3)
    return resource
