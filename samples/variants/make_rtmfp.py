#!/usr/bin/env python3
"""make_rtmfp.py - a crafted RTMFP capture (no RTMFP peer is packaged for this system: Flash Player, AIR and
MonaServer/Cumulus are not in Debian), built from RFC 7016 with the Flash profile's handshake key.

    python3 samples/variants/make_rtmfp.py [OUT.pcap]     (default: rtmfp_handshake.pcap next to this script)

A client (10.1.0.1:50123) sends IHello for rtmfp://media.example/live to 10.1.0.2:1935, the server answers
RHello, the client IIKeying, the server RIKeying (their bodies are filler: only the chunk framing is real),
then six session packets (encrypted with session keys: random here) go both ways; plus one unrelated UDP
datagram (DNS-like, port 53) that must not be listed. Deterministic output (fixed seed, fixed times).
"""

from __future__ import annotations

import os
import random
import struct
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

DEFAULT_KEY = b"Adobe Systems 02"
CLIENT, SERVER = (bytes([10, 1, 0, 1]), 50123), (bytes([10, 1, 0, 2]), 1935)


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def vlu(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def handshake_packet(chunk_type: int, body: bytes, timestamp: int = 1000) -> bytes:
    """Session id 0, startup mode with a timestamp, one chunk; encrypted with the default key."""
    packet = bytes([0x0B]) + struct.pack("!H", timestamp) + bytes([chunk_type]) + struct.pack("!H", len(body)) + body
    pad = (16 - (len(packet) + 2) % 16) % 16
    packet += b"\xff" * pad
    plain = struct.pack("!H", checksum(packet)) + packet
    encryptor = Cipher(algorithms.AES(DEFAULT_KEY), modes.CBC(bytes(16))).encryptor()
    encrypted = encryptor.update(plain) + encryptor.finalize()
    w1, w2 = struct.unpack("!II", encrypted[:8])
    return struct.pack("!I", 0 ^ w1 ^ w2) + encrypted


def ihello(url: str, tag: bytes) -> bytes:
    option = b"\x0a" + url.encode()
    epd = vlu(len(option)) + option
    return handshake_packet(0x30, vlu(len(epd)) + epd + tag)


def session_packet(rng: random.Random, session_id: int, blocks: int) -> bytes:
    encrypted = bytes(rng.getrandbits(8) for _ in range(16 * blocks))
    w1, w2 = struct.unpack("!II", encrypted[:8])
    return struct.pack("!I", session_id ^ w1 ^ w2) + encrypted


def udp_frame(src: tuple, dst: tuple, payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src[0], dst[0])
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + udp


def packets() -> list[tuple[tuple, tuple, bytes]]:
    rng = random.Random(7016)
    tag = bytes(rng.getrandbits(8) for _ in range(16))
    cookie = bytes(rng.getrandbits(8) for _ in range(64))
    out = [
        (CLIENT, (bytes([10, 1, 0, 53]), 53), b"\x12\x34\x01\x00\x00\x01" + bytes(20)),  # not RTMFP
        (CLIENT, SERVER, ihello("rtmfp://media.example/live", tag)),
        (SERVER, CLIENT, handshake_packet(0x70, bytes([16]) + tag + bytes([64]) + cookie + bytes(40))),
        (CLIENT, SERVER, handshake_packet(0x38, struct.pack("!I", 0x01020304) + bytes([64]) + cookie + bytes(80))),
        (SERVER, CLIENT, handshake_packet(0x78, struct.pack("!I", 0x0A0B0C0D) + bytes(90))),
    ]
    for n in range(6):
        if n % 2:
            out.append((SERVER, CLIENT, session_packet(rng, 0x01020304, 2 + n)))
        else:
            out.append((CLIENT, SERVER, session_packet(rng, 0x0A0B0C0D, 3 + n)))
    return out


def pcap_bytes() -> bytes:
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for n, (src, dst, payload) in enumerate(packets()):
        frame = udp_frame(src, dst, payload)
        out += struct.pack("<IIII", 1_700_000_000, 1000 * n, len(frame), len(frame)) + frame
    return out


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                              "rtmfp_handshake.pcap")
    with open(path, "wb") as f:
        f.write(pcap_bytes())
    print(path)


if __name__ == "__main__":
    main()
