"""RTMFP (RFC 7016, Flash's UDP transport, port 1935 by default): recognised and listed, not decoded.

Every RTMFP packet starts with a scrambled session id; packets of session 0 are the handshake, encrypted
with the Flash profile's well-known key ("Adobe Systems 02", AES-128-CBC, zero IV), so an analyzer can read
them: IHello (with the endpoint discriminator, often the rtmfp:// URL), RHello, IIKeying, RIKeying. The
later packets are encrypted with keys negotiated by Diffie-Hellman and stay opaque: they are counted.

One listed flow per UDP endpoint pair that had an RTMFP handshake (on any port), or any datagrams to or from
port 1935 that have RTMFP's shape (4 + a multiple of 16 bytes); `protocol: "rtmfp"`, an `rtmfp` object with
what was seen, no messages, and an info note that the session itself is not decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..flows.virtual import UdpFlow, UdpKey

DEFAULT_KEY = b"Adobe Systems 02"
RTMFP_PORT = 1935
CHUNK_NAMES = {0x30: "IHello", 0x70: "RHello", 0x38: "IIKeying", 0x78: "RIKeying", 0x71: "RedirectHello",
               0x0F: "FHello"}
HANDSHAKE_CHUNKS = frozenset((0x30, 0x70, 0x38, 0x78, 0x71))


def session_id(packet: bytes) -> int:
    """The unscrambled session id: the first word xor the next two (RFC 7016 2.2.2)."""
    w = [int.from_bytes(packet[i:i + 4], "big") for i in (0, 4, 8)]
    return w[0] ^ w[1] ^ w[2]


def internet_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def read_handshake(packet: bytes) -> dict[str, Any] | None:
    """The handshake chunk of a session-0 packet, or None when the datagram is not one."""
    if len(packet) < 20 or (len(packet) - 4) % 16 or session_id(packet) != 0:
        return None
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    decryptor = Cipher(algorithms.AES(DEFAULT_KEY), modes.CBC(bytes(16))).decryptor()
    plain = decryptor.update(packet[4:]) + decryptor.finalize()
    checksum_ok = int.from_bytes(plain[:2], "big") == internet_checksum(plain[2:])
    pos = 2
    flags = plain[pos]
    pos += 1
    if flags & 0x08:  # timestamp
        pos += 2
    if flags & 0x04:  # timestamp echo
        pos += 2
    if pos + 3 > len(plain):
        return None
    chunk_type, length = plain[pos], int.from_bytes(plain[pos + 1:pos + 3], "big")
    if chunk_type not in HANDSHAKE_CHUNKS or pos + 3 + length > len(plain):
        return None
    out: dict[str, Any] = {"chunk": CHUNK_NAMES[chunk_type], "checksum_ok": checksum_ok}
    body = plain[pos + 3:pos + 3 + length]
    if chunk_type == 0x30 and body:  # IHello: epdLength (VLU), EPD, tag
        epd_length, at = _vlu(body, 0)
        epd = body[at:at + epd_length]
        if epd:
            # the Flash profile's EPD: option length (VLU), type, value; type 0x0a: the URL, 0x0f: a peer id
            option_length, at2 = _vlu(epd, 0)
            option = epd[at2:at2 + option_length]
            if option[:1] == b"\x0a":
                out["url"] = option[1:].decode("utf-8", "replace")
            elif option[:1] == b"\x0f":
                out["peer_id"] = option[1:].hex()
    return out


def _vlu(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            break
    return value, pos


@dataclass(slots=True)
class RtmfpFlowStarted:
    """A UDP endpoint pair recognised as RTMFP: by its handshake, or by its port and packet shape."""

    flow: UdpFlow
    recognised_by: str  # "handshake" | "port"


@dataclass(slots=True)
class RtmfpDatagram:
    """One datagram of a recognised pair, with its handshake chunk when it carried one."""

    flow: UdpFlow
    direction: int  # 0: from the client (endpoints[0])
    payload: bytes
    frame: int
    time: float
    handshake: dict[str, Any] | None


# Handshake packets read per flow: the handshake has four; a few more allow for retransmissions.
MAX_HANDSHAKES_READ = 8


class RtmfpTracker:
    """UDP datagrams of a capture in, RTMFP flow events out (the analyzer makes the sessions)."""

    def __init__(self) -> None:
        self.flows: dict[UdpKey, UdpFlow] = {}
        self._handshakes: dict[UdpKey, int] = {}  # handshake chunks read per flow

    def add(self, src: bytes, sport: int, dst: bytes, dport: int, payload: bytes, frame: int,
            time: float) -> list[RtmfpFlowStarted | RtmfpDatagram]:
        a, b = (src, sport), (dst, dport)
        key = ("udp",) + ((a, b) if a <= b else (b, a))
        flow = self.flows.get(key)
        handshake = None
        events: list[RtmfpFlowStarted | RtmfpDatagram] = []
        if flow is None:
            handshake = read_handshake(payload)
            by_port = RTMFP_PORT in (sport, dport) and len(payload) >= 20 and (len(payload) - 4) % 16 == 0
            if handshake is None and not by_port:
                return events
            # the client: the IHello sender, or the side whose port is not 1935
            client_is_src = handshake["chunk"] == "IHello" if handshake else dport == RTMFP_PORT
            if handshake and handshake["chunk"] in ("RHello", "RIKeying", "RedirectHello"):
                client_is_src = False
            flow = self.flows[key] = UdpFlow(key, (a, b) if client_is_src else (b, a))
            self._handshakes[key] = 0
            events.append(RtmfpFlowStarted(flow, "handshake" if handshake else "port"))
        elif self._handshakes[key] < MAX_HANDSHAKES_READ:
            handshake = read_handshake(payload)
        if handshake is not None:
            self._handshakes[key] += 1
        direction = 0 if (src, sport) == flow.endpoints[0] else 1
        events.append(RtmfpDatagram(flow, direction, payload, frame, time, handshake))
        return events

    def finish(self) -> list[UdpFlow]:
        """The flows, in the order they were recognised, to be ended at the end of the capture."""
        flows = list(self.flows.values())
        self.flows.clear()
        return flows


__all__ = ["RtmfpDatagram", "RtmfpFlowStarted", "RtmfpTracker", "read_handshake"]
