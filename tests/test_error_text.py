"""Server file paths never leave the service in error texts."""

from __future__ import annotations

from earlycp.errors import public_text


def test_paths_become_file_names() -> None:
    text = "container cannot be opened: [Errno 1094995529] Invalid data: '/srv/earlycp/uploads/tmp/ab12.mp4'"
    assert public_text(text) == "container cannot be opened: [Errno 1094995529] Invalid data: 'ab12.mp4'"
    assert public_text("/var/lib/x/skeleton.npz: bad zip") == "skeleton.npz: bad zip"


def test_urls_fractions_and_plain_text_stay() -> None:
    for text in (
        "see https://earlycp.org/problems/not-a-video",
        "30/1 fps, 1/2 of frames",
        "decoding stopped at 12.0 s of 60.0 s",
        "ratio a/b",
    ):
        assert public_text(text) == text
    assert public_text(None) is None
