"""Reading + TCP reassembly alone, against tshark's cheapest pass over the same file (issue 2).

    python benchmarks/reading.py [FILE]      # default: benchmarks/out/media.pcap (make_inputs.py builds it)

Prints MB/s for rtmp-inspect's capture reader + flow table (no RTMP decoding) and the ratio of its wall time to
`tshark -r FILE -T fields -e frame.number`, measured one after the other on the same (page-cached) file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rtmp_inspect.capture.reader import open_capture  # noqa: E402
from rtmp_inspect.flows.table import FlowTable  # noqa: E402


def read_and_reassemble(path: str) -> tuple[int, int]:
    table = FlowTable()
    delivered = 0
    with open_capture(path) as reader:
        for segment in reader.segments():
            for event in table.add(segment):
                data = getattr(event, "data", None)
                if data is not None:
                    delivered += len(data)
        table.flush()
        return reader.packets, delivered


def best_of(runs: int, fn) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "benchmarks" / "out" / "media.pcap")
    if not os.path.exists(path):
        print(f"{path} is missing: run python benchmarks/make_inputs.py first", file=sys.stderr)
        return 2
    size = os.path.getsize(path) / 1e6
    ours = best_of(2, lambda: read_and_reassemble(path))
    tshark = best_of(2, lambda: subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.number"],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True))
    packets, delivered = read_and_reassemble(path)
    print(f"file: {path} ({size:,.0f} MB, {packets:,} packets, {delivered / 1e6:,.0f} MB of TCP payload delivered)")
    print(f"rtmp-inspect read+reassemble: {ours:.2f} s ({size / ours:,.0f} MB/s)")
    print(f"tshark -T fields -e frame.number: {tshark:.2f} s ({size / tshark:,.0f} MB/s)")
    print(f"ratio ours/tshark: {ours / tshark:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
