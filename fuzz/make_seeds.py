"""Build the seed corpora under fuzz/corpus/ from the real samples (samples/*.pcap, samples/public/*).

capture, pipeline: each capture cut to its first 64 KB (whole when smaller), plus a gzipped one;
pipeline also gets synthetic-pcap records (see fuzz_pipeline.py) made from the samples' TCP payloads.
rtmp: per-direction RTMP byte streams cut from the samples (first 64 KB) for modes 0/1/2, and distinct
message bodies (first 4 KB) for mode 3. reassembly: a few random inputs (its input is structure, not data).
"""

from __future__ import annotations

import gzip
import hashlib
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from rtmp_inspect.capture.reader import open_capture  # noqa: E402
from rtmp_inspect.flows.events import StreamData  # noqa: E402
from rtmp_inspect.flows.table import FlowTable  # noqa: E402
from rtmp_inspect.rtmp.chunks import ChunkDecoder  # noqa: E402
from rtmp_inspect.rtmp.events import Message  # noqa: E402

CUT = 64 * 1024


def put(folder: Path, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def samples() -> list[Path]:
    found = sorted((ROOT / "samples").glob("*.pcap")) + sorted(
        p for p in (ROOT / "samples" / "public").iterdir() if p.suffix in (".pcap", ".pcapng", ".cap"))
    return found


def main() -> None:
    corpus = HERE / "corpus"
    for path in samples():
        raw = path.read_bytes()
        for name in ("capture", "pipeline"):
            put(corpus / name, raw[:CUT])
        if path.name == "wireshark_rtmp_sample.cap":
            put(corpus / "capture", gzip.compress(raw))
        streams: dict[tuple[int, int], bytearray] = {}
        records = bytearray([0])
        table = FlowTable()
        with open_capture(str(path)) as reader:
            for segment in reader.segments():
                for event in table.add(segment):
                    if isinstance(event, StreamData):
                        streams.setdefault((event.flow.id, event.direction), bytearray()).extend(event.data)
                        if len(records) < CUT:
                            size = min(len(event.data), 0x7FFF)
                            records += ((event.direction << 15) | size).to_bytes(2, "big") + event.data[:size]
        put(corpus / "pipeline", bytes(records[: CUT + 4096]))
        for stream in list(streams.values())[:4]:
            data = bytes(stream)
            put(corpus / "rtmp", b"\x00" + data[:CUT])
            put(corpus / "rtmp", b"\x01" + data[5000 : 5000 + CUT])
            decoder = ChunkDecoder()
            events = decoder.receive_data(data[: 4 * CUT])
            messages = [e for e in events if isinstance(e, Message)]
            if messages:
                start = messages[0].offset
                put(corpus / "rtmp", b"\x02\x80" + data[start : start + CUT])
            seen = set()
            for m in messages:
                if (m.type_id, len(m.body) // 64) in seen:
                    continue
                seen.add((m.type_id, len(m.body) // 64))
                put(corpus / "rtmp", bytes([3, m.type_id]) + m.body[:4096])
    rng = random.Random(7)
    for n in range(16):
        put(corpus / "reassembly", rng.randbytes(64 + n * 64))
    for name in ("capture", "pipeline", "rtmp", "reassembly"):
        print(name, len(list((corpus / name).iterdir())))


if __name__ == "__main__":
    main()
