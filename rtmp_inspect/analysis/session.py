"""One RTMP session (a TCP flow found to carry RTMP): two direction decoders, the handshake,
the command state, and the records handed to the outputs.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..capture.segment import format_endpoint
from ..rtmp.chunks import ChunkDecoder
from ..rtmp.events import (
    ChunkSizeChanged,
    Encrypted,
    HandshakeEcho,
    HandshakeRandom,
    HandshakeVersion,
    Message,
    Resynchronised,
    Violation,
)
from ..rtmp.handshake import check_handshake
from ..rtmp.media import parse_video
from ..rtmp.messages import AmfPayload, decode_body
from ..rtmp.vocabulary import Direction, MessageType
from .commands import SessionState
from .expert import ExpertChecks
from .media_stats import StreamStatistics
from .records import HandshakeRecord, MessageRecord, WarningRecord
from .summary import summarize
from .verdict import verdict

C2S, S2C = Direction.C2S, Direction.S2C

# Media configuration messages (AVC/AAC sequence headers and the like: byte 1 is 0) repeat byte for byte in
# every session of a server and decoding them (SPS parsing) is costly: their decoded payloads (immutable)
# and summaries are kept by body. Bounded; cleared when full.
_CONFIG_CACHE: dict[tuple[int, bytes], tuple[Any, str]] = {}
_CONFIG_CACHE_ENTRIES = 256
_CONFIG_CACHE_MAX_BODY = 4096


def _decode_media_config(type_id: int, body: bytes, timestamp: int) -> tuple[Any, str]:
    key = (type_id, body)
    hit = _CONFIG_CACHE.get(key)
    if hit is None:
        payload = decode_body(type_id, body, timestamp)
        hit = (payload, summarize(type_id, payload))
        if len(_CONFIG_CACHE) >= _CONFIG_CACHE_ENTRIES:
            _CONFIG_CACHE.clear()
        _CONFIG_CACHE[key] = hit
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
    """Decodes both directions of one flow and turns decoder events into records."""

    def __init__(
        self,
        flow_id: int,
        tcp_flow: Any,
        client: int,
        capture_start: float,
        handshake: bool,
    ) -> None:
        self.id = flow_id
        self.tcp_flow = tcp_flow
        self.client_index = client
        self.capture_start = capture_start
        endpoints = tcp_flow.endpoints
        self.client = format_endpoint(*endpoints[client])
        self.server = format_endpoint(*endpoints[1 - client])
        self.server_port = endpoints[1 - client][1]
        self.decoders = {C2S: ChunkDecoder(handshake), S2C: ChunkDecoder(handshake)}
        self.handshake = HandshakeState()
        self.handshake.in_view = handshake
        self.state = SessionState()
        self.message_count = 0
        self.warnings: list[WarningRecord] = []
        self.first_frame: int | None = None
        self.last_frame: int | None = None
        self.first_time: float | None = None
        self.last_time: float | None = None
        self.bytes = {C2S: 0, S2C: 0}
        # Per direction: (stream offset just past a fed segment, its frame, its time), for the bytes not yet decoded.
        self._frames: dict[str, deque] = {C2S: deque(), S2C: deque()}
        self.media_messages = {C2S: 0, S2C: 0}
        self._nal_length_sizes: dict[tuple[str, int], int] = {}  # (dir, message stream) -> size, when not 4
        self.chunk_sizes: dict[str, int] = {}
        self.ended: str | None = None
        # Analyses that watch every message. Each has observe(record) -> warnings, called per message in
        # decoding order; finish() -> warnings, once at the end; to_json() -> keys merged into the flow's JSON.
        # Statistics first: the expert checks and the verdict read what it measured.
        self.stats = StreamStatistics(self)
        self.expert = ExpertChecks(self)
        self.observers = (self.stats, self.expert)
        if not handshake:
            self.warn("handshake.missing", "info", None,
                      "the handshake is not in the capture: decoding from the middle of the session, "
                      "chunk size and header state inferred", None)

    def direction(self, tcp_direction: int) -> str:
        return C2S if tcp_direction == self.client_index else S2C

    def _touch(self, frame: int, time: float) -> None:
        if self.first_frame is None:
            self.first_frame = frame
            self.first_time = time
        self.last_frame = frame
        self.last_time = time

    def warn(self, code: str, severity: str, frame: int | None, message: str, dir: str | None,
             time: float | None = None) -> WarningRecord:
        record = WarningRecord(self.id, code, severity, frame, message, dir, time)
        self.warnings.append(record)
        return record

    def feed(self, tcp_direction: int, frame: int, time: float, data: bytes) -> list:
        dir = self.direction(tcp_direction)
        self._touch(frame, time)
        self.bytes[dir] += len(data)
        decoder = self.decoders[dir]
        start = decoder.received_offset
        frames = self._frames[dir]
        frames.append((start + len(data), frame, time))
        records = self._handle(dir, decoder.receive_data(data), frame, time, start)
        # Keep only the frames that may still hold the last byte of a message not yet decoded.
        consumed = decoder.offset
        while len(frames) > 1 and frames[0][0] <= consumed:
            frames.popleft()
        return records

    def _frame_of(self, dir: str, end_offset: int) -> tuple[int, float] | None:
        """The frame (and its time) that carried the byte just before `end_offset`, if still known."""
        for frame_end, frame, time in self._frames[dir]:
            if frame_end >= end_offset:
                return frame, time
        return None

    def gap(self, tcp_direction: int, frame: int, time: float, size: int) -> list:
        dir = self.direction(tcp_direction)
        self._touch(frame, time)
        return self._handle(dir, self.decoders[dir].receive_gap(size), frame, time)

    def finish(self, reason: str, frame: int | None, time: float | None) -> list:
        self.ended = reason
        out: list = []
        for dir, decoder in self.decoders.items():
            out += self._handle(dir, decoder.finish(), frame or self.last_frame or 0, time or self.last_time or 0)
        for observer in self.observers:
            for warning in observer.finish():
                self.warnings.append(warning)
                out.append(warning)
        return out

    def _handle(self, dir: str, events: list, frame: int, time: float, feed_start: int | None = None) -> list:
        out: list = []
        rel_time = round(time - self.capture_start, 6)
        for event in events:
            kind = type(event)
            if kind is Message:
                message_frame, message_time = frame, rel_time
                if feed_start is not None and event.end_offset <= feed_start:
                    # Decoded late (the decoder had to find its place first): credit the frame that
                    # really carried the message's last byte, as Wireshark numbers it.
                    found = self._frame_of(dir, event.end_offset)
                    if found is not None:
                        message_frame, message_time = found[0], round(found[1] - self.capture_start, 6)
                record = self._message(dir, event, message_frame, message_time)
                out.append(record)
                for observer in self.observers:
                    for warning in observer.observe(record):
                        self.warnings.append(warning)
                        out.append(warning)
            elif kind is Violation:
                out.append(self.warn(event.code, event.severity, frame, event.reason, dir, rel_time))
            elif kind is ChunkSizeChanged:
                self.chunk_sizes[dir] = event.size
            elif kind is HandshakeVersion:
                self.handshake.versions[dir] = event.version
                self.handshake.frames.setdefault(dir, frame)
                note = " (RTMPE: encrypted)" if event.version in (6, 8, 9) else ""
                out.append(self._handshake_record(dir, "0", frame, rel_time, event.offset, 1, b"",
                                                  f"version {event.version}{note}"))
            elif kind is HandshakeRandom:
                self.handshake.randoms[dir] = event.data
                self.handshake.times[dir] = event.time
                field = event.version_field
                scheme = "zero field (simple scheme)" if field == 0 else \
                    "peer version " + ".".join(str(b) for b in field.to_bytes(4, "big")) + " (digest scheme)"
                out.append(self._handshake_record(dir, "1", frame, rel_time, event.offset, len(event.data),
                                                  event.data, f"time {event.time}, {scheme}"))
            elif kind is HandshakeEcho:
                self.handshake.echoes[dir] = event.data
                out.append(self._handshake_record(dir, "2", frame, rel_time, event.offset, len(event.data),
                                                  event.data, f"time {event.time}, time2 {event.time2}"))
            elif kind is Encrypted:
                self.handshake.encrypted = True
                out.append(self.warn("handshake.encrypted", "info", frame,
                                     f"RTMPE (handshake version {event.version}): the rest of this direction "
                                     "is encrypted and not decoded", dir, rel_time))
            elif kind is Resynchronised:
                size_note = " (inferred)" if event.chunk_size_inferred else ""
                out.append(self.warn("chunk.resynchronised", "info", frame,
                                     f"found chunk boundaries at stream offset {event.offset} after skipping "
                                     f"{event.skipped} bytes; chunk size {event.chunk_size}{size_note}",
                                     dir, rel_time))
        return out

    def _handshake_record(self, dir: str, number: str, frame: int, time: float, offset: int, length: int,
                          data: bytes, summary: str) -> HandshakeRecord:
        part = ("C" if dir == C2S else "S") + number
        return HandshakeRecord(self.id, part, dir, frame, time, offset, length, summary, data)

    def _message(self, dir: str, message: Message, frame: int, time: float) -> MessageRecord:
        type_id = message.type_id
        body = message.body
        index = self.message_count
        self.message_count += 1
        if type_id == MessageType.AUDIO or type_id == MessageType.VIDEO:
            self.media_messages[dir] += 1
            if len(body) >= 2 and body[1] == 0 and len(body) <= _CONFIG_CACHE_MAX_BODY:
                payload, summary = _decode_media_config(type_id, body, message.timestamp)
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
            payload = decode_body(type_id, body, message.timestamp)
            if isinstance(payload, AmfPayload) and payload.is_command:
                self.state.on_command(payload, dir, message.stream_id, frame, time, index)
            summary = summarize(type_id, payload)
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
            "bytes": dict(self.bytes),
            "message_count": self.message_count,
            "chunk_size": {d: self.decoders[d].chunk_size for d in (C2S, S2C)},
            "ended": self.ended,
            "session": self.state.to_json(),
            "streams": [s.to_json() for s in sorted(self.state.streams.values(), key=lambda s: s.stream_id)],
            **{key: value for observer in self.observers for key, value in observer.to_json().items()},
        }
