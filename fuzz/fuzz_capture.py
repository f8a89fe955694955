"""Fuzz the capture reader: bytes -> a file -> open_capture() -> every segment.

Only CaptureError from open_capture() is an accepted outcome; any other exception (or a CaptureError while
iterating the segments) is a finding. Run: python fuzz/fuzz_capture.py fuzz/corpus/capture -timeout=10 ...
"""

from __future__ import annotations

import os
import tempfile

import _common  # noqa: F401  (import path)

with _common.instrument():
    from rtmp_inspect.capture import layers, reader
    from rtmp_inspect.capture.reader import CaptureError, open_capture

_FD, _PATH = tempfile.mkstemp(
    prefix="fuzz_capture_", suffix=".pcap", dir="/dev/shm" if os.path.isdir("/dev/shm") else None
)
os.close(_FD)


def _udp(*args) -> None:  # the pipeline installs a UDP hook; exercise that path too
    if len(args) != 7:
        raise _common.Finding("udp hook called with the wrong arguments")


def test_one_input(data: bytes) -> None:
    with open(_PATH, "wb") as fh:
        fh.write(data)
    try:
        capture = open_capture(_PATH)
    except CaptureError as exc:
        text = str(exc)
        if "\n" in text or not text:
            raise _common.Finding(f"CaptureError message not one line: {text!r}") from None
        return
    layers.udp_hook = _udp
    try:
        count = 0
        for segment in capture.segments():
            count += 1
            if not isinstance(segment.payload, (bytes, bytearray, memoryview)):
                raise _common.Finding("payload is not bytes")
            if not (0 <= segment.sport < 65536 and 0 <= segment.dport < 65536):
                raise _common.Finding("port out of range")
            if len(segment.payload) > reader.MAX_PACKET:
                raise _common.Finding("payload larger than MAX_PACKET")
        for warning in capture.warnings:
            if not isinstance(warning, str) or "\n" in warning:
                raise _common.Finding(f"bad warning {warning!r}")
    finally:
        layers.udp_hook = None
        capture.close()


def main() -> None:
    import atexit

    atexit.register(lambda: os.path.exists(_PATH) and os.unlink(_PATH))
    _common.fuzz(test_one_input)


if __name__ == "__main__":
    main()
