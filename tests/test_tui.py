"""The TUI, driven with Textual's pilot on real and crafted captures."""

from __future__ import annotations

import asyncio
import os
import struct
import time

import pytest

pytest.importorskip("textual")

from textual.widgets import DataTable  # noqa: E402

from rtmp_inspect.analysis.timeline import Timeline  # noqa: E402
from rtmp_inspect.rtmp.chunks import ChunkDecoder  # noqa: E402
from rtmp_inspect.rtmp.events import Message  # noqa: E402
from rtmp_inspect.ui.app import RtmpInspectApp, run_tui  # noqa: E402
from rtmp_inspect.ui.stats import StatsScreen  # noqa: E402
from rtmp_inspect.ui.widgets import HEADER_STYLE, OTHER_STYLE, DetailsTree, HexView, TimelineView  # noqa: E402
from tests.support.paths import SAMPLES as SAMPLES_PATH  # noqa: E402
from tests.support.paths import public  # noqa: E402
from tests.support.rtmp_builder import basic_header, chunk_header, command, echo, handshake_part, message_chunks  # noqa: E402
from tests.support.timeline_fakes import FakeSession, bulk_fill  # noqa: E402
from tests.support.tui_pilot import CHUNK128, current, loaded, settle, until  # noqa: E402

pytestmark = pytest.mark.slow  # the TUI under the pilot: seconds per test

SAMPLES = str(SAMPLES_PATH)
WIRESHARK = str(public("wireshark_rtmp_sample.cap"))
NGINX = str(public("twinx_nginx_publish.pcap"))

HOSTILE = "\x1b]0;pwned\x07"
AUDIO = b"\xaf\x01" + bytes(range(40))
KEY = b"\x17\x01\x00\x00\x00" + bytes(range(90))
VIDEO = b"\x27\x01\x00\x00\x00" + bytes(range(60))


def _pcap(packets: list[tuple[int, bytes]], skip: frozenset[int] = frozenset()) -> bytes:
    """Ethernet/IPv4 pcap of one TCP connection; packets numbered in `skip` are left out (a gap)."""
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    seqs = {0: 1000, 1: 5000}
    for n, (direction, payload) in enumerate(packets, 1):
        src, dst = (b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02") if direction == 0 else \
            (b"\x0a\x00\x00\x02", b"\x0a\x00\x00\x01")
        sport, dport = (40000, 1935) if direction == 0 else (1935, 40000)
        tcp = struct.pack(">HHIIBBHHH", sport, dport, seqs[direction], seqs[1 - direction], 5 << 4, 0x18, 65535, 0, 0)
        seqs[direction] += len(payload)
        if n in skip:
            continue
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), n & 0xFFFF, 0, 64, 6, 0, src, dst)
        frame = b"\x00" * 12 + b"\x08\x00" + ip + tcp + payload
        out += struct.pack("<IIII", 1700000000 + n // 1000, n % 1000 * 1000, len(frame), len(frame)) + frame
    return bytes(out)


def _session(name: str, media: int = 0) -> list[tuple[int, bytes]]:
    c0, c1 = handshake_part(3)
    _, s1 = handshake_part(3, fill=7)
    packets = [(0, c0 + c1), (1, b"\x03" + s1 + echo(c1)),
               (0, echo(s1) + message_chunks(3, 20, command("connect", 1, {"app": "live" + HOSTILE}))),
               (1, message_chunks(3, 20, command("_result", 1, None, {"code": "NetConnection.Connect.Success"}))),
               (0, message_chunks(3, 20, command("createStream", 2, None))),
               (1, message_chunks(3, 20, command("_result", 2, None, 1))),
               (0, message_chunks(4, 20, command("publish", 3, None, name, "live"), stream_id=1))]
    for i in range(media):
        kind, body = [(8, AUDIO), (9, KEY if i % 5 == 0 else VIDEO)][i % 2]
        packets.append((0, message_chunks(6, kind, body, timestamp=33 * i, stream_id=1)))
    return packets


def _status(app: RtmpInspectApp) -> str:
    return str(app.query_one("#status").render())


@pytest.mark.parametrize(
    "path, verb, arg", [(WIRESHARK, "play", "rtmp://fc432.streamedia.info/StreamPlayer/"), (NGINX, "publish", "1234")]
)
def test_open_list_flows_find_the_command_filter_and_quit(path: str, verb: str, arg: str) -> None:
    async def scenario() -> None:
        app = RtmpInspectApp([path])
        async with app.run_test(size=(120, 36)) as pilot:
            await loaded(app, pilot)
            # The first row's details show without a key pressed: the handshake's C0 (or S0).
            first = app.query_one(DetailsTree).lines_text[0]
            assert first.startswith(("handshake C0: version 3", "handshake S0: version 3")), first
            table = app.query_one("#flows", DataTable)
            assert table.row_count == 1 + len(app.timeline.flows) == 2
            flow = app.timeline.flows[0]
            assert flow.client in [str(c) for c in table.get_row_at(1)]
            # n moves from command to command, up to the play/publish request.
            for _ in range(20):
                if current(app).name == verb:
                    break
                await pilot.press("n")
            assert current(app).name == verb
            await settle(pilot)
            details = "\n".join(app.query_one(DetailsTree).lines_text)
            assert verb in details and repr(arg) in details
            # / filters; the status line counts what matched.
            await pilot.press("slash")
            await pilot.press(*"onStatus")
            await pilot.press("enter")
            await settle(pilot)
            matched = len(app.timeline)
            assert matched >= 1 and all("onStatus" in row.summary for row in app.timeline)
            assert f"{matched} matched" in _status(app)
            # Escape clears the filter.
            await pilot.press("slash")
            await pilot.press("escape")
            await settle(pilot)
            assert len(app.timeline) == app.timeline.total
            # w goes to the first warning after the cursor, or says there is none and stays.
            await pilot.press("home")
            await pilot.press("w")
            await settle(pilot)
            if len(app.timeline.warnings):
                assert current(app).kind_name == "warning"
                assert current(app).row == app.timeline.warnings[0]
            else:
                assert "no next warning" in _status(app)
                assert app.query_one(TimelineView).cursor == 0
            await pilot.press("q")
            await pilot.pause(0.1)
        assert app.return_value == 0

    asyncio.run(scenario())


def test_selecting_a_flow_filters_and_goto_frame_and_keyframe_jumps() -> None:
    async def scenario() -> None:
        app = RtmpInspectApp([NGINX])
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(app, pilot)
            table = app.query_one("#flows", DataTable)
            table.focus()
            await pilot.press("down")
            await settle(pilot)
            assert app.flow_filter == 0 and app.timeline.filter.flow == 0
            await pilot.press("up")
            await settle(pilot)
            assert app.flow_filter is None
            await pilot.press("g", *"28", "enter")
            await settle(pilot)
            assert current(app).name == "createStream"
            details = "\n".join(app.query_one(DetailsTree).lines_text)
            assert "request / response" in details and "response: _result" in details
            await pilot.press("p")
            await settle(pilot)
            assert current(app).name == "_result" and current(app).frame == 30
            await pilot.press("p")
            await settle(pilot)
            assert current(app).name == "createStream"
            await pilot.press("g", *"32", "enter")
            await settle(pilot)
            assert current(app).frame == 32
            await pilot.press("k")
            await settle(pilot)
            assert current(app).keyframe
            details = "\n".join(app.query_one(DetailsTree).lines_text)
            assert "media" in details and "keyframe: true" in details
            await pilot.press("end")
            assert app.query_one(TimelineView).cursor == len(app.timeline) - 1
            await pilot.press("home")
            assert app.query_one(TimelineView).cursor == 0
            await pilot.press("question_mark")
            await settle(pilot)
            assert app.screen.__class__.__name__ == "HelpScreen"
            await pilot.press("escape")
            await settle(pilot)
            assert app.screen.__class__.__name__ != "HelpScreen"

    asyncio.run(scenario())


def test_capture_strings_are_shown_escaped_and_warnings_are_jump_targets(tmp_path) -> None:
    capture = tmp_path / "hostile.pcap"
    packets = _session(HOSTILE, media=12)
    capture.write_bytes(_pcap(packets, skip=frozenset({len(packets) - 3})))  # a lost segment: a gap warning

    async def scenario() -> None:
        app = RtmpInspectApp([str(capture)])
        async with app.run_test(size=(120, 36)) as pilot:
            await loaded(app, pilot)
            view = app.query_one(TimelineView)
            await pilot.press("g", *"7", "enter")
            await settle(pilot)
            assert current(app).name == "publish"
            line = "".join(segment.text for segment in view.render_line(view.cursor - int(view.scroll_offset.y)))
            # (summaries escape with Python's repr, \\x1b; the TUI's own text uses textsafe's \\e)
            assert ("\\e]0;pwned\\x07" in line or "\\x1b]0;pwned\\x07" in line)
            assert "\x1b" not in line and "\x07" not in line
            details = app.query_one(DetailsTree)
            text = "\n".join(details.lines_text)
            assert "\\e]0;pwned\\x07" in text and "\x1b" not in text
            table = app.query_one("#flows", DataTable)
            cells = " ".join(str(c) for c in table.get_row_at(1))
            assert "\\e]0;pwned" in cells and "\x1b" not in cells
            # The lost segment is a warning row; w jumps to it and the details show it.
            await pilot.press("home", "w")
            await settle(pilot)
            row = current(app)
            assert row.kind_name == "warning"
            assert row.name in "\n".join(details.lines_text)
            await pilot.press("W")
            await settle(pilot)
            assert "no previous warning" in _status(app)
            # Every visible line of the whole screen is free of raw control characters.
            for y in range(view.scrollable_content_region.height):
                assert "\x1b" not in "".join(s.text for s in view.render_line(y))

    asyncio.run(scenario())


def test_a_million_rows_render_in_constant_time(capsys) -> None:
    timeline = Timeline()
    session = FakeSession(0)
    timeline.flow_started(session)
    bulk_fill(timeline, 1_000_000)
    timeline.finished = True

    async def scenario() -> dict:
        numbers = {}
        started = time.perf_counter()
        app = RtmpInspectApp([], timeline=timeline)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause(0.1)
            numbers["first screen (s)"] = app.first_screen_seconds or time.perf_counter() - started
            view = app.query_one(TimelineView)
            rendered = view.lines_rendered
            t0 = time.perf_counter()
            await pilot.press("end")
            await pilot.pause(0.05)
            numbers["end key to the last row (s)"] = time.perf_counter() - t0
            assert view.cursor == 999_999
            numbers["lines drawn for that screen"] = view.lines_rendered - rendered
            height = view.scrollable_content_region.height
            for where in ("end", "home"):
                if where == "home":
                    await pilot.press("home")
                    await pilot.pause(0.05)
                t0 = time.perf_counter()
                for _ in range(50):
                    for y in range(height):
                        view.render_line(y)
                numbers[f"render a {height}-line screen at {where} (ms)"] = (time.perf_counter() - t0) * 1000 / 50
            await pilot.press("end")
            t0 = time.perf_counter()
            for _ in range(20):
                await pilot.press("pageup")
            await pilot.pause(0.05)
            numbers["20 page-ups (s)"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            await pilot.press("slash", *"kind:video", "enter")
            await pilot.pause(0.05)
            numbers["filter kind:video over 1M rows (s)"] = time.perf_counter() - t0
            assert len(timeline) == 500_000
            rendered = view.lines_rendered
            await pilot.press("end")
            await pilot.pause(0.05)
            numbers["lines drawn for the last filtered screen"] = view.lines_rendered - rendered
            assert view.lines_rendered - rendered < 200  # a screenful or two, never the whole view
        return numbers

    numbers = asyncio.run(scenario())
    with capsys.disabled():
        print("\nTUI with 1,000,000 rows:", ", ".join(f"{k} = {v:.3f}" if isinstance(v, float) else f"{k} = {v}"
                                                  for k, v in numbers.items()))


def test_run_tui_refuses_what_it_cannot_read(tmp_path, capsys) -> None:
    bad = tmp_path / "not-a-capture.txt"
    bad.write_text("hello\n")
    assert run_tui([str(bad)]) == 2
    assert run_tui(["-"]) == 2
    assert run_tui([str(tmp_path / "missing.pcap")]) == 2
    err = capsys.readouterr().err
    assert err.count("rtmp-inspect:") == 3 and "Traceback" not in err


async def _raw_mode(pilot, on: bool) -> HexView:
    app = pilot.app
    if app.raw_mode != on:
        await pilot.press("r")
    await settle(pilot)
    assert app.raw_mode == on
    return app.query_one(HexView)


def _hex_line(hexview: HexView, line: int) -> list:
    """The segments of one line of the dump (after the note lines), scrolled to the top."""
    return list(hexview.render_line(len(hexview.notes) + line))


def test_raw_chunks_of_a_message_in_128_byte_chunks() -> None:
    """`r` shows the chunks a message came in, headers highlighted, exactly the bytes on the wire."""

    async def scenario() -> None:
        app = RtmpInspectApp([CHUNK128])
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(app, pilot)
            # Frame 84: the publisher's first video keyframe, 6354 bytes, so 50 chunks of 128.
            await pilot.press("g", *"84", "enter")
            await settle(pilot)
            row = current(app)
            assert (row.type, row.dir, row.length, row.keyframe) == ("video", "c2s", 6354, True)
            body = bytes(app.query_one(HexView).data)
            assert len(body) == 6354 and body[0] == 0x17  # AVC keyframe

            hexview = await _raw_mode(pilot, True)
            raw = bytes(hexview.data)
            assert len(raw) == row.end_offset - row.offset and hexview.first_offset == row.offset
            # The first byte is a chunk basic header of the message's chunk stream; fmt 0 or 1 carry the
            # message length and type id.
            fmt, csid = raw[0] >> 6, raw[0] & 0x3F
            assert csid == row.csid and fmt in (0, 1)
            assert int.from_bytes(raw[4:7], "big") == 6354 and raw[7] == 9
            first_header = 12 if fmt == 0 else 8
            assert raw[first_header:first_header + 128] == body[:128]
            # An independent decoder, started at that header with chunk size 128, finds the same message.
            decoder = ChunkDecoder(expect_handshake=False, chunk_size=128, at_chunk_boundary=True)
            messages = [e for e in decoder.receive_data(raw) if isinstance(e, Message)]
            assert len(messages) == 1 and messages[0].body == body and messages[0].end_offset == len(raw)
            chunks = messages[0].chunks
            assert chunks == 50
            # One highlighted header per chunk: the first one, then a one-byte fmt 3 header every 128 bytes.
            expected = [(0, first_header)] + [(first_header + 128 * i + (i - 1), first_header + 128 * i + i)
                                              for i in range(1, chunks)]
            assert [(a, b) for a, b, style in hexview.spans] == expected
            assert all(style == HEADER_STYLE for _, _, style in hexview.spans)
            assert all(raw[a] == 0xC0 | csid for a, _ in expected[1:])
            assert "50 chunks" in hexview.note and f"{len(raw) - 6354} + body 6354 bytes" in hexview.note
            # Drawn: the offset column counts stream offsets, the header bytes carry the header style.
            line = _hex_line(hexview, 0)
            assert line[0].text.strip() == f"{row.offset:08x}"
            assert line[1].text == f"{raw[0]:02x}" and line[1].style.bgcolor == HEADER_STYLE.bgcolor
            # r again: back to the body.
            hexview = await _raw_mode(pilot, False)
            assert bytes(hexview.data) == body and not hexview.spans

            # In raw mode the pane follows the cursor: AAC frames of 178 bytes (frame 113) and 280 (frame 110).
            await _raw_mode(pilot, True)
            await pilot.press("g", *"113", "enter")
            await settle(pilot)
            for frame, length, chunks in ((113, 178, 2), (110, 280, 3)):
                row = current(app)
                assert (row.frame, row.type, row.length) == (frame, "audio", length)
                raw = bytes(hexview.data)
                assert len(raw) == row.end_offset - row.offset and raw[0] & 0x3F == row.csid
                first_header = len(raw) - length - (chunks - 1)
                assert [(a, b) for a, b, _ in hexview.spans] == \
                    [(0, first_header)] + [(first_header + 128 * i + i - 1, first_header + 128 * i + i)
                                           for i in range(1, chunks)]
                assert f"{chunks} chunks" in hexview.note
                await pilot.press("up")
                await settle(pilot)

    asyncio.run(scenario())


def test_raw_chunks_beyond_the_limit_show_the_first_bytes(monkeypatch) -> None:
    """A message larger than the raw view's limit: its first bytes, mapped into chunks, and a note."""
    import rtmp_inspect.ui.app as app_module
    import rtmp_inspect.ui.raw as raw_module

    async def scenario(limit: int | None) -> tuple[bytes, list, str]:
        if limit is not None:
            monkeypatch.setattr(raw_module, "RAW_LIMIT", limit)
            monkeypatch.setattr(app_module, "RAW_LIMIT", limit)
        app = RtmpInspectApp([CHUNK128])
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(app, pilot)
            await pilot.press("g", *"84", "enter")  # the 6354-byte keyframe: 6411 bytes in 50 chunks
            hexview = await _raw_mode(pilot, True)
            return bytes(hexview.data), [(a, b) for a, b, _ in hexview.spans], hexview.note

    whole, whole_spans, _ = asyncio.run(scenario(None))
    data, spans, note = asyncio.run(scenario(1000))
    assert len(whole) == 6411 and data == whole[:1000]
    assert spans == [(a, b) for a, b in whole_spans if b <= 1000] and len(spans) == 8  # 8 chunks begin below 1000
    assert "(the first 1000 bytes)" in note and "8 chunks" in note


def test_raw_chunks_mark_interleaved_chunk_streams_and_follow_gaps(tmp_path) -> None:
    """Chunks of another chunk stream sent between a message's chunks are shown, marked as such; messages
    after bytes lost from the capture show their own bytes (stream offsets count the lost bytes)."""
    ts = 0x1000000  # above 0xFFFFFF: every header carries an extended timestamp, fmt 3 ones too
    video = KEY + bytes(range(256))[: 300 - len(KEY)]
    first = chunk_header(0, 6, ts, len(video), 9, 1) + video[:128]
    audio = message_chunks(4, 8, AUDIO, timestamp=ts, stream_id=1)
    second = basic_header(3, 6) + ts.to_bytes(4, "big") + video[128:256]
    third = basic_header(3, 6) + ts.to_bytes(4, "big") + video[256:]
    packets = _session("cam") + [(0, first + audio + second + third)]
    after_gap = [message_chunks(6, 9, VIDEO, timestamp=40 * i, stream_id=1) for i in range(4)]
    packets += [(0, chunk) for chunk in after_gap]
    capture = tmp_path / "interleaved.pcap"
    capture.write_bytes(_pcap(packets, skip=frozenset({len(packets) - 3})))  # the first of the four is lost

    async def scenario() -> None:
        app = RtmpInspectApp([str(capture)])
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(app, pilot)
            await pilot.press("slash", *"kind:media", "enter")  # no warnings in between
            await pilot.press("g", *str(len(_session("cam")) + 1), "enter")
            await settle(pilot)
            assert current(app).type == "audio"  # complete before the video it was sent inside
            hexview = await _raw_mode(pilot, True)
            assert bytes(hexview.data) == audio and [(a, b) for a, b, _ in hexview.spans] == [(0, 16)]
            await pilot.press("down")
            await settle(pilot)
            row = current(app)
            assert row.type == "video" and row.length == 300
            assert bytes(hexview.data) == first + audio + second + third
            a, b, c = len(first), len(first) + len(audio), len(first) + len(audio) + len(second)
            assert hexview.spans == [(0, 16, HEADER_STYLE), (a, b, OTHER_STYLE), (b, b + 5, HEADER_STYLE),
                                     (c, c + 5, HEADER_STYLE)]
            assert "3 chunks" in hexview.note and "1 chunk(s) of other chunk streams" in hexview.note
            # After the gap: the rows that follow it show exactly the bytes that were sent for them.
            await pilot.press("end")
            await settle(pilot)
            gap = [app.timeline.row(r) for r in app.timeline.warnings if app.timeline.row(r).name == "tcp.gap"]
            assert len(gap) == 1
            shown = []
            for _ in range(2):
                row = current(app)
                assert row.type == "video" and row.row > gap[0].row
                shown.append(bytes(app.query_one(HexView).data))
                await pilot.press("up")
                await settle(pilot)
            assert shown == [after_gap[3], after_gap[2]]
            # A warning has no bytes.
            await pilot.press("escape", "home", "w")
            await settle(pilot)
            assert current(app).kind_name == "warning" and "no bytes" in app.query_one(HexView).note

    asyncio.run(scenario())


@pytest.mark.parametrize("name, keys, note", [("rtmps_tls12.pcap", "rtmps_tls12.keys", "decrypted TLS plaintext"),
                                               ("rtmpt.pcap", None, "RTMPT tunnel bytes")])
def test_raw_chunks_of_tunnelled_flows_are_their_rtmp_bytes(name: str, keys: str | None, note: str) -> None:
    """RTMPS and RTMPT: the raw view shows the RTMP byte stream inside (said so), which is byte for byte
    what the plain twin leg of the same capture (proxy/gateway -> nginx) carried on TCP."""
    from rtmp_inspect.runner import RunOptions
    from rtmp_inspect.tls.keylog import load_keylog

    variants = os.path.join(SAMPLES, "variants")

    async def scenario() -> None:
        options = RunOptions(keylog=load_keylog(os.path.join(variants, keys)) if keys else None)
        app = RtmpInspectApp([os.path.join(variants, name)], options)
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(app, pilot)
            await pilot.press("slash", *"cmd:publish", "enter")
            await settle(pilot)
            hexview = await _raw_mode(pilot, True)
            shown = {}
            for _ in range(len(app.timeline)):
                row = current(app)
                tunnelled = isinstance(app.timeline.flows[row.flow].session.tcp_flow.id, tuple)
                shown[tunnelled] = (bytes(hexview.data), hexview.note)
                await pilot.press("down")
                await settle(pilot)
            assert set(shown) == {True, False}
            (inner, inner_note), (plain, plain_note) = shown[True], shown[False]
            assert inner == plain and inner[0] & 0x3F == 8 and b"publish" in inner
            assert note in inner_note and note not in plain_note

    asyncio.run(scenario())


def test_stats_screen_shows_codecs_rates_and_warnings() -> None:
    async def scenario() -> None:
        app = RtmpInspectApp([CHUNK128])
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(app, pilot)
            # The publishing flow (#1) selected in the flows table, then s.
            app.query_one("#flows", DataTable).focus()
            await pilot.press("down", "down")
            await settle(pilot)
            assert app.flow_filter == 1
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, StatsScreen), "the stats screen")
            await pilot.pause()
            text = str(app.screen.query_one("#stats").render())
            assert "flow #1" in text and "flow #0" not in text
            assert "c2s stream 1 (publish cam1)" in text
            assert "H.264 profile High level 3.0 width 640 height 360" in text
            assert "AAC profile LC sample_rate 44100 channels 1" in text
            # The JSON's figures (media_stats): 100 video frames at 25 fps, 4 seconds of per-second bitrate.
            assert "100 frames, 25.0 fps" in text and "over 4 s" in text
            assert "warnings (0)" in text
            # The main screen's keys do nothing here; Escape goes back.
            cursor = app.screen_stack[0].query_one(TimelineView).cursor
            await pilot.press("n", "slash")
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, StatsScreen), "the stats screen to close")
            assert app.query_one(TimelineView).cursor == cursor and not app.query_one("#query").display

    asyncio.run(scenario())


def test_filter_to_publish_then_p_shows_its_onstatus() -> None:
    """The everyday path: find a session's publish with the filter, then its answer with p."""

    async def scenario() -> None:
        app = RtmpInspectApp([os.path.join(SAMPLES, "publish_play.pcap")])
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(app, pilot)
            await pilot.press("slash", *"cmd:publish", "enter")
            await settle(pilot)
            assert current(app).name == "publish" and "1 matched" in _status(app)
            await pilot.press("p")
            await settle(pilot)
            row = current(app)
            assert row.name == "onStatus" and row.dir == "s2c"
            assert app.filter_text == "" and "filter cleared" in _status(app)
            details = "\n".join(app.query_one(DetailsTree).lines_text)
            assert "NetStream.Publish.Start" in details and "response: onStatus" in details
            await pilot.press("p")
            await settle(pilot)
            assert current(app).name == "publish"

    asyncio.run(scenario())


def test_handshake_rows_show_their_fields_and_bytes() -> None:
    from rtmp_inspect.runner import run
    from tests.support.sinks import CollectingSink

    path = os.path.join(SAMPLES, "publish_play.pcap")
    recorder = CollectingSink()
    run(path, recorder)
    c1 = next(h for h in recorder.handshakes if h.flow == 0 and h.part == "C1")

    async def scenario() -> None:
        app = RtmpInspectApp([path])
        async with app.run_test(size=(120, 36)) as pilot:
            await loaded(app, pilot)
            assert current(app).kind_name == "handshake" and current(app).name == "C0"
            await pilot.press("down")
            await settle(pilot)
            row = current(app)
            assert (row.name, row.frame, row.length, row.offset) == ("C1", c1.frame, 1536, 1)
            details = "\n".join(app.query_one(DetailsTree).lines_text)
            assert details.startswith("handshake C1: time ") and "the flow's handshake" in details
            assert app.query_one(HexView).data == c1.data
            await pilot.press("slash", *"kind:handshake", "enter")
            await settle(pilot)
            assert len(app.timeline) == len(recorder.handshakes) == 6 * 3

    asyncio.run(scenario())


def test_details_name_the_codes_and_give_units():
    """`codec_id: 7`, NAL units as `0: 5` and `response: null` were the raw JSON; now they are named."""
    async def scenario() -> str:
        app = RtmpInspectApp([str(SAMPLES_PATH / "publish_play.pcap")])
        async with app.run_test(size=(160, 48)) as pilot:
            await loaded(app, pilot)
            found = []
            for query in ("type == video && media.keyframe", "type == audio", "command == getStreamLength"):
                app.filter_text = query
                app.apply_filter()
                await settle(pilot)
                await pilot.press("down")
                await settle(pilot)
                tree = app.query_one(DetailsTree)
                await until(pilot, lambda tree=tree: not any("decoding the body" in line for line in tree.lines_text),
                            "body")
                found += tree.lines_text
            return "\n".join(found)

    text = asyncio.run(scenario())
    for line in ("codec_id: 7 (H.264)", "frame_type: 1 (keyframe)", "0: 6 (SEI)", "1: 5 (IDR slice)",
                 "composition_time: 0 ms", "sound_format: 10 (AAC)", "sound_rate: 3 (44 kHz)",
                 "sample_rate: 44100 Hz", "channels: 2 (stereo)", "timestamp: 23 ms", "units: 2 items",
                 "response: none yet", "rtt (s): — (no response)"):
        assert line in text.splitlines(), line
    assert ": null" not in "\n".join(line for line in text.splitlines() if not line[:1].isdigit())


def test_p_that_clears_the_filter_keeps_the_pair_on_screen():
    """`p` from a filtered onStatus to its request clears the filter; before, the view kept scrolling as for
    the short filtered list and the selected row was below the screen."""
    async def scenario() -> tuple[int, int, int, str]:
        app = RtmpInspectApp([str(SAMPLES_PATH / "publish_play.pcap")])
        async with app.run_test(size=(160, 48)) as pilot:
            await loaded(app, pilot)
            app.filter_text = "command == onStatus"
            app.apply_filter()
            await settle(pilot)
            view = app.query_one(TimelineView)
            await pilot.press("down", "p")
            await settle(pilot)
            return view.cursor, int(view.scroll_offset.y), view.scrollable_content_region.height, app._note

    cursor, top, height, note = asyncio.run(scenario())
    assert note == "filter cleared to show the pair"
    assert cursor > height and top <= cursor < top + height
