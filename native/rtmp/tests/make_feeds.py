"""Turns captures (or generated chunk streams) into feed files: what a ChunkDecoder is given, record by record.

    python native/rtmp/tests/make_feeds.py CAPTURE OUT.feed [--variants plain|full] [--seed N]
    python native/rtmp/tests/make_feeds.py --synthetic COUNT OUT.feed [--seed N]
    python native/rtmp/tests/make_feeds.py --crafted OUT.feed

The capture is read by the pure Python pipeline (`open_capture` + `FlowTable`); for every TCP flow direction
its StreamData bytes and StreamGap sizes, in order, make the decoder's input. Each input becomes several runs
(one decoder each): with the handshake expected; mid-session (`expect_handshake=False`, chunk size inferred)
from a few offsets; at a chunk boundary with a given chunk size; with a known chunk size; fed whole, one byte at
a time, in random pieces and in the original segments. `full` adds seeded mutations (bit flips, byte changes,
insertions, deletions, truncation, inserted gaps, injected control messages), each fed whole and split.
`--synthetic` generates random chunk streams (every fmt, 1-3 byte basic headers, extended timestamps repeated
or not, Set Chunk Size, Abort, interleaved chunk streams), as the hypothesis strategies of tests/test_chunks.py
do, each fed whole and split.

Labels are `GROUP|FEEDING`: runs of one group must give the same events whatever the feeding (the decoder's
documented property); differential.py checks that too.

Feed file format (integers little-endian): b"RTMPFEED1\\n", then records, each a tag byte:
  N  u8 expect_handshake, u8 at_chunk_boundary, u8 has_chunk_size, u32 chunk_size, u16 n, n bytes label
  D  u32 n, n bytes: receive_data        G  u64 size: receive_gap
  F  finish                              S  record the decoder's state (offsets, chunk size, ...)
"""

from __future__ import annotations

import argparse
import random
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from rtmp_inspect.capture.reader import open_capture  # noqa: E402
from rtmp_inspect.flows.events import StreamData, StreamGap  # noqa: E402
from rtmp_inspect.flows.table import FlowTable  # noqa: E402
from tests.support.rtmp_builder import basic_header, chunk_header, echo, handshake_part  # noqa: E402

MAGIC = b"RTMPFEED1\n"
BYTEWISE_LIMIT = 96 * 1024  # one byte per call costs Python about a microsecond each: only the first this many
MUTATE_LIMIT = 160 * 1024  # mutated variants are made from at most this much of a stream
HANDSHAKE_END = 1 + 1536 + 1536


@dataclass
class Stream:
    """One direction's input: its bytes, the gaps (position in `data`, size) and where the segments began."""

    data: bytes
    gaps: list[tuple[int, int]] = field(default_factory=list)
    cuts: list[int] = field(default_factory=list)


@dataclass
class Run:
    label: str
    handshake: bool
    boundary: bool
    chunk_size: int | None
    ops: list  # ("D", bytes) | ("G", size)



# -- captures ------------------------------------------------------------------------------------------------

def capture_streams(path: str) -> list[tuple[str, Stream]]:
    """Every TCP flow direction of a capture, as the pure Python pipeline delivers it."""
    reader = open_capture(path)
    table = FlowTable()
    found: dict[tuple[int, int], Stream] = {}
    pieces: dict[tuple[int, int], list[bytes]] = {}
    sizes: dict[tuple[int, int], int] = {}

    def take(events) -> None:
        for ev in events:
            if isinstance(ev, (StreamData, StreamGap)):
                key = (ev.flow.id, ev.direction)
                stream = found.setdefault(key, Stream(b""))
                at = sizes.get(key, 0)
                if isinstance(ev, StreamData):
                    stream.cuts.append(at)
                    pieces.setdefault(key, []).append(bytes(ev.data))
                    sizes[key] = at + len(ev.data)
                else:
                    stream.gaps.append((at, ev.size))

    try:
        for seg in reader.segments():
            take(table.add(seg))
        take(table.flush())
    finally:
        reader.close()
    out = []
    for key, stream in found.items():
        stream.data = b"".join(pieces.get(key, []))
        out.append((f"flow{key[0]}.{key[1]}", stream))
    return out


# -- streams to decoder inputs -------------------------------------------------------------------------------

def ops_of(stream: Stream, cuts) -> list:
    """The stream's data cut at `cuts` (and at its gaps), with the gaps in place."""
    data = stream.data
    n = len(data)
    gaps_at: dict[int, list[int]] = {}
    for at, size in stream.gaps:
        gaps_at.setdefault(min(max(at, 0), n), []).append(size)
    marks = sorted({c for c in cuts if 0 < c < n} | {g for g in gaps_at if 0 < g < n})
    ops = [("G", size) for size in gaps_at.get(0, [])]
    last = 0
    for mark in marks + [n]:
        if mark > last:
            ops.append(("D", data[last:mark]))
        if mark:
            ops += [("G", size) for size in gaps_at.get(mark, [])]
        last = mark
    return ops


def random_cuts(rng: random.Random, size: int, mean: int) -> list[int]:
    cuts, pos = [], 0
    while True:
        pos += rng.randint(1, 2 * mean)
        if pos >= size:
            return cuts
        cuts.append(pos)


def feedings(stream: Stream, rng: random.Random, bytewise: bool) -> list[tuple[str, list]]:
    """Ways to feed one stream; all must give the same events."""
    out = [("whole", ops_of(stream, []))]
    if stream.cuts:
        out.append(("segments", ops_of(stream, stream.cuts)))
    out.append(("random", ops_of(stream, random_cuts(rng, len(stream.data), rng.choice((3, 50, 700, 3000))))))
    if bytewise and len(stream.data) <= BYTEWISE_LIMIT:
        out.append(("bytes", ops_of(stream, range(1, len(stream.data)))))
    return out


def from_offset(stream: Stream, start: int) -> Stream:
    """The stream as a capture that began `start` bytes in would have it."""
    start = min(start, len(stream.data))
    return Stream(stream.data[start:], [(g - start, s) for g, s in stream.gaps if g >= start],
                  [c - start for c in stream.cuts if c > start])


def prefix(stream: Stream, size: int) -> Stream:
    if len(stream.data) <= size:
        return stream
    return Stream(stream.data[:size], [(g, s) for g, s in stream.gaps if g <= size], [c for c in stream.cuts if c < size])


# -- modes and variants --------------------------------------------------------------------------------------

MODES = {
    # name: (expect_handshake, at_chunk_boundary, chunk_size)
    "hs": (True, False, None),
    "mid": (False, False, None),
    "known4096": (False, False, 4096),
    "known128": (False, False, 128),
    "mid-known1": (False, False, 1),
    "boundary128": (False, True, 128),
    "boundary0": (False, True, 0),
}


def mode_runs(group: str, mode: str, stream: Stream, rng: random.Random, bytewise: bool) -> list[Run]:
    handshake, boundary, size = MODES[mode]
    return [Run(f"{group}|{name}", handshake, boundary, size, ops) for name, ops in feedings(stream, rng, bytewise)]


def plain_runs(name: str, stream: Stream, rng: random.Random) -> list[Run]:
    """Unmutated: every mode, mid-session from a few offsets."""
    small = prefix(stream, BYTEWISE_LIMIT)
    runs = mode_runs(f"{name}/hs", "hs", stream, rng, False)
    if small is not stream:
        runs += mode_runs(f"{name}/hs-prefix", "hs", small, rng, True)
    else:
        runs += [Run(f"{name}/hs|bytes", True, False, None, ops_of(stream, range(1, len(stream.data))))]
    size = len(stream.data)
    offsets = sorted({0, 1, HANDSHAKE_END, HANDSHAKE_END + 1 + rng.randrange(200),
                      rng.randrange(size + 1), rng.randrange(size + 1)})
    for start in offsets:
        if start > size:
            continue
        part = from_offset(stream, start)
        runs += mode_runs(f"{name}/mid@{start}", "mid", part, rng, False)
        if start == HANDSHAKE_END:
            runs += mode_runs(f"{name}/boundary128@{start}", "boundary128", part, rng, False)
            runs += mode_runs(f"{name}/boundary0@{start}", "boundary0", part, rng, False)
    start = rng.randrange(size + 1)
    runs += mode_runs(f"{name}/known4096@{start}", "known4096", from_offset(stream, start), rng, False)
    runs += mode_runs(f"{name}/known128@{start}", "known128", from_offset(stream, start), rng, False)
    return runs


def control_message(rng: random.Random) -> bytes:
    """A chunk-layer control message or a hostile header, to inject."""
    csid = rng.choice((2, 3, 4, 5, 6, 64, 320))
    kind = rng.randrange(6)
    if kind == 0:  # Set Chunk Size: small, large, zero, top bit
        value = rng.choice((1, 2, 60, 128, 4096, 60000, 65536, 0, 0x80001000, 0x7FFFFFFF, rng.getrandbits(32)))
        return chunk_header(0, 2, 0, 4, 1, 0) + struct.pack(">I", value)
    if kind == 1:  # Abort
        return chunk_header(0, 2, 0, 4, 2, 0) + struct.pack(">I", rng.choice((csid, 4, 6, rng.getrandbits(32))))
    if kind == 2:  # short control message
        return chunk_header(0, 2, 0, rng.randrange(4), rng.choice((1, 2)), 0) + bytes(rng.randrange(4))
    if kind == 3:  # huge length, few bytes
        return chunk_header(0, csid, 0, 0xFFFFFF, 9, 1) + bytes(rng.randrange(20))
    if kind == 4:  # extended timestamp header
        return chunk_header(rng.randrange(3), csid, 0x1000000 + rng.randrange(1000), rng.randrange(300), 8, 1)
    return basic_header(rng.randrange(4), rng.choice((csid, 0, 1, 65599)))


def mutate(stream: Stream, rng: random.Random) -> Stream:
    data = bytearray(stream.data)
    gaps = list(stream.gaps)

    def shift(at: int, by: int) -> None:
        for i, (g, s) in enumerate(gaps):
            if g > at:
                gaps[i] = (max(at, g + by), s)

    def where() -> int:
        if not data:
            return 0
        if rng.random() < 0.4:
            return rng.randrange(min(len(data), 6000))
        return rng.randrange(len(data))

    for _ in range(rng.randint(1, 6)):
        kind = rng.randrange(10)
        p = where()
        if kind == 0 and data:
            data[min(p, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif kind == 1 and data:
            data[min(p, len(data) - 1)] = rng.choice((0x00, 0xFF, 0xC3, 0x02, 0x03, 0x43, 0x83, rng.randrange(256)))
        elif kind == 2:
            extra = bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
            data[p:p] = extra
            shift(p - 1, len(extra))
        elif kind == 3:
            n = rng.choice((1, 2, 5, 100, 1000, 5000))
            del data[p : p + n]
            shift(p, -n)
        elif kind == 4 and rng.random() < 0.5:
            del data[p:]
            gaps = [(g, s) for g, s in gaps if g <= p]
        elif kind == 5:  # a gap where bytes were lost
            n = rng.choice((1, 7, 128, 1448, 5000, 70000))
            n = min(n, len(data) - p) or 1
            del data[p : p + n]
            shift(p, -n)
            gaps.append((p, n))
        elif kind == 6:  # a gap whose size does not match what is missing
            gaps.append((p, rng.choice((1, 100, 2**32, 2**40))))
        elif kind == 7 and data:
            n = rng.randint(1, 3000)
            piece = bytes(data[p : p + n])
            data[p:p] = piece
            shift(p - 1, len(piece))
        else:
            piece = control_message(rng)
            data[p:p] = piece
            shift(p - 1, len(piece))
    return Stream(bytes(data), sorted(gaps, key=lambda g: g[0]), [])


def mutated_runs(name: str, stream: Stream, rng: random.Random, count: int) -> list[Run]:
    base = prefix(stream, MUTATE_LIMIT)
    runs = []
    for i in range(count):
        mode = rng.choice(("hs", "hs", "hs", "mid", "boundary128", "known4096"))
        variant = mutate(base, rng)
        if mode != "hs":
            variant = from_offset(variant, rng.choice((0, HANDSHAKE_END, rng.randrange(len(variant.data) + 1))))
        handshake, boundary, size = MODES[mode]
        group = f"{name}/mut{i}.{mode}"
        ops = [("whole", ops_of(variant, [])),
               ("random", ops_of(variant, random_cuts(rng, len(variant.data), rng.choice((1, 5, 100, 1500)))))]
        runs += [Run(f"{group}|{feeding}", handshake, boundary, size, o) for feeding, o in ops]
    return runs


# -- synthetic chunk streams ---------------------------------------------------------------------------------

def synthetic_stream(rng: random.Random) -> tuple[bytes, str]:
    """A random but mostly well-formed chunk stream, in one of the decoder's modes."""
    mode = rng.choice(("hs", "hs", "boundary128", "mid"))
    out = bytearray()
    if mode == "hs":
        c0, c1 = handshake_part(rng.choice((3, 3, 3, 6, 31)), time=rng.getrandbits(32), fill=rng.randrange(256))
        out += c0 + c1 + echo(handshake_part(3, fill=rng.randrange(256))[1], rng.getrandbits(32))
    chunk_size = 128
    repeat_extended = rng.random() < 0.6
    csids = rng.sample((2, 3, 4, 5, 6, 7, 8, 63, 64, 65, 300, 319, 320, 321, 5000, 65599), rng.randint(1, 5))
    last: dict[int, tuple[int, int, int]] = {}  # csid -> (length, type, timestamp field)
    active: list[list] = []  # [csid, body, sent, extended_ts or None]

    def emit_chunk(item) -> None:
        nonlocal chunk_size
        csid, body, sent, ext, type_id = item
        if sent == 0:
            raise AssertionError
        out.extend(basic_header(3, csid))
        if ext is not None and repeat_extended:
            out.extend(struct.pack(">I", ext))
        piece = body[sent : sent + chunk_size]
        out.extend(piece)
        item[2] = sent + len(piece)
        if item[2] >= len(body) and type_id == 1 and len(body) >= 4:
            size = int.from_bytes(body[:4], "big") & 0x7FFFFFFF
            chunk_size = size or chunk_size

    for _ in range(rng.randint(1, 60)):
        if active and rng.random() < 0.5:
            item = rng.choice(active)
            emit_chunk(item)
            if item[2] >= len(item[1]):
                active.remove(item)
            continue
        r = rng.random()
        if r < 0.08:
            size = rng.choice((1, 7, 128, 300, 1000, 4096, 60000, 65536, 0, 0x80000080))
            csid, type_id, body = 2, 1, struct.pack(">I", size)
        elif r < 0.12:
            csid, type_id, body = 2, 2, struct.pack(">I", rng.choice(csids))
        else:
            csid = rng.choice(csids)
            type_id = rng.choice((8, 9, 18, 20, 4, 5, 6, 3, 15, 17, 22, rng.randrange(256)))
            n = rng.choice((0, 1, 2, 50, 127, 128, 129, 300, 1000, 5000, rng.randrange(70000)))
            body = bytes(rng.randrange(256) for _ in range(min(n, 64))) * (n // 64 + 1)
            body = body[:n]
        if any(a[0] == csid for a in active) and rng.random() < 0.9:
            continue  # that chunk stream is busy (sometimes not: a header in the middle of a message)
        ts = rng.choice((0, 1, 33, 1000, 0xFFFFFE, 0xFFFFFF, 0x1000000, 0xFFFFFFFF, rng.getrandbits(32)))
        prev = last.get(csid)
        fmt = 0
        if prev is not None:
            fmt = rng.choice((0, 1, 2, 3)) if (len(body), type_id) == prev[:2] else rng.choice((0, 1, 1))
        if rng.random() < 0.03:
            fmt = rng.randrange(4)  # whatever the state
        if fmt == 3:
            ts = prev[2] if prev else 0
        if fmt == 0:
            header = chunk_header(0, csid, ts, len(body), type_id, rng.choice((0, 1, 1, 5, 0xFFFFFFFF)))
        elif fmt == 3:
            header = basic_header(3, csid)
            if ts >= 0xFFFFFF and repeat_extended:
                header += struct.pack(">I", ts)
        else:
            header = chunk_header(fmt, csid, ts, len(body), type_id)
        last[csid] = (len(body), type_id, ts)
        out += header
        first = body[:chunk_size]
        out += first
        item = [csid, body, len(first), ts if ts >= 0xFFFFFF else None, type_id]
        if item[2] >= len(body):
            if type_id == 1 and len(body) >= 4:
                chunk_size = (int.from_bytes(body[:4], "big") & 0x7FFFFFFF) or chunk_size
        else:
            active.append(item)
    while active:
        item = rng.choice(active)
        emit_chunk(item)
        if item[2] >= len(item[1]):
            active.remove(item)
    return bytes(out), mode


def synthetic_runs(count: int, rng: random.Random) -> list[Run]:
    runs = []
    for i in range(count):
        if rng.random() < 0.1:  # random bytes, a gap, the bytes reversed (test_random_bytes_never_raise)
            data = rng.randbytes(rng.randrange(3000))
            mode = rng.choice(("hs", "mid", "boundary128"))
            stream = Stream(data + data[::-1], [(len(data), 10)])
            runs += mode_runs(f"synthetic{i}.random.{mode}", mode, stream, rng, True)
            continue
        data, mode = synthetic_stream(rng)
        stream = Stream(data)
        if rng.random() < 0.3:
            stream = mutate(stream, rng)
        if mode == "mid":
            stream = from_offset(stream, rng.randrange(len(stream.data) // 2 + 1))
        runs += mode_runs(f"synthetic{i}.{mode}", mode, stream, rng, len(data) < 20000)
    return runs


# -- crafted limits and fuzz inputs -------------------------------------------------------------------------

def crafted_runs(rng: random.Random) -> list[Run]:
    """The limits and corner cases random streams rarely reach."""
    cases: list[tuple[str, str, Stream]] = []
    # More than MAX_CHUNK_STREAMS chunk streams: idle ones (forgotten), then all busy (partials dropped).
    idle = b"".join(chunk_header(0, 64 + i, i, 3, 8, 1) + b"abc" for i in range(1100))
    busy = b"".join(chunk_header(0, 64 + i, i, 300, 9, 1) + bytes(128) for i in range(1100))
    fmt1 = b"".join(chunk_header(1, 64 + i, 5, 1, 8) + b"x" for i in range(1030))
    cases += [("streams-idle", "boundary128", Stream(idle)), ("streams-busy", "boundary128", Stream(busy)),
              ("streams-fmt1", "boundary128", Stream(fmt1 + idle))]
    # More than MAX_PENDING_BYTES in incomplete messages: 16 MB messages in 64 KB chunks, on the fast path
    # (one-byte chunk stream ids) and on the general one (two-byte ids), then one more after the drop.
    for name, base in (("pending-fast", 3), ("pending-general", 64)):
        out = bytearray(chunk_header(0, 2, 0, 4, 1, 0) + struct.pack(">I", 65536))
        piece = bytes(range(256)) * 256
        for i in range(5):
            out += chunk_header(0, base + i, 0, 0xFFFFFF, 9, 1) + piece
        for _ in range(205):
            for i in range(5):
                out += basic_header(3, base + i) + piece
        out += chunk_header(0, base, 7, 10, 9, 1) + bytes(10)
        cases.append((name, "boundary128", Stream(bytes(out))))
    # Set Chunk Size short, zero, top bit, the largest; then chunk size 1.
    body = bytes(range(256)) * 8
    small = (chunk_header(0, 2, 0, 2, 1, 0) + b"\x00\x10" + chunk_header(0, 2, 0, 4, 1, 0) + struct.pack(">I", 0)
             + chunk_header(0, 2, 0, 4, 1, 0) + struct.pack(">I", 0x80000001) + chunk_header(0, 6, 0, len(body), 9, 1))
    small += b"".join(basic_header(3, 6) + body[i : i + 1] if i else body[:1] for i in range(len(body)))
    cases.append(("chunk-size-1", "boundary128", Stream(small)))
    # The largest chunk size, then a gap: an unknown stream's chunk is skipped only once 2 GB are buffered.
    large = chunk_header(0, 2, 0, 4, 1, 0) + struct.pack(">I", 0x7FFFFFFF) + chunk_header(0, 5, 0, 20, 8, 1) + bytes(20)
    after = b"".join(chunk_header(0, 4, 40 * i, 50, 8, 1) + bytes([i]) * 50 for i in range(20))
    cases.append(("chunk-size-max-gap", "boundary128", Stream(large + after[:-5] + basic_header(3, 7) * 300 + after,
                                                                [(len(large) + 30, 100)])))
    # Gaps: at the very start, inside the handshake, one after another, large.
    hs = handshake_part(3)[0] + handshake_part(3)[1] + echo(handshake_part(3, fill=1)[1])
    media = b"".join(chunk_header(0, 6, 33 * i, 400, 9, 1) + bytes([i]) * 128 + basic_header(3, 6) + bytes([i]) * 128
                     + basic_header(3, 6) + bytes([i]) * 128 + basic_header(3, 6) + bytes([i]) * 16 for i in range(200))
    cases += [("gap-start", "hs", Stream(hs + media, [(0, 5), (0, 7)])),
              ("gap-handshake", "hs", Stream(hs + media, [(700, 1536)])),
              ("gap-c2", "hs", Stream(hs + media, [(1537 + 1536 + 5, 3)])),
              ("gaps-many", "hs", Stream(hs + media, [(3073 + 1000 * k, 2 ** (k % 41)) for k in range(60)])),
              ("gap-mid", "mid", Stream(media, [(100, 1), (20000, 5)])),
              ("gap-end", "hs", Stream(hs + media, [(len(hs + media), 9)]))]
    # Extended timestamps: repeated, then omitted (inconsistent), and a fmt 3 new message after them.
    ext = (chunk_header(0, 6, 0x1000000, 300, 9, 1) + bytes(128) + basic_header(3, 6) + struct.pack(">I", 0x1000000)
           + bytes(128) + basic_header(3, 6) + bytes(44) + basic_header(3, 6) + struct.pack(">I", 0x1000000)
           + bytes(128) + basic_header(3, 6) + bytes(128) + basic_header(3, 6) + bytes(44) + basic_header(3, 6) + bytes(300))
    cases.append(("extended", "boundary128", Stream(ext)))
    # Resynchronisation on bytes that never convince: random, zeros, plausible headers whose messages never
    # fit, and a known chunk size of 1 (the search's worst cases; each window is searched once).
    misleading = chunk_header(0, 3, 0, 200, 8, 1) + b"\xc3" * 3
    cases += [("resync-random", "mid", Stream(rng.randbytes(600_000))),
              ("resync-zeros", "mid", Stream(bytes(600_000))),
              ("resync-misleading", "mid", Stream(misleading * 40_000)),
              ("resync-known1", "mid-known1", Stream(b"\xc3\x00" * 300_000))]
    runs = []
    for name, mode, stream in cases:
        runs += mode_runs(f"crafted.{name}.{mode}", mode, stream, rng, len(stream.data) <= BYTEWISE_LIMIT)
        if len(stream.data) < 1_000_000:
            variant = mutate(stream, rng)
            runs += mode_runs(f"crafted.{name}.mut.{mode}", mode, variant, rng, False)
    return runs


FUZZ_SPLITS = (1, 7, 128, 1000, 4096)


def fuzz_runs(paths: list[Path]) -> list[Run]:
    """Inputs of fuzz/fuzz_rtmp.py (modes 0-2), fed as that harness feeds them, and whole."""
    runs = []
    for path in paths:
        data = path.read_bytes()
        if not data or data[0] & 3 == 3:
            continue
        head, data = data[0], data[1:]
        mode = head & 3
        if mode == 0:
            handshake, boundary, size = True, False, None
        elif mode == 1:
            handshake, boundary, size = False, False, None
        else:
            size = (data[0] if data else 1) or 1
            size = size * 997 if head & 0x20 else size
            data = data[1:]
            handshake, boundary = False, True
        step = FUZZ_SPLITS[(head >> 2) % len(FUZZ_SPLITS)]
        if len(data) > 4096 and step < 128:
            step = 128
        ops, pos, n = [], 0, 0
        while pos < len(data):
            piece = step if not head & 0x80 else 1 + (data[pos] * 13 + n) % (2 * step)
            n += 1
            ops.append(("D", data[pos : pos + piece]))
            pos += piece
            if head & 0x40 and n % 5 == 3:
                ops.append(("G", 1 + data[min(pos, len(data)) - 1] * 3))
        group = f"fuzz.{path.name}"
        runs.append(Run(f"{group}|harness", handshake, boundary, size, ops))
        if not head & 0x40:
            runs.append(Run(f"{group}|whole", handshake, boundary, size, [("D", data)] if data else []))
    return runs


# -- output ---------------------------------------------------------------------------------------------------

def write_feed(path: str, runs: list[Run]) -> int:
    """Write the runs; returns how many."""
    with open(path, "wb") as f:
        f.write(MAGIC)
        for run in runs:
            label = run.label.encode()
            f.write(b"N" + struct.pack("<BBBIH", run.handshake, run.boundary, run.chunk_size is not None,
                                       run.chunk_size or 0, len(label)) + label)
            for op in run.ops:
                if op[0] == "D":
                    f.write(b"D" + struct.pack("<I", len(op[1])))
                    f.write(op[1])
                else:
                    f.write(b"G" + struct.pack("<Q", op[1]) + b"S")
            f.write(b"SFS")
    return len(runs)


def capture_runs(path: str, variants: str, seed: int, mutations: int = 24) -> list[Run]:
    rng = random.Random(f"{seed}:{Path(path).name}")
    runs = []
    for name, stream in capture_streams(path):
        if variants == "segments":  # as the analysis feeds it: for measuring speed
            runs.append(Run(f"{name}/hs|segments", True, False, None, ops_of(stream, stream.cuts)))
            continue
        if variants == "bench":  # large inputs: a few modes and feedings
            start = rng.randrange(len(stream.data) + 1)
            later = from_offset(stream, start)
            runs += [Run(f"{name}/hs|segments", True, False, None, ops_of(stream, stream.cuts)),
                     Run(f"{name}/hs|whole", True, False, None, ops_of(stream, [])),
                     Run(f"{name}/mid@0|segments", False, False, None, ops_of(stream, stream.cuts)),
                     Run(f"{name}/mid@{start}|segments", False, False, None, ops_of(later, later.cuts)),
                     Run(f"{name}/mid@{start}|random", False, False, None,
                         ops_of(later, random_cuts(rng, len(later.data), 2000))),
                     Run(f"{name}/known128@{start}|segments", False, False, 128, ops_of(later, later.cuts))]
            continue
        runs += plain_runs(name, stream, rng)
        if variants == "full" and stream.data:
            runs += mutated_runs(name, stream, rng, mutations)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("capture", nargs="?")
    parser.add_argument("out", nargs="?")
    parser.add_argument("--variants", choices=("segments", "bench", "plain", "full"), default="plain",
                        help="segments: each direction once, with the handshake, in its segments; bench: a few "
                        "modes and feedings (for large inputs); plain: every mode and feeding; full: plain and "
                        "mutations")
    parser.add_argument("--synthetic", type=int, metavar="COUNT")
    parser.add_argument("--mutations", type=int, default=24, help="mutated variants per direction (full)")
    parser.add_argument("--crafted", action="store_true",
                        help="the limits and corner cases (and the fuzz regression inputs of fuzz_rtmp.py)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_intermixed_args()
    if args.synthetic is not None:
        args.out = args.out or args.capture
        runs = synthetic_runs(args.synthetic, random.Random(args.seed))
    elif args.crafted:
        args.out = args.out or args.capture
        runs = crafted_runs(random.Random(args.seed))
        runs += fuzz_runs(sorted((ROOT / "tests" / "data" / "fuzz_regressions" / "rtmp").glob("*")))
    else:
        runs = capture_runs(args.capture, args.variants, args.seed, args.mutations)
    print(f"{write_feed(args.out, runs)} runs", file=sys.stderr)


if __name__ == "__main__":
    main()
