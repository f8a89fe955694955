"""The timeline model behind the TUI, tested without any UI on the shared real captures."""

from __future__ import annotations

import functools
import glob
import os
from collections.abc import Sequence

import pytest

from rtmp_inspect.analysis.records import MessageRecord, WarningRecord
from rtmp_inspect.analysis.timeline import (
    COMMAND,
    HANDSHAKE,
    KEYFRAME,
    VIDEO,
    WARNING,
    Filter,
    Timeline,
    make_body_loader,
    parse_query,
)
from rtmp_inspect.runner import RunOptions, redecode, run
from tests.tls_builder import CollectingSink

CAPTURES = "/work/shared/captures"
WIRESHARK = os.path.join(CAPTURES, "wireshark_rtmp_sample.cap")
NGINX = os.path.join(CAPTURES, "twinx_nginx_publish.pcap")

needs_captures = pytest.mark.skipif(not os.path.exists(NGINX), reason="shared captures not present")


def load(path: str, **kw) -> Timeline:
    timeline = Timeline(make_body_loader(functools.partial(redecode, options=RunOptions())), **kw)
    timeline.begin_capture(path)
    run(path, timeline)
    timeline.finished = True
    return timeline


@needs_captures
@pytest.mark.parametrize("path", sorted(p for p in glob.glob(os.path.join(CAPTURES, "*")) if not p.endswith(".md")))
def test_timeline_holds_every_message_and_warning_of_every_capture(path: str) -> None:
    timeline = load(path)
    recorder = CollectingSink()
    run(path, recorder)
    assert isinstance(timeline, Sequence)
    assert len(timeline) == len(recorder.messages) + len(recorder.warnings) + len(recorder.handshakes)
    assert len(timeline.flows) == len(recorder.sessions)
    handshakes = [row for row in timeline if row.kind == HANDSHAKE]
    assert [(r.frame, r.dir, r.name, r.length, r.offset) for r in handshakes] == [
        (h.frame, h.dir, h.part, h.length, h.offset) for h in recorder.handshakes]
    messages = [row for row in timeline if row.kind not in (WARNING, HANDSHAKE)]
    for row, record in zip(messages, recorder.messages):
        assert (row.frame, row.dir, row.csid, row.stream_id, row.timestamp, row.type_id, row.length, row.index) == (
            record.frame, record.dir, record.csid, record.stream_id, record.timestamp, record.type_id,
            record.length, record.index)
        assert row.summary == record.summary
    assert timeline.memory_per_row() < 300


@needs_captures
def test_filter_by_free_text_selects_matching_summaries_and_clears() -> None:
    timeline = load(NGINX)
    total = len(timeline)
    matched = timeline.set_filter(parse_query("onStatus"))
    assert matched == 2 == len(timeline)
    assert all("onStatus" in row.summary for row in timeline)
    assert timeline.set_filter(Filter()) == total


@needs_captures
def test_filter_terms_by_kind_type_command_stream_direction_flow() -> None:
    timeline = load(NGINX)
    assert all(r.kind == VIDEO for r in timeline[:0])
    timeline.set_filter(parse_query("kind:video"))
    videos = len(timeline)
    assert videos > 0 and all(r.type == "video" for r in timeline)
    timeline.set_filter(parse_query("type:audio"))
    assert len(timeline) > 0 and all(r.type_id == 8 for r in timeline)
    timeline.set_filter(parse_query("cmd:publish"))
    assert [r.name for r in timeline] == ["publish"]
    timeline.set_filter(parse_query("stream:1 dir:s2c"))
    assert len(timeline) > 0 and all(r.stream_id == 1 and r.dir == "s2c" for r in timeline)
    timeline.set_filter(parse_query("flow:0 kind:video"))
    assert len(timeline) == videos
    timeline.set_filter(parse_query("flow:7"))
    assert len(timeline) == 0
    timeline.set_filter(parse_query("kind:nonsense"))
    assert len(timeline) == 0


@needs_captures
def test_jumps_to_commands_keyframes_and_frames() -> None:
    timeline = load(NGINX)
    first = timeline.next_command(None)
    assert first is not None and timeline[first].kind == COMMAND and timeline[first].name == "connect"
    second = timeline.next_command(first)
    assert timeline[second].kind == COMMAND and second > first
    assert timeline.next_command(second, forward=False) == first
    key = timeline.next_keyframe(None)
    assert key is not None and timeline[key].flags & KEYFRAME and timeline[key].type == "video"
    assert timeline.next_keyframe(key) is None or timeline.next_keyframe(key) > key
    assert timeline.next_warning(None) is None  # this capture has no warnings
    pos = timeline.position_for_frame(32)
    assert timeline[pos].frame == 32 and timeline[pos].name == "publish"
    # A frame without a message gives the next row after it.
    assert timeline[timeline.position_for_frame(33)].frame > 33


@needs_captures
def test_jumps_respect_the_filter() -> None:
    timeline = load(NGINX)
    timeline.set_filter(parse_query("dir:s2c"))
    pos = timeline.next_command(None)
    assert timeline[pos].dir == "s2c" and timeline[pos].name == "_result"


@needs_captures
def test_bodies_come_from_the_lru_or_are_decoded_again() -> None:
    timeline = load(NGINX, body_cache_bytes=0)  # keep nothing: every body is decoded again
    recorder = CollectingSink()
    run(NGINX, recorder)
    pos = timeline.position_for_frame(32)
    row = timeline[pos]
    assert timeline.body(row.row) == recorder.messages[row.index].body
    payload = timeline.payload(row.row)
    assert payload.name == "publish" and payload.args[1] == "1234"
    big = max(recorder.messages, key=lambda m: m.length)
    assert big.length > 4096
    big_row = timeline.flows[0].rows[big.index]
    assert timeline.body(big_row) == big.body
    cached = load(NGINX)
    assert cached._bodies and cached.body(cached[pos].row) == recorder.messages[row.index].body


@needs_captures
def test_pairing_finds_request_and_response() -> None:
    timeline = load(WIRESHARK)
    timeline.set_filter(parse_query("cmd:createStream"))
    create = timeline[0]
    request, request_row, response_row = timeline.pairing(create.row)
    assert request.name == "createStream" and request_row == create.row
    assert timeline.row(response_row).name == "_result"


def _message(flow: int, index: int, summary: str, type_id: int = 20, frame: int = 1) -> MessageRecord:
    return MessageRecord(flow, index, "c2s", frame, 0.5, 3, 1, 0, type_id, 10, None, summary, 0, 10, 1, 0, False,
                         b"\x00" * 10)


class _FakeState:
    requests: list = []
    streams: dict = {}
    connect = None


class _FakeSession:
    def __init__(self, flow_id: int) -> None:
        self.id = flow_id
        self.client = "10.0.0.1:5000"
        self.server = "10.0.0.2:1935"
        self.state = _FakeState()

    def outcome(self) -> str:
        return "test"


def test_warnings_are_rows_and_jump_targets() -> None:
    timeline = Timeline()
    session = _FakeSession(0)
    timeline.flow_started(session)
    timeline.message(session, _message(0, 0, "connect(1)"))
    timeline.warning(session, WarningRecord(0, "chunk.header-mid-message", "error", 2, "bad chunk", "c2s", 0.7))
    timeline.message(session, _message(0, 1, "play(2)", frame=3))
    timeline.warning(None, WarningRecord(None, "capture.damaged", "warning", None, "truncated"))
    assert len(timeline) == 4
    first = timeline.next_warning(None)
    assert first == 1 and timeline[1].severity == "error" and timeline[1].name == "chunk.header-mid-message"
    assert timeline.next_warning(first) == 3 and timeline[3].flow == -1 and timeline[3].frame is None
    assert timeline.next_warning(3, forward=False) == 1
    timeline.set_filter(Filter(flow=0))
    assert len(timeline) == 3  # the capture-level warning belongs to no flow
    assert timeline.next_warning(None) == 1


def test_filter_view_follows_rows_added_while_decoding() -> None:
    timeline = Timeline()
    session = _FakeSession(0)
    timeline.flow_started(session)
    timeline.set_filter(parse_query("play"))
    assert len(timeline) == 0
    timeline.message(session, _message(0, 0, "play(1)"))
    timeline.message(session, _message(0, 1, "connect(2)"))
    timeline.message(session, _message(0, 2, "play(3)"))
    assert [r.summary for r in timeline] == ["play(1)", "play(3)"]


def test_a_million_rows_stay_small_and_filter_fast() -> None:
    timeline = Timeline()
    session = _FakeSession(0)
    timeline.flow_started(session)
    n = 1_000_000
    _bulk_fill(timeline, n)
    assert len(timeline) == n
    assert timeline[n - 1].frame == n
    assert timeline.memory_per_row() < 300
    assert timeline.set_filter(parse_query("kind:video")) == n // 2


def _bulk_fill(timeline: Timeline, n: int) -> None:
    """Rows as the sink would write them, but column by column (a million sink calls take seconds)."""
    from array import array

    from rtmp_inspect.analysis.timeline import AUDIO

    timeline.frame.extend(range(1, n + 1))
    timeline.time.extend(array("d", (i / 1000 for i in range(n))))
    timeline.flow.extend(array("i", bytes(4 * n)))
    timeline.dir.extend(array("B", bytes(n)))
    timeline.csid.extend(array("I", [4]) * n)
    timeline.stream_id.extend(array("I", [1]) * n)
    timeline.timestamp.extend(range(n))
    timeline.type_id.extend(array("B", [8, 9]) * (n // 2))
    timeline.length.extend(array("I", [100]) * n)
    timeline.kind.extend(array("B", [AUDIO, VIDEO]) * (n // 2))
    timeline.flags.extend(array("B", bytes(n)))
    timeline.msg_index.extend(range(n))
    timeline.offset.extend(array("Q", [0]) * n)
    timeline.end_offset.extend(array("Q", [0]) * n)
    timeline.name.extend(array("I", bytes(4 * n)))
    timeline.summary.extend(["AAC raw", "AVC inter NALU cts=0"] * (n // 2))
    timeline.flows[0].rows.extend(range(n))
    timeline.total = n


@needs_captures
def test_a_re_decode_keeps_the_neighbouring_bodies_too() -> None:
    timeline = load(NGINX)
    timeline._bodies.clear()
    timeline._body_bytes = 0
    rows = timeline.flows[0].rows
    target = rows[200]
    recorder = CollectingSink()
    run(NGINX, recorder)
    assert timeline.body(target) == recorder.messages[200].body
    assert rows[199] in timeline._bodies and rows[201] in timeline._bodies
    assert timeline._bodies[rows[201]] == recorder.messages[201].body


@pytest.mark.parametrize("name", ["publish_play.pcap", "midsession.pcap", "variants/rtmpt.pcap"])
def test_bodies_decoded_again_from_the_flows_connection_only(name: str) -> None:
    """A re-decode narrowed to the flow's TCP connection finds the same bodies as the whole capture had;
    an RTMPT tunnel (several connections) is decoded with everything else."""
    from rtmp_inspect.analysis.refetch import session_matcher

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples", name)
    timeline = load(path, body_cache_bytes=0)
    recorder = CollectingSink()
    run(path, recorder)
    loader = make_body_loader(functools.partial(redecode, options=RunOptions()))
    tunnels = 0
    for flow in timeline.flows:
        _, connection = session_matcher(flow.session, flow.local_id)
        tunnel = getattr(flow.session.tcp_flow, "virtual", False) and flow.session.tcp_flow.tcp is None
        tunnels += tunnel
        assert (connection is None) == tunnel
        expected = {r.index: r.body for r in recorder.messages if r.flow == flow.local_id}
        assert expected
        for index in sorted({0, len(expected) // 2, len(expected) - 1}):
            bodies = loader(flow, index)
            assert bodies[index] == expected[index], (name, flow.id, index)
            assert all(bodies[i] == expected[i] for i in bodies)
    assert tunnels == (2 if "rtmpt" in name else 0)  # rtmpt.pcap: two tunnels and their two plain twins
