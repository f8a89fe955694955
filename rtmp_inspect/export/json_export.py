"""`--format json` and `--format jsonl`.

The JSON document groups messages by flow, but flows interleave in a capture: each flow's message
JSON is spooled to one temporary file in pieces, and the document is written from it at the end,
so memory stays flat however many messages there are. JSON Lines is written as decoding goes.
"""

from __future__ import annotations

import tempfile
from typing import IO, Any

from ..analysis.records import HandshakeRecord, MessageRecord, WarningRecord
from ..analysis.session import FlowSession
from .message_json import dumps, message_to_json

SCHEMA_VERSION = 1
_SPOOL_BATCH = 512  # messages per flow held in memory before they go to the spool file


def flow_json(session: FlowSession) -> dict[str, Any]:
    out = session.to_json_header()
    out.update(session.to_json_summary())
    return out


class JsonDocumentSink:
    def __init__(self) -> None:
        self._spool = tempfile.TemporaryFile()
        self._pending: dict[int, list[str]] = {}
        self._pieces: dict[int, list[tuple[int, int]]] = {}  # flow id -> (offset, length) in the spool

    def flow_started(self, session: FlowSession) -> None:
        self._pending[session.id] = []
        self._pieces[session.id] = []

    def message(self, session: FlowSession, record: MessageRecord) -> None:
        pending = self._pending[session.id]
        pending.append(dumps(message_to_json(record)))
        if len(pending) >= _SPOOL_BATCH:
            self._spill(session.id)

    def warning(self, session: FlowSession | None, record: WarningRecord) -> None:
        pass  # sessions keep their warnings

    def flow_finished(self, session: FlowSession) -> None:
        self._spill(session.id)

    def _spill(self, flow_id: int) -> None:
        pending = self._pending[flow_id]
        if not pending:
            return
        data = ",\n".join(pending).encode()
        offset = self._spool.seek(0, 2)
        self._spool.write(data)
        self._pieces[flow_id].append((offset, len(data)))
        pending.clear()

    def write(self, out: IO[str], capture: dict[str, Any], sessions: list[FlowSession]) -> None:
        out.write(document_head(capture))
        for n, session in enumerate(sessions):
            out.write(("," if n else "") + "\n")
            self.write_flow(out, session)
        out.write(DOCUMENT_TAIL)
        self.close()

    def close(self) -> None:
        self._spool.close()

    def write_flow(self, out: IO[str], session: FlowSession) -> None:
        """One flow object of the document: its header, summary and warnings, then its spooled messages."""
        self._spill(session.id)
        flow = flow_json(session)
        flow["warnings"] = [w.to_json() for w in session.warnings]
        out.write(dumps(flow)[:-1] + ',"messages":[\n')
        first = True
        for offset, length in self._pieces.get(session.id, ()):
            self._spool.seek(offset)
            if not first:
                out.write(",\n")
            out.write(self._spool.read(length).decode())
            first = False
        out.write("\n]}")


DOCUMENT_TAIL = "\n]}\n"


def document_head(capture: dict[str, Any]) -> str:
    """The document up to its first flow (flows follow, comma-separated, each after a newline)."""
    head = {"tool": "rtmp-inspect", "schema_version": SCHEMA_VERSION, "capture": capture}
    return dumps(head)[:-1] + ',\n"flows":['


class JsonLinesSink:
    """One JSON object per line, written as decoding goes; holds nothing per message."""

    # Everything about a flow is written by flow_finished: the analysis need not keep finished sessions
    # (`end` only counts them).
    keeps_finished_sessions = False

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def capture(self, capture: dict[str, Any]) -> None:
        self.out.write(dumps({"kind": "capture", "tool": "rtmp-inspect", "schema_version": SCHEMA_VERSION,
                              **capture}) + "\n")

    def flow_started(self, session: FlowSession) -> None:
        self.out.write(dumps({"kind": "flow", **session.to_json_header()}) + "\n")

    def message(self, session: FlowSession, record: MessageRecord) -> None:
        line = message_to_json(record)
        line["kind"] = "message"
        line["flow"] = session.id
        self.out.write(dumps(line) + "\n")

    def handshake(self, session: FlowSession, record: HandshakeRecord) -> None:
        self.out.write(dumps({"kind": "handshake", "flow": session.id, **record.to_json()}) + "\n")

    def warning(self, session: FlowSession | None, record: WarningRecord) -> None:
        line = {"kind": "warning", "flow": None if session is None else session.id, **record.to_json()}
        self.out.write(dumps(line) + "\n")

    def flow_finished(self, session: FlowSession) -> None:
        summary = {"kind": "flow_end", **session.to_json_header(), **session.to_json_summary()}
        self.out.write(dumps(summary) + "\n")

    def end(self, capture: dict[str, Any], sessions: list[FlowSession], flows: int | None = None) -> None:
        count = len(sessions) if flows is None else flows
        self.out.write(dumps({"kind": "end", "packets": capture.get("packets"), "flows": count}) + "\n")


def jsonl_capture_warning(warning: str) -> str:
    """A JSON Lines line for damage the capture reader found (not tied to a flow)."""
    return dumps({"kind": "warning", "flow": None, "code": "capture.damaged", "severity": "warning",
                  "frame": None, "message": warning}) + "\n"
