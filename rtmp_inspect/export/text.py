"""`--format text`: a header per flow, then one line per message and warning, like tshark's summary lines.

The per-flow headers need the whole capture, so the timeline lines are spooled to a temporary file
and written after the headers. Every string from the capture is escaped (textsafe.escape).
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

from ..analysis.records import HandshakeRecord, MessageRecord, WarningRecord
from ..analysis.session import FlowSession
from ..findings import Severity, capture_note_kind
from ..rtmp.messages import type_name
from ..rtmp.vocabulary import Direction, MessageType
from ..textsafe import escape

_COLOURS = {
    "control": "\x1b[2m",
    "command": "\x1b[1;36m",
    "data": "\x1b[35m",
    "audio": "\x1b[32m",
    "video": "\x1b[34m",
    "warning": "\x1b[33m",
    "error": "\x1b[1;31m",
    "header": "\x1b[1m",
}
_RESET = "\x1b[0m"
_ARROWS = {"c2s": "C>S", "s2c": "S>C"}


def kind_of(type_id: int) -> str:
    if type_id in (MessageType.COMMAND_AMF0, MessageType.COMMAND_AMF3):
        return "command"
    if type_id in (
        MessageType.DATA_AMF0,
        MessageType.DATA_AMF3,
        MessageType.SHARED_OBJECT_AMF0,
        MessageType.SHARED_OBJECT_AMF3,
    ):
        return "data"
    if type_id == MessageType.AUDIO:
        return "audio"
    if type_id in (MessageType.VIDEO, MessageType.AGGREGATE):
        return "video"
    return "control"


def message_line(record: MessageRecord) -> str:
    return (
        f"{record.frame:>7} {record.time:>11.6f} #{record.flow:<3} {_ARROWS[record.dir]} "
        f"cs{record.csid:<3} s{record.stream_id:<2} {record.timestamp:>10} {type_name(record.type_id):<16} "
        f"{escape(record.summary)}"
    )


def handshake_line(record: HandshakeRecord) -> str:
    return (
        f"{record.frame:>7} {record.time:>11.6f} #{record.flow:<3} {_ARROWS[record.dir]} "
        f"{'':<5} {'':<3} {'':>10} {'handshake ' + record.part:<16} {escape(record.summary)}"
    )


def warning_line(record: WarningRecord) -> str:
    frame = "" if record.frame is None else record.frame
    time = "" if record.time is None else f"{record.time:.6f}"
    flow = "" if record.flow is None else f"#{record.flow}"
    arrow = _ARROWS.get(record.dir or "", "   ")
    return f"{frame:>7} {time:>11} {flow:<4} {arrow} {record.severity.upper()}: {record.code}: {escape(record.message)}"


def flow_header(session: FlowSession) -> list[str]:
    state = session.state
    lines = [f"Flow #{session.id}: client {session.client} -> server {session.server}"]
    hs = session.handshake
    if hs.in_view:
        version = hs.versions.get("c2s")
        said = f"version {version}" if version is not None else "no C0 from the client in the capture"
        lines.append(f"  handshake: {'complete' if hs.complete else 'incomplete'}, {said}"
                     + (" (encrypted RTMPE)" if hs.encrypted else ""))
    else:
        lines.append("  handshake: not in the capture (decoded from the middle)")
    if state.connect:
        tc_url = state.connect.get("tcUrl")
        lines.append(f"  app: {escape(str(state.app))}" + (f"  tcUrl: {escape(str(tc_url))}" if tc_url else ""))
    for stream in sorted(state.streams.values(), key=lambda s: s.stream_id):
        if stream.role:
            lines.append(f"  stream {stream.stream_id}: {stream.role} {escape(str(stream.name))}")
    lines.append(f"  outcome: {escape(session.outcome())}")
    duration = (session.last_time or 0) - (session.first_time or 0)
    counts = session.byte_counts
    c2s, s2c = counts[Direction.C2S], counts[Direction.S2C]
    lines.append(
        f"  {session.message_count} messages, {c2s} bytes C>S, {s2c} bytes S>C, "
        f"{duration:.3f} s, {len(session.warnings)} warning{'' if len(session.warnings) == 1 else 's'}"
    )
    return lines


class TextSink:
    def __init__(self, colour: bool, spool: Any = None) -> None:
        self.colour = colour
        # The timeline lines until the headers are written (with --jobs, records for the merge).
        self._spool = spool if spool is not None else tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.capture_warnings: list[WarningRecord] = []

    def _paint(self, kind: str, line: str) -> str:
        if not self.colour:
            return line
        return f"{_COLOURS[kind]}{line}{_RESET}"

    def flow_started(self, session: FlowSession) -> None:
        pass

    def message(self, session: FlowSession, record: MessageRecord) -> None:
        self._spool.write(self._paint(kind_of(record.type_id), message_line(record)) + "\n")

    def handshake(self, session: FlowSession, record: HandshakeRecord) -> None:
        self._spool.write(self._paint("control", handshake_line(record)) + "\n")

    def warning(self, session: FlowSession | None, record: WarningRecord) -> None:
        kind = "error" if record.severity == "error" else "warning"
        self._spool.write(self._paint(kind, warning_line(record)) + "\n")

    def flow_finished(self, session: FlowSession) -> None:
        pass

    def write(self, out: IO[str], capture: dict[str, Any], sessions: list[FlowSession]) -> None:
        self.write_head(out, capture, len(sessions))
        for session in sessions:
            out.write(self.flow_header_text(session))
        out.write(COLUMNS)
        self._spool.seek(0)
        while True:
            block = self._spool.read(1 << 16)
            if not block:
                break
            out.write(block)
        self._spool.close()

    def write_head(self, out: IO[str], capture: dict[str, Any], flows: int) -> None:
        out.write(f"Capture {escape(capture['path'])}: {capture['format']}, {capture['packets']} packets, "
                  f"{flows} RTMP flow(s)\n")
        for warning in capture.get("warnings", []):
            if capture_note_kind(warning)[1] == Severity.INFO:
                out.write(f"  note: {escape(warning)}\n")
            else:
                out.write(self._paint("warning", f"  WARNING: {escape(warning)}") + "\n")

    def flow_header_text(self, session: FlowSession) -> str:
        lines = flow_header(session)
        return "".join((self._paint("header", line) if n == 0 else line) + "\n" for n, line in enumerate(lines))


# Between the flow headers and the timeline.
COLUMNS = (f"\n{'frame':>7} {'time':>11} {'flow':<4} dir {'csid':<5} {'msid':<3} {'timestamp':>10} "
           f"{'type':<16} summary\n")
