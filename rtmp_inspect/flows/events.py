"""What the flow layer hands on: small event records, in capture order.

One list of these comes back from every `FlowTable.add` / `FlowTable.flush`
call.  They are plain slotted dataclasses (not frozen: construction is on the
per-segment hot path).  Offsets are 0-based positions in one direction's byte
stream: offset 0 is the first data byte after the SYN (or, when the SYN is not
in the capture, the first byte at the sequence number of that direction's
first captured segment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

# The flow an event belongs to: a flows.table.Flow, or a flow carried inside others (flows.virtual).
# Typed loosely so that this module, which the flow table imports, imports nothing back.
Flow = Any

# A flow's id: a TCP flow's number (from 0, in order of first packet), or for a virtual flow (flows.virtual)
# ("tls", the number of the TCP flow carrying it) or ("rtmpt", the tunnel's number).
FlowId = int | tuple[str, int]

# A flow's two ends, (packed address, port) each: the sender of its first packet (or the client) first.
Endpoint = tuple[bytes, int]
Endpoints = tuple[Endpoint, Endpoint]

# End reasons carried by FlowEnded.reason.
END_FIN = "fin"  # both directions sent FIN
END_RST = "rst"  # either side sent RST
END_EOF = "end-of-capture"  # still open when the capture ended (FlowTable.flush)
END_EVICTED = "evicted"  # pushed out by FlowTable's bound on open flows
END_REUSED = "reused"  # a new connection (new SYN) took over the same 4-tuple


@dataclass(slots=True)
class FlowStarted:
    """First packet of a new flow (a new 4-tuple, or a new SYN on a reused one)."""

    flow: Flow


@dataclass(slots=True)
class StreamData:
    """Contiguous bytes of one direction, now deliverable, starting at `offset`.

    `frame`/`time` are those of the segment whose arrival made the bytes
    deliverable: for data that filled a hole, the filling segment (or the ACK
    that made the hole a gap).  On the in-order path `data` is the segment's
    own payload object (no copy).
    """

    flow: Flow
    direction: int
    frame: int
    time: float
    data: bytes
    offset: int


@dataclass(slots=True)
class StreamGap:
    """`size` bytes at `offset` of one direction that the capture does not hold."""

    flow: Flow
    direction: int
    frame: int
    time: float
    offset: int
    size: int


@dataclass(slots=True)
class OverlapMismatch:
    """A later copy of bytes [offset, offset+size) differed from the first copy.

    The first copy was kept (and is what StreamData delivered/delivers).
    """

    flow: Flow
    direction: int
    frame: int
    offset: int
    size: int


@dataclass(slots=True)
class FlowEnded:
    """The flow is over: `reason` is one of the END_* strings above."""

    flow: Flow
    frame: int
    time: float
    reason: str


FlowEvent = FlowStarted | StreamData | StreamGap | OverlapMismatch | FlowEnded

# A flow's bytes or gap held back while deciding what the flow carries (analysis/detect.py), then replayed:
# ("data", direction, frame, time, payload) or ("gap", direction, frame, time, size).
Held = tuple[Literal["data"], int, int, float, bytes] | tuple[Literal["gap"], int, int, float, int]

__all__ = [
    "END_EOF",
    "END_EVICTED",
    "END_FIN",
    "END_REUSED",
    "END_RST",
    "FlowEnded",
    "FlowEvent",
    "FlowStarted",
    "Held",
    "OverlapMismatch",
    "StreamData",
    "StreamGap",
]
