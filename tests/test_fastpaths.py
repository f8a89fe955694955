"""The optimised JSON paths give exactly what the straightforward code gives: the compact media JSON
(export/message_json._compact) against the reference expression it replaces, for every media message of
every sample and for every tag of the media fixtures, whole and cut short."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtmp_inspect.export import message_json
from rtmp_inspect.rtmp.media import parse_audio, parse_video
from rtmp_inspect.rtmp.vocabulary import MEDIA
from rtmp_inspect.runner import run
from tests.support.paths import DATA, SAMPLES
from tests.support.sinks import CollectingSink

CAPTURES = sorted(p for p in SAMPLES.rglob("*.pcap*") if p.suffix in (".pcap", ".pcapng"))
MEDIA_FIXTURES = sorted((DATA / "media").glob("*.flv"))


def reference(payload) -> dict:
    return {k: v for k, v in payload.to_json().items() if v is not None and v != [] and v is not False}


def assert_same(payload, where: str) -> None:
    want, got = reference(payload), message_json._compact(payload)
    assert message_json.dumps(got) == message_json.dumps(want), where


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: str(p.relative_to(SAMPLES)))
def test_compact_media_json_equals_the_reference_on_every_sample(capture: Path) -> None:
    sink = CollectingSink()
    run(str(capture), sink)
    media = [m for m in sink.messages if m.type_id in MEDIA and m.payload is not None]
    for record in media:
        assert_same(record.payload, f"flow {record.flow} message {record.index}")


def flv_tags(path: Path, limit: int = 400):
    data = path.read_bytes()
    pos, tags = 13, 0
    while pos + 11 <= len(data) and tags < limit:
        kind, size = data[pos], int.from_bytes(data[pos + 1:pos + 4], "big")
        yield kind, data[pos + 11:pos + 11 + size]
        pos += 11 + size + 4
        tags += 1


@pytest.mark.parametrize("fixture", MEDIA_FIXTURES, ids=lambda p: p.name)
def test_compact_media_json_equals_the_reference_on_every_fixture_tag_whole_and_cut(fixture: Path) -> None:
    checked = 0
    for number, (kind, body) in enumerate(flv_tags(fixture)):
        parse = parse_video if kind == 9 else parse_audio if kind == 8 else None
        if parse is None:
            continue
        for cut in (len(body), 1, 2, 5, 9, 17, 40):
            assert_same(parse(body[:cut]), f"{fixture.name} tag {number} cut {cut}")
            checked += 1
    assert checked
