"""Feeds a feed file (see make_feeds.py) to the pure Python ChunkDecoder and prints one canonical line per event.

    python native/rtmp/tests/reference_events.py FEEDFILE

The Rust twin is `cargo run --release --example events FEEDFILE`; both must print the same bytes.
Lines: `run LABEL` per decoder, then per event one of
    HV version offset | HR time field len sha offset | HE time time2 len sha offset |
    M csid stream_id timestamp type_id len sha offset end_offset chunks first_fmt extended inferred |
    V code severity offset reason | CS size offset | RS offset skipped chunk_size inferred | EN version offset
and `S offset received in_handshake encrypted chunk_size inferred version repeats messages` where the feed asks.
sha: the first 24 hex digits of SHA-256. Every value is checked to be of the type the Rust side has (ints in
range, bools), so a value Rust could not represent shows up as a difference.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from rtmp_inspect.rtmp.chunks import ChunkDecoder  # noqa: E402
from rtmp_inspect.rtmp.events import (  # noqa: E402
    ChunkSizeChanged,
    Encrypted,
    HandshakeEcho,
    HandshakeRandom,
    HandshakeVersion,
    Message,
    Resynchronised,
    Violation,
)

MAGIC = b"RTMPFEED1\n"
U8, U32, U64 = 0xFF, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:24]


def u(value, limit: int) -> int:
    """An int (not a bool) in 0..limit, or a marker that can never match the Rust side."""
    if type(value) is not int or not 0 <= value <= limit:
        return f"BAD({value!r})"  # type: ignore[return-value]
    return value


def b(value) -> int:
    if type(value) is not bool:
        return f"BAD({value!r})"  # type: ignore[return-value]
    return int(value)


def line(ev) -> str:
    t = type(ev)
    if t is Message:
        return (f"M {u(ev.csid, U32)} {u(ev.stream_id, U32)} {u(ev.timestamp, U32)} {u(ev.type_id, U8)} "
                f"{len(ev.body)} {sha(ev.body)} {u(ev.offset, U64)} {u(ev.end_offset, U64)} {u(ev.chunks, U32)} "
                f"{u(ev.first_fmt, 3)} {b(ev.extended_timestamp)} {b(ev.inferred)}")
    if t is Violation:
        assert "\n" not in ev.reason
        return f"V {ev.code} {ev.severity} {u(ev.offset, U64)} {ev.reason}"
    if t is HandshakeVersion:
        return f"HV {u(ev.version, U8)} {u(ev.offset, U64)}"
    if t is HandshakeRandom:
        return f"HR {u(ev.time, U32)} {u(ev.version_field, U32)} {len(ev.data)} {sha(ev.data)} {u(ev.offset, U64)}"
    if t is HandshakeEcho:
        return f"HE {u(ev.time, U32)} {u(ev.time2, U32)} {len(ev.data)} {sha(ev.data)} {u(ev.offset, U64)}"
    if t is ChunkSizeChanged:
        return f"CS {u(ev.size, U32)} {u(ev.offset, U64)}"
    if t is Resynchronised:
        return f"RS {u(ev.offset, U64)} {u(ev.skipped, U64)} {u(ev.chunk_size, U32)} {b(ev.chunk_size_inferred)}"
    if t is Encrypted:
        return f"EN {u(ev.version, U8)} {u(ev.offset, U64)}"
    raise TypeError(ev)


def state(d: ChunkDecoder) -> str:
    opt = lambda v: "-" if v is None else str(int(v))  # noqa: E731
    return (f"S {u(d.offset, U64)} {u(d.received_offset, U64)} {b(d.in_handshake)} {b(d.encrypted)} "
            f"{u(d.chunk_size, U32)} {b(d.chunk_size_inferred)} {opt(d.version)} "
            f"{opt(d.repeats_extended_timestamp)} {u(d.messages, U64)}")


def parse(feed: bytes):
    """Yield the feed's records: ("N", handshake, boundary, chunk_size, label), ("D", bytes), ("G", size), ("F",), ("S",)."""
    if not feed.startswith(MAGIC):
        raise ValueError("not a feed file")
    view = memoryview(feed)
    pos = len(MAGIC)
    while pos < len(feed):
        tag = feed[pos]
        pos += 1
        if tag == ord("N"):
            handshake, boundary, has_size, size, n = struct.unpack_from("<BBBIH", feed, pos)
            pos += 9
            label = bytes(view[pos : pos + n]).decode()
            pos += n
            yield ("N", bool(handshake), bool(boundary), size if has_size else None, label)
        elif tag == ord("D"):
            (n,) = struct.unpack_from("<I", feed, pos)
            pos += 4
            yield ("D", view[pos : pos + n])
            pos += n
        elif tag == ord("G"):
            (size,) = struct.unpack_from("<Q", feed, pos)
            pos += 8
            yield ("G", size)
        elif tag == ord("F"):
            yield ("F",)
        elif tag == ord("S"):
            yield ("S",)
        else:
            raise ValueError(f"unknown record {tag:#x}")


def reference_lines(feed: bytes):
    """The canonical lines of the Python decoder on a feed, as the Rust example prints them."""
    decoder = None
    for record in parse(feed):
        kind = record[0]
        if kind == "N":
            _, handshake, boundary, size, label = record
            decoder = ChunkDecoder(expect_handshake=handshake, chunk_size=size, at_chunk_boundary=boundary)
            yield f"run {label}"
            continue
        if kind == "D":
            events = decoder.receive_data(bytes(record[1]))
        elif kind == "G":
            events = decoder.receive_gap(record[1])
        elif kind == "F":
            events = decoder.finish()
        else:
            yield state(decoder)
            continue
        for ev in events:
            yield line(ev)


def main() -> None:
    feed = Path(sys.argv[1]).read_bytes()
    out = sys.stdout
    buf = []
    for text in reference_lines(feed):
        buf.append(text)
        if len(buf) >= 4096:
            out.write("\n".join(buf) + "\n")
            buf.clear()
    if buf:
        out.write("\n".join(buf) + "\n")


if __name__ == "__main__":
    main()
