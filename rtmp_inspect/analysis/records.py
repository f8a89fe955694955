"""What the analysis hands to the outputs: one record per RTMP message and per warning.

Records are made, handed on and (by streaming outputs) dropped: nothing here keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..findings import check_finding
from ..rtmp.messages import AmfPayload, type_name
from ..rtmp.vocabulary import Direction


@dataclass(slots=True)
class MessageRecord:
    flow: int
    index: int
    dir: Direction
    frame: int
    time: float  # seconds since the capture's first packet
    csid: int
    stream_id: int
    timestamp: int
    type_id: int
    length: int
    payload: Any  # the decoded body (see rtmp.messages.decode_body); None for unknown types
    summary: str
    offset: int  # stream offset of the first chunk header, in this direction
    end_offset: int
    chunks: int
    first_fmt: int
    inferred: bool
    body: bytes  # the body; outputs that keep records must not keep this

    @property
    def type(self) -> str:
        return type_name(self.type_id)

    @property
    def command(self) -> str | None:
        payload = self.payload
        return payload.name if isinstance(payload, AmfPayload) else None


@dataclass(slots=True)
class HandshakeRecord:
    """One part of the handshake, when its last byte arrived: C0/S0 (the version byte), C1/S1 (time, the
    zero or version field, random bytes), C2/S2 (the echo)."""

    flow: int
    part: str  # "C0", "C1", "C2", "S0", "S1", "S2"
    dir: Direction
    frame: int
    time: float  # seconds since the capture's first packet
    offset: int  # stream offset of its first byte, in this direction
    length: int
    summary: str
    data: bytes  # the bytes of C1/S1/C2/S2 (b"" for C0/S0); outputs that keep records must not keep this

    def to_json(self) -> dict[str, Any]:
        return {"part": self.part, "dir": self.dir, "frame": self.frame, "time": self.time,
                "offset": self.offset, "length": self.length, "summary": self.summary}


@dataclass(slots=True)
class WarningRecord:
    flow: int | None
    code: str
    severity: str  # "info", "warning" or "error"
    frame: int | None
    message: str
    dir: str | None = None
    time: float | None = None

    def __post_init__(self) -> None:
        check_finding(self.code, self.severity)  # every finding is in the catalogue

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity,
            "frame": self.frame,
            "message": self.message,
        }
        if self.dir is not None:
            out["dir"] = self.dir
        return out


Record = MessageRecord | HandshakeRecord | WarningRecord
