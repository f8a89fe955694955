#!/usr/bin/env python3
"""Check that the optimised JSON paths give exactly what the straightforward code gives.

For every message of the given captures (default: the samples, the test media fixtures made into
messages, and the benchmark inputs if built), the media JSON built by message_json._compact is compared
with the reference expression it replaces. Exit 1 on any difference.

Usage: python benchmarks/check_fastpaths.py [CAPTURE ...]
"""

from __future__ import annotations

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from rtmp_inspect.analysis.pipeline import Analyzer  # noqa: E402
from rtmp_inspect.capture.reader import CaptureError, open_capture  # noqa: E402
from rtmp_inspect.export import message_json  # noqa: E402
from rtmp_inspect.rtmp.media import parse_audio, parse_video  # noqa: E402


def reference(payload):
    return {k: v for k, v in payload.to_json().items() if v is not None and v != [] and v is not False}


class Sink:
    def __init__(self) -> None:
        self.checked = 0
        self.bad = 0

    def flow_started(self, session) -> None:
        pass

    def message(self, session, record) -> None:
        payload = record.payload
        if record.type_id in (8, 9) and payload is not None:
            self.compare(payload, f"flow {session.id} message {record.index}")

    def compare(self, payload, where: str) -> None:
        self.checked += 1
        want, got = reference(payload), message_json._compact(payload)
        if message_json.dumps(want) != message_json.dumps(got):
            self.bad += 1
            if self.bad <= 5:
                print(f"DIFFERENT at {where}:\n  want {want}\n  got  {got}")

    def warning(self, session, record) -> None:
        pass

    def flow_finished(self, session) -> None:
        pass


def main(argv: list[str]) -> int:
    root = os.path.dirname(HERE)
    paths = argv or sorted(
        glob.glob(os.path.join(root, "samples", "**", "*.pcap*"), recursive=True)
        + glob.glob(os.path.join(root, "tests", "data", "**", "*.pcap*"), recursive=True)
        + [p for p in (os.path.join(HERE, "out", "media.pcap"), os.path.join(HERE, "out", "media128.pcap"))
           if os.path.exists(p)]
    )
    sink = Sink()
    for path in paths:
        try:
            reader = open_capture(path)
        except CaptureError:
            continue
        analyzer = None
        for n, segment in enumerate(reader.segments()):
            if analyzer is None:
                analyzer = Analyzer(sink, reader.start or segment.time)
            analyzer.add(segment)
            if n > 30000:  # enough of a big benchmark input
                break
        if analyzer is not None:
            analyzer.finish()
    # Every media fixture's tags, and every truncation of their first bytes (errors, odd fields).
    for path in glob.glob(os.path.join(root, "tests", "data", "media", "*.flv")):
        data = open(path, "rb").read()
        pos = 13
        tags = 0
        while pos + 11 <= len(data) and tags < 400:
            kind = data[pos]
            size = int.from_bytes(data[pos + 1:pos + 4], "big")
            body = data[pos + 11:pos + 11 + size]
            pos += 11 + size + 4
            tags += 1
            parse = parse_video if kind == 9 else parse_audio if kind == 8 else None
            if parse is None:
                continue
            for cut in (len(body), 1, 2, 5, 9, 17, 40):
                sink.compare(parse(body[:cut]), f"{os.path.basename(path)} tag {tags} cut {cut}")
    print(f"{sink.checked} media payloads compared, {sink.bad} different")
    return 1 if sink.bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
