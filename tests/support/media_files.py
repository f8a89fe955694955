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


def flv_tags(path: Path) -> list[tuple[int, int, bytes]]:
    """(tag type, timestamp in ms, body) of every tag of an FLV file."""
    data = path.read_bytes()
    assert data[:3] == b"FLV", f"{path.name} is not an FLV file"
    pos = int.from_bytes(data[5:9], "big") + 4  # the header, then PreviousTagSize0
    tags = []
    while pos + 11 <= len(data):
        size = int.from_bytes(data[pos + 1:pos + 4], "big")
        timestamp = int.from_bytes(data[pos + 4:pos + 7], "big") | data[pos + 7] << 24
        tags.append((data[pos], timestamp, data[pos + 11:pos + 11 + size]))
        pos += 11 + size + 4
    return tags
