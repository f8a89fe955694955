"""TCP flow tracking: segments in, ordered per-flow events out.

`FlowTable.add(segment)` returns the events that segment caused (possibly
none), `FlowTable.flush()` those of the end of the capture.  Memory is
bounded: per direction by the reassembler's bounds, overall by `max_flows`
open flows (the least recently active one is ended with reason "evicted")
plus at most `max_ended` ended flows remembered so that their trailing
packets (the last ACK, repeated FIN/RST) are not taken for new flows.

Flows:

* The key is the 4-tuple, direction-independent.  Ids count from 0 in order
  of first packet.
* Direction 0 is the sender of the flow's first packet (which is the SYN
  sender when the capture holds the handshake); `endpoints[0]` is its
  (address, port), `endpoints[1]` the peer's.
* A bare SYN (no ACK) on a known 4-tuple starts a new flow (new id) when the
  old flow has ended, or when it does not fit the old connection: a
  different ISN than that side's SYN, or, for a side whose SYN was not seen,
  a sequence number that is not just before that side's first one, or a
  side with no packets yet while the flow already carried data.  The old
  flow, if still open, ends with reason "reused".
* A flow ends with reason "fin" once both directions have sent FIN and each
  direction's bytes up to its FIN are delivered or declared gaps; with
  "rst" on the first RST the receiver would take (RFC 5961: its sequence
  number at or just after what the receiver expects, `RST_WINDOW`; an RST
  behind it, such as a retransmission whose RST bit was flipped on the path,
  is ignored as a receiver ignores it, and counted); at `flush()` with
  "end-of-capture" (or "fin" if both FINs were seen but a hole was still
  waiting).

Checksums, as the receiver's stack checks them: a segment whose TCP checksum
is wrong is not used (no data, no flags, no ACK, no new flow) once its
sending host has shown that its checksums are computed before the capture
point (`CHECKSUM_TRUST` right ones, and at least four right for each wrong
one); IPv4 header checksums likewise, over the whole capture. A host whose
checksums are wrong throughout computes them after the capture point
(checksum offload): its segments are used, and the capture's notes say so
once (`checksum_report`). Segments longer than one Ethernet frame (GRO/TSO
merges) are not judged (capture/layers.py).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from rtmp_inspect.capture.segment import CHECKSUM_GOOD, TcpSegment, format_endpoint
from rtmp_inspect.flows.events import (
    END_EOF,
    END_EVICTED,
    END_FIN,
    END_REUSED,
    END_RST,
    FlowEnded,
    FlowEvent,
    FlowStarted,
)
from rtmp_inspect.flows.reassembly import (
    DEFAULT_HISTORY,
    DEFAULT_MAX_BUFFER,
    DEFAULT_MAX_PIECES,
    HALF,
    MASK,
    StreamReassembler,
)

_FIN = 0x01
_SYN = 0x02
_RST = 0x04
_ACK = 0x10

MIN_FULL_SEGMENT = 536  # the smallest MSS: shorter segments are never "full"
RST_WINDOW = 1 << 20  # how far past the expected sequence number an RST is still taken (unseen data before it)
CHECKSUM_TRUST = 8  # right checksums from a host before its wrong ones mean corruption, not offload
MAX_CHECKSUM_HOSTS = 65536  # hosts whose checksums are tracked (hostile captures: more are not checked)

DEFAULT_MAX_ENDED = 4096
DEFAULT_MAX_FLOWS = 100_000


@dataclass(slots=True, eq=False, repr=False)
class Flow:
    """One TCP connection as seen in the capture, with its counters.

    Per-direction lists are indexed by direction (0 = sender of the first
    packet).  `bytes` counts TCP payload bytes as sent (retransmissions and
    snap-length-cut bytes included); delivered bytes are in the events.
    """

    id: int
    endpoints: tuple[tuple[bytes, int], tuple[bytes, int]]
    first_frame: int
    first_time: float
    last_frame: int
    last_time: float
    packets: list[int] = field(default_factory=lambda: [0, 0])
    bytes: list[int] = field(default_factory=lambda: [0, 0])
    zero_windows: int = 0  # non-RST segments advertising window 0
    zero_window_first_frame: int | None = None
    late_packets: int = 0  # packets seen after the flow ended (final ACK etc.)
    # Data segments, and those as long as the longest so far (the sender's segment size: it had more to send
    # than one segment, a backlog), per direction.
    data_segments: list[int] = field(default_factory=lambda: [0, 0])
    full_segments: list[int] = field(default_factory=lambda: [0, 0])
    largest_segment: list[int] = field(default_factory=lambda: [0, 0])
    checksum_drops: list[int] = field(default_factory=lambda: [0, 0])  # segments not used: wrong checksum
    checksum_drop_first_frame: int | None = None
    resets_ignored: int = 0  # RSTs outside what the receiver expects (see the module docstring)
    reset_ignored_first_frame: int | None = None
    ended: bool = False
    end_reason: str | None = None
    streams: tuple[StreamReassembler, StreamReassembler] = field(default=None)  # type: ignore[assignment]

    # Counters summed over both directions (per direction: flow.streams[d].x).
    @property
    def gaps(self) -> int:
        return self.streams[0].gaps + self.streams[1].gaps

    @property
    def gap_bytes(self) -> int:
        return self.streams[0].gap_bytes + self.streams[1].gap_bytes

    @property
    def retransmissions(self) -> int:
        return self.streams[0].retransmissions + self.streams[1].retransmissions

    @property
    def mismatches(self) -> int:
        return self.streams[0].mismatches + self.streams[1].mismatches

    @property
    def implausible_segments(self) -> int:
        return self.streams[0].implausible + self.streams[1].implausible

    @property
    def implausible_acks(self) -> int:
        return self.streams[0].implausible_acks + self.streams[1].implausible_acks

    @property
    def keepalives(self) -> int:
        return self.streams[0].keepalives + self.streams[1].keepalives

    @property
    def total_packets(self) -> int:
        return self.packets[0] + self.packets[1]

    @property
    def total_bytes(self) -> int:
        return self.bytes[0] + self.bytes[1]

    def syn_seen(self, direction: int) -> bool:
        return self.streams[direction].syn_seen

    def fin_seen(self, direction: int) -> bool:
        return self.streams[direction].fin_offset is not None

    def endpoint_str(self, direction: int) -> str:
        address, port = self.endpoints[direction]
        return format_endpoint(address, port)

    def __repr__(self) -> str:
        state = f"ended={self.end_reason}" if self.ended else "open"
        return (
            f"Flow(id={self.id}, {self.endpoint_str(0)} -> {self.endpoint_str(1)}, "
            f"packets={self.packets}, bytes={self.bytes}, {state})"
        )


class FlowTable:
    """All flows of a capture."""

    def __init__(
        self,
        *,
        max_flows: int = DEFAULT_MAX_FLOWS,
        max_ended: int | None = None,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        max_pieces: int = DEFAULT_MAX_PIECES,
        history: int = DEFAULT_HISTORY,
    ) -> None:
        self.max_flows = max_flows
        # Ended flows are remembered only to absorb their trailing ACKs and FINs: a few thousand is plenty,
        # and keeping every one costs memory that grows with the number of connections.
        self.max_ended = min(max_flows, DEFAULT_MAX_ENDED) if max_ended is None else max_ended
        self._stream_opts = {"max_buffer": max_buffer, "max_pieces": max_pieces, "history": history}
        # (src, sport, dst, dport) -> (flow, direction of a segment with that key)
        self._keys: dict[tuple[bytes, int, bytes, int], tuple[Flow, int]] = {}
        self._open: OrderedDict[int, Flow] = OrderedDict()  # LRU order, oldest first
        self._ended: OrderedDict[int, Flow] = OrderedDict()
        self._last: Flow | None = None
        self._next_id = 0
        self._checksums: dict[bytes, list[int]] = {}  # source address -> [right, wrong] TCP checksums
        self._ip_checksums = [0, 0]  # [right, wrong] IPv4 header checksums, over the whole capture
        self.unmatched_checksum_drops = 0  # segments not used for a wrong checksum that matched no flow

    @property
    def open_flows(self) -> int:
        return len(self._open)

    @property
    def flows_started(self) -> int:
        return self._next_id

    # ------------------------------------------------------------------ add

    def add(self, seg: TcpSegment) -> list[FlowEvent]:
        out: list[FlowEvent] = []
        flags = seg.flags
        hit = self._keys.get((seg.src, seg.sport, seg.dst, seg.dport))
        if (seg.checksum or seg.ip_checksum) and self._checksum_drop(seg):
            if hit is None:
                self.unmatched_checksum_drops += 1
            else:
                flow, d = hit
                if flow.checksum_drop_first_frame is None:
                    flow.checksum_drop_first_frame = seg.frame
                flow.checksum_drops[d] += 1
            return out
        if hit is None:
            flow = self._start(seg, out)
            d = 0
        else:
            flow, d = hit
            if flags & 0x12 == _SYN and self._new_connection(flow, d, seg):
                if not flow.ended:
                    self._end(flow, END_REUSED, flow.last_frame, flow.last_time, out)
                self._forget(flow)
                flow = self._start(seg, out)
                d = 0
            elif flow is not self._last:
                if flow.ended:
                    self._ended.move_to_end(flow.id)
                else:
                    self._open.move_to_end(flow.id)
        self._last = flow

        frame = seg.frame
        payload = seg.payload
        flow.packets[d] += 1
        flow.bytes[d] += len(payload) + seg.missing
        size = len(payload) + seg.missing
        if size:
            flow.data_segments[d] += 1
            if size >= flow.largest_segment[d]:
                flow.largest_segment[d] = size
                if size >= MIN_FULL_SEGMENT:
                    flow.full_segments[d] += 1
        flow.last_frame = frame
        flow.last_time = seg.time
        if seg.window == 0 and not flags & _RST:
            if not flow.zero_windows:
                flow.zero_window_first_frame = frame
            flow.zero_windows += 1
        if flow.ended:
            flow.late_packets += 1
            return out

        streams = flow.streams
        if flags & _RST and not self._reset_taken(streams[d], seg.seq):
            # (the receiver drops the whole segment: its ACK and data too)
            flow.resets_ignored += 1
            if flow.reset_ignored_first_frame is None:
                flow.reset_ignored_first_frame = frame
            return out
        if flags & _ACK:
            peer = streams[1 - d]
            ns = peer._next_seq
            # Only an ACK past what the peer's stream delivered can matter.
            if ns is not None and 0 < ((seg.ack - ns) & MASK) < HALF:
                peer.ack(seg.ack, frame, seg.time, out)
        streams[d].feed(seg.seq, flags, payload, seg.missing, frame, seg.time, out)

        if flags & _RST:
            self._end(flow, END_RST, frame, seg.time, out)
        elif flags & _FIN or streams[0].fin_offset is not None:
            s0, s1 = streams
            if s0.complete and s1.complete:
                self._end(flow, END_FIN, frame, seg.time, out)
        return out

    def flush(self) -> list[FlowEvent]:
        """End of capture: end every open flow, in id order."""
        out: list[FlowEvent] = []
        for flow in sorted(self._open.values(), key=lambda f: f.id):
            s0, s1 = flow.streams
            both_fin = s0.fin_offset is not None and s1.fin_offset is not None
            self._end(flow, END_FIN if both_fin else END_EOF, flow.last_frame, flow.last_time, out)
        self._open.clear()
        self._ended.clear()
        self._keys.clear()
        self._last = None
        return out

    def checksum_report(self) -> tuple[list[tuple[bytes, int]], int, int]:
        """(hosts whose TCP checksums were wrong in every segment, at least CHECKSUM_TRUST of them, with their
        segment counts, in order of appearance; segments not used for a wrong checksum that matched no flow;
        packets with a wrong IPv4 header checksum when none was right): see checksum_notes."""
        offloaded = [(src, wrong) for src, (right, wrong) in self._checksums.items()
                     if wrong >= CHECKSUM_TRUST and not right]
        ip_right, ip_wrong = self._ip_checksums
        ip_offloaded = ip_wrong if ip_wrong >= CHECKSUM_TRUST and not ip_right else 0
        return offloaded, self.unmatched_checksum_drops, ip_offloaded

    # ------------------------------------------------------------- internals

    def _checksum_drop(self, seg: TcpSegment) -> bool:
        """Count the segment's checked checksums; True if one is wrong where checksums are known to be computed
        before the capture point (the segment was corrupted: the receiver drops it). IPv4 header checksums are
        judged over the whole capture (a corrupted header may carry any source address), TCP checksums per
        sending host (offload is a property of a host's NIC)."""
        ip = self._ip_checksums
        if seg.ip_checksum == CHECKSUM_GOOD:
            ip[0] += 1
        elif seg.ip_checksum:
            right, wrong = ip
            ip[1] = wrong + 1
            if right >= CHECKSUM_TRUST and right >= 4 * wrong:
                return True
        if not seg.checksum:
            return False
        counts = self._checksums.get(seg.src)
        if counts is None:
            if len(self._checksums) >= MAX_CHECKSUM_HOSTS:
                return False
            counts = self._checksums[seg.src] = [0, 0]
        right, wrong = counts
        if seg.checksum == CHECKSUM_GOOD:
            counts[0] = right + 1
            return False
        counts[1] = wrong + 1
        return right >= CHECKSUM_TRUST and right >= 4 * wrong

    @staticmethod
    def _reset_taken(stream: StreamReassembler, seq: int) -> bool:
        """Would the receiver take an RST with sequence number `seq` (RFC 5961)? Yes when nothing of the
        direction is known yet, or `seq` is at or up to RST_WINDOW after the next expected sequence number."""
        next_seq = stream.next_seq
        if next_seq is None:
            return True
        return ((seq - next_seq) & MASK) <= RST_WINDOW

    def _start(self, seg: TcpSegment, out: list[FlowEvent]) -> Flow:
        fid = self._next_id
        self._next_id = fid + 1
        a = (seg.src, seg.sport)
        b = (seg.dst, seg.dport)
        flow = Flow(fid, (a, b), seg.frame, seg.time, seg.frame, seg.time)
        opts = self._stream_opts
        flow.streams = (StreamReassembler(flow, 0, **opts), StreamReassembler(flow, 1, **opts))
        self._keys[(seg.src, seg.sport, seg.dst, seg.dport)] = (flow, 0)
        self._keys[(seg.dst, seg.dport, seg.src, seg.sport)] = (flow, 1)
        self._open[fid] = flow
        out.append(FlowStarted(flow))
        while len(self._open) > self.max_flows:
            old = next(iter(self._open.values()))  # least recently active
            self._end(old, END_EVICTED, old.last_frame, old.last_time, out)
        return flow

    def _new_connection(self, flow: Flow, d: int, seg: TcpSegment) -> bool:
        """Is this bare SYN (sent in direction d of `flow`) a new connection?"""
        s = flow.streams[d]
        if s.syn_seen:
            return seg.seq != s.isn
        if flow.ended:
            return True
        if not s.started:
            # Nothing sent this way yet: a SYN here is part of this flow
            # (simultaneous open, or a SYN after its SYN/ACK in the capture)
            # unless the flow already carried data.
            return flow.bytes[0] + flow.bytes[1] > 0
        return ((seg.seq + 1) & MASK) != s.base_seq

    def _end(self, flow: Flow, reason: str, frame: int, time: float, out: list[FlowEvent]) -> None:
        for s in flow.streams:
            s.finish(frame, time, out)
        flow.ended = True
        flow.end_reason = reason
        out.append(FlowEnded(flow, frame, time, reason))
        del self._open[flow.id]
        if reason == END_EVICTED:
            self._forget(flow)
            return
        # Remember it so its trailing packets stay with it.
        self._ended[flow.id] = flow
        while len(self._ended) > self.max_ended:
            _, old = self._ended.popitem(last=False)
            self._forget(old)

    def _forget(self, flow: Flow) -> None:
        """Drop a flow's keys (if they still point at it) and its tombstone."""
        self._ended.pop(flow.id, None)
        (a, pa), (b, pb) = flow.endpoints
        for key in ((a, pa, b, pb), (b, pb, a, pa)):
            hit = self._keys.get(key)
            if hit is not None and hit[0] is flow:
                del self._keys[key]
        if self._last is flow:
            self._last = None
