"""TCP flow tracking and reassembly (rtmp_inspect.flows).

Segments are built as scapy IP()/TCP()/Raw() packets and turned into
TcpSegment by `to_segment` (snap-length cuts go through the wire bytes).
Sequence numbers in the tests are written relative, Wireshark-style:
`rel` 0 is the first data byte of a direction (its SYN is at -1).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

from rtmp_inspect.capture.segment import TcpSegment
from rtmp_inspect.flows.events import (
    FlowEnded,
    FlowStarted,
    OverlapMismatch,
    StreamData,
    StreamGap,
)
from rtmp_inspect.flows.reassembly import StreamReassembler
from rtmp_inspect.flows.table import FlowTable

MASK = 0xFFFFFFFF
CLIENT = ("10.0.0.1", 40000)
SERVER = ("10.0.0.2", 1935)


# --------------------------------------------------------------- helpers


def to_segment(pkt, frame: int, time: float, snaplen: int | None = None) -> TcpSegment:
    """A scapy IP/TCP packet as the capture layer would hand it on."""
    if snaplen is not None:
        wire = bytes(pkt)
        cut = wire[:snaplen]
        pkt = (IPv6 if pkt.haslayer(IPv6) else IP)(cut)
    l3 = pkt[IPv6] if pkt.haslayer(IPv6) else pkt[IP]
    tcp = pkt[TCP]
    payload = bytes(tcp.payload)
    missing = 0
    if snaplen is not None:
        if isinstance(l3, IPv6):
            total = l3.plen - tcp.dataofs * 4
        else:
            total = l3.len - l3.ihl * 4 - tcp.dataofs * 4
        missing = total - len(payload)
    return TcpSegment(
        frame=frame,
        time=time,
        src=ipaddress.ip_address(l3.src).packed,
        sport=tcp.sport,
        dst=ipaddress.ip_address(l3.dst).packed,
        dport=tcp.dport,
        seq=tcp.seq,
        ack=tcp.ack,
        flags=int(tcp.flags),
        window=tcp.window,
        payload=payload,
        missing=missing,
    )


class Cap:
    """Builds the segments of one connection between two endpoints.

    `isn` are the initial sequence numbers of direction 0 (a) and 1 (b);
    `seg(d, rel, ...)` makes a segment sent in direction d whose sequence
    number is ISN + 1 + rel.  `ack` (relative, of the other direction) is
    None for "acknowledge nothing beyond the peer's SYN".
    """

    def __init__(self, isn=(1000, 5000), a=CLIENT, b=SERVER, v6=False):
        self.isn = isn
        self.ends = (a, b)
        self.v6 = v6
        self.frame = 0

    def packet(self, d, rel, data=b"", flags="A", ack=None, window=65535):
        src, dst = self.ends[d], self.ends[1 - d]
        seq = (self.isn[d] + 1 + rel) & MASK
        acknum = (self.isn[1 - d] + 1 + (ack or 0)) & MASK if "A" in flags else 0
        l3 = IPv6(src=src[0], dst=dst[0]) if self.v6 else IP(src=src[0], dst=dst[0])
        pkt = l3 / TCP(sport=src[1], dport=dst[1], seq=seq, ack=acknum, flags=flags, window=window)
        if data:
            pkt = pkt / Raw(data)
        return pkt

    def seg(self, d, rel, data=b"", flags="A", ack=None, window=65535, snaplen=None):
        self.frame += 1
        pkt = self.packet(d, rel, data, flags, ack, window)
        return to_segment(pkt, self.frame, 1000.0 + self.frame / 1000, snaplen)

    def handshake(self):
        return [
            self.seg(0, -1, flags="S"),
            self.seg(1, -1, flags="SA"),
            self.seg(0, 0, flags="A"),
        ]


def run(segs, table=None, flush=True):
    table = table if table is not None else FlowTable()
    events = []
    for s in segs:
        events.extend(table.add(s))
    if flush:
        events.extend(table.flush())
    return events


def layout(events, flow_id=0, direction=0):
    """One direction's stream as [("data", offset, bytes) | ("gap", offset, size)].

    Adjacent data events are merged; every event must start where the
    previous one ended.
    """
    items = []
    expect = 0
    for e in events:
        if isinstance(e, (StreamData, StreamGap)) and e.flow.id == flow_id and e.direction == direction:
            assert e.offset == expect, (e, expect)
            if isinstance(e, StreamData):
                assert e.data, "empty StreamData"
                if items and items[-1][0] == "data":
                    items[-1] = ("data", items[-1][1], items[-1][2] + e.data)
                else:
                    items.append(("data", e.offset, e.data))
                expect += len(e.data)
            else:
                assert e.size > 0
                items.append(("gap", e.offset, e.size))
                expect += e.size
    return items


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def pattern(n, seed=0):
    rnd = random.Random(seed)
    return bytes(rnd.getrandbits(8) for _ in range(n))


# --------------------------------------------------------------- in order


def test_in_order_connection_both_directions():
    c = Cap()
    up = pattern(3000, 1)
    down = pattern(1500, 2)
    segs = c.handshake()
    segs += [
        c.seg(0, 0, up[:1000], "PA"),
        c.seg(0, 1000, up[1000:2000], "PA"),
        c.seg(1, 0, down[:1500], "PA", ack=2000),
        c.seg(0, 2000, up[2000:], "PA", ack=1500),
        c.seg(0, 3000, flags="FA", ack=1500),
        c.seg(1, 1500, flags="FA", ack=3001),
        c.seg(0, 3001, flags="A", ack=1501),
    ]
    table = FlowTable()
    per_segment = [table.add(s) for s in segs]
    events = [e for evs in per_segment for e in evs]
    assert table.flush() == []  # already ended by FIN/FIN

    assert isinstance(per_segment[0][0], FlowStarted)
    flow = per_segment[0][0].flow
    assert flow.id == 0
    assert flow.endpoints == ((bytes([10, 0, 0, 1]), 40000), (bytes([10, 0, 0, 2]), 1935))
    # in-order data is delivered by the segment that carries it, uncopied
    for i in (3, 4, 5, 6):
        (ev,) = per_segment[i]
        assert isinstance(ev, StreamData)
        assert ev.data is segs[i].payload
        assert ev.frame == segs[i].frame and ev.time == segs[i].time
    assert layout(events, 0, 0) == [("data", 0, up)]
    assert layout(events, 0, 1) == [("data", 0, down)]
    ended = of(events, FlowEnded)
    assert len(ended) == 1 and ended[0].reason == "fin" and ended[0].frame == segs[8].frame
    assert events[-1] is ended[0]
    assert flow.ended and flow.end_reason == "fin"
    assert flow.packets == [7, 3]
    assert flow.bytes == [3000, 1500]
    assert flow.late_packets == 1
    assert (flow.first_frame, flow.last_frame) == (1, 10)
    assert flow.first_time == segs[0].time and flow.last_time == segs[-1].time
    assert flow.gaps == 0 and flow.retransmissions == 0 and flow.zero_windows == 0
    assert flow.syn_seen(0) and flow.syn_seen(1) and flow.fin_seen(0) and flow.fin_seen(1)


def test_ipv6_flow():
    c = Cap(a=("2001:db8::1", 50000), b=("2001:db8::2", 1935), v6=True)
    segs = c.handshake() + [c.seg(0, 0, b"hello", "PA"), c.seg(1, 0, b"world", "PA", ack=5)]
    events = run(segs)
    flow = events[0].flow
    assert flow.endpoints[0] == (ipaddress.ip_address("2001:db8::1").packed, 50000)
    assert flow.endpoint_str(1) == "[2001:db8::2]:1935"
    assert layout(events, 0, 0) == [("data", 0, b"hello")]
    assert layout(events, 0, 1) == [("data", 0, b"world")]
    assert events[-1].reason == "end-of-capture"


# --------------------------------------------------------------- reordering / duplicates / overlaps


def test_reordered_segments_delivered_when_hole_fills():
    c = Cap()
    data = pattern(400, 3)
    segs = c.handshake() + [
        c.seg(0, 0, data[0:100]),
        c.seg(0, 200, data[200:300]),
        c.seg(0, 300, data[300:400]),
        c.seg(0, 100, data[100:200]),
    ]
    table = FlowTable()
    evs = [table.add(s) for s in segs]
    assert evs[4] == [] and evs[5] == []
    (filled,) = evs[6]
    assert isinstance(filled, StreamData)
    assert filled.offset == 100 and filled.data == data[100:400]
    assert filled.frame == segs[6].frame and filled.time == segs[6].time
    flow = filled.flow
    assert flow.retransmissions == 0 and flow.gaps == 0
    assert flow.streams[0].pending_bytes == 0 and flow.streams[0].pending_pieces == 0


def test_duplicated_segment_taken_once():
    c = Cap()
    segs = c.handshake() + [
        c.seg(0, 0, b"A" * 100),
        c.seg(0, 0, b"A" * 100),
        c.seg(0, 200, b"C" * 100),
        c.seg(0, 200, b"C" * 100),
        c.seg(0, 100, b"B" * 100),
        c.seg(0, 100, b"B" * 100),
    ]
    events = run(segs)
    assert layout(events) == [("data", 0, b"A" * 100 + b"B" * 100 + b"C" * 100)]
    flow = events[0].flow
    assert flow.retransmissions == 3
    assert of(events, OverlapMismatch) == []
    assert flow.bytes[0] == 600


def test_overlap_with_same_bytes():
    c = Cap()
    data = pattern(500, 4)
    segs = c.handshake() + [
        c.seg(0, 0, data[0:100]),
        c.seg(0, 50, data[50:150]),  # half old, half new
        c.seg(0, 300, data[300:400]),  # ahead
        c.seg(0, 250, data[250:450]),  # overlaps held bytes on both sides
        c.seg(0, 150, data[150:300]),  # fills the hole
        c.seg(0, 450, data[450:500]),
    ]
    table = FlowTable()
    evs = [table.add(s) for s in segs]
    assert evs[4] == [StreamData(evs[0][0].flow, 0, segs[4].frame, segs[4].time, data[100:150], 100)]
    assert evs[6] == []
    assert [type(e) for e in evs[7]] == [StreamData]
    assert evs[7][0].offset == 150 and evs[7][0].data == data[150:450]
    events = [e for x in evs for e in x] + table.flush()
    assert layout(events) == [("data", 0, data)]
    assert of(events, OverlapMismatch) == []
    # [50,150) (half old), [250,450) (over held [300,400)), [150,300) (over held [250,300))
    assert events[0].flow.retransmissions == 3


def test_overlap_with_different_bytes_first_copy_wins():
    c = Cap()
    segs = c.handshake() + [
        c.seg(0, 0, b"a" * 100),
        c.seg(0, 50, b"b" * 100),  # [50,100) differs from delivered bytes
        c.seg(0, 300, b"x" * 100),  # held
        c.seg(0, 250, b"y" * 100),  # [300,350) differs from held bytes
        c.seg(0, 150, b"z" * 100),  # fills [150,250)
    ]
    table = FlowTable()
    evs = [table.add(s) for s in segs]
    flow = evs[0][0].flow
    assert evs[4] == [
        OverlapMismatch(flow, 0, segs[4].frame, 50, 50),
        StreamData(flow, 0, segs[4].frame, segs[4].time, b"b" * 50, 100),
    ]
    assert evs[6] == [OverlapMismatch(flow, 0, segs[6].frame, 300, 50)]
    events = [e for x in evs for e in x] + table.flush()
    assert layout(events) == [
        ("data", 0, b"a" * 100 + b"b" * 50 + b"z" * 100 + b"y" * 50 + b"x" * 100)
    ]
    assert flow.mismatches == 2 and flow.retransmissions == 2


def test_overlap_mismatch_spanning_several_pieces_is_one_event():
    c = Cap()
    segs = c.handshake() + [
        c.seg(0, 100, b"1" * 100),
        c.seg(0, 200, b"2" * 100),
        c.seg(0, 100, b"9" * 200),  # differs from both held pieces
        c.seg(0, 0, b"0" * 100),
    ]
    events = run(segs)
    flow = events[0].flow
    assert of(events, OverlapMismatch) == [OverlapMismatch(flow, 0, segs[5].frame, 100, 200)]
    assert layout(events) == [("data", 0, b"0" * 100 + b"1" * 100 + b"2" * 100)]


def test_retransmission_older_than_history_is_not_checked():
    r = StreamReassembler(history=200)
    out = []
    r.feed(99, 0x02, b"", 0, 1, 0.0, out)
    for i in range(5):
        r.feed(100 + i * 100, 0x18, bytes([65 + i]) * 100, 0, 2 + i, 0.0, out)
    out.clear()
    r.feed(100, 0x18, b"?" * 100, 0, 10, 0.0, out)  # offset 0: out of history
    assert out == [] and r.retransmissions == 1 and r.mismatches == 0
    r.feed(400, 0x18, b"?" * 100, 0, 11, 0.0, out)  # offset 300: still held
    assert out == [OverlapMismatch(None, 0, 11, 300, 100)]


# --------------------------------------------------------------- losses


def test_lost_segment_becomes_gap_at_end_of_capture():
    c = Cap()
    segs = c.handshake() + [
        c.seg(0, 0, b"A" * 100),
        c.seg(0, 200, b"C" * 100),  # [100,200) never captured, never acked
        c.seg(0, 300, b"D" * 50),
    ]
    table = FlowTable()
    before = run(segs, table, flush=False)
    assert of(before, StreamGap) == []
    assert layout(before) == [("data", 0, b"A" * 100)]
    after = table.flush()
    flow = before[0].flow
    assert after == [
        StreamGap(flow, 0, segs[-1].frame, segs[-1].time, 100, 100),
        StreamData(flow, 0, segs[-1].frame, segs[-1].time, b"C" * 100 + b"D" * 50, 200),
        FlowEnded(flow, segs[-1].frame, segs[-1].time, "end-of-capture"),
    ]
    assert flow.gaps == 1 and flow.gap_bytes == 100


def test_ack_past_hole_declares_gap_at_that_ack():
    c = Cap()
    segs = c.handshake() + [
        c.seg(0, 0, b"A" * 100),
        c.seg(0, 200, b"C" * 100),  # [100,200) lost from the capture
        c.seg(0, 300, b"D" * 100),
        c.seg(1, 0, flags="A", ack=100),  # not past the hole: nothing
        c.seg(1, 0, flags="A", ack=300),  # receiver has everything up to 300
    ]
    table = FlowTable()
    evs = [table.add(s) for s in segs]
    flow = evs[0][0].flow
    assert evs[6] == []
    ack = segs[7]
    assert evs[7] == [
        StreamGap(flow, 0, ack.frame, ack.time, 100, 100),
        StreamData(flow, 0, ack.frame, ack.time, b"C" * 100 + b"D" * 100, 200),
    ]
    # a late copy of the lost bytes is a retransmission, not data
    late = c.seg(0, 100, b"B" * 100)
    assert table.add(late) == []
    assert flow.retransmissions == 1
    more = c.seg(0, 400, b"E" * 10)
    assert table.add(more) == [StreamData(flow, 0, more.frame, more.time, b"E" * 10, 400)]


def test_ack_partly_into_hole_gaps_only_the_acked_part():
    c = Cap()
    data = pattern(300, 5)
    segs = c.handshake() + [
        c.seg(0, 0, data[:100]),
        c.seg(0, 200, data[200:300]),
        c.seg(1, 0, flags="A", ack=150),
        c.seg(0, 100, data[100:200]),  # retransmission arrives after all
    ]
    table = FlowTable()
    evs = [table.add(s) for s in segs]
    flow = evs[0][0].flow
    assert evs[5] == [StreamGap(flow, 0, segs[5].frame, segs[5].time, 100, 50)]
    assert evs[6] == [StreamData(flow, 0, segs[6].frame, segs[6].time, data[150:300], 150)]
    assert flow.retransmissions == 1  # [100,150) of it was already accounted for


def test_ack_of_fin_past_trailing_hole():
    c = Cap()
    segs = c.handshake() + [
        c.seg(0, 0, b"A" * 100),
        # [100,200) lost from the capture; then an empty FIN at 200
        c.seg(0, 200, flags="FA"),
        c.seg(1, 0, flags="FA", ack=201),
    ]
    table = FlowTable()
    evs = [table.add(s) for s in segs]
    flow = evs[0][0].flow
    fin2 = segs[-1]
    assert evs[-1] == [
        StreamGap(flow, 0, fin2.frame, fin2.time, 100, 100),
        FlowEnded(flow, fin2.frame, fin2.time, "fin"),
    ]


def test_ack_beyond_everything_seen_is_a_trailing_gap_at_end():
    c = Cap()
    segs = c.handshake() + [
        c.seg(0, 0, b"A" * 100),
        c.seg(1, 0, flags="A", ack=200),  # [100,200) sent but never captured
    ]
    table = FlowTable()
    assert of(run(segs, table, flush=False), StreamGap) == []
    flow = table._open[0]
    # No FIN seen: the last acknowledged sequence number may be an unseen
    # FIN, so one is held back.
    assert of(table.flush(), StreamGap) == [StreamGap(flow, 0, segs[-1].frame, segs[-1].time, 100, 99)]


def test_later_sequence_numbers_reveal_trailing_loss_at_end():
    c = Cap()
    segs = c.handshake() + [
        c.seg(0, 0, b"A" * 100),
        c.seg(0, 300, b"D" * 100),  # held; [100,300) missing
        c.seg(0, 400, flags="FA"),
        c.seg(1, 0, flags="FA", ack=0),  # acks nothing
    ]
    events = run(segs)
    assert layout(events) == [("data", 0, b"A" * 100), ("gap", 100, 200), ("data", 300, b"D" * 100)]
    assert events[-1].reason == "fin"  # both FINs seen; hole only given up at end


def test_fin_with_hole_waits_for_retransmission():
    c = Cap()
    segs = c.handshake() + [
        c.seg(0, 0, b"A" * 100),
        c.seg(0, 200, b"C" * 100),
        c.seg(0, 300, flags="FA"),
        c.seg(1, 0, flags="FA", ack=100),  # peer closes too, but has not got [100,200)
        c.seg(0, 100, b"B" * 100),  # the retransmission
    ]
    table = FlowTable()
    evs = [table.add(s) for s in segs]
    flow = evs[0][0].flow
    assert not of(evs[6], FlowEnded)
    last = segs[-1]
    assert evs[7] == [
        StreamData(flow, 0, last.frame, last.time, b"B" * 100 + b"C" * 100, 100),
        FlowEnded(flow, last.frame, last.time, "fin"),
    ]
    assert flow.gaps == 0


def test_snaplen_cut_segment_is_gap_after_its_bytes():
    c = Cap()
    data = pattern(1200, 6)
    segs = c.handshake() + [
        c.seg(0, 0, data[:100]),
        c.seg(0, 100, data[100:1100], snaplen=40 + 300),  # IPv4 20 + TCP 20 + 300 bytes kept
        c.seg(0, 1100, data[1100:1200]),
    ]
    cut = segs[4]
    assert cut.payload == data[100:400] and cut.missing == 700
    table = FlowTable()
    evs = [table.add(s) for s in segs]
    flow = evs[0][0].flow
    assert evs[4] == [
        StreamData(flow, 0, cut.frame, cut.time, data[100:400], 100),
        StreamGap(flow, 0, cut.frame, cut.time, 400, 700),
    ]
    assert evs[5] == [StreamData(flow, 0, segs[5].frame, segs[5].time, data[1100:1200], 1100)]
    assert flow.bytes[0] == 1200 and flow.gap_bytes == 700


def test_snaplen_cut_segment_out_of_order():
    c = Cap()
    data = pattern(600, 7)
    segs = c.handshake() + [
        c.seg(0, 200, data[200:500], snaplen=40 + 100),  # held: [200,300) + lost [300,500)
        c.seg(0, 500, data[500:600]),
        c.seg(0, 0, data[0:200]),
    ]
    table = FlowTable()
    evs = [table.add(s) for s in segs]
    flow = evs[0][0].flow
    f = segs[-1]
    assert evs[-1] == [
        StreamData(flow, 0, f.frame, f.time, data[0:300], 0),
        StreamGap(flow, 0, f.frame, f.time, 300, 200),
        StreamData(flow, 0, f.frame, f.time, data[500:600], 500),
    ]


def test_full_copy_fills_bytes_a_snaplen_cut_copy_lacked():
    c = Cap()
    data = pattern(400, 8)
    segs = c.handshake() + [
        c.seg(0, 100, data[100:400], snaplen=40 + 50),  # held [100,150) + lost [150,400)
        c.seg(0, 100, data[100:400]),  # a full copy (another capture path)
        c.seg(0, 0, data[0:100]),
    ]
    events = run(segs)
    assert layout(events) == [("data", 0, data)]


# --------------------------------------------------------------- sequence space


def test_wraparound_across_2_32():
    isn = MASK - 150  # data starts at 2**32 - 150
    c = Cap(isn=(isn, 7))
    data = pattern(500, 9)
    segs = c.handshake() + [
        c.seg(0, 0, data[0:100]),
        c.seg(0, 200, data[200:300]),  # seq wrapped
        c.seg(0, 100, data[100:200]),  # crosses the wrap
        c.seg(0, 300, data[300:400]),
        c.seg(0, 450, data[450:500]),
        c.seg(1, 0, flags="A", ack=500),  # ack number itself has wrapped
    ]
    assert segs[4].seq == 50 and segs[5].seq == (2**32 - 50)
    table = FlowTable()
    evs = [table.add(s) for s in segs]
    flow = evs[0][0].flow
    events = [e for x in evs[:-1] for e in x]
    assert layout(events) == [("data", 0, data[0:400])]
    assert evs[-1] == [
        StreamGap(flow, 0, segs[-1].frame, segs[-1].time, 400, 50),
        StreamData(flow, 0, segs[-1].frame, segs[-1].time, data[450:500], 450),
    ]


def test_offsets_are_64_bit_beyond_4_gib():
    c = Cap(isn=(MASK - 10, 7))
    chunk = bytes(65483)
    template = c.seg(0, 0, chunk, "PA")
    table = FlowTable()
    table.add(c.seg(0, -1, flags="S"))
    n = (2**32 // len(chunk)) + 2  # past 4 GiB
    seq = template.seq
    offset = 0
    for i in range(n):
        evs = table.add(dataclasses.replace(template, frame=10 + i, seq=seq))
        assert len(evs) == 1 and evs[0].offset == offset
        offset += len(chunk)
        seq = (seq + len(chunk)) & MASK
    assert offset > 2**32
    # out of order beyond 4 GiB, then a hole given up by ACK
    a = dataclasses.replace(template, frame=10**6, seq=(seq + 100) & MASK, payload=b"x" * 100)
    b = dataclasses.replace(template, frame=10**6 + 1, seq=seq, payload=b"w" * 50)
    assert table.add(a) == []
    (got,) = table.add(b)
    assert got.offset == offset and got.data == b"w" * 50
    ack = to_segment(c.packet(1, 0, flags="A"), 10**6 + 2, 0.0)
    ack.ack = (seq + 200) & MASK
    evs = table.add(ack)
    assert [(type(e), e.offset) for e in evs] == [(StreamGap, offset + 50), (StreamData, offset + 100)]
    assert evs[0].size == 50


def test_syn_with_data_and_fin_with_data():
    c = Cap()
    segs = [
        c.seg(0, -1, b"early", flags="S"),  # data in the SYN: offset 0
        c.seg(1, -1, flags="SA", ack=5),
        c.seg(0, 5, b" bird", "PA"),
        c.seg(0, 10, b"!", "FPA"),  # FIN after its data: FIN at 11
        c.seg(1, 0, b"ok", "FPA", ack=12),  # acks the FIN: no gap
        c.seg(0, 12, flags="A", ack=3),
    ]
    events = run(segs)
    assert layout(events, 0, 0) == [("data", 0, b"early bird!")]
    assert layout(events, 0, 1) == [("data", 0, b"ok")]
    assert of(events, StreamGap) == []
    flow = events[0].flow
    assert flow.streams[0].fin_offset == 11 and flow.streams[1].fin_offset == 2
    assert of(events, FlowEnded)[0].frame == segs[4].frame
    assert flow.late_packets == 1


def test_retransmitted_syn_and_fin_are_counted_not_data():
    c = Cap()
    segs = [c.seg(0, -1, flags="S"), c.seg(0, -1, flags="S")] + [
        c.seg(1, -1, flags="SA"),
        c.seg(0, 0, b"abc", "PA"),
        c.seg(0, 3, flags="FA"),
        c.seg(0, 3, flags="FA"),
    ]
    events = run(segs)
    flow = events[0].flow
    assert layout(events) == [("data", 0, b"abc")]
    assert flow.retransmissions == 2
    assert len(of(events, FlowStarted)) == 1
    assert events[-1].reason == "end-of-capture"


def test_rst_ends_flow_and_gives_up_holes():
    c = Cap()
    segs = c.handshake() + [
        c.seg(0, 0, b"A" * 10),
        c.seg(0, 20, b"C" * 10),
        c.seg(1, 0, flags="RA", ack=10),
        c.seg(0, 30, b"late"),  # after the end: absorbed
    ]
    table = FlowTable()
    evs = [table.add(s) for s in segs]
    flow = evs[0][0].flow
    rst = segs[5]
    assert evs[5] == [
        StreamGap(flow, 0, rst.frame, rst.time, 10, 10),
        StreamData(flow, 0, rst.frame, rst.time, b"C" * 10, 20),
        FlowEnded(flow, rst.frame, rst.time, "rst"),
    ]
    assert evs[6] == [] and flow.late_packets == 1
    assert table.flush() == []


def test_zero_window_counted_but_not_on_rst():
    c = Cap()
    segs = c.handshake() + [
        c.seg(0, 0, b"x" * 10),
        c.seg(1, 0, flags="A", ack=10, window=0),
        c.seg(1, 0, flags="A", ack=10, window=0),
        c.seg(1, 0, flags="A", ack=10, window=100),
        c.seg(1, 0, flags="R", window=0),
    ]
    events = run(segs)
    flow = events[0].flow
    assert flow.zero_windows == 2 and flow.zero_window_first_frame == segs[4].frame


def test_keepalive_is_not_data():
    c = Cap()
    segs = c.handshake() + [
        c.seg(0, 0, b"hello", "PA"),
        c.seg(1, 0, flags="A", ack=5),
        c.seg(0, 4, b"\x00", "A"),  # keep-alive: seq = next - 1, one garbage byte
        c.seg(0, 5, b"more", "PA"),
    ]
    events = run(segs)
    flow = events[0].flow
    assert layout(events) == [("data", 0, b"hellomore")]
    assert of(events, OverlapMismatch) == []
    assert flow.keepalives == 1 and flow.retransmissions == 0


def test_one_byte_segment_before_a_seen_fin_is_data_not_keepalive():
    c = Cap()
    segs = c.handshake() + [
        c.seg(0, 0, b"abc", "PA"),
        c.seg(0, 4, flags="FA"),  # FIN seen before the last byte
        c.seg(0, 3, b"\x00", "PA"),  # seq = highest seen - 1, one byte: real data here
    ]
    events = run(segs)
    assert layout(events) == [("data", 0, b"abc\x00")]
    assert events[0].flow.keepalives == 0


# --------------------------------------------------------------- flows


def test_start_not_in_capture():
    c = Cap(isn=(70000, 900000))
    segs = [
        c.seg(1, 5000, b"server-bytes", "PA", ack=300),  # first packet: server side, mid-stream
        c.seg(0, 300, b"client", "PA", ack=5012),
        c.seg(1, 5012, b"!", "PA", ack=306),
        c.seg(0, 306, b"?", "PA", ack=5013),
    ]
    events = run(segs)
    flow = events[0].flow
    # direction 0 is the sender of the first packet; offsets start at its seq
    assert flow.endpoints[0] == (bytes([10, 0, 0, 2]), 1935)
    assert layout(events, 0, 0) == [("data", 0, b"server-bytes!")]
    assert layout(events, 0, 1) == [("data", 0, b"client?")]
    assert flow.streams[0].base_seq == 900000 + 1 + 5000
    assert not flow.syn_seen(0)
    assert of(events, StreamGap) == []


def test_syn_sender_is_direction_0_even_when_server_port_lower():
    c = Cap(a=("10.0.0.9", 1935), b=("10.0.0.1", 80))
    events = run(c.handshake())
    assert events[0].flow.endpoints[0] == (bytes([10, 0, 0, 9]), 1935)


def test_new_syn_after_fin_is_new_flow():
    c = Cap()
    first = c.handshake() + [
        c.seg(0, 0, b"one", "PA"),
        c.seg(0, 3, flags="FA"),
        c.seg(1, 0, flags="FA", ack=4),
        c.seg(0, 4, flags="A", ack=1),
    ]
    c2 = Cap(isn=(777777, 888888))
    c2.frame = c.frame
    second = c2.handshake() + [c2.seg(0, 0, b"two", "PA")]
    events = run(first + second)
    started = of(events, FlowStarted)
    assert [s.flow.id for s in started] == [0, 1]
    assert started[1].flow.first_frame == second[0].frame
    assert layout(events, 0, 0) == [("data", 0, b"one")]
    assert layout(events, 1, 0) == [("data", 0, b"two")]
    ended = of(events, FlowEnded)
    assert [(e.flow.id, e.reason) for e in ended] == [(0, "fin"), (1, "end-of-capture")]
    assert started[0].flow.packets == [5, 2]


def test_new_syn_after_rst_is_new_flow():
    c = Cap()
    c2 = Cap(isn=(1234, 0))
    segs = [c.seg(0, -1, flags="S"), c.seg(1, 0, flags="RA")]
    c2.frame = c.frame
    segs += [c2.seg(0, -1, flags="S"), c2.seg(1, -1, flags="SA")]
    events = run(segs)
    assert [(type(e).__name__, e.flow.id) for e in events] == [
        ("FlowStarted", 0),
        ("FlowEnded", 0),
        ("FlowStarted", 1),
        ("FlowEnded", 1),
    ]
    assert events[1].reason == "rst" and events[3].reason == "end-of-capture"


def test_new_syn_with_other_isn_on_open_flow_replaces_it():
    c = Cap()
    segs = c.handshake() + [c.seg(0, 0, b"abc", "PA"), c.seg(0, 10, b"held")]
    c2 = Cap(isn=(424242, 5))
    c2.frame = c.frame
    segs += [c2.seg(0, -1, flags="S")]
    table = FlowTable()
    evs = [table.add(s) for s in segs]
    old = evs[0][0].flow
    last = evs[-1]
    assert [type(e).__name__ for e in last] == ["StreamGap", "StreamData", "FlowEnded", "FlowStarted"]
    assert last[0].offset == 3 and last[0].size == 7 and last[1].data == b"held"
    assert last[2].reason == "reused" and last[2].flow is old and last[2].frame == segs[4].frame
    assert last[3].flow.id == 1 and last[3].flow.syn_seen(0)


def test_syn_for_mid_stream_flow():
    c = Cap()
    # capture starts mid-stream; a bare SYN that fits just before the first
    # seen bytes is the same connection, any other is a new one
    segs = [c.seg(0, 0, b"abc", "PA"), c.seg(0, -1, flags="S")]
    events = run(segs)
    assert len(of(events, FlowStarted)) == 1
    assert layout(events) == [("data", 0, b"abc")]
    c.frame = 0
    segs = [c.seg(0, 0, b"abc", "PA"), c.seg(0, 99, flags="S")]
    events = run(segs)
    assert [e.flow.id for e in of(events, FlowStarted)] == [0, 1]


def test_eviction_of_least_recently_active_flow():
    table = FlowTable(max_flows=2)
    caps = [Cap(a=("10.0.0.1", 40000 + i)) for i in range(3)]
    frame = 0

    def seg(i, *args, **kw):
        nonlocal frame
        caps[i].frame = frame
        s = caps[i].seg(*args, **kw)
        frame = s.frame
        return s

    events = []
    events += table.add(seg(0, 0, 0, b"a0", "PA"))
    events += table.add(seg(1, 0, 0, b"b0", "PA"))
    events += table.add(seg(0, 0, 10, b"a-held", "PA"))  # flow 0 active again, with a hole
    events += table.add(seg(1, 0, 2, b"b1", "PA"))  # flow 1 most recent; flow 0 oldest
    evs = table.add(seg(2, 0, 0, b"c0", "PA"))  # third flow: flow 0 goes
    assert [type(e).__name__ for e in evs] == ["FlowStarted", "StreamGap", "StreamData", "FlowEnded", "StreamData"]
    assert evs[3].reason == "evicted" and evs[3].flow.id == 0
    assert (evs[1].offset, evs[1].size) == (2, 8) and evs[2].data == b"a-held"
    assert table.open_flows == 2
    # flow 0's 4-tuple comes back: a new flow
    evs = table.add(seg(0, 0, 16, b"again", "PA"))
    assert isinstance(evs[0], FlowStarted) and evs[0].flow.id == 3
    assert any(isinstance(e, FlowEnded) and e.flow.id == 1 and e.reason == "evicted" for e in evs)


def test_out_of_order_buffer_bound():
    table = FlowTable(max_buffer=250)
    c = Cap()
    segs = c.handshake() + [
        c.seg(0, 0, b"a" * 100),
        c.seg(0, 200, b"c" * 100),
        c.seg(0, 400, b"e" * 100),  # 200 bytes held
        c.seg(0, 600, b"g" * 100),  # 300 > 250: first hole goes
    ]
    evs = [table.add(s) for s in segs]
    flow = evs[0][0].flow
    f = segs[-1]
    assert evs[-1] == [
        StreamGap(flow, 0, f.frame, f.time, 100, 100),
        StreamData(flow, 0, f.frame, f.time, b"c" * 100, 200),
    ]
    assert flow.streams[0].pending_bytes == 200
    tail = table.flush()
    events = [e for x in evs for e in x] + tail
    assert layout(events) == [
        ("data", 0, b"a" * 100),
        ("gap", 100, 100),
        ("data", 200, b"c" * 100),
        ("gap", 300, 100),
        ("data", 400, b"e" * 100),
        ("gap", 500, 100),
        ("data", 600, b"g" * 100),
    ]


def test_out_of_order_piece_bound():
    r = StreamReassembler(max_pieces=3)
    out = []
    r.feed(0, 0x10, b"a", 0, 1, 0.0, out)
    for i, off in enumerate((2, 4, 6, 8)):
        r.feed(off, 0x10, b"x", 0, 2 + i, 0.0, out)
    assert [(type(e).__name__, e.offset) for e in out] == [
        ("StreamData", 0),
        ("StreamGap", 1),
        ("StreamData", 2),
    ]
    assert r.pending_pieces == 3


# --------------------------------------------------------------- property


def _lossless_capture(
    up: bytes, down: bytes, isns, cuts_up, cuts_down, extra, order_seed, with_fin, random_acks=False
):
    """Segments of one lossless connection, data shuffled and duplicated.

    Handshake first (a SYN after data could not be placed by anyone); data
    carries ACKs of the peer's SYN only, since a shuffled capture's ACK numbers
    would otherwise claim bytes the capture has not shown yet (with
    `random_acks`, each segment acknowledges a random amount of the peer's
    stream instead).
    """
    c = Cap(isn=isns)
    head = c.handshake()
    body = []

    def segments(d, data, cuts):
        bounds = [0] + sorted(set(x for x in cuts if 0 < x < len(data))) + [len(data)]
        for lo, hi in zip(bounds, bounds[1:]):
            body.append((d, lo, data[lo:hi], "PA"))

    segments(0, up, cuts_up)
    segments(1, down, cuts_down)
    for d, lo, hi in extra:  # re-segmented copies of bytes that exist
        data = up if d == 0 else down
        lo, hi = sorted((lo % (len(data) + 1), hi % (len(data) + 1)))
        if hi > lo:
            body.append((d, lo, data[lo:hi], "A"))
    if with_fin:
        body.append((0, len(up), b"", "FA"))
        body.append((1, len(down), b"", "FA"))
    rnd = random.Random(order_seed)
    rnd.shuffle(body)
    # duplicate some
    body += rnd.sample(body, k=min(len(body), rnd.randint(0, 4)))
    rnd.shuffle(body)
    if random_acks:
        lengths = (len(up), len(down))
        return head + [
            c.seg(d, rel, data, flags, ack=rnd.randint(0, lengths[1 - d])) for d, rel, data, flags in body
        ]
    return head + [c.seg(d, rel, data, flags) for d, rel, data, flags in body]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    up=st.binary(min_size=0, max_size=400),
    down=st.binary(min_size=0, max_size=200),
    isns=st.tuples(
        st.one_of(st.integers(0, MASK), st.integers(MASK - 500, MASK)),
        st.one_of(st.integers(0, MASK), st.integers(MASK - 300, MASK)),
    ),
    cuts_up=st.lists(st.integers(0, 400), max_size=8),
    cuts_down=st.lists(st.integers(0, 200), max_size=4),
    extra=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 400), st.integers(0, 400)), max_size=4),
    order_seed=st.integers(0, 2**32),
    with_fin=st.booleans(),
)
def test_property_permutation_and_duplication_is_lossless(
    up, down, isns, cuts_up, cuts_down, extra, order_seed, with_fin
):
    segs = _lossless_capture(up, down, isns, cuts_up, cuts_down, extra, order_seed, with_fin)
    events = run(segs)
    assert of(events, StreamGap) == []
    assert of(events, OverlapMismatch) == []
    assert layout(events, 0, 0) == ([("data", 0, up)] if up else [])
    assert layout(events, 0, 1) == ([("data", 0, down)] if down else [])
    assert len(of(events, FlowStarted)) == 1
    ended = of(events, FlowEnded)
    assert len(ended) == 1 and ended[0].reason == ("fin" if with_fin else "end-of-capture")
    assert events[-1] is ended[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    up=st.binary(min_size=1, max_size=400),
    down=st.binary(min_size=0, max_size=200),
    isns=st.tuples(st.integers(MASK - 300, MASK), st.integers(0, MASK)),
    cuts_up=st.lists(st.integers(0, 400), max_size=8),
    cuts_down=st.lists(st.integers(0, 200), max_size=4),
    extra=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 400), st.integers(0, 400)), max_size=4),
    order_seed=st.integers(0, 2**32),
    with_fin=st.booleans(),
    drop=st.sets(st.integers(0, 20), max_size=4),
)
def test_property_losses_and_any_acks_never_misplace_bytes(
    up, down, isns, cuts_up, cuts_down, extra, order_seed, with_fin, drop
):
    """Whatever is lost and whatever the ACKs claim, delivered bytes are the
    original bytes at their true offsets, and nothing lies past the stream."""
    segs = _lossless_capture(up, down, isns, cuts_up, cuts_down, extra, order_seed, with_fin, random_acks=True)
    segs = segs[:3] + [s for i, s in enumerate(segs[3:]) if i not in drop]
    events = run(segs)
    for d, data in ((0, up), (1, down)):
        items = layout(events, 0, d)  # contiguity is checked in there
        extent = 0
        for kind, offset, x in items:
            if kind == "data":
                assert x == data[offset : offset + len(x)]
                extent = offset + len(x)
            else:
                extent = offset + x
        assert extent <= len(data)
    assert len(of(events, FlowEnded)) == 1


def test_property_helper_can_detect_a_loss():
    """The property's checks are not vacuous: drop one data segment and they fail."""
    up = pattern(300, 10)
    segs = _lossless_capture(up, b"", (1, 2), [100, 200], [], [], 3, False)
    kept = [s for s in segs if s.payload != up[100:200]]  # every copy of [100,200)
    assert len(kept) < len(segs)
    events = run(kept)
    assert layout(events, 0, 0) == [("data", 0, up[:100]), ("gap", 100, 100), ("data", 200, up[200:])]


@pytest.mark.parametrize("seed", range(5))
def test_random_reorder_against_direct_reassembler(seed):
    """Larger random streams through StreamReassembler alone, with overlaps."""
    rnd = random.Random(seed)
    data = bytes(rnd.getrandbits(8) for _ in range(20000))
    isn = rnd.choice([0, MASK - 5000, rnd.getrandbits(32)])
    pieces = []
    for _ in range(300):
        lo = rnd.randrange(len(data))
        hi = min(len(data), lo + rnd.randint(1, 1500))
        pieces.append((lo, hi))
    pos = 0
    while pos < len(data):  # guarantee coverage
        hi = min(len(data), pos + rnd.randint(1, 1460))
        pieces.append((pos, hi))
        pos = hi
    rnd.shuffle(pieces)
    r = StreamReassembler()
    out = []
    r.feed(isn, 0x02, b"", 0, 0, 0.0, out)
    for i, (lo, hi) in enumerate(pieces):
        r.feed((isn + 1 + lo) & MASK, 0x10, data[lo:hi], 0, i + 1, 0.0, out)
    r.finish(0, 0.0, out)
    assert [type(e) for e in out] == [StreamData] * len(out)
    assert b"".join(e.data for e in out) == data
    assert r.pending_bytes == 0
