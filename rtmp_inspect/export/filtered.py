"""-Y FILTER: a sink in front of another that lets through only the messages the display filter matches."""

from __future__ import annotations

from typing import Any

from ..display_filter import Predicate
from .message_json import message_to_json


class FilteredSink:
    """Messages the filter does not match stop here; everything else (flows, findings, the end) passes."""

    def __init__(self, inner: Any, matches: Predicate) -> None:
        self.inner = inner
        self.matches = matches

    def message(self, session: Any, record: Any) -> None:
        message = message_to_json(record)
        message["flow"] = session.id
        if self.matches(message):
            self.inner.message(session, record)

    def handshake(self, session: Any, record: Any) -> None:
        """A handshake part, judged as a message of type "handshake" (its part, C0 to S2, in its summary)."""
        inner = getattr(self.inner, "handshake", None)
        if inner is None:
            return
        part = {"flow": session.id, "dir": record.dir, "frame": record.frame, "time": record.time,
                "type": "handshake", "length": record.length, "summary": f"{record.part} {record.summary}"}
        if self.matches(part):
            inner(session, record)

    def __getattr__(self, name: str) -> Any:  # flow_started, warning, flow_finished, attributes of the sink
        return getattr(self.inner, name)
