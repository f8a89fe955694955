"""One RTMP session (a TCP flow found to carry RTMP): two direction decoders, the handshake,
the command state, and the records handed to the outputs.
"""

from __future__ import annotations

from typing import Any

from ..capture.segment import format_endpoint
from ..core import connection_decoder
from ..rtmp.events import (
    CHUNK_SIZE_CHANGED,
    ENCRYPTED,
    HANDSHAKE_ECHO,
    HANDSHAKE_RANDOM,
    HANDSHAKE_VERSION,
    MESSAGE,
    RESYNCHRONISED,
    VIOLATION,
    Message,
)
from ..rtmp.handshake import check_handshake
from ..rtmp.media import parse_video
from ..rtmp.messages import AmfPayload, decode_body
from ..rtmp.vocabulary import Direction, MessageType
from .commands import SessionState
from .expert import ExpertChecks
from .ingest_profiles import Profile, ProfileChecks
from .media_stats import StreamStatistics
from .records import HandshakeRecord, MessageRecord, Record, WarningRecord
from .summary import summarize
from .verdict import verdict

C2S, S2C = Direction.C2S, Direction.S2C
DIRECTIONS = (C2S, S2C)  # by the connection decoder's direction index

# Messages whose bodies repeat byte for byte across the sessions of a capture: media configuration (AVC/AAC
# sequence headers and the like: byte 1 is 0; decoding them parses SPS) and small commands and data (connect,
# _result, onStatus, onMetaData, |RtmpSampleAccess, protocol and user control). Their decoded payloads
# (never modified after decoding) and summaries are kept by body, so a repeated body is decoded once.
# Bounded; cleared when full.
_DECODED: dict[tuple[int, bytes], tuple[Any, str]] = {}
_DECODED_ENTRIES = 1024
_DECODED_MAX_BODY = 4096
_DECODED_TYPES = frozenset(MessageType) - {MessageType.AUDIO, MessageType.VIDEO, MessageType.AGGREGATE}


def _decode_cached(type_id: int, body: bytes, timestamp: int) -> tuple[Any, str]:
    key = (type_id, body)
    hit = _DECODED.get(key)
    if hit is None:
        payload = decode_body(type_id, body, timestamp)
        hit = (payload, summarize(type_id, payload))
        if len(_DECODED) >= _DECODED_ENTRIES:
            _DECODED.clear()
        _DECODED[key] = hit
    return hit


class HandshakeState:
    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.randoms: dict[str, bytes] = {}
        self.echoes: dict[str, bytes] = {}
        self.times: dict[str, int] = {}
        self.frames: dict[str, int] = {}
        self.encrypted = False
        self.in_view = True

    @property
    def complete(self) -> bool:
        return len(self.echoes) == 2

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "complete": self.complete,
            "version": self.versions.get(C2S, self.versions.get(S2C)),
            "in_capture": self.in_view,
            "encrypted": self.encrypted,
        }
        if self.versions:
            out["client_version"] = self.versions.get(C2S)
            out["server_version"] = self.versions.get(S2C)
        if C2S in self.randoms or S2C in self.randoms:
            check = check_handshake(
                self.randoms.get(C2S), self.randoms.get(S2C), self.echoes.get(C2S), self.echoes.get(S2C)
            )
            out["scheme"] = check.scheme
            out["client_digest_valid"] = check.client_digest_valid
            out["server_digest_valid"] = check.server_digest_valid
            out["c2_echoes_s1"] = check.c2_echoes_s1
            out["s2_echoes_c1"] = check.s2_echoes_c1
            out["client_time"] = self.times.get(C2S)
            out["server_time"] = self.times.get(S2C)
        return out


class FlowSession:
    """Decodes both directions of one flow and turns decoder events into records.

    The chunk layer is a connection decoder (rtmp.connection's interface) of the core in use (`native`); with
    the native engine it is fed by the engine itself and the session is handed its events (`decoded`)."""

    def __init__(
        self,
        flow_id: int,
        tcp_flow: Any,
        client: int,
        capture_start: float,
        handshake: bool,
        native: bool = False,
    ) -> None:
        self.id = flow_id
        self.tcp_flow = tcp_flow
        self.client_index = client
        self.capture_start = capture_start
        endpoints = tcp_flow.endpoints
        self.client = format_endpoint(*endpoints[client])
        self.server = format_endpoint(*endpoints[1 - client])
        self.server_port = endpoints[1 - client][1]
        self.connection = connection_decoder(handshake, native)
        self.handshake = HandshakeState()
        self.handshake.in_view = handshake
        self.state = SessionState()
        self.message_count = 0
        self.warnings: list[WarningRecord] = []
        # Retransmitted copies that differed from the bytes taken, per direction: [copies, bytes, first frame,
        # first stream offset] (one finding each when the flow ends: analysis/pipeline.py).
        self.differing_copies: dict[str, list[int]] = {}
        self.media_messages = {C2S: 0, S2C: 0}
        self._nal_length_sizes: dict[tuple[str, int], int] = {}  # (dir, message stream) -> size, when not 4
        self.chunk_sizes: dict[str, int] = {}
        self.ended: str | None = None
        # Analyses that watch every message. Each has observe(record) -> warnings, called per message in
        # decoding order; finish() -> warnings, once at the end; to_json() -> keys merged into the flow's JSON.
        # Statistics first: the expert checks and the verdict read what it measured.
        self.stats = StreamStatistics(self)
        self.expert = ExpertChecks(self)
        self.observers: tuple[Any, ...] = (self.stats, self.expert)
        if not handshake:
            self.warn("handshake.missing", "info", None,
                      "the handshake is not in the capture: decoding from the middle of the session, "
                      "chunk size and header state inferred", None)

    def direction(self, tcp_direction: int) -> Direction:
        return C2S if tcp_direction == self.client_index else S2C

    # What the connection decoder counted: the session's first and last frame and time, bytes per direction.
    @property
    def first_frame(self) -> int | None:
        return self.connection.first_frame  # type: ignore[no-any-return]

    @property
    def last_frame(self) -> int | None:
        return self.connection.last_frame  # type: ignore[no-any-return]

    @property
    def first_time(self) -> float | None:
        return self.connection.first_time  # type: ignore[no-any-return]

    @property
    def last_time(self) -> float | None:
        return self.connection.last_time  # type: ignore[no-any-return]

    @property
    def byte_counts(self) -> dict[Direction, int]:
        """TCP payload bytes per direction."""
        c2s, s2c = self.connection.bytes
        return {C2S: c2s, S2C: s2c}

    def warn(self, code: str, severity: str, frame: int | None, message: str, dir: str | None,
             time: float | None = None) -> WarningRecord:
        record = WarningRecord(self.id, code, severity, frame, message, dir, time)
        self.warnings.append(record)
        return record

    def feed(self, tcp_direction: int, frame: int, time: float, data: bytes) -> list[Record]:
        side = 0 if tcp_direction == self.client_index else 1
        events, late = self.connection.feed(side, frame, time, data)
        return self._handle(DIRECTIONS[side], events, frame, time, late)

    def decoded(self, tcp_direction: int, frame: int, time: float, events: list[Any],
                late: dict[int, tuple[int, float]] | None) -> list[Record]:
        """What the native engine decoded of one segment (it feeds the connection decoder itself)."""
        return self._handle(self.direction(tcp_direction), events, frame, time, late)

    def gap(self, tcp_direction: int, frame: int, time: float, size: int) -> list[Record]:
        side = 0 if tcp_direction == self.client_index else 1
        return self._handle(DIRECTIONS[side], self.connection.gap(side, frame, time, size), frame, time)

    def finish(self, reason: str, frame: int | None, time: float | None) -> list[Record]:
        self.ended = reason
        out: list[Record] = []
        for side, dir in enumerate(DIRECTIONS):
            out += self._handle(dir, self.connection.finish(side), frame or self.last_frame or 0,
                                time or self.last_time or 0)
        for observer in self.observers:
            for warning in observer.finish():
                self.warnings.append(warning)
                out.append(warning)
        return out

    def _handle(self, dir: Direction, events: list[Any], frame: int, time: float,
                late: dict[int, tuple[int, float]] | None = None) -> list[Record]:
        """Records from decoder events (of either core: dispatched on KIND). `late`: for messages whose last
        byte came in an earlier segment than `frame` (decoded after a resynchronisation), {end offset: (frame,
        time)} of the segment that carried it."""
        out: list[Record] = []
        rel_time = round(time - self.capture_start, 6)
        for event in events:
            kind = event.KIND  # most frequent first: messages
            if kind == MESSAGE:
                message_frame, message_time = frame, rel_time
                found = None if late is None else late.get(event.end_offset)
                if found is not None:
                    # Decoded late: credit the frame that really carried the message's last byte, as
                    # Wireshark numbers it.
                    message_frame, message_time = found[0], round(found[1] - self.capture_start, 6)
                record = self._message(dir, event, message_frame, message_time)
                out.append(record)
                for observer in self.observers:
                    for warning in observer.observe(record):
                        self.warnings.append(warning)
                        out.append(warning)
            elif kind == VIOLATION:
                out.append(self.warn(event.code, event.severity, frame, event.reason, dir, rel_time))
            elif kind == CHUNK_SIZE_CHANGED:
                self.chunk_sizes[dir] = event.size
            elif kind == HANDSHAKE_VERSION:
                self.handshake.versions[dir] = event.version
                self.handshake.frames.setdefault(dir, frame)
                note = " (RTMPE: encrypted)" if event.version in (6, 8, 9) else ""
                out.append(self._handshake_record(dir, "0", frame, rel_time, event.offset, 1, b"",
                                                  f"version {event.version}{note}"))
            elif kind == HANDSHAKE_RANDOM:
                self.handshake.randoms[dir] = event.data
                self.handshake.times[dir] = event.time
                field = event.version_field
                scheme = "zero field (simple scheme)" if field == 0 else \
                    "peer version " + ".".join(str(b) for b in field.to_bytes(4, "big")) + " (digest scheme)"
                out.append(self._handshake_record(dir, "1", frame, rel_time, event.offset, len(event.data),
                                                  event.data, f"time {event.time}, {scheme}"))
            elif kind == HANDSHAKE_ECHO:
                self.handshake.echoes[dir] = event.data
                out.append(self._handshake_record(dir, "2", frame, rel_time, event.offset, len(event.data),
                                                  event.data, f"time {event.time}, time2 {event.time2}"))
            elif kind == ENCRYPTED:
                self.handshake.encrypted = True
                out.append(self.warn("handshake.encrypted", "info", frame,
                                     f"RTMPE (handshake version {event.version}): the rest of this direction "
                                     "is encrypted and not decoded", dir, rel_time))
            elif kind == RESYNCHRONISED:
                size_note = " (inferred)" if event.chunk_size_inferred else ""
                out.append(self.warn("chunk.resynchronised", "info", frame,
                                     f"found chunk boundaries at stream offset {event.offset} after skipping "
                                     f"{event.skipped} bytes; chunk size {event.chunk_size}{size_note}",
                                     dir, rel_time))
        return out

    def check_against(self, profile: Profile) -> None:
        """Also check the published media against an ingest profile (--profile) when the flow ends."""
        self.observers = (*self.observers, ProfileChecks(self, profile))

    def _handshake_record(self, dir: Direction, number: str, frame: int, time: float, offset: int, length: int,
                          data: bytes, summary: str) -> HandshakeRecord:
        part = ("C" if dir == C2S else "S") + number
        return HandshakeRecord(self.id, part, dir, frame, time, offset, length, summary, data)

    def _message(self, dir: Direction, message: Message, frame: int, time: float) -> MessageRecord:
        type_id = message.type_id
        body = message.body
        index = self.message_count
        self.message_count += 1
        if type_id == MessageType.AUDIO or type_id == MessageType.VIDEO:
            self.media_messages[dir] += 1
            if len(body) >= 2 and body[1] == 0 and len(body) <= _DECODED_MAX_BODY:
                payload, summary = _decode_cached(type_id, body, message.timestamp)
            elif type_id == MessageType.VIDEO and (dir, message.stream_id) in self._nal_length_sizes:
                # NAL units are walked with the length size the stream's configuration record declared.
                size = self._nal_length_sizes[(dir, message.stream_id)]
                payload = parse_video(body, nal_length_size=size)
                summary = summarize(type_id, payload)
            else:
                payload = decode_body(type_id, body, message.timestamp)
                summary = summarize(type_id, payload)
            if type_id == MessageType.VIDEO:
                self._note_nal_length_size(dir, message.stream_id, payload)
        else:
            if type_id in _DECODED_TYPES and len(body) <= _DECODED_MAX_BODY:
                payload, summary = _decode_cached(type_id, body, message.timestamp)
            else:
                payload = decode_body(type_id, body, message.timestamp)
                summary = summarize(type_id, payload)
            if isinstance(payload, AmfPayload) and payload.is_command:
                self.state.on_command(payload, dir, message.stream_id, frame, time, index)
        return MessageRecord(
            self.id,
            index,
            dir,
            frame,
            time,
            message.csid,
            message.stream_id,
            message.timestamp,
            type_id,
            len(body),
            payload,
            summary,
            message.offset,
            message.end_offset,
            message.chunks,
            message.first_fmt,
            message.inferred,
            message.body,
        )

    def _note_nal_length_size(self, dir: str, stream_id: int, payload: Any) -> None:
        """An AVC/HEVC configuration record says how long NAL unit length prefixes are (4 unless it says
        otherwise); remembered per message stream when it is not 4, the size parse_video assumes."""
        size = getattr(getattr(payload, "config", None), "nal_length_size", None)
        if size is None:
            return
        if size == 4:
            self._nal_length_sizes.pop((dir, stream_id), None)
        else:
            self._nal_length_sizes[(dir, stream_id)] = size

    # -- what the outputs show about the whole flow --------------------------------------------

    def outcome(self) -> str:
        """The session's verdict: one line saying what it did and whether it worked."""
        return verdict(self)

    def to_json_header(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client": self.client,
            "server": self.server,
            "handshake": self.handshake.to_json(),
        }

    def to_json_summary(self) -> dict[str, Any]:
        return {
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "start": None if self.first_time is None else round(self.first_time - self.capture_start, 6),
            "end": None if self.last_time is None else round(self.last_time - self.capture_start, 6),
            "bytes": self.byte_counts,
            "message_count": self.message_count,
            "chunk_size": {dir: self.connection.chunk_size(side) for side, dir in enumerate(DIRECTIONS)},
            "ended": self.ended,
            "session": self.state.to_json(),
            "streams": [s.to_json() for s in sorted(self.state.streams.values(), key=lambda s: s.stream_id)],
            **{key: value for observer in self.observers for key, value in observer.to_json().items()},
        }
