"""Deciding whether a TCP flow carries RTMP, and which side is the client, from its first bytes.

By content on any port: the client opens with C0 (version 3, or 6/8/9 for RTMPE) and a 1536-byte C1;
the server answers with S0 carrying a version too. Port 1935 and `--decode-as` ports also select flows
whose handshake is not in the capture (they are decoded from the middle, with inferred state).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..flows.events import Held
from ..rtmp.chunks import ChunkDecoder
from ..rtmp.events import MESSAGE

HANDSHAKE_VERSIONS = frozenset((3, 6, 8, 9))
C0C1_SIZE = 1537
DEFAULT_PORTS = frozenset((1935,))
# Bytes held per direction while deciding: enough for C0+C1 and S0+S1+S2.
MAX_HELD = 16 * 1024
# A flow selected by its port alone (no handshake) with fewer segments than this must show a decodable chunk
# stream to be listed: a corrupted port or a stray packet makes one-packet "flows" that are not RTMP.
FEW_SEGMENTS = 3


@dataclass(slots=True)
class Verdict:
    is_rtmp: bool
    client: int = 0  # TCP direction (0 or 1) of the client
    handshake: bool = True  # False: decode from the middle, no handshake in view


@dataclass(slots=True)
class FlowDetector:
    """Holds a flow's first bytes (and gaps) until it can be decided, so they can be replayed."""

    ports: tuple[int, int]  # port of endpoint 0, port of endpoint 1
    rtmp_ports: frozenset[int]
    held: list[Held] = field(default_factory=list)
    first: list[bytes] = field(default_factory=lambda: [b"", b""])  # first bytes per direction
    gapped: list[bool] = field(default_factory=lambda: [False, False])

    def add_data(self, direction: int, frame: int, time: float, data: bytes) -> Verdict | None:
        self.held.append(("data", direction, frame, time, data))
        if len(self.first[direction]) < C0C1_SIZE and not self.gapped[direction]:
            self.first[direction] += data[: C0C1_SIZE - len(self.first[direction])]
        return self.decide(final=False)

    def add_gap(self, direction: int, frame: int, time: float, size: int) -> Verdict | None:
        self.held.append(("gap", direction, frame, time, size))
        if not self.first[direction]:
            self.gapped[direction] = True
        return self.decide(final=False)

    def held_bytes(self) -> int:
        return sum(len(item[4]) for item in self.held if item[0] == "data")

    def decide(self, final: bool) -> Verdict | None:
        for client in (0, 1):
            c, s = self.first[client], self.first[1 - client]
            if not c or c[0] not in HANDSHAKE_VERSIONS:
                continue
            if s and s[0] not in HANDSHAKE_VERSIONS:
                continue
            if len(c) >= C0C1_SIZE and s:
                return Verdict(True, client)
            if final and len(c) >= C0C1_SIZE:
                return Verdict(True, client)
        port_side = self._server_by_port()
        if port_side is not None:
            if not self.held_bytes():
                return Verdict(False) if final else None  # no payload at all: nothing to decode
            # The handshake is not (all) in view: decide once we have seen enough or the flow ends.
            if final or self.held_bytes() >= MAX_HELD or self._cannot_be_handshake():
                if self._segments() < FEW_SEGMENTS and not self._decodes_as_chunks():
                    return Verdict(False) if final else None  # a phantom so far: wait for more
                return Verdict(True, 1 - port_side, handshake=False)
            return None
        if final or self._cannot_be_handshake() or self.held_bytes() >= MAX_HELD:
            return Verdict(False)
        return None

    def _segments(self) -> int:
        return sum(1 for item in self.held if item[0] == "data")

    def _decodes_as_chunks(self) -> bool:
        """Whether the held bytes of some direction decode to at least one whole RTMP message (from the
        middle, chunk size inferred)."""
        for direction in (0, 1):
            decoder = ChunkDecoder(False)
            events = []
            for item in self.held:
                if item[0] == "data" and item[1] == direction:
                    events += decoder.receive_data(item[4])
            events += decoder.finish()  # (from the middle, the decoder waits for more bytes before it is sure)
            if any(event.KIND == MESSAGE for event in events):
                return True
        return False

    def _server_by_port(self) -> int | None:
        """The endpoint index whose port is an RTMP port, preferring the higher-priority side."""
        a, b = self.ports
        if b in self.rtmp_ports:
            return 1
        if a in self.rtmp_ports:
            return 0
        return None

    def _cannot_be_handshake(self) -> bool:
        """Some direction started with a byte no handshake starts with, or data began after a gap."""
        for direction in (0, 1):
            if self.gapped[direction]:
                return True
            first = self.first[direction]
            if first and first[0] not in HANDSHAKE_VERSIONS:
                return True
        return False
