"""The decoder on real byte streams: each direction of every public capture, fed whole and one byte at a time,
gives the same events; and strings from a capture never reach the terminal raw."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from rtmp_inspect.capture.reader import open_capture
from rtmp_inspect.flows.events import StreamData
from rtmp_inspect.flows.table import FlowTable
from rtmp_inspect.rtmp.chunks import ChunkDecoder
from rtmp_inspect.rtmp.events import Message
from tests.support.paths import public
from tests.support.rtmp_builder import command, echo, handshake_part, message_chunks

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT / "samples" / "public"
PUBLIC_CAPTURES = ["wireshark_rtmp_sample.cap", "twinx_short_publish.pcap", "twinx_nginx_publish.pcap",
                   "ndpi_rtmp_gtp_vlan.pcapng"]


find = public


def direction_streams(path: Path) -> dict[tuple[int, int], bytes]:
    streams: dict[tuple[int, int], bytearray] = {}
    table = FlowTable()
    with open_capture(str(path)) as reader:
        for segment in reader.segments():
            for event in table.add(segment):
                if isinstance(event, StreamData):
                    streams.setdefault((event.flow.id, event.direction), bytearray()).extend(event.data)
    return {key: bytes(value) for key, value in streams.items()}


@pytest.mark.parametrize("name", PUBLIC_CAPTURES)
def test_real_streams_whole_and_bytewise_agree(name):
    streams = direction_streams(find(name))
    decoded = 0
    for data in streams.values():
        whole = ChunkDecoder().receive_data(data)
        decoder = ChunkDecoder()
        bytewise = []
        view = memoryview(data)
        for i in range(len(data)):
            bytewise += decoder.receive_data(view[i : i + 1])
        assert bytewise == whole
        decoded += sum(isinstance(e, Message) for e in whole)
    assert decoded > 0


def _pcap_with_stream(client_bytes: bytes, server_bytes: bytes) -> bytes:
    """A minimal Ethernet pcap of one TCP connection (no SYN) carrying the two byte streams."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    seqs = {0: 1000, 1: 5000}

    def packet(direction: int, payload: bytes, n: int) -> bytes:
        src, dst = (
            (b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02") if direction == 0 else (b"\x0a\x00\x00\x02", b"\x0a\x00\x00\x01")
        )
        sport, dport = (40000, 1935) if direction == 0 else (1935, 40000)
        tcp = struct.pack(">HHIIBBHHH", sport, dport, seqs[direction], seqs[1 - direction], 5 << 4, 0x18, 65535, 0, 0)
        seqs[direction] += len(payload)
        total = 20 + len(tcp) + len(payload)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, n, 0, 64, 6, 0, src, dst)
        frame = b"\x00" * 12 + b"\x08\x00" + ip + tcp + payload
        return struct.pack("<IIII", 1700000000 + n, 0, len(frame), len(frame)) + frame

    c0, c1 = handshake_part(3)
    _, s1 = handshake_part(3, fill=7)
    out += packet(0, c0 + c1, 1)
    out += packet(1, b"\x03" + s1 + echo(c1), 2)
    out += packet(0, echo(s1) + client_bytes, 3)
    if server_bytes:
        out += packet(1, server_bytes, 4)
    return out


def test_escape_sequences_from_the_capture_are_shown_escaped(tmp_path):
    hostile = "cam\x1b]0;pwned\x07\x1b[2J\u202eevil"
    body = command("connect", 1, {"app": hostile, "tcUrl": "rtmp://x/" + hostile})
    publish = command("publish", 2, None, hostile, "live")
    capture = tmp_path / "hostile.pcap"
    capture.write_bytes(
        _pcap_with_stream(message_chunks(3, 20, body) + message_chunks(4, 20, publish, stream_id=1), b"")
    )
    text = subprocess.run([sys.executable, "-m", "rtmp_inspect", str(capture), "--format", "text"],
                          capture_output=True, text=True, check=True).stdout
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\e]0;pwned\\x07\\e[2J\\u202eevil" in text
    for fmt in ("json", "jsonl"):
        out = subprocess.run([sys.executable, "-m", "rtmp_inspect", str(capture), "--format", fmt],
                             capture_output=True, text=True, check=True).stdout
        assert "\x1b" not in out and "\u202e" not in out and "pwned" in out
