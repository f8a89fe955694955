"""Fuzz the whole pipeline: runner.run() on a capture made from fuzz bytes, then the outputs.

Input forms:
* starts with a pcap / pcapng / gzip magic: it is the capture file itself;
* anything else: a synthetic pcap of one TCP connection (10.0.0.1:40000 <-> 10.0.0.2:1935) is built from it.
  Byte 0 holds options (bit 0: prepend a valid simple handshake; bit 1: end with FIN both ways; bit 2: the
  packets' sequence numbers jump by the next byte for every fourth packet, making holes); then records of
  [2 bytes big-endian: bit 15 = direction (1 = server), bits 0..14 = length][payload].

Every input goes through the JSON document sink into a StringIO (the result must parse as JSON); then, by the
input's length, the text sink (must hold no terminal control / bidi character other than newline) or the
--check report. CaptureError from open_capture() is accepted; any other exception is a finding.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import tempfile

import _common
from _common import Finding

with _common.instrument():
    from rtmp_inspect.capture.reader import CaptureError
    from rtmp_inspect.export.check_report import CheckSink, check_report
    from rtmp_inspect.export.json_export import JsonDocumentSink
    from rtmp_inspect.export.text import TextSink
    from rtmp_inspect.runner import RunOptions, run

_FD, PATH = tempfile.mkstemp(
    prefix="fuzz_pipeline_", suffix=".pcap", dir="/dev/shm" if os.path.isdir("/dev/shm") else None
)
os.close(_FD)
MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x34\xcd\xb2\xa1",
          b"\xa1\xb2\xcd\x34", b"\x0a\x0d\x0d\x0a")
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]")


def _handshake() -> tuple[bytes, bytes, bytes]:
    c1 = struct.pack(">II", 0, 0) + bytes((0x5A + i * 7) & 0xFF for i in range(1528))
    s1 = struct.pack(">II", 0, 0) + bytes((7 + i * 7) & 0xFF for i in range(1528))
    return b"\x03" + c1, b"\x03" + s1 + c1, s1


HANDSHAKE = _handshake()


def synthetic_pcap(data: bytes) -> bytes:
    """A pcap of one TCP connection carrying the records in `data` (see the module docstring)."""
    options = data[0] if data else 0
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    seqs = [1000, 5000]
    n = 0

    def packet(direction: int, payload: bytes, flags: int = 0x18) -> None:
        nonlocal n
        n += 1
        src, dst = (
            (b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02") if direction == 0 else (b"\x0a\x00\x00\x02", b"\x0a\x00\x00\x01")
        )
        sport, dport = (40000, 1935) if direction == 0 else (1935, 40000)
        tcp = struct.pack(">HHIIBBHHH", sport, dport, seqs[direction], seqs[1 - direction], 5 << 4, flags, 65535, 0, 0)
        seqs[direction] = (seqs[direction] + len(payload) + (flags & 1)) & 0xFFFFFFFF
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), n & 0xFFFF, 0, 64, 6, 0, src, dst)
        frame = b"\x00" * 12 + b"\x08\x00" + ip + tcp + payload
        out.append(struct.pack("<IIII", 1700000000 + n // 1000, (n % 1000) * 1000, len(frame), len(frame)) + frame)

    if options & 1:
        c, s, c2 = HANDSHAKE
        packet(0, c)
        packet(1, s)
        packet(0, c2)
    pos = 1
    while pos + 2 <= len(data):
        head = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        direction, size = head >> 15, min(head & 0x7FFF, 65000)
        payload = data[pos : pos + size]
        pos += size
        if options & 4 and n % 4 == 3 and payload:
            seqs[direction] = (seqs[direction] + payload[0]) & 0xFFFFFFFF
        packet(direction, payload)
    if options & 2:
        packet(0, b"", 0x11)
        packet(1, b"", 0x11)
    return b"".join(out)


def test_one_input(data: bytes) -> None:
    capture = data if data[:4] in MAGICS or data[:2] == b"\x1f\x8b" else synthetic_pcap(data)
    with open(PATH, "wb") as fh:
        fh.write(capture)
    sink = JsonDocumentSink()
    try:
        done = run(PATH, sink)
    except CaptureError:
        return
    out = io.StringIO()
    sink.write(out, done.capture_json(), done.sessions)
    document = out.getvalue()
    json.loads(document)
    if len(document) > 1000 * len(capture) + 1_000_000:  # references must not turn bytes into gigabytes
        raise Finding(f"{len(document)} bytes of JSON from a {len(capture)}-byte capture")
    if len(data) & 1:
        text_sink = TextSink(False)
        done = run(PATH, text_sink, RunOptions(decode_as=(1935,)))
        out = io.StringIO()
        text_sink.write(out, done.capture_json(), done.sessions)
        text = out.getvalue()
    else:
        done = run(PATH, CheckSink())
        text, _errors = check_report(PATH, done.sessions, list(done.reader.warnings))
    bad = UNSAFE.search(text)
    if bad:
        line = text[: bad.start()].count("\n")
        raise Finding(f"unescaped {bad.group()!r} in the text output, line {line}: "
                      f"{text.splitlines()[line][:200]!r}")


def main() -> None:
    import atexit

    atexit.register(lambda: os.path.exists(PATH) and os.unlink(PATH))
    _common.fuzz(test_one_input)


if __name__ == "__main__":
    main()
