#!/usr/bin/env python3
"""Differential dump of the pure-Python reference: rtmp_inspect.capture.reader + rtmp_inspect.flows.table.

    reference_dump.py CAPTURE [--chunk N] [--max-flows N] [--max-ended N] [--max-buffer N] [--max-pieces N]
                      [--history N]

Prints exactly what `cargo run --example dump` prints for the Rust port: one line per packet (TCP segments,
and UDP datagrams through layers.set_udp_hook, in decoding order) followed by the flow events it caused and
the reader's warning and packet counts, then the totals and every flow's final counters. Floats are the hex
of their IEEE bits, bytes length:crc32. `--chunk N` sets the reader's read size (reader.CHUNK).
Nothing of the package is changed: FlowTable is subclassed only to snapshot a flow when it ends.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))

from rtmp_inspect.capture import layers  # noqa: E402
from rtmp_inspect.capture import reader as reader_mod  # noqa: E402
from rtmp_inspect.capture.reader import CaptureError, open_capture  # noqa: E402
from rtmp_inspect.flows.events import FlowEnded, FlowStarted, OverlapMismatch, StreamData, StreamGap  # noqa: E402
from rtmp_inspect.flows.reassembly import DEFAULT_HISTORY, DEFAULT_MAX_BUFFER, DEFAULT_MAX_PIECES  # noqa: E402
from rtmp_inspect.flows.table import DEFAULT_MAX_FLOWS, FlowTable  # noqa: E402

_D = struct.Struct("<d")
_Q = struct.Struct("<Q")


def fb(x: float) -> str:
    return "%016x" % _Q.unpack(_D.pack(x))[0]


def h(b: bytes) -> str:
    return "%d:%08x" % (len(b), zlib.crc32(b))


def opt(x) -> str:
    return "-" if x is None else str(x)


def stream(s) -> str:
    fields = [s.segments, s.retransmissions, s.gaps, s.gap_bytes, s.mismatches, s.mismatch_bytes, s.keepalives,
              int(s.syn_seen), opt(s.isn), opt(s._base), opt(s.fin_offset), s._next, opt(s._next_seq), s._high,
              s._hint, s._acked, s._pending_bytes, len(s._starts), int(s.finished)]
    return "[" + " ".join(str(f) for f in fields) + "]"


def summary(f) -> str:
    (a, pa), (b, pb) = f.endpoints
    return " ".join(str(x) for x in [
        f.id, f"{a.hex()}:{pa}", f"{b.hex()}:{pb}", f.first_frame, fb(f.first_time), f.last_frame, fb(f.last_time),
        f.packets[0], f.packets[1], f.bytes[0], f.bytes[1], f.zero_windows, opt(f.zero_window_first_frame),
        f.late_packets, int(f.ended), f.end_reason or "-", stream(f.streams[0]), stream(f.streams[1]),
    ])


class SnapshotTable(FlowTable):
    """The reference table, plus a snapshot of the flow as each FlowEnded is made (the Rust event carries one)."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.snapshots: dict[int, str] = {}

    def _end(self, flow, reason, frame, time, out) -> None:
        super()._end(flow, reason, frame, time, out)
        self.snapshots[id(out[-1])] = summary(flow)


def dump(path: str, write, chunk: int = 0, max_flows: int = DEFAULT_MAX_FLOWS, max_ended: int | None = None,
         max_buffer: int = DEFAULT_MAX_BUFFER, max_pieces: int = DEFAULT_MAX_PIECES,
         history: int = DEFAULT_HISTORY) -> None:
    """Write the dump of one capture with `write` (a str -> None callable)."""
    saved = reader_mod.CHUNK
    if chunk:
        reader_mod.CHUNK = chunk
    try:
        try:
            reader = open_capture(path)
        except CaptureError as exc:
            write(f"error {exc}\n")
            return
        _dump(reader, write, SnapshotTable(max_flows=max_flows, max_ended=max_ended, max_buffer=max_buffer,
                                           max_pieces=max_pieces, history=history))
    finally:
        reader_mod.CHUNK = saved
        layers.set_udp_hook(None)


def _dump(reader, write, table) -> None:
    flows: dict[int, object] = {}

    def status() -> None:
        write(f"w {len(reader.warnings)} p {reader.packets}\n")

    def on_udp(src, sport, dst, dport, payload, frame, time) -> None:
        write(f"udp {frame} {fb(time)} {src.hex()} {sport} {dst.hex()} {dport} {h(payload)}\n")
        status()

    def events(evs) -> None:
        for e in evs:
            k = type(e)
            if k is StreamData:
                write(f"data {e.flow.id} {e.direction} {e.frame} {fb(e.time)} {e.offset} {h(e.data)}\n")
            elif k is StreamGap:
                write(f"gap {e.flow.id} {e.direction} {e.frame} {fb(e.time)} {e.offset} {e.size}\n")
            elif k is OverlapMismatch:
                write(f"mismatch {e.flow.id} {e.direction} {e.frame} {e.offset} {e.size}\n")
            elif k is FlowStarted:
                flows[e.flow.id] = e.flow
                write(f"start {e.flow.id}\n")
            elif k is FlowEnded:
                write(f"end {e.flow.id} {e.frame} {fb(e.time)} {e.reason} | {table.snapshots.pop(id(e))}\n")
            else:
                raise TypeError(k)

    layers.set_udp_hook(on_udp)
    with reader:
        for seg in reader.segments():
            write(f"tcp {seg.frame} {fb(seg.time)} {seg.src.hex()} {seg.sport} {seg.dst.hex()} {seg.dport} "
                  f"{seg.seq} {seg.ack} {seg.flags} {seg.window} {h(seg.payload)} {seg.missing}\n")
            events(table.add(seg))
            status()
    layers.set_udp_hook(None)
    events(table.flush())
    write(f"format {reader.format}\n")
    write(f"packets {reader.packets}\n")
    write(f"start {'-' if reader.start is None else fb(reader.start)}\n")
    write(f"link_types {','.join(str(x) for x in reader.link_types)}\n")
    for w in reader.warnings:
        write(f"warning {w}\n")
    write(f"flows_started {table.flows_started}\n")
    for fid in sorted(flows):
        write(f"flow {summary(flows[fid])}\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("capture")
    ap.add_argument("--chunk", type=int, default=0)
    ap.add_argument("--max-flows", type=int, default=DEFAULT_MAX_FLOWS)
    ap.add_argument("--max-ended", type=int, default=None)
    ap.add_argument("--max-buffer", type=int, default=DEFAULT_MAX_BUFFER)
    ap.add_argument("--max-pieces", type=int, default=DEFAULT_MAX_PIECES)
    ap.add_argument("--history", type=int, default=DEFAULT_HISTORY)
    args = ap.parse_args()
    out = sys.stdout
    dump(args.capture, out.write, args.chunk, args.max_flows, args.max_ended, args.max_buffer, args.max_pieces,
         args.history)
    out.flush()


if __name__ == "__main__":
    main()
