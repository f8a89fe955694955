"""Builds RTMP byte streams for tests: handshakes, chunk headers of every fmt, and AMF0 values.

Deliberately independent of the decoder's code, written from the spec, so tests check one against the other.
"""

from __future__ import annotations

import struct


def basic_header(fmt: int, csid: int) -> bytes:
    if csid < 64:
        return bytes([(fmt << 6) | csid])
    if csid < 320:
        return bytes([fmt << 6, csid - 64])
    return bytes([(fmt << 6) | 1]) + struct.pack("<H", csid - 64)


def chunk_header(fmt: int, csid: int, timestamp: int = 0, length: int = 0, type_id: int = 0,
                 stream_id: int = 0, extended: bool | None = None) -> bytes:
    """fmt 0: timestamp is absolute; fmt 1/2: timestamp is the delta; fmt 3: only the extended field if asked."""
    out = basic_header(fmt, csid)
    use_ext = timestamp >= 0xFFFFFF if extended is None else extended
    ts_field = 0xFFFFFF if use_ext else timestamp
    if fmt <= 2:
        out += ts_field.to_bytes(3, "big")
    if fmt <= 1:
        out += length.to_bytes(3, "big") + bytes([type_id])
    if fmt == 0:
        out += struct.pack("<I", stream_id)
    if use_ext:
        out += struct.pack(">I", timestamp)
    return out


def message_chunks(csid: int, type_id: int, body: bytes, timestamp: int = 0, stream_id: int = 0,
                   chunk_size: int = 128, fmt: int = 0, repeat_extended: bool = True) -> bytes:
    """A whole message: a first chunk of `fmt`, then fmt 3 continuations."""
    extended = timestamp >= 0xFFFFFF
    out = chunk_header(fmt, csid, timestamp, len(body), type_id, stream_id)
    out += body[:chunk_size]
    for start in range(chunk_size, len(body), chunk_size):
        out += basic_header(3, csid)
        if extended and repeat_extended:
            out += struct.pack(">I", timestamp)
        out += body[start : start + chunk_size]
    return out


def handshake_part(version: int = 3, time: int = 0, zero: int = 0, fill: int = 0x5A) -> tuple[bytes, bytes]:
    """(C0 or S0, C1 or S1) for the simple scheme."""
    random = bytes((fill + i * 7) & 0xFF for i in range(1528))
    return bytes([version]), struct.pack(">II", time, zero) + random


def echo(peer_random: bytes, time2: int = 0) -> bytes:
    return peer_random[:4] + struct.pack(">I", time2) + peer_random[8:]


# -- AMF0 ---------------------------------------------------------------------------------------

def amf0(value) -> bytes:
    if value is None:
        return b"\x05"
    if isinstance(value, bool):
        return b"\x01" + bytes([value])
    if isinstance(value, (int, float)):
        return b"\x00" + struct.pack(">d", float(value))
    if isinstance(value, str):
        raw = value.encode()
        if len(raw) > 0xFFFF:
            return b"\x0c" + struct.pack(">I", len(raw)) + raw
        return b"\x02" + struct.pack(">H", len(raw)) + raw
    if isinstance(value, dict):
        out = b"\x03"
        for key, item in value.items():
            raw = key.encode()
            out += struct.pack(">H", len(raw)) + raw + amf0(item)
        return out + b"\x00\x00\x09"
    if isinstance(value, list):
        return b"\x0a" + struct.pack(">I", len(value)) + b"".join(amf0(v) for v in value)
    raise TypeError(value)


def command(name: str, transaction_id: float, *args) -> bytes:
    return amf0(name) + amf0(transaction_id) + b"".join(amf0(a) for a in args)


def set_chunk_size(size: int) -> bytes:
    return struct.pack(">I", size)
