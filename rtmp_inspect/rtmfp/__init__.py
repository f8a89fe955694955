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

from typing import Any

from ..analysis.records import WarningRecord
from ..analysis.session import FlowSession

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


class _UdpFlow:
    """What FlowSession asks of a flow: an id and the endpoints (client first)."""

    virtual = True

    def __init__(self, key: tuple, endpoints: tuple) -> None:
        self.id = key
        self.endpoints = endpoints


class RtmfpTracker:
    """UDP datagrams of a capture in, RTMFP flows out (through the analyzer's sink)."""

    def __init__(self, analyzer: Any) -> None:
        self.analyzer = analyzer
        self.flows: dict[tuple, RtmfpSession] = {}

    def add(self, src: bytes, sport: int, dst: bytes, dport: int, payload: bytes, frame: int, time: float) -> None:
        a, b = (src, sport), (dst, dport)
        key = ("udp",) + ((a, b) if a <= b else (b, a))
        session = self.flows.get(key)
        handshake = None
        if session is None:
            handshake = read_handshake(payload)
            by_port = RTMFP_PORT in (sport, dport) and len(payload) >= 20 and (len(payload) - 4) % 16 == 0
            if handshake is None and not by_port:
                return
            # the client: the IHello sender, or the side whose port is not 1935
            client_is_src = handshake["chunk"] == "IHello" if handshake else dport == RTMFP_PORT
            if handshake and handshake["chunk"] in ("RHello", "RIKeying", "RedirectHello"):
                client_is_src = False
            endpoints = (a, b) if client_is_src else (b, a)
            analyzer = self.analyzer
            session = RtmfpSession(analyzer.next_id, _UdpFlow(key, endpoints), 0, analyzer.capture_start, True)
            analyzer.next_id += 1
            self.flows[key] = session
            session.recognised_by = "handshake" if handshake else "port"
            analyzer.step += 1
            if analyzer.owns(session.id):  # with --jobs, one process writes each flow
                analyzer.sink.flow_started(session)
                for warning in session.warnings:
                    analyzer.sink.warning(session, warning)
        elif session.handshake_seen is not None and len(session.handshake_seen) < 8:
            handshake = read_handshake(payload)
        session.datagram(0 if (src, sport) == session.tcp_flow.endpoints[0] else 1, payload, frame, time, handshake)

    def finish(self) -> None:
        from ..analysis.pipeline import FinishedSession

        analyzer = self.analyzer
        keep = getattr(analyzer.sink, "keeps_finished_sessions", True)  # as Analyzer._end does
        for session in self.flows.values():
            analyzer.step += 1
            if not analyzer.owns(session.id):
                continue
            session.ended = "end-of-capture"
            for record in session.finish("end-of-capture", session.last_frame, session.last_time):
                if isinstance(record, WarningRecord):
                    analyzer.sink.warning(session, record)
            analyzer.sink.flow_finished(session)
            analyzer._finished.append(session if keep else FinishedSession(session.id))
        self.flows.clear()


class RtmfpSession(FlowSession):
    """An RTMFP flow: listed with what its packets show; nothing in it is decoded as RTMP."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recognised_by = "handshake"
        self.handshake_seen: list[dict[str, Any]] = []
        self.packets = {"c2s": 0, "s2c": 0}
        self.warn("rtmfp.not-decoded", "info", None,
                  "RTMFP (UDP): recognised and listed; its sessions are encrypted with keys negotiated in the "
                  "handshake and are not decoded", None)

    def datagram(self, direction: int, payload: bytes, frame: int, time: float, handshake: dict | None) -> None:
        dir = "c2s" if direction == 0 else "s2c"
        self._touch(frame, time)
        self.packets[dir] += 1
        self.bytes[dir] += len(payload)
        if handshake is not None:
            self.handshake_seen.append({"dir": dir, "frame": frame, **handshake})

    @property
    def undecoded_reason(self) -> str:
        """For one-line verdicts: RTMFP is never decoded."""
        return self.outcome()

    def outcome(self) -> str:
        chunks = " ".join(h["chunk"] for h in self.handshake_seen[:4])
        return f"RTMFP (UDP, not decoded){': ' + chunks if chunks else ''}"

    def to_json_header(self) -> dict[str, Any]:
        out = super().to_json_header()
        out["protocol"] = "rtmfp"
        out["rtmfp"] = {
            "recognised_by": self.recognised_by,
            "handshake": list(self.handshake_seen),
            "packets": dict(self.packets),
        }
        return out


__all__ = ["RtmfpTracker", "RtmfpSession", "read_handshake"]
