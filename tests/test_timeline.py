"""The timeline model behind the TUI, tested without any UI on the public real captures."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import pytest

from rtmp_inspect.analysis.records import WarningRecord
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
    query_filter,
)
from rtmp_inspect.display_filter import FilterError
from rtmp_inspect.runner import RunOptions, redecode, run
from tests.support.paths import SAMPLES, public, public_captures
from tests.support.sinks import CollectingSink
from tests.support.timeline_fakes import FakeSession, bulk_fill, message_record

WIRESHARK = str(public("wireshark_rtmp_sample.cap"))
NGINX = str(public("twinx_nginx_publish.pcap"))


def load(path: str, **kw) -> Timeline:
    timeline = Timeline(make_body_loader(functools.partial(redecode, options=RunOptions())), **kw)
    timeline.begin_capture(path)
    run(path, timeline)
    timeline.finished = True
    return timeline


@pytest.mark.parametrize("path", [str(p) for p in public_captures()], ids=lambda p: os.path.basename(p))
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


def test_filter_by_free_text_selects_matching_summaries_and_clears() -> None:
    timeline = load(NGINX)
    total = len(timeline)
    matched = timeline.set_filter(parse_query("onStatus"))
    assert matched == 2 == len(timeline)
    assert all("onStatus" in row.summary for row in timeline)
    assert timeline.set_filter(Filter()) == total


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
    for mistake, says in (("kind:nonsense", "unknown kind 'nonsense'"), ("type:vidoe", "unknown message type"),
                          ("dir:up", "unknown direction"), ("foo:bar", "unknown filter key 'foo'")):
        with pytest.raises(FilterError, match=says):  # before: quietly matched nothing
            parse_query(mistake)
    timeline.set_filter(parse_query("rtmp://127.0.0.1/live"))  # a URL is free text, not a key


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
    only = timeline.next_warning(None)  # this capture's one finding: an info on its AAC header's rate
    assert only is not None and "media.sample-rate-header" in str(timeline[only].name) + str(timeline[only].summary)
    assert timeline.next_warning(only) is None
    pos = timeline.position_for_frame(32)
    assert timeline[pos].frame == 32 and timeline[pos].name == "publish"
    # A frame without a message gives the next row after it.
    assert timeline[timeline.position_for_frame(33)].frame > 33


def test_jumps_respect_the_filter() -> None:
    timeline = load(NGINX)
    timeline.set_filter(parse_query("dir:s2c"))
    pos = timeline.next_command(None)
    assert timeline[pos].dir == "s2c" and timeline[pos].name == "_result"


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


def test_pairing_finds_request_and_response() -> None:
    timeline = load(WIRESHARK)
    timeline.set_filter(parse_query("cmd:createStream"))
    create = timeline[0]
    request, request_row, response_row = timeline.pairing(create.row)
    assert request.name == "createStream" and request_row == create.row
    assert timeline.row(response_row).name == "_result"


def test_warnings_are_rows_and_jump_targets() -> None:
    timeline = Timeline()
    session = FakeSession(0)
    timeline.flow_started(session)
    timeline.message(session, message_record(0, 0, "connect(1)"))
    timeline.warning(session, WarningRecord(0, "chunk.header-mid-message", "error", 2, "bad chunk", "c2s", 0.7))
    timeline.message(session, message_record(0, 1, "play(2)", frame=3))
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
    session = FakeSession(0)
    timeline.flow_started(session)
    timeline.set_filter(parse_query("play"))
    assert len(timeline) == 0
    timeline.message(session, message_record(0, 0, "play(1)"))
    timeline.message(session, message_record(0, 1, "connect(2)"))
    timeline.message(session, message_record(0, 2, "play(3)"))
    assert [r.summary for r in timeline] == ["play(1)", "play(3)"]


def test_a_million_rows_stay_small_and_filter_fast() -> None:
    timeline = Timeline()
    session = FakeSession(0)
    timeline.flow_started(session)
    n = 1_000_000
    bulk_fill(timeline, n)
    assert len(timeline) == n
    assert timeline[n - 1].frame == n
    assert timeline.memory_per_row() < 300
    assert timeline.set_filter(parse_query("kind:video")) == n // 2


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


@pytest.mark.parametrize("query, pick", [
    ("type == video && media.keyframe", lambda r: r.type == "video" and r.keyframe),
    ("command in {publish, connect} || kind == warning", lambda r: r.name in ("publish", "connect") and
     r.kind == COMMAND or r.kind == WARNING),
    ("stream_id == 1 and dir == s2c and length > 10", lambda r: r.kind not in (WARNING, HANDSHAKE)
     and r.stream_id == 1 and r.dir == "s2c" and r.length > 10),
    ("!(type == audio) && frame < 40", lambda r: r.type != "audio" and r.frame is not None and r.frame < 40),
    ('summary contains "onStatus" or type == handshake', lambda r: "onStatus" in r.summary or r.kind == HANDSHAKE),
    ("severity == info", lambda r: r.severity == "info"),
    ("media.sequence_header", lambda r: bool(r.flags & 2) and r.type in ("audio", "video")),
])
def test_the_filter_bar_takes_the_dash_y_language(query: str, pick) -> None:
    timeline = load(NGINX)
    want = [row.row for row in timeline if pick(row)]
    assert want, "the query should select something in this capture"
    timeline.set_filter(query_filter(query))
    assert [row.row for row in timeline] == want


def test_the_filter_bar_says_what_a_row_does_not_hold() -> None:
    with pytest.raises(FilterError, match="unknown field 'args' .*fields a timeline row has"):
        query_filter('args.1.code == "NetStream.Publish.Start"')
    assert query_filter("kind:video").expression is None  # the key:value terms still work


def test_the_next_finding_is_the_next_in_frame_order() -> None:
    """Findings made when a flow ends name earlier frames than the rows before them (twinx_twitch_publish:
    `tcp.zero-window` at frame 2 comes after `stream.not-created` at frame 14; play_missing: frames 32, 71,
    69). Before: `w` went in row order; now in frame order, and `W` back."""
    for path, want in ((str(public("twinx_twitch_publish.pcap")), [2, 14]),
                       (str(SAMPLES / "play_missing.pcap"), [32, 69, 71])):
        timeline = load(path)
        assert [timeline.row(r).frame for r in timeline.warnings] != want  # (rows are not in frame order)
        seen, at = [], None
        for _ in want:
            at = timeline.next_warning(at)
            seen.append(timeline[at].frame)
        assert seen == want and timeline.next_warning(at) is None
        back = [timeline[timeline.next_warning(at, forward=False)].frame] if len(want) > 1 else []
        assert back == want[-2:-1]
