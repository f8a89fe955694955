"""Differential fuzzing of the two cores: the same capture through runner.run() with RunOptions(native=True)
(the Rust engine reads the capture, reassembles TCP and decodes the chunk layer) and RunOptions(native=False)
(the pure-Python reference), each into the JSON document sink, as fuzz_pipeline.py does.

Input forms, as fuzz_pipeline.py (its `synthetic_pcap` builds the capture): bytes starting with a pcap /
pcapng / gzip magic are the capture itself; anything else becomes a synthetic pcap of one TCP connection.
An input of odd length is run with decode_as=(1935,) (mid-session decoding without a handshake) in both.

A finding: the two outputs differ in any byte, where an output is the whole JSON document, or the message of
the CaptureError raised when the capture cannot be opened (one core raising it and the other not is a
difference too). Any other exception is a finding as well (it is fuzz_pipeline's job, but not hidden here).
The finding's text names the first differing line of the two documents.
"""

from __future__ import annotations

import io
import os
import tempfile

import _common
from _common import Finding

with _common.instrument():
    from rtmp_inspect.capture.reader import CaptureError
    from rtmp_inspect.export.json_export import JsonDocumentSink
    from rtmp_inspect.runner import RunOptions, run

from fuzz_pipeline import MAGICS, synthetic_pcap  # noqa: E402
from fuzz_pipeline import PATH as _PIPELINE_PATH

if os.path.exists(_PIPELINE_PATH):  # fuzz_pipeline made a temporary file of its own at import: not used here
    os.unlink(_PIPELINE_PATH)

_FD, PATH = tempfile.mkstemp(
    prefix="fuzz_differential_", suffix=".pcap", dir="/dev/shm" if os.path.isdir("/dev/shm") else None
)
os.close(_FD)


def output(native: bool, decode_as: tuple[int, ...]) -> str:
    """The JSON document of one core, or "CaptureError: <message>" when the capture cannot be opened."""
    sink = JsonDocumentSink()
    try:
        done = run(PATH, sink, RunOptions(decode_as=decode_as, native=native))
    except CaptureError as exc:
        sink.close()
        return f"CaptureError: {exc}"
    out = io.StringIO()
    sink.write(out, done.capture_json(), done.sessions)
    return out.getvalue()


def first_difference(a: str, b: str) -> str:
    la, lb = a.splitlines(), b.splitlines()
    for n, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            at = next(i for i, (p, q) in enumerate(zip(x, y)) if p != q) if x[: len(y)] != y[: len(x)] else min(
                len(x), len(y))
            lo = max(0, at - 80)
            return f"line {n + 1}, column {at + 1}:\n  native: {x[lo:at + 160]!r}\n  python: {y[lo:at + 160]!r}"
    return f"line counts {len(la)} (native) vs {len(lb)} (python); lengths {len(a)} vs {len(b)}"


def test_one_input(data: bytes) -> None:
    capture = data if data[:4] in MAGICS or data[:2] == b"\x1f\x8b" else synthetic_pcap(data)
    with open(PATH, "wb") as fh:
        fh.write(capture)
    decode_as = (1935,) if len(data) & 1 else ()
    native = output(True, decode_as)
    python = output(False, decode_as)
    if native != python:
        raise Finding(f"native and Python outputs differ (decode_as={decode_as}), "
                      f"{first_difference(native, python)}")


def main() -> None:
    import atexit

    atexit.register(lambda: os.path.exists(PATH) and os.unlink(PATH))
    _common.fuzz(test_one_input)


if __name__ == "__main__":
    main()
