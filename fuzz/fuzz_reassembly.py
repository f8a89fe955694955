"""Fuzz the flow table and TCP reassembly with segments derived from fuzz bytes.

The first byte picks the table's bounds (tiny ones reach the eviction and overflow paths) and the mode:

* truthful: every payload is a slice of one known byte stream per direction (random offsets, sizes, order,
  duplicates, snap-length cuts, ACKs); whatever is delivered must equal the truth at its offset.
* free: sequence numbers, flags (SYN/FIN/RST), payloads, ACKs all arbitrary, several 4-tuples.

Checks in both: per (flow, direction) the StreamData/StreamGap offsets are contiguous from 0, sizes positive,
flow ids new in order, one FlowStarted and at most one FlowEnded per flow, nothing for a flow after it ended.
"""

from __future__ import annotations

import random

import _common
from _common import Finding

with _common.instrument():
    from rtmp_inspect.capture.segment import TcpSegment
    from rtmp_inspect.flows.events import FlowEnded, FlowStarted, OverlapMismatch, StreamData, StreamGap
    from rtmp_inspect.flows.table import FlowTable

TRUTH = [random.Random(d).randbytes(1 << 17) for d in (0, 1)]
ADDRS = [(b"\x0a\x00\x00\x01", 40000, b"\x0a\x00\x00\x02", 1935),
         (b"\x0a\x00\x00\x01", 40001, b"\x0a\x00\x00\x02", 1935),
         (b"\x20\x01\x0d\xb8" + b"\x00" * 11 + b"\x01", 40002, b"\x20\x01\x0d\xb8" + b"\x00" * 11 + b"\x02", 1935)]


class Checker:
    def __init__(self, truthful: bool) -> None:
        self.truthful = truthful
        self.next_offset: dict[tuple[int, int], int] = {}
        self.started: set[int] = set()
        self.ended: set[int] = set()
        self.last_id = -1
        self.first_off: dict[int, int] = {}  # truthful: truth offset of stream offset 0, per sender

    def events(self, events: list) -> None:
        for ev in events:
            kind = type(ev)
            fid = ev.flow.id
            if kind is FlowStarted:
                if fid in self.started or fid != self.last_id + 1:
                    raise Finding(f"flow {fid} started out of order (last {self.last_id})")
                self.started.add(fid)
                self.last_id = fid
                continue
            if fid not in self.started:
                raise Finding(f"event for flow {fid} before FlowStarted: {ev!r}")
            if fid in self.ended:
                raise Finding(f"event for flow {fid} after FlowEnded: {kind.__name__}")
            if kind is FlowEnded:
                self.ended.add(fid)
            elif kind is StreamData or kind is StreamGap:
                key = (fid, ev.direction)
                size = len(ev.data) if kind is StreamData else ev.size
                expect = self.next_offset.get(key, 0)
                if ev.offset != expect or size <= 0:
                    raise Finding(f"{kind.__name__} at {ev.offset} size {size}, expected offset {expect}")
                self.next_offset[key] = expect + size
                if kind is StreamData and self.truthful:
                    base = self.first_off.get(self.dir_of(ev))
                    if base is not None:
                        truth = TRUTH[self.dir_of(ev)][base + ev.offset : base + ev.offset + size]
                        if bytes(ev.data) != truth:
                            raise Finding(f"delivered bytes at offset {ev.offset} differ from what was sent")
            elif kind is OverlapMismatch:
                if self.truthful:
                    raise Finding("overlap mismatch although every copy was identical")

    def dir_of(self, ev) -> int:
        # direction 0 is the sender of the flow's first packet: map back to the endpoint we used
        src = ev.flow.endpoints[ev.direction]
        return 0 if src[1] != 1935 else 1


def test_one_input(data: bytes) -> None:
    fdp = _common.Bytes(data)
    setup = fdp.int(0, 255)
    truthful = bool(setup & 1)
    if setup & 2:
        table = FlowTable(max_flows=1 + (setup >> 6), max_buffer=1 << (8 + ((setup >> 2) & 7)),
                          max_pieces=1 + ((setup >> 5) & 7) * 3, history=1 << ((setup >> 3) & 15))
    else:
        table = FlowTable()
    checker = Checker(truthful)
    isn = [fdp.int(0, 0xFFFFFFFF), fdp.int(0, 0xFFFFFFFF)]
    sent_max = [0, 0]
    frame = 0
    while fdp.remaining() > 0 and frame < 2000:
        frame += 1
        op = fdp.int(0, 255)
        d = op & 1
        src, sport, dst, dport = ADDRS[0] if truthful else ADDRS[(op >> 1) % 3]
        if d:
            src, sport, dst, dport = dst, dport, src, sport
        if truthful:
            off = fdp.int(0, (1 << 17) - 1) if op & 0x80 else \
                min(max(0, sent_max[d] + fdp.int(-3000, 3000)), (1 << 17) - 1)
            size = min(fdp.int(0, 3000), (1 << 17) - off)
            payload = TRUTH[d][off : off + size]
            missing = 0
            if op & 0x40 and size:
                cut = fdp.int(0, size)
                payload, missing = payload[:cut], size - cut
            seq = (isn[d] + off) & 0xFFFFFFFF
            flags = 0x18 if op & 0x20 else 0x08
            ack = (isn[1 - d] + fdp.int(0, sent_max[1 - d] + 100)) & 0xFFFFFFFF
            sent_max[d] = max(sent_max[d], off + size)
        else:
            mode = (op >> 3) & 3
            if mode == 0:
                seq = fdp.int(0, 0xFFFFFFFF)
            else:
                seq = (isn[d] + sent_max[d] + fdp.int(-70000, 70000)) & 0xFFFFFFFF
            flags = fdp.int(0, 255)
            payload = fdp.take(fdp.int(0, 1500))
            missing = fdp.int(0, 3000) if op & 0x20 else 0
            ack = fdp.int(0, 0xFFFFFFFF)
            sent_max[d] = max(sent_max[d], (seq - isn[d]) & 0xFFFF)
        segment = TcpSegment(frame, 1700000000.0 + frame / 1000, src, sport, dst, dport, seq, ack, flags,
                             0 if op & 0x10 and not truthful else 65535, payload, missing)
        if truthful and d not in checker.first_off:
            checker.first_off[d] = off
        events = table.add(segment)
        checker.events(events)
        for flow in list(table._open.values()):
            for stream in flow.streams:
                if stream.pending_bytes > table._stream_opts["max_buffer"] + 3000 or \
                        stream.pending_pieces > table._stream_opts["max_pieces"] + 1:
                    raise Finding(f"reassembly bound exceeded: {stream.pending_bytes} bytes, "
                                  f"{stream.pending_pieces} pieces")
    checker.events(table.flush())


def main() -> None:
    _common.fuzz(test_one_input)


if __name__ == "__main__":
    main()
