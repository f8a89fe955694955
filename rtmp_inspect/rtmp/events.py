"""Events the sans-IO RTMP decoder produces for one direction of a connection.

Small, slotted dataclasses: one is made per message on captures of millions of messages.
Offsets are byte offsets in that direction's TCP stream, counted from the first byte the decoder was given.
Each class has a `KIND` number, the same as its twin in the native core (native/py/src/events.rs): consumers
dispatch on `event.KIND`, which works for the events of either core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(slots=True, frozen=True)
class HandshakeVersion:
    """C0 or S0: the one-byte protocol version (3 is plain RTMP; 6, 8 and 9 are RTMPE)."""

    KIND: ClassVar[int] = 0

    version: int
    offset: int


@dataclass(slots=True, frozen=True)
class HandshakeRandom:
    """C1 or S1: time, a field that is zero (simple) or a version (digest scheme), and random bytes."""

    KIND: ClassVar[int] = 1

    time: int
    version_field: int
    data: bytes  # all 1536 bytes, kept so C2/S2 echoes and digests can be checked
    offset: int


@dataclass(slots=True, frozen=True)
class HandshakeEcho:
    """C2 or S2: should echo the peer's C1/S1 (simple) or carry a digest of it (digest scheme)."""

    KIND: ClassVar[int] = 2

    time: int
    time2: int
    data: bytes
    offset: int


@dataclass(slots=True, frozen=True)
class Message:
    """One complete RTMP message, assembled from its chunks."""

    KIND: ClassVar[int] = 3

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

    KIND: ClassVar[int] = 4

    code: str  # stable identifier, e.g. "chunk.first-not-fmt0"
    severity: str  # "info", "warning" or "error"
    offset: int
    reason: str


@dataclass(slots=True, frozen=True)
class ChunkSizeChanged:
    """A Set Chunk Size from this direction took effect (from its next chunk on)."""

    KIND: ClassVar[int] = 5

    size: int
    offset: int


@dataclass(slots=True, frozen=True)
class Resynchronised:
    """After a gap or a start mid-session, the decoder found chunk boundaries again."""

    KIND: ClassVar[int] = 6

    offset: int
    skipped: int  # bytes discarded while searching
    chunk_size: int
    chunk_size_inferred: bool


@dataclass(slots=True, frozen=True)
class Encrypted:
    """RTMPE: the handshake was seen, the rest of this direction is encrypted and not decoded."""

    KIND: ClassVar[int] = 7

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

# The KIND numbers, for dispatching.
HANDSHAKE_VERSION, HANDSHAKE_RANDOM, HANDSHAKE_ECHO, MESSAGE, VIOLATION, CHUNK_SIZE_CHANGED, RESYNCHRONISED, \
    ENCRYPTED = range(8)
