#!/usr/bin/env python3
"""End-to-end check that the optimised hot paths change no output.

Runs the CLI twice per capture and format (json, jsonl): once as the working tree is, once with the
committed (git HEAD, or EQUIV_BASE=<rev>) versions of the optimised modules swapped in (rtmp/chunks.py, analysis/session.py,
analysis/pipeline.py, export/message_json.py, export/json_export.py), and compares the outputs byte for byte.
Also feeds every capture's streams to both chunk decoders in odd slice sizes (1, 7, 1448, 65536 bytes).

Usage: python benchmarks/check_equivalence.py [CAPTURE ...]
       python benchmarks/check_equivalence.py --time CAPTURE ...   (HEAD vs working tree, wall time)
       (default: /work/shared/captures/*, and the first 30 MB of each benchmark input if built)
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from rtmp_inspect import cli  # noqa: E402
from rtmp_inspect.analysis import pipeline, session  # noqa: E402
from rtmp_inspect.export import json_export, message_json  # noqa: E402
from rtmp_inspect.rtmp import chunks  # noqa: E402


# The revision to compare with: HEAD, or EQUIV_BASE=<rev> (5ea371d is the last commit before the optimisations).
BASE = os.environ.get("EQUIV_BASE", "HEAD")


def load_head(relpath: str, package: str) -> types.ModuleType:
    source = subprocess.run(["git", "show", f"{BASE}:{relpath}"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    module = types.ModuleType(package + ".head_" + os.path.basename(relpath)[:-3])
    module.__package__ = package
    module.__file__ = relpath
    sys.modules[module.__name__] = module
    exec(compile(source, f"{relpath}@{BASE}", "exec"), module.__dict__)
    return module


old_chunks = load_head("rtmp_inspect/rtmp/chunks.py", "rtmp_inspect.rtmp")
old_session = load_head("rtmp_inspect/analysis/session.py", "rtmp_inspect.analysis")
old_session.ChunkDecoder = old_chunks.ChunkDecoder
old_pipeline = load_head("rtmp_inspect/analysis/pipeline.py", "rtmp_inspect.analysis")
old_pipeline.FlowSession = old_session.FlowSession
old_mj = load_head("rtmp_inspect/export/message_json.py", "rtmp_inspect.export")
old_je = load_head("rtmp_inspect/export/json_export.py", "rtmp_inspect.export")
old_je.dumps, old_je.message_to_json = old_mj.dumps, old_mj.message_to_json

NEW = (pipeline.Analyzer, json_export.JsonDocumentSink, json_export.JsonLinesSink)
OLD = (old_pipeline.Analyzer, old_je.JsonDocumentSink, old_je.JsonLinesSink)


def run(path: str, fmt: str, which) -> bytes:
    cli.Analyzer, cli.JsonDocumentSink, cli.JsonLinesSink = which
    with tempfile.NamedTemporaryFile(suffix="." + fmt) as out:
        with open(os.devnull, "w") as devnull:
            saved = sys.stderr
            sys.stderr = devnull
            try:
                cli.main([path, "--format", fmt, "-o", out.name])
            finally:
                sys.stderr = saved
        return open(out.name, "rb").read()


def prefix(path: str, size: int) -> str:
    """The first `size` bytes of a pcap, cut at a record boundary."""
    import struct

    dest = os.path.join(tempfile.gettempdir(), "equiv-" + os.path.basename(path))
    with open(path, "rb") as f, open(dest, "wb") as o:
        o.write(f.read(24))
        written = 24
        while written < size:
            head = f.read(16)
            if len(head) < 16:
                break
            caplen = struct.unpack("<IIII", head)[2]
            o.write(head + f.read(caplen))
            written += 16 + caplen
    return dest


def decoder_slices(path: str) -> int:
    """Feed every RTMP direction of a capture to both decoders in several slice sizes; count differences."""
    from rtmp_inspect.capture.reader import open_capture
    from rtmp_inspect.flows.events import StreamData, StreamGap
    from rtmp_inspect.flows.table import FlowTable

    streams: dict = {}
    table = FlowTable()
    for segment in open_capture(path).segments():
        for event in table.add(segment):
            if type(event) in (StreamData, StreamGap):
                key = (event.flow.id, event.direction)
                streams.setdefault(key, []).append(event.data if type(event) is StreamData else event.size)
    bad = 0
    for key, pieces in list(streams.items())[:40]:
        data_only = b"".join(p for p in pieces if isinstance(p, bytes))[:8_000_000]
        for size in (1, 7, 1448, 65536):
            if size == 1 and len(data_only) > 300_000:
                continue
            results = []
            for cls in (chunks.ChunkDecoder, old_chunks.ChunkDecoder):
                d = cls(True)
                events = []
                for i in range(0, len(data_only), size):
                    events += d.receive_data(data_only[i:i + size])
                events += d.finish()
                results.append([repr(e) for e in events])
            if results[0] != results[1]:
                bad += 1
                print(f"  decoder events differ: {path} flow {key} slices of {size}")
    return bad


def timing(paths: list[str]) -> int:
    """--time: wall time of the working tree vs the base versions of the optimised modules (best of 2)."""
    import time

    for path in paths:
        for fmt in ("json", "jsonl"):
            best = {}
            for _ in range(2):
                for label, which in (("base", OLD), ("now", NEW)):
                    began = time.perf_counter()
                    run(path, fmt, which)
                    took = time.perf_counter() - began
                    best[label] = min(best.get(label, took), took)
            print(f"{os.path.basename(path):16} {fmt:5}  {BASE} {best['base']:6.2f} s  now {best['now']:6.2f} s  "
                  f"speed-up {best['base'] / best['now']:.2f}x", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--time"]:
        return timing(argv[1:])
    paths = argv or sorted(glob.glob("/work/shared/captures/*.pcap*") + glob.glob("/work/shared/captures/*.cap"))
    if not argv:
        for name in ("media", "media128", "sessions"):
            full = os.path.join(HERE, "out", name + ".pcap")
            if os.path.exists(full):
                paths.append(prefix(full, 30_000_000))
    bad = 0
    for path in paths:
        for fmt in ("jsonl", "json"):
            new, old = run(path, fmt, NEW), run(path, fmt, OLD)
            same = new == old
            bad += not same
            print(f"{'same' if same else 'DIFFERENT'}  {fmt:5} {path} ({len(new)} bytes)", flush=True)
        bad += decoder_slices(path)
    print("all outputs identical" if not bad else f"{bad} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
