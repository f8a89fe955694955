"""From TCP segments to RTMP records: flow table, RTMP detection, one FlowSession per RTMP flow.

Outputs receive everything through a `Sink` as it is decoded, so a streaming output (JSON Lines)
holds nothing, and a whole-document output decides itself what to keep.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, final

from ..capture.segment import TcpSegment
from ..core import DATA, DECODED, ENDED, GAP, MISMATCH, STARTED, UDP, NativeFlow
from ..flows.events import (
    END_EVICTED,
    FlowEnded,
    FlowEvent,
    FlowId,
    FlowStarted,
    OverlapMismatch,
    StreamData,
    StreamGap,
)
from ..flows.table import FlowTable
from ..flows.virtual import UdpKey
from ..rtmfp import RtmfpDatagram, RtmfpFlowStarted, RtmfpTracker
from ..rtmpt.carrier import HttpConnection, RtmptTunnels
from ..tls.carrier import TlsCarrier, open_tls
from ..tls.keylog import KeyLog
from .carried import SESSION_CLASSES, RtmfpSession
from .detect import DEFAULT_PORTS, FlowDetector, Verdict
from .ingest_profiles import Profile
from .records import MessageRecord, Record, WarningRecord
from .session import FlowSession

# Held bytes after which a recognised flow stops waiting for earlier flows to be decided.
MAX_DEFERRED_BYTES = 4 * 1024 * 1024


class Sink(Protocol):
    def flow_started(self, session: FlowSession) -> None: ...
    def message(self, session: FlowSession, record: MessageRecord) -> None: ...
    def warning(self, session: FlowSession | None, record: WarningRecord) -> None: ...
    def flow_finished(self, session: FlowSession) -> None: ...


def _first_packet_order(flow_id: FlowId) -> int | None:
    """Where a flow stands in first-packet order: a TCP flow's id, or for the plaintext of a TLS connection
    the id of the TCP flow that carries it. None for flows that are not ordered (RTMPT tunnels)."""
    if isinstance(flow_id, int):
        return flow_id
    if isinstance(flow_id, tuple) and len(flow_id) == 2 and flow_id[0] == "tls" and isinstance(flow_id[1], int):
        return flow_id[1]
    return None


def _waiting_order(flow_id: FlowId) -> int:
    """Where a deferred flow stands in first-packet order: only flows that have a place wait (_must_wait)."""
    order = _first_packet_order(flow_id)
    assert order is not None
    return order


@final
class FinishedSession:
    """What is kept of a finished session for a sink that does not need it any more: its id."""

    __slots__ = ("id",)

    def __init__(self, flow_id: int) -> None:
        self.id = flow_id


@final
class ForeignSession:
    """With --jobs: a session that another process decodes. It holds the session's place (its id, its turn
    among the open sessions) and ignores its bytes."""

    __slots__ = ("id",)

    def __init__(self, flow_id: int) -> None:
        self.id = flow_id

    def feed(self, direction: int, frame: int, time: float, data: bytes) -> tuple[()]:
        return ()

    def gap(self, direction: int, frame: int, time: float, size: int) -> tuple[()]:
        return ()

    def datagram(self, direction: int, payload: bytes, frame: int, time: float, handshake: Any) -> None:
        pass


class Partition:
    """With --jobs: which sessions this process decodes (those whose id is `index` modulo `count`)."""

    def __init__(self, index: int, count: int) -> None:
        self.index = index
        self.count = count

    def owns(self, flow_id: int) -> bool:
        return flow_id % self.count == self.index


class Analyzer:
    """Feed it segments in capture order (`add`, pure core) or the native engine's batches (`add_native`);
    it calls the sink as RTMP is decoded.

    `tls_keylog`: the secrets for RTMPS (None: no keys). `partition` (--jobs): decode only its sessions.
    `engine`: the native engine (core.NativeCaptureReader's) that reads the capture, or None; sessions then
    decode with the native core, their TCP bytes fed by the engine itself once they are attached to it."""

    def __init__(self, sink: Sink, capture_start: float, decode_as: Iterable[int] = (),
                 tls_keylog: KeyLog | None = None, partition: Partition | None = None,
                 engine: Any = None, profile: Profile | None = None) -> None:
        self.sink = sink
        self.profile = profile  # --profile: every session also checked against these ingest rules
        self.engine = engine
        self._native_flows: dict[int, NativeFlow] = {}  # engine flow id -> the flow, while open
        # RTMPS and RTMPT: a carrier per TLS / HTTP TCP flow turns its bytes into events of a virtual flow
        # (the plaintext, the joined tunnel) that is detected and decoded below like any TCP flow.
        self.tls_keylog = tls_keylog
        self._carriers: dict[FlowId, TlsCarrier | HttpConnection] = {}  # TCP flow id -> carrier
        self._rtmpt: RtmptTunnels | None = None  # made on the first RTMPT flow
        self._rtmfp: RtmfpTracker | None = None  # made on the first UDP datagram (see add_udp)
        self._rtmfp_sessions: dict[UdpKey, RtmfpSession | ForeignSession] = {}
        self.capture_start = capture_start
        self.rtmp_ports = frozenset(DEFAULT_PORTS | set(decode_as))
        self.table = FlowTable()
        self._detecting: dict[FlowId, FlowDetector] = {}  # by TCP flow id
        self._sessions: dict[FlowId, FlowSession | ForeignSession] = {}  # by TCP flow id
        self._undecided_flows: dict[FlowId, Any] = {}  # TCP flow id -> the flow (of any kind), while detecting
        self._deferred: set[FlowId] = set()  # recognised as RTMP, waiting for earlier flows to be decided
        self._finished: list[FlowSession | FinishedSession] = []
        self.next_id = 0
        self.tcp_flows = 0
        # --jobs: this process decodes only the sessions its partition owns (see parallel.py). Every process
        # still reads, reassembles and recognises every flow, so ids and decisions agree; `step` counts each
        # time any session is addressed, decoded here or not, so outputs merge in order by it.
        self.partition = partition
        self.step = 0

    @property
    def sessions(self) -> list[FlowSession | FinishedSession]:
        """Every RTMP session found so far, by id (for a sink that does not keep them, the finished ones as
        stand-ins)."""
        found = self._finished + [s for s in self._sessions.values() if type(s) is not ForeignSession]
        return sorted(found, key=lambda s: s.id)

    def add(self, segment: TcpSegment) -> None:
        for event in self.table.add(segment):
            self._dispatch(event)

    def add_native(self, batch: list[tuple[Any, ...]]) -> None:
        """A batch of the native engine's events (core: `(kind, steps, ...)`), in capture order. What the
        pure path learns from the flow table arrives here as the same flow events; the bytes of attached
        sessions arrive decoded."""
        flows = self._native_flows
        for event in batch:
            kind = event[0]
            self.step += event[1]  # session-addressing moments the engine handled by itself
            if kind == DECODED:
                _, _, flow_id, direction, frame, time, events, late = event
                session = self._sessions.get(flow_id)
                self.step += 1
                if session is not None and type(session) is not ForeignSession:
                    self._emit(session, session.decoded(direction, frame, time, events, late))
            elif kind == DATA:
                _, _, flow_id, direction, frame, time, data, offset = event
                self._dispatch(StreamData(flows[flow_id], direction, frame, time, data, offset))
            elif kind == STARTED:
                _, _, flow_id, a, pa, b, pb, first_frame, first_time = event
                flow = flows[flow_id] = NativeFlow(flow_id, ((a, pa), (b, pb)), first_frame, first_time)
                self._dispatch(FlowStarted(flow))
            elif kind == ENDED:
                _, _, flow_id, frame, time, reason, summary = event
                flow = flows.pop(flow_id)
                flow.end(summary)
                self._dispatch(FlowEnded(flow, frame, time, reason))
            elif kind == GAP:
                _, _, flow_id, direction, frame, time, offset, size = event
                self._dispatch(StreamGap(flows[flow_id], direction, frame, time, offset, size))
            elif kind == MISMATCH:
                _, _, flow_id, direction, frame, offset, size = event
                self._dispatch(OverlapMismatch(flows[flow_id], direction, frame, offset, size))
            elif kind == UDP:
                self.add_udp(*event[2:])
            # else STEPS: only the count

    def add_udp(self, src: bytes, sport: int, dst: bytes, dport: int, payload: bytes, frame: int,
                time: float) -> None:
        """A UDP datagram (capture.segment.UdpDatagram): RTMFP is recognised and listed, not decoded."""
        if self._rtmfp is None:
            self._rtmfp = RtmfpTracker()
        for event in self._rtmfp.add(src, sport, dst, dport, payload, frame, time):
            if type(event) is RtmfpFlowStarted:
                self._start_rtmfp(event)
            elif type(event) is RtmfpDatagram:
                self._rtmfp_sessions[event.flow.id].datagram(event.direction, event.payload, event.frame,
                                                             event.time, event.handshake)

    def _start_rtmfp(self, event: RtmfpFlowStarted) -> None:
        flow_id = self.next_id
        self.next_id += 1
        self.step += 1
        if not self.owns(flow_id):  # with --jobs, one process writes each flow
            self._rtmfp_sessions[event.flow.id] = ForeignSession(flow_id)
            return
        session = RtmfpSession(flow_id, event.flow, 0, self.capture_start, True, recognised_by=event.recognised_by)
        self._rtmfp_sessions[event.flow.id] = session
        self.sink.flow_started(session)
        for warning in session.warnings:
            self.sink.warning(session, warning)

    def _end_rtmfp(self) -> None:
        """RTMFP flows end with the capture, before the TCP flows still undecided or open."""
        assert self._rtmfp is not None
        for flow in self._rtmfp.finish():
            session = self._rtmfp_sessions.pop(flow.id)
            self.step += 1
            if type(session) is ForeignSession:
                continue
            for record in session.finish("end-of-capture", session.last_frame, session.last_time):
                if type(record) is WarningRecord:
                    self.sink.warning(session, record)
            self._finish_session(session)

    def finish(self) -> None:
        if self.engine is None:  # (the engine flushed its flow table with its last batch)
            for event in self.table.flush():
                self._dispatch(event)
        if self._rtmfp is not None:
            self._end_rtmfp()
        # Flows still undecided at the end: decide with what was seen.
        for tcp_id in list(self._detecting):
            self._decide(tcp_id, final=True)
        for tcp_id in list(self._sessions):
            self._end(tcp_id, "end-of-capture", None, None)

    def _dispatch(self, event: FlowEvent) -> None:
        carrier = self._carriers.get(event.flow.id) if self._carriers else None
        if carrier is not None:
            if type(event) is FlowEnded:
                del self._carriers[event.flow.id]
            for inner in carrier.handle(event):
                self._dispatch(inner)
            return
        if type(event) is StreamData:
            tcp_id = event.flow.id
            session = self._sessions.get(tcp_id)
            if session is not None:
                self.step += 1
                if type(session) is not ForeignSession:  # (which ignores the bytes: another process has them)
                    self._emit(session, session.feed(event.direction, event.frame, event.time, event.data))
                return
            detector = self._detecting.get(tcp_id)
            if detector is not None:
                if detector.add_data(event.direction, event.frame, event.time, event.data) is not None:
                    self._decide(tcp_id, final=False)
        elif type(event) is StreamGap:
            tcp_id = event.flow.id
            session = self._sessions.get(tcp_id)
            if session is not None:
                self.step += 1
                if type(session) is not ForeignSession:
                    self._emit(session, session.gap(event.direction, event.frame, event.time, event.size))
                return
            detector = self._detecting.get(tcp_id)
            if detector is not None:
                if detector.add_gap(event.direction, event.frame, event.time, event.size) is not None:
                    self._decide(tcp_id, final=False)
        elif type(event) is FlowStarted:
            flow = event.flow
            self.tcp_flows += not getattr(flow, "virtual", False)
            ports = (flow.endpoints[0][1], flow.endpoints[1][1])
            self._detecting[flow.id] = FlowDetector(ports, self.rtmp_ports)
            self._undecided_flows[flow.id] = flow
        elif type(event) is OverlapMismatch:
            session = self._sessions.get(event.flow.id)
            if session is not None:
                self.step += 1
            if session is not None and type(session) is not ForeignSession:
                # Counted, and said once per direction when the flow ends (_differing_copies).
                found = session.differing_copies.setdefault(session.direction(event.direction),
                                                            [0, 0, event.frame, event.offset])
                found[0] += 1
                found[1] += event.size
        elif type(event) is FlowEnded:
            tcp_id = event.flow.id
            if tcp_id in self._detecting:
                self._decide(tcp_id, final=True)
            self._end(tcp_id, event.reason, event.frame, event.time)

    def _decide(self, tcp_id: FlowId, final: bool) -> None:
        detector = self._detecting[tcp_id]
        verdict = detector.decide(final)
        if verdict is None:
            return
        if self._open_carrier(tcp_id, detector, final):
            return
        del self._detecting[tcp_id]
        flow = self._undecided_flows.pop(tcp_id)
        forced = getattr(flow, "forced_client", None)  # e.g. RTMPS without keys: listed all the same
        if not verdict.is_rtmp and forced is not None:
            verdict = Verdict(True, forced)
        if not verdict.is_rtmp:
            if self.engine is not None and type(tcp_id) is int:
                self.engine.drop_flow(tcp_id)  # nothing more of it is needed
            self._release_deferred()
            return
        if not final and self._must_wait(tcp_id, detector):
            # An earlier connection is still being recognised: number this one after it.
            self._undecided_flows[tcp_id] = flow
            self._detecting[tcp_id] = detector
            self._deferred.add(tcp_id)
            return
        self._deferred.discard(tcp_id)
        self.step += 1
        if not self.owns(self.next_id):
            self._sessions[tcp_id] = ForeignSession(self.next_id)
            self.next_id += 1
            if self.engine is not None and type(tcp_id) is int:
                self.engine.foreign(tcp_id)  # the engine counts its steps
            self._release_deferred()
            return
        session_class = SESSION_CLASSES.get(getattr(flow, "protocol", ""), FlowSession)
        session = session_class(self.next_id, flow, verdict.client, self.capture_start, verdict.handshake,
                                native=self.engine is not None)
        if self.profile is not None:
            session.check_against(self.profile)
        self.next_id += 1
        self._sessions[tcp_id] = session
        if self.engine is not None and type(tcp_id) is int:
            # From the engine's next batch on, it feeds the session's decoder itself (until then, this
            # batch's remaining bytes of the flow come here as data and go through session.feed).
            self.engine.attach(tcp_id, verdict.client, session.connection)
        self.sink.flow_started(session)
        for warning in session.warnings:
            self.sink.warning(session, warning)
        for item in detector.held:
            if item[0] == "data":
                _, direction, frame, time, payload = item
                self._emit(session, session.feed(direction, frame, time, payload))
            else:
                _, direction, frame, time, size = item
                self._emit(session, session.gap(direction, frame, time, size))
        self._release_deferred()

    @property
    def max_flows(self) -> int:
        """The bound on TCP connections open at once."""
        return self.engine.max_flows if self.engine is not None else self.table.max_flows

    def owns(self, flow_id: int) -> bool:
        """Whether this process decodes the session with this id (always, without --jobs)."""
        return self.partition is None or self.partition.owns(flow_id)

    def _must_wait(self, tcp_id: FlowId, detector: FlowDetector) -> bool:
        """Flows are numbered in the order of their first packet: a recognised flow waits while an
        earlier one that has sent data is still undecided (a few packets at most; bounded)."""
        key = _first_packet_order(tcp_id)
        if key is None or detector.held_bytes() > MAX_DEFERRED_BYTES:
            return False
        for other, other_detector in self._detecting.items():
            other_key = _first_packet_order(other)
            if other_key is not None and other_key < key \
                    and (other in self._deferred or other_detector.held_bytes()):
                return True
        return False

    def _release_deferred(self) -> None:
        for tcp_id in sorted(self._deferred, key=_waiting_order):
            if tcp_id in self._deferred and tcp_id in self._detecting \
                    and not self._must_wait(tcp_id, self._detecting[tcp_id]):
                self._deferred.discard(tcp_id)
                self._decide(tcp_id, final=False)

    def _open_carrier(self, tcp_id: FlowId, detector: FlowDetector, final: bool) -> bool:
        """TLS (RTMPS) or RTMPT HTTP on a TCP flow: hand the flow to a carrier and replay what was held.
        True also while the first bytes are too few to tell (then the flow stays undecided)."""
        flow = self._undecided_flows[tcp_id]
        if getattr(flow, "virtual", False):
            return False
        carrier: Any = open_tls(flow, detector.first, self.tls_keylog)
        if carrier is None:
            if self._rtmpt is None:
                self._rtmpt = RtmptTunnels()
            carrier = self._rtmpt.open(flow, detector.first)
        if carrier == "wait":
            return not final
        if carrier is None:
            return False
        del self._detecting[tcp_id]
        del self._undecided_flows[tcp_id]
        self._carriers[tcp_id] = carrier
        for inner in carrier.replay(detector.held):
            self._dispatch(inner)
        return True

    def _end(self, tcp_id: FlowId, reason: str, frame: int | None, time: float | None) -> None:
        self._undecided_flows.pop(tcp_id, None)
        session = self._sessions.pop(tcp_id, None)
        if session is None:
            return
        self.step += 1
        if type(session) is ForeignSession:
            return
        if reason == END_EVICTED:
            self._emit(session, [session.warn(
                "limit.open-flows", "warning", frame,
                f"more than {self.max_flows} TCP connections open at once: this one, the least recently "
                "active, was let go (any later packets of it start a new flow)", None)])
        self._emit(session, self._differing_copies(session))
        self._emit(session, session.finish(reason, frame, time))
        self._finish_session(session)

    @staticmethod
    def _differing_copies(session: FlowSession) -> list[WarningRecord]:
        """One finding per direction for the retransmitted copies that differed from the bytes already taken."""
        out = []
        for dir, (count, size, first_frame, first_offset) in sorted(session.differing_copies.items()):
            copies = "copy" if count == 1 else "copies"
            out.append(session.warn(
                "tcp.retransmission-differs", "warning", first_frame,
                f"{count} retransmitted {copies} ({size} bytes) differed from the bytes already taken, first at "
                f"stream offset {first_offset}: the first copy was used", dir))
        return out

    def _finish_session(self, session: FlowSession) -> None:
        self.sink.flow_finished(session)
        if getattr(self.sink, "keeps_finished_sessions", True):
            self._finished.append(session)
        else:
            # A streaming sink has written all it needs: keep only the id, so memory stays flat
            # however many flows the capture holds (`sessions` then lists stand-ins with just `id`).
            self._finished.append(FinishedSession(session.id))

    def _emit(self, session: FlowSession, records: Iterable[Record]) -> None:
        sink = self.sink
        for record in records:
            if type(record) is MessageRecord:
                sink.message(session, record)
            elif type(record) is WarningRecord:
                sink.warning(session, record)
            else:  # a HandshakeRecord: for the outputs that show the handshake as it happened
                handshake = getattr(sink, "handshake", None)
                if handshake is not None:
                    handshake(session, record)
