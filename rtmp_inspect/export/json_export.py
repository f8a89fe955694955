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
from ..findings import capture_note_kind
from .message_json import dumps, message_to_json

SCHEMA_VERSION = 1
_SPOOL_BATCH = 512  # messages per flow held in memory before they go to the spool file


def flow_json(session: FlowSession) -> dict[str, Any]:
    out = session.to_json_header()
    out.update(session.to_json_summary())
    return out


class JsonDocumentSink:
    """The JSON document. Flows are listed by id but finish in any order: each flow's messages and, once it
    has finished, its description are spooled to a temporary file, so that neither the messages nor the
    finished sessions are held in memory; `write` puts the document together."""

    # A finished flow's description is spooled by flow_finished: the analysis need not keep the session.
    keeps_finished_sessions = False

    def __init__(self) -> None:
        self._spool = tempfile.TemporaryFile()
        self._pending: dict[int, list[str]] = {}
        self._pieces: dict[int, list[tuple[int, int]]] = {}  # flow id -> (offset, length) in the spool
        self._heads: dict[int, tuple[int, int]] = {}  # flow id -> (offset, length) of its spooled head

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
        del self._pending[session.id]
        self._heads[session.id] = self._spool_text(flow_head(session))

    def _spool_text(self, text: str) -> tuple[int, int]:
        data = text.encode()
        offset = self._spool.seek(0, 2)
        self._spool.write(data)
        return offset, len(data)

    def _spill(self, flow_id: int) -> None:
        pending = self._pending.get(flow_id)
        if not pending:
            return
        self._pieces[flow_id].append(self._spool_text(",\n".join(pending)))
        pending.clear()

    def _read(self, piece: tuple[int, int]) -> str:
        self._spool.seek(piece[0])
        return self._spool.read(piece[1]).decode()

    def write(self, out: IO[str], capture: dict[str, Any], sessions: list[Any], part: bool = False) -> None:
        """The document: `sessions` by id (finished ones may be stand-ins with only their id). `part`: this
        capture's object in a document of several captures (see captures_head)."""
        out.write(part_head(capture) if part else document_head(capture))
        for n, session in enumerate(sessions):
            out.write(("," if n else "") + "\n")
            self.write_flow(out, session)
        out.write(PART_TAIL if part else DOCUMENT_TAIL)
        self.close()

    def close(self) -> None:
        self._spool.close()

    def write_flow(self, out: IO[str], session: Any) -> None:
        """One flow object of the document: its header, summary and warnings, then its spooled messages."""
        head = self._heads.get(session.id)
        if head is None:  # not finished (a run stopped early): described as it stands
            self._spill(session.id)
            out.write(flow_head(session))
        else:
            out.write(self._read(head))
        first = True
        for piece in self._pieces.get(session.id, ()):
            if not first:
                out.write(",\n")
            out.write(self._read(piece))
            first = False
        out.write("\n]}")


def flow_head(session: FlowSession) -> str:
    """A flow's object in the document up to its messages."""
    flow = flow_json(session)
    flow["warnings"] = [w.to_json() for w in session.warnings]
    return dumps(flow)[:-1] + ',"messages":[\n'


DOCUMENT_TAIL = "\n]}\n"


def document_head(capture: dict[str, Any]) -> str:
    """The document up to its first flow (flows follow, comma-separated, each after a newline)."""
    head = {"tool": "rtmp-inspect", "schema_version": SCHEMA_VERSION, "capture": capture}
    return dumps(head)[:-1] + ',\n"flows":['

# Several captures: one document, {"tool", "schema_version", "captures": [{"capture", "flows"}, ...]}.
CAPTURES_HEAD = dumps({"tool": "rtmp-inspect", "schema_version": SCHEMA_VERSION})[:-1] + ',"captures":[\n'
CAPTURES_BETWEEN = ",\n"
CAPTURES_TAIL = "\n]}\n"
PART_TAIL = "\n]}"


def part_head(capture: dict[str, Any]) -> str:
    """One capture's object in a document of several, up to its first flow."""
    return dumps({"capture": capture})[:-1] + ',\n"flows":['


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
    """A JSON Lines line for one of the capture's notes (damage the reader found, checksums): not tied to a
    flow."""
    code, severity = capture_note_kind(warning)
    return dumps({"kind": "warning", "flow": None, "code": code, "severity": str(severity),
                  "frame": None, "message": warning}) + "\n"
