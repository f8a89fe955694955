"""Real encoder output (tests/data/media, made by tests/data/make_media_fixtures.sh with ffmpeg): boxes and
tags out of the files."""

from __future__ import annotations

from pathlib import Path

from tests.support.paths import DATA

MEDIA = DATA / "media"


def mp4_box(path: Path, fourcc: bytes) -> bytes:
    """Payload of the first box named fourcc (good enough for tiny generated files)."""
    data = path.read_bytes()
    i = data.find(fourcc)
    assert i >= 4, f"{fourcc!r} not in {path.name}"
    size = int.from_bytes(data[i - 4:i], "big")
    return data[i + 4:i - 4 + size]
