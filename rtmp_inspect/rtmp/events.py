"""Events the sans-IO RTMP decoder produces for one direction of a connection.

Small, slotted dataclasses: one is made per message on captures of millions of messages.
Offsets are byte offsets in that direction's TCP stream, counted from the first byte the decoder was given.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, frozen=True)
class HandshakeVersion:
    """C0 or S0: the one-byte protocol version (3 is plain RTMP; 6, 8 and 9 are RTMPE)."""

    version: int
    offset: int


@dataclass(slots=True, frozen=True)
class HandshakeRandom:
    """C1 or S1: time, a field that is zero (simple) or a version (digest scheme), and random bytes."""

    time: int
    version_field: int
    data: bytes  # all 1536 bytes, kept so C2/S2 echoes and digests can be checked
    offset: int


@dataclass(slots=True, frozen=True)
class HandshakeEcho:
    """C2 or S2: should echo the peer's C1/S1 (simple) or carry a digest of it (digest scheme)."""

    time: int
    time2: int
    data: bytes
    offset: int


@dataclass(slots=True, frozen=True)
class Message:
    """One complete RTMP message, assembled from its chunks."""

    csid: int
    stream_id: int
    timestamp: int  # absolute, ms, after deltas and extended timestamps (32-bit)
    type_id: int
    body: bytes
    offset: int  # stream offset of the message's first chunk header
    end_offset: int  # stream offset just past its last byte
    chunks: int  # how many chunks carried it
    first_fmt: int  # the fmt of its first chunk
    extended_timestamp: bool
    inferred: bool = False  # decoded after a resynchronisation: header state was guessed

    @property
    def length(self) -> int:
        return len(self.body)


@dataclass(slots=True, frozen=True)
class Violation:
    """Bytes that break the protocol. The decoder recovers where it can."""

    code: str  # stable identifier, e.g. "chunk.first-not-fmt0"
    severity: str  # "info", "warning" or "error"
    offset: int
    reason: str


@dataclass(slots=True, frozen=True)
class ChunkSizeChanged:
    """A Set Chunk Size from this direction took effect (from its next chunk on)."""

    size: int
    offset: int


@dataclass(slots=True, frozen=True)
class Resynchronised:
    """After a gap or a start mid-session, the decoder found chunk boundaries again."""

    offset: int
    skipped: int  # bytes discarded while searching
    chunk_size: int
    chunk_size_inferred: bool


@dataclass(slots=True, frozen=True)
class Encrypted:
    """RTMPE: the handshake was seen, the rest of this direction is encrypted and not decoded."""

    version: int
    offset: int


Event = (
    HandshakeVersion
    | HandshakeRandom
    | HandshakeEcho
    | Message
    | Violation
    | ChunkSizeChanged
    | Resynchronised
    | Encrypted
)
