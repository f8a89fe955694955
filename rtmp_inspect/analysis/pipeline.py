"""From TCP segments to RTMP records: flow table, RTMP detection, one FlowSession per RTMP flow.

Outputs receive everything through a `Sink` as it is decoded, so a streaming output (JSON Lines)
holds nothing, and a whole-document output decides itself what to keep.
"""

from __future__ import annotations

from typing import Iterable, Protocol

from ..capture.segment import TcpSegment
from ..flows.events import FlowEnded, FlowStarted, OverlapMismatch, StreamData, StreamGap
from ..flows.table import FlowTable
from .detect import DEFAULT_PORTS, FlowDetector
from .records import MessageRecord, WarningRecord
from .session import FlowSession


class Sink(Protocol):
    def flow_started(self, session: FlowSession) -> None: ...
    def message(self, session: FlowSession, record: MessageRecord) -> None: ...
    def warning(self, session: FlowSession | None, record: WarningRecord) -> None: ...
    def flow_finished(self, session: FlowSession) -> None: ...


class Analyzer:
    """Feed it segments in capture order; it calls the sink as RTMP is decoded."""

    def __init__(self, sink: Sink, capture_start: float, decode_as: Iterable[int] = ()) -> None:
        self.sink = sink
        self.capture_start = capture_start
        self.rtmp_ports = frozenset(DEFAULT_PORTS | set(decode_as))
        self.table = FlowTable()
        self._detecting: dict[int, FlowDetector] = {}  # by TCP flow id
        self._sessions: dict[int, FlowSession] = {}  # by TCP flow id
        self._undecided_flows: dict = {}  # TCP flow id -> Flow, while detecting
        self._finished: list[FlowSession] = []
        self.next_id = 0
        self.tcp_flows = 0

    @property
    def sessions(self) -> list[FlowSession]:
        """Every RTMP session found so far, by id."""
        found = self._finished + list(self._sessions.values())
        return sorted(found, key=lambda s: s.id)

    def add(self, segment: TcpSegment) -> None:
        for event in self.table.add(segment):
            self._dispatch(event)

    def finish(self) -> None:
        for event in self.table.flush():
            self._dispatch(event)
        # Flows still undecided at the end: decide with what was seen.
        for tcp_id in list(self._detecting):
            self._decide(tcp_id, final=True)
        for tcp_id in list(self._sessions):
            self._end(tcp_id, "end-of-capture", None, None)

    def _dispatch(self, event) -> None:
        kind = type(event)
        if kind is StreamData:
            tcp_id = event.flow.id
            session = self._sessions.get(tcp_id)
            if session is not None:
                self._emit(session, session.feed(event.direction, event.frame, event.time, event.data))
                return
            detector = self._detecting.get(tcp_id)
            if detector is not None:
                if detector.add_data(event.direction, event.frame, event.time, event.data) is not None:
                    self._decide(tcp_id, final=False)
        elif kind is StreamGap:
            tcp_id = event.flow.id
            session = self._sessions.get(tcp_id)
            if session is not None:
                self._emit(session, session.gap(event.direction, event.frame, event.time, event.size))
                return
            detector = self._detecting.get(tcp_id)
            if detector is not None:
                if detector.add_gap(event.direction, event.frame, event.time, event.size) is not None:
                    self._decide(tcp_id, final=False)
        elif kind is FlowStarted:
            self.tcp_flows += 1
            flow = event.flow
            ports = (flow.endpoints[0][1], flow.endpoints[1][1])
            self._detecting[flow.id] = FlowDetector(ports, self.rtmp_ports)
            self._undecided_flows[flow.id] = flow
        elif kind is OverlapMismatch:
            session = self._sessions.get(event.flow.id)
            if session is not None:
                dir = session.direction(event.direction)
                record = session.warn("tcp.retransmission-differs", "warning", event.frame,
                                      f"a retransmitted copy of {event.size} bytes at stream offset {event.offset} "
                                      "differs from the first copy (the first copy was used)", dir)
                self.sink.warning(session, record)
        elif kind is FlowEnded:
            tcp_id = event.flow.id
            if tcp_id in self._detecting:
                self._decide(tcp_id, final=True)
            self._end(tcp_id, event.reason, event.frame, event.time)

    def _decide(self, tcp_id: int, final: bool) -> None:
        detector = self._detecting[tcp_id]
        verdict = detector.decide(final)
        if verdict is None:
            return
        del self._detecting[tcp_id]
        flow = self._undecided_flows.pop(tcp_id)
        if not verdict.is_rtmp:
            return
        session = FlowSession(self.next_id, flow, verdict.client, self.capture_start, verdict.handshake)
        self.next_id += 1
        self._sessions[tcp_id] = session
        self.sink.flow_started(session)
        for warning in session.warnings:
            self.sink.warning(session, warning)
        for kind, direction, frame, time, payload in detector.held:
            if kind == "data":
                self._emit(session, session.feed(direction, frame, time, payload))
            else:
                self._emit(session, session.gap(direction, frame, time, payload))

    def _end(self, tcp_id: int, reason: str, frame: int | None, time: float | None) -> None:
        self._undecided_flows.pop(tcp_id, None)
        session = self._sessions.pop(tcp_id, None)
        if session is None:
            return
        self._emit(session, session.finish(reason, frame, time))
        self.sink.flow_finished(session)
        self._finished.append(session)

    def _emit(self, session: FlowSession, records: list) -> None:
        sink = self.sink
        for record in records:
            if type(record) is MessageRecord:
                sink.message(session, record)
            else:
                sink.warning(session, record)
