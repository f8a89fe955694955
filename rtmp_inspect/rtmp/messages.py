"""Decoding RTMP message bodies by type id: protocol control, user control, commands, data,
shared objects, aggregates, audio and video. Pure functions over a complete body; never raise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .amf0 import decode_amf0_values
from .amf3 import decode_amf3_values
from .media import parse_audio, parse_video
from .vocabulary import MessageType

TYPE_NAMES = {t.value: t.wire_name for t in MessageType}

USER_CONTROL_EVENTS = {
    0: "StreamBegin",
    1: "StreamEOF",
    2: "StreamDry",
    3: "SetBufferLength",
    4: "StreamIsRecorded",
    6: "PingRequest",
    7: "PingResponse",
    0x1A: "SWFVerifyRequest",
    0x1B: "SWFVerifyResponse",
    0x1F: "BufferEmpty",
    0x20: "BufferReady",
}

LIMIT_TYPES = {0: "hard", 1: "soft", 2: "dynamic"}

SHARED_OBJECT_EVENTS = {
    1: "Use",
    2: "Release",
    3: "RequestChange",
    4: "Change",
    5: "Success",
    6: "SendMessage",
    7: "Status",
    8: "Clear",
    9: "Remove",
    10: "RequestRemove",
    11: "UseSuccess",
}


def type_name(type_id: int) -> str:
    return TYPE_NAMES.get(type_id, f"unknown_{type_id}")


@dataclass(slots=True)
class Control:
    """Protocol control messages 1, 2, 3, 5, 6: one 32-bit value (and a limit type for 6)."""

    name: str
    value: int | None
    limit_type: int | None = None
    error: str | None = None

    def summary(self) -> str:
        if self.error:
            return f"{self.name} ({self.error})"
        if self.limit_type is not None:
            return f"{self.value} ({LIMIT_TYPES.get(self.limit_type, self.limit_type)})"
        return str(self.value)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value}
        if self.limit_type is not None:
            out["limit_type"] = LIMIT_TYPES.get(self.limit_type, self.limit_type)
        return out


@dataclass(slots=True)
class UserControl:
    event_type: int | None
    stream_id: int | None = None  # for stream events
    value: int | None = None  # buffer length (ms) or ping timestamp
    data: bytes = b""  # bytes of events we do not decode field by field
    error: str | None = None

    @property
    def event_name(self) -> str:
        if self.event_type is None:
            return "?"
        return USER_CONTROL_EVENTS.get(self.event_type, f"Unknown({self.event_type})")

    def summary(self) -> str:
        text = self.event_name
        if self.stream_id is not None:
            text += f" stream={self.stream_id}"
        if self.event_type == 3 and self.value is not None:
            text += f" buffer={self.value}ms"
        elif self.value is not None:
            text += f" timestamp={self.value}"
        if self.error:
            text += f" ({self.error})"
        return text

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.event_name, "event_type": self.event_type}
        if self.stream_id is not None:
            out["event_stream_id"] = self.stream_id
        if self.value is not None:
            out["buffer_ms" if self.event_type == 3 else "event_timestamp"] = self.value
        if self.data:
            out["data"] = self.data.hex()
        return out


@dataclass(slots=True)
class AmfPayload:
    """Commands (17, 20) and data (15, 18): a list of AMF values; the first string is the name."""

    values: list[Any]
    is_command: bool
    amf3: bool
    error: str | None = None

    @property
    def name(self) -> str | None:
        if self.values and isinstance(self.values[0], str):
            return self.values[0]
        return None

    @property
    def transaction_id(self) -> float | None:
        if self.is_command and len(self.values) > 1 and isinstance(self.values[1], (int, float)) \
                and not isinstance(self.values[1], bool):
            return self.values[1]
        return None

    @property
    def args(self) -> list[Any]:
        start = 0
        if self.name is not None:
            start = 1
            if self.is_command and len(self.values) > 1:
                start = 2
        return self.values[start:]


@dataclass(slots=True)
class SharedObjectEvent:
    type: int
    name: str
    data: bytes


@dataclass(slots=True)
class SharedObject:
    name: str | None
    version: int | None
    persistent: bool | None
    events: list[SharedObjectEvent] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> str:
        kinds = ", ".join(e.name for e in self.events)
        return f"{self.name!r} v{self.version} [{kinds}]" + (f" ({self.error})" if self.error else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "persistent": self.persistent,
            "events": [{"type": e.name, "data": e.data.hex()} for e in self.events],
        }


@dataclass(slots=True, frozen=True)
class AggregatePart:
    type_id: int
    timestamp: int  # absolute, rebased on the aggregate message's timestamp
    stream_id: int
    body_offset: int  # where the part's body starts inside the aggregate's body
    length: int


@dataclass(slots=True)
class Aggregate:
    parts: list[AggregatePart]
    error: str | None = None

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        for part in self.parts:
            name = type_name(part.type_id)
            kinds[name] = kinds.get(name, 0) + 1
        text = " ".join(f"{n}x{k}" for k, n in kinds.items())
        return f"{len(self.parts)} parts: {text}" + (f" ({self.error})" if self.error else "")


def decode_body(type_id: int, body: bytes, timestamp: int = 0) -> Any:
    """Decode a complete message body by its type id. Unknown types give None."""
    if type_id in (
        MessageType.SET_CHUNK_SIZE,
        MessageType.ABORT,
        MessageType.ACKNOWLEDGEMENT,
        MessageType.WINDOW_ACK_SIZE,
    ):
        if len(body) < 4:
            return Control(type_name(type_id), None, error=f"{len(body)} bytes, expected 4")
        return Control(type_name(type_id), int.from_bytes(body[:4], "big"))
    if type_id == MessageType.SET_PEER_BANDWIDTH:
        if len(body) < 5:
            return Control(type_name(type_id), None, error=f"{len(body)} bytes, expected 5")
        return Control(type_name(type_id), int.from_bytes(body[:4], "big"), body[4])
    if type_id == MessageType.USER_CONTROL:
        return decode_user_control(body)
    if type_id == MessageType.COMMAND_AMF0 or type_id == MessageType.DATA_AMF0:
        result = decode_amf0_values(body)
        return AmfPayload(result.values, type_id == MessageType.COMMAND_AMF0, False, _error_text(result.error))
    if type_id == MessageType.COMMAND_AMF3 or type_id == MessageType.DATA_AMF3:
        return decode_amf3_message(body, is_command=type_id == MessageType.COMMAND_AMF3)
    if type_id == MessageType.AUDIO:
        return parse_audio(body)
    if type_id == MessageType.VIDEO:
        return parse_video(body)
    if type_id == MessageType.SHARED_OBJECT_AMF0 or type_id == MessageType.SHARED_OBJECT_AMF3:
        return decode_shared_object(
            body[1:] if type_id == MessageType.SHARED_OBJECT_AMF3 and body[:1] == b"\x00" else body
        )
    if type_id == MessageType.AGGREGATE:
        return decode_aggregate(body, timestamp)
    return None


def _error_text(error: Any) -> str | None:
    return None if error is None else str(error)


def decode_amf3_message(body: bytes, is_command: bool) -> AmfPayload:
    """Types 15 and 17 start with a format byte; 0 means the values that follow are AMF0
    (each may switch to AMF3 with the AVM+ marker), which is what Flash Player sends."""
    if not body:
        return AmfPayload([], is_command, True, "empty body")
    if body[0] == 0:
        result = decode_amf0_values(body, 1)
    else:
        result = decode_amf3_values(body, 0)
    return AmfPayload(result.values, is_command, True, _error_text(result.error))


def decode_user_control(body: bytes) -> UserControl:
    if len(body) < 2:
        return UserControl(None, error=f"{len(body)} bytes, expected at least 2")
    event = int.from_bytes(body[:2], "big")
    rest = body[2:]
    if event in (0, 1, 2, 4, 0x1F, 0x20):
        if len(rest) < 4:
            return UserControl(event, data=rest, error="stream id missing")
        return UserControl(event, stream_id=int.from_bytes(rest[:4], "big"))
    if event == 3:
        if len(rest) < 8:
            return UserControl(event, data=rest, error="stream id and buffer length missing")
        return UserControl(event, int.from_bytes(rest[:4], "big"), int.from_bytes(rest[4:8], "big"))
    if event in (6, 7):
        if len(rest) < 4:
            return UserControl(event, data=rest, error="timestamp missing")
        return UserControl(event, value=int.from_bytes(rest[:4], "big"))
    return UserControl(event, data=rest)


def decode_shared_object(body: bytes) -> SharedObject:
    if len(body) < 2:
        return SharedObject(None, None, None, error="truncated name")
    name_len = int.from_bytes(body[:2], "big")
    pos = 2 + name_len
    if len(body) < pos + 12:
        return SharedObject(None, None, None, error="truncated header")
    name = body[2:pos].decode("utf-8", "replace")
    version = int.from_bytes(body[pos : pos + 4], "big")
    persistent = int.from_bytes(body[pos + 4 : pos + 8], "big") == 2
    pos += 12
    shared = SharedObject(name, version, persistent)
    while pos < len(body):
        if len(body) < pos + 5:
            shared.error = f"truncated event header at byte {pos}"
            break
        kind = body[pos]
        length = int.from_bytes(body[pos + 1 : pos + 5], "big")
        pos += 5
        if len(body) < pos + length:
            shared.error = f"event at byte {pos - 5} claims {length} bytes, {len(body) - pos} left"
            break
        shared.events.append(SharedObjectEvent(kind, SHARED_OBJECT_EVENTS.get(kind, f"Unknown({kind})"),
                                               body[pos : pos + length]))
        pos += length
    return shared


def decode_aggregate(body: bytes, timestamp: int) -> Aggregate:
    """Type 22: FLV tags back to back. Each part's timestamp is rebased so the first part has the message's."""
    parts: list[AggregatePart] = []
    pos = 0
    first_ts: int | None = None
    error = None
    while pos < len(body):
        if len(body) - pos < 11:
            error = f"truncated tag header at byte {pos}"
            break
        type_id = body[pos]
        length = int.from_bytes(body[pos + 1 : pos + 4], "big")
        ts = int.from_bytes(body[pos + 4 : pos + 7], "big") | (body[pos + 7] << 24)
        stream_id = int.from_bytes(body[pos + 8 : pos + 11], "big")
        start = pos + 11
        if len(body) < start + length:
            error = f"tag at byte {pos} claims {length} bytes, {len(body) - start} left"
            break
        if first_ts is None:
            first_ts = ts
        parts.append(AggregatePart(type_id, (timestamp + ts - first_ts) & 0xFFFFFFFF, stream_id, start, length))
        pos = start + length + 4  # the back pointer (previous tag size) follows each tag
        if pos > len(body):
            error = "last tag lacks its back pointer"
            break
    return Aggregate(parts, error)
