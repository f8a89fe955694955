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
from rtmp_inspect.ui.app import RtmpInspectApp, run_tui  # noqa: E402
from rtmp_inspect.ui.widgets import DetailsTree, TimelineView  # noqa: E402
from tests.rtmp_builder import command, echo, handshake_part, message_chunks  # noqa: E402
from tests.test_timeline import _bulk_fill, _FakeSession  # noqa: E402

CAPTURES = "/work/shared/captures"
WIRESHARK = os.path.join(CAPTURES, "wireshark_rtmp_sample.cap")
NGINX = os.path.join(CAPTURES, "twinx_nginx_publish.pcap")
needs_captures = pytest.mark.skipif(not os.path.exists(NGINX), reason="shared captures not present")

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


async def _loaded(app: RtmpInspectApp, pilot) -> None:
    deadline = time.monotonic() + 30
    while not app.timeline.finished and time.monotonic() < deadline:
        await pilot.pause(0.05)
    await pilot.pause(0.2)  # one poll of the model, and the details timer
    await _quiet(app, pilot)


async def _quiet(app: RtmpInspectApp, pilot, limit: float = 10.0) -> None:
    """Wait until the details pane has content and stops changing: on a loaded machine the
    details timer and the worker can lag well behind a fixed pause."""
    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        await pilot.pause(0.1)
        shown = list(app.query_one(DetailsTree).lines_text)
        if shown and shown == last:
            return
        last = shown


async def _settle(pilot) -> None:
    await pilot.pause(0.15)
    await _quiet(pilot.app, pilot)


def _status(app: RtmpInspectApp) -> str:
    return str(app.query_one("#status").render())


def _current(app: RtmpInspectApp):
    view = app.query_one(TimelineView)
    return app.timeline[view.cursor]


@needs_captures
@pytest.mark.parametrize("path, verb, arg", [(WIRESHARK, "play", "rtmp://fc432.streamedia.info/StreamPlayer/"), (NGINX, "publish", "1234")])
def test_open_list_flows_find_the_command_filter_and_quit(path: str, verb: str, arg: str) -> None:
    async def scenario() -> None:
        app = RtmpInspectApp([path], [])
        async with app.run_test(size=(120, 36)) as pilot:
            await _loaded(app, pilot)
            # The first row's details show without a key pressed.
            assert app.query_one(DetailsTree).lines_text[0].startswith("#0 message 0: ")
            table = app.query_one("#flows", DataTable)
            assert table.row_count == 1 + len(app.timeline.flows) == 2
            flow = app.timeline.flows[0]
            assert flow.client in [str(c) for c in table.get_row_at(1)]
            # n moves from command to command, up to the play/publish request.
            for _ in range(20):
                if _current(app).name == verb:
                    break
                await pilot.press("n")
            assert _current(app).name == verb
            await _settle(pilot)
            details = "\n".join(app.query_one(DetailsTree).lines_text)
            assert verb in details and repr(arg) in details
            # / filters; the status line counts what matched.
            await pilot.press("slash")
            await pilot.press(*"onStatus")
            await pilot.press("enter")
            await _settle(pilot)
            matched = len(app.timeline)
            assert matched >= 1 and all("onStatus" in row.summary for row in app.timeline)
            assert f"{matched} matched" in _status(app)
            # Escape clears the filter.
            await pilot.press("slash")
            await pilot.press("escape")
            await _settle(pilot)
            assert len(app.timeline) == app.timeline.total
            # w goes to the first warning after the cursor, or says there is none and stays.
            await pilot.press("home")
            await pilot.press("w")
            await _settle(pilot)
            if len(app.timeline.warnings):
                assert _current(app).kind_name == "warning"
                assert _current(app).row == app.timeline.warnings[0]
            else:
                assert "no next warning" in _status(app)
                assert app.query_one(TimelineView).cursor == 0
            await pilot.press("q")
            await pilot.pause(0.1)
        assert app.return_value == 0

    asyncio.run(scenario())


@needs_captures
def test_selecting_a_flow_filters_and_goto_frame_and_keyframe_jumps() -> None:
    async def scenario() -> None:
        app = RtmpInspectApp([NGINX], [])
        async with app.run_test(size=(100, 30)) as pilot:
            await _loaded(app, pilot)
            table = app.query_one("#flows", DataTable)
            table.focus()
            await pilot.press("down")
            await _settle(pilot)
            assert app.flow_filter == 0 and app.timeline.filter.flow == 0
            await pilot.press("up")
            await _settle(pilot)
            assert app.flow_filter is None
            await pilot.press("g", *"28", "enter")
            await _settle(pilot)
            assert _current(app).name == "createStream"
            details = "\n".join(app.query_one(DetailsTree).lines_text)
            assert "request / response" in details and "response: _result" in details
            await pilot.press("p")
            await _settle(pilot)
            assert _current(app).name == "_result" and _current(app).frame == 30
            await pilot.press("p")
            await _settle(pilot)
            assert _current(app).name == "createStream"
            await pilot.press("g", *"32", "enter")
            await _settle(pilot)
            assert _current(app).frame == 32
            await pilot.press("k")
            await _settle(pilot)
            assert _current(app).keyframe
            details = "\n".join(app.query_one(DetailsTree).lines_text)
            assert "media" in details and "keyframe: true" in details
            await pilot.press("end")
            assert app.query_one(TimelineView).cursor == len(app.timeline) - 1
            await pilot.press("home")
            assert app.query_one(TimelineView).cursor == 0
            await pilot.press("question_mark")
            await _settle(pilot)
            assert app.screen.__class__.__name__ == "HelpScreen"
            await pilot.press("escape")
            await _settle(pilot)
            assert app.screen.__class__.__name__ != "HelpScreen"

    asyncio.run(scenario())


def test_capture_strings_are_shown_escaped_and_warnings_are_jump_targets(tmp_path) -> None:
    capture = tmp_path / "hostile.pcap"
    packets = _session(HOSTILE, media=12)
    capture.write_bytes(_pcap(packets, skip=frozenset({len(packets) - 3})))  # a lost segment: a gap warning

    async def scenario() -> None:
        app = RtmpInspectApp([str(capture)], [])
        async with app.run_test(size=(120, 36)) as pilot:
            await _loaded(app, pilot)
            view = app.query_one(TimelineView)
            await pilot.press("g", *"7", "enter")
            await _settle(pilot)
            assert _current(app).name == "publish"
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
            await _settle(pilot)
            row = _current(app)
            assert row.kind_name == "warning"
            assert row.name in "\n".join(details.lines_text)
            await pilot.press("W")
            await _settle(pilot)
            assert "no previous warning" in _status(app)
            # Every visible line of the whole screen is free of raw control characters.
            for y in range(view.scrollable_content_region.height):
                assert "\x1b" not in "".join(s.text for s in view.render_line(y))

    asyncio.run(scenario())


def test_a_million_rows_render_in_constant_time(capsys) -> None:
    timeline = Timeline()
    session = _FakeSession(0)
    timeline.flow_started(session)
    _bulk_fill(timeline, 1_000_000)
    timeline.finished = True

    async def scenario() -> dict:
        numbers = {}
        started = time.perf_counter()
        app = RtmpInspectApp([], [], timeline=timeline)
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
    assert run_tui([str(bad)], []) == 2
    assert run_tui(["-"], []) == 2
    assert run_tui([str(tmp_path / "missing.pcap")], []) == 2
    err = capsys.readouterr().err
    assert err.count("rtmp-inspect:") == 3 and "Traceback" not in err
