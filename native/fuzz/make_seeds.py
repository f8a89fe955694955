"""Seed corpora for the cargo-fuzz harnesses: native/fuzz/corpus/{reader,reassembly,chunks}/.

reader: every capture of samples/*.pcap, samples/public/* and samples/variants/*.pcap(ng), cut to its first
64 KB (whole when smaller), each behind a few option/piece-size headers (see fuzz_targets/reader.rs).
chunks: small generated RTMP streams (handshake, Set Chunk Size, messages of several chunk streams, extended
timestamps) in every decoder mode, plus the first 16 KB of a few per-direction streams of the samples.
reassembly: small random inputs (its input is structure, not data).

    python native/fuzz/make_seeds.py
"""

from __future__ import annotations

import hashlib
import random
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CUT = 64 * 1024


def put(folder: Path, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def captures() -> list[Path]:
    found = sorted((ROOT / "samples").glob("*.pcap"))
    found += sorted(p for p in (ROOT / "samples" / "public").iterdir() if p.suffix in (".pcap", ".pcapng", ".cap"))
    found += sorted(p for p in (ROOT / "samples" / "variants").iterdir() if p.suffix in (".pcap", ".pcapng"))
    return found


def reader_header(options: int, sizes: list[int]) -> bytes:
    return bytes([options | len(sizes)]) + b"".join(struct.pack("<H", s) for s in sizes)


# ---------------------------------------------------------------- RTMP streams (as native/rtmp/tests/common)

def basic_header(fmt: int, csid: int) -> bytes:
    if csid < 64:
        return bytes([fmt << 6 | csid])
    if csid < 320:
        return bytes([fmt << 6, csid - 64])
    return bytes([fmt << 6 | 1]) + struct.pack("<H", csid - 64)


def message(csid: int, type_id: int, body: bytes, ts: int = 0, sid: int = 1, size: int = 128,
            repeat: bool = True) -> bytes:
    ext = ts >= 0xFFFFFF
    head = basic_header(0, csid) + min(ts, 0xFFFFFF).to_bytes(3, "big") + len(body).to_bytes(3, "big")
    head += bytes([type_id]) + struct.pack("<I", sid) + (struct.pack(">I", ts) if ext else b"")
    out = bytearray(head + body[:size])
    for at in range(size, len(body), size):
        out += basic_header(3, csid) + (struct.pack(">I", ts) if ext and repeat else b"") + body[at : at + size]
    return bytes(out)


def handshake(version: int = 3) -> bytes:
    c1 = struct.pack(">II", 5, 0) + bytes((i * 7 + 1) & 0xFF for i in range(1528))
    s1 = struct.pack(">II", 0, 0) + bytes((i * 5 + 2) & 0xFF for i in range(1528))
    return bytes([version]) + c1 + s1


def stream(rng: random.Random, with_handshake: bool, count: int) -> bytes:
    data = bytearray(handshake(rng.choice([3, 3, 3, 6, 31])) if with_handshake else b"")
    size = rng.choice([128, 300, 4096, 1, 65536])
    data += message(2, 1, struct.pack(">I", size))
    for i in range(count):
        body = rng.randbytes(rng.choice([0, 1, 100, 129, 700]))
        data += message(rng.choice([3, 4, 6, 70, 400]), rng.choice([8, 9, 18, 20, 2, 3, 4, 5, 6]), body,
                        ts=rng.choice([33 * i, 0xFFFFFF + i, 0x12345678]), size=size, repeat=i % 5 != 0)
    return bytes(data)


def chunks_header(mode: int, size_choice: int, cuts: list[int], gaps: list[tuple[int, int]]) -> bytes:
    out = bytes([mode | size_choice << 2, len(cuts) | len(gaps) << 5])
    out += b"".join(struct.pack("<H", c) for c in cuts)
    out += b"".join(struct.pack("<HH", at, size) for at, size in gaps)
    return out


def sample_streams() -> list[bytes]:
    """Per-direction TCP streams of a few samples, through the pure-Python reader and flow table."""
    sys.path.insert(0, str(ROOT))
    from rtmp_inspect.capture.reader import open_capture
    from rtmp_inspect.flows.events import StreamData
    from rtmp_inspect.flows.table import FlowTable

    out = []
    for name in ("publish_play.pcap", "ext_timestamp.pcap", "midsession.pcap", "big_chunk.pcap"):
        streams: dict[tuple[int, int], bytearray] = {}
        table = FlowTable()
        with open_capture(str(ROOT / "samples" / name)) as reader:
            for segment in reader.segments():
                for event in table.add(segment):
                    if isinstance(event, StreamData):
                        streams.setdefault((event.flow.id, event.direction), bytearray()).extend(event.data)
        out += [bytes(s[: 16 * 1024]) for s in list(streams.values())[:2]]
    return out


def main() -> None:
    corpus = HERE / "corpus"
    rng = random.Random(11)
    for path in captures():
        raw = path.read_bytes()[:CUT]
        put(corpus / "reader", reader_header(0, []) + raw)
        put(corpus / "reader", reader_header(32, [1448, 7, 0, 4096]) + raw)
        put(corpus / "reader", reader_header(16, [rng.randrange(1, 65536) for _ in range(3)]) + raw)
        if len(raw) <= 4096:
            put(corpus / "reader", reader_header(64, [1]) + raw)
    for n in range(8):
        put(corpus / "reassembly", rng.randbytes(64 + n * 96))
    for n in range(12):
        data = stream(rng, n % 4 == 0, 6 + n)
        mode = n % 4
        cuts = [rng.randrange(len(data) + 1) for _ in range(rng.randrange(8))]
        gaps = [(rng.randrange(len(data) + 1), rng.randrange(1, 2000)) for _ in range(n % 3)]
        put(corpus / "chunks", chunks_header(mode, n % 4, cuts, gaps) + data)
    for i, data in enumerate(sample_streams()):
        put(corpus / "chunks", chunks_header(i % 2, 0, [1448, 3000, 9000], []) + data)
    for name in ("reader", "reassembly", "chunks"):
        print(name, len(list((corpus / name).iterdir())))


if __name__ == "__main__":
    main()
