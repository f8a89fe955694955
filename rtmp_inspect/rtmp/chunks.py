"""Sans-IO decoder for one direction of an RTMP connection: handshake, then chunk stream.

Bytes in (`receive_data`), events out (a list per call), in the style of h11. No I/O, no clocks.
One decoder per direction, because Set Chunk Size and chunk-stream state are per direction.

A chunk is decoded only once all of its bytes (header and payload) are buffered, so feeding a
stream whole or one byte at a time gives the same events, and work stays linear in the input.
"""

from __future__ import annotations

from .events import (
    ChunkSizeChanged,
    Encrypted,
    Event,
    HandshakeEcho,
    HandshakeRandom,
    HandshakeVersion,
    Message,
    Resynchronised,
    Violation,
)
from .resync import find_chunk_boundary
from .vocabulary import MessageType

HANDSHAKE_SIZE = 1536
DEFAULT_CHUNK_SIZE = 128
MAX_CHUNK_SIZE = 0x7FFFFFFF
ENCRYPTED_VERSIONS = frozenset((6, 8, 9))
# Bytes held in incomplete messages per direction before they are dropped with a warning.
MAX_PENDING_BYTES = 64 * 1024 * 1024
# Chunk streams tracked per direction. Real peers use a handful; the protocol allows 65,599, and each costs
# state. Past this many, the idle ones are forgotten (a later fmt 1-3 chunk on one of them loses sync).
MAX_CHUNK_STREAMS = 1024
# Finding chunk boundaries again: first tried with this much buffered, then again each time as much more
# has arrived, and given up (most of the window skipped) at RESYNC_WINDOW.
RESYNC_FIRST_TRY = 8 * 1024
RESYNC_WINDOW = 64 * 1024
# Clean headers that convince when the chunk size is known (after a gap); unknown sizes need more.
RESYNC_KNOWN_SIZE_HEADERS = 4
# Keep the consumed prefix of the buffer until it is this large, then cut it off (amortised O(1)).
COMPACT_THRESHOLD = 1 << 20

_MESSAGE_HEADER_SIZE = (11, 7, 3, 0)

# Phases
_HS0, _HS1, _HS2, _CHUNKS, _RESYNC, _ENCRYPTED = range(6)

# A message header as read: (length of both headers with any extended timestamp, timestamp field, whether it
# was extended, the message in progress that the chunk continues or None if the chunk begins one).
_Header = tuple[int, int, bool, bytearray | None]


def _long_basic_header(form: int, buf: bytearray, pos: int, avail: int) -> tuple[int, int] | None:
    """(chunk stream id, basic header length) of the chunk at `pos` whose first byte's id field is `form`:
    0 for the two-byte basic header (ids 64-319), 1 for the three-byte one (64-65599). None when more bytes
    are needed."""
    if form == 0:
        if avail < 2:
            return None
        return 64 + buf[pos + 1], 2
    if avail < 3:
        return None
    return 64 + buf[pos + 1] + (buf[pos + 2] << 8), 3


class _ChunkStream:
    """What the previous chunk headers on one chunk stream id left behind (RTMP spec 5.3.1.2)."""

    __slots__ = (
        "timestamp", "ts_field", "length", "type_id", "stream_id", "extended",
        "body", "remaining", "msg_offset", "chunks", "first_fmt", "msg_extended", "inferred",
    )

    def __init__(self) -> None:
        self.timestamp = 0  # absolute timestamp of the current (or last) message
        self.ts_field = 0  # the last timestamp field: absolute after fmt 0, else the delta
        self.length = -1  # -1: unknown (only after resynchronisation)
        self.type_id = 0
        self.stream_id = 0
        self.extended = False  # the last header carried an extended timestamp
        self.body: bytearray | None = None  # message in progress
        self.remaining = 0
        self.msg_offset = 0
        self.chunks = 0
        self.first_fmt = 0
        self.msg_extended = False
        self.inferred = False


class ChunkDecoder:
    """Decodes one direction.

    `expect_handshake=False`: the capture began mid-session; the decoder first searches for chunk
    boundaries (and infers the chunk size unless given). `at_chunk_boundary=True` with it: the bytes
    start exactly at a chunk header with fresh chunk-stream state (for tests and tools that cut streams).
    """

    def __init__(self, expect_handshake: bool = True, chunk_size: int | None = None,
                 at_chunk_boundary: bool = False) -> None:
        self._buf = bytearray()
        self._pos = 0  # read position in _buf
        self._base = 0  # stream offset of _buf[0]
        self._streams: dict[int, _ChunkStream] = {}
        # (message stream id, timestamp) per chunk stream from before a resynchronisation, used as hints.
        self._hints: dict[int, tuple[int, int]] = {}
        self._next_resync_try = 0  # buffered bytes at which to look for chunk boundaries again
        self._pending_bytes = 0
        # Stream offset the buffer must reach before the chunk at the read position can be complete
        # (0: unknown). Saves re-parsing a chunk header for every TCP segment of a large chunk.
        self._wait = 0
        self.chunk_size = chunk_size or DEFAULT_CHUNK_SIZE
        self.chunk_size_inferred = False
        self.version: int | None = None
        # Whether this peer repeats the extended timestamp on fmt 3 continuation chunks; None until seen.
        self.repeats_extended_timestamp: bool | None = None
        self.messages = 0
        # True once the decoder had to find its place: chunk streams may then continue messages it never saw begin.
        self._unknown_streams_expected = not expect_handshake
        if expect_handshake:
            self._phase = _HS0
        elif at_chunk_boundary:
            self._phase = _CHUNKS
            self._unknown_streams_expected = False
        else:
            self._phase = _RESYNC
            self.chunk_size_inferred = chunk_size is None

    # -- public API ---------------------------------------------------------------------------

    @property
    def offset(self) -> int:
        """Stream offset of the next byte to decode."""
        return self._base + self._pos

    @property
    def received_offset(self) -> int:
        """Stream offset just past the last byte received (decoded or still buffered)."""
        return self._base + len(self._buf)

    @property
    def in_handshake(self) -> bool:
        return self._phase in (_HS0, _HS1, _HS2)

    @property
    def encrypted(self) -> bool:
        return self._phase == _ENCRYPTED

    def receive_data(self, data: bytes) -> list[Event]:
        if self._phase == _ENCRYPTED:
            return []
        buf = self._buf
        if self._pos >= COMPACT_THRESHOLD and self._pos * 2 >= len(buf):
            del buf[: self._pos]
            self._base += self._pos
            self._pos = 0
        buf += data
        events: list[Event] = []
        if self._wait and self._base + len(buf) < self._wait and self._phase == _CHUNKS:
            return events
        while True:
            phase = self._phase
            if phase == _CHUNKS:
                if not self._next_chunk(events):
                    break
            elif phase == _RESYNC:
                if not self._resync(events, final=False):
                    break
            elif phase == _ENCRYPTED:
                break
            elif not self._handshake_step(events):
                break
        return events

    def receive_gap(self, size: int) -> list[Event]:
        """`size` bytes of this direction are missing from the capture: drop what they cut and resynchronise."""
        events: list[Event] = []
        if self._phase == _ENCRYPTED:
            return events
        if self._phase == _RESYNC and len(self._buf) > self._pos:
            # Still searching when the gap came: decode what can be found in the bytes before it.
            self._resync(events, final=True)
            while self._phase == _CHUNKS and self._next_chunk(events):
                pass
        lost_at = self.offset
        self._wait = 0
        self._next_resync_try = 0
        # Whatever is buffered but undecoded sits before the gap and can never complete.
        self._drop_buffer()
        self._base += size
        dropped = self._drop_partial_messages()
        events.append(
            Violation(
                "tcp.gap",
                "warning",
                lost_at,
                f"{size} bytes missing from the capture"
                + (f"; {dropped} incomplete message(s) dropped" if dropped else ""),
            )
        )
        if self._phase in (_HS0, _HS1, _HS2):
            # The handshake itself was cut: what follows is the chunk stream at an unknown position.
            self._phase = _RESYNC
        elif self._phase == _CHUNKS:
            self._phase = _RESYNC
        return events

    def finish(self) -> list[Event]:
        """End of the capture: try the buffered tail once more, then report what stays incomplete."""
        events: list[Event] = []
        if self._phase == _RESYNC:
            self._resync(events, final=True)
            while self._phase == _CHUNKS and self._next_chunk(events):
                pass
        left = len(self._buf) - self._pos
        incomplete = sum(1 for s in self._streams.values() if s.body is not None)
        if self._phase not in (_ENCRYPTED,) and (left or incomplete):
            events.append(
                Violation(
                    "stream.truncated",
                    "info",
                    self.offset,
                    f"capture ends inside a message: {left} undecoded bytes, {incomplete} incomplete message(s)",
                )
            )
        # Let go of the decoded bytes (up to COMPACT_THRESHOLD of them): finished sessions stay in memory
        # until the end of the capture, and with thousands of them those buffers add up.
        if self._pos:
            del self._buf[: self._pos]
            self._base += self._pos
            self._pos = 0
        return events

    # -- handshake ---------------------------------------------------------------------------

    def _handshake_step(self, events: list[Event]) -> bool:
        buf, pos = self._buf, self._pos
        if self._phase == _HS0:
            if len(buf) - pos < 1:
                return False
            version = buf[pos]
            self.version = version
            events.append(HandshakeVersion(version, self._base + pos))
            self._pos = pos + 1
            self._phase = _HS1
            return True
        if len(buf) - pos < HANDSHAKE_SIZE:
            return False
        data = bytes(buf[pos : pos + HANDSHAKE_SIZE])
        time = int.from_bytes(data[0:4], "big")
        field = int.from_bytes(data[4:8], "big")
        offset = self._base + pos
        self._pos = pos + HANDSHAKE_SIZE
        if self._phase == _HS1:
            events.append(HandshakeRandom(time, field, data, offset))
            self._phase = _HS2
        else:
            events.append(HandshakeEcho(time, field, data, offset))
            if self.version in ENCRYPTED_VERSIONS:
                events.append(Encrypted(self.version, self.offset))
                self._phase = _ENCRYPTED
                self._drop_buffer()
            else:
                if self.version != 3:
                    events.append(
                        Violation(
                            "handshake.version",
                            "warning",
                            offset - HANDSHAKE_SIZE - 1,
                            f"handshake version {self.version} is not 3; decoding as plain RTMP",
                        )
                    )
                self._phase = _CHUNKS
        return True

    # -- chunk stream ------------------------------------------------------------------------
    #
    # One chunk, in the order it is read: the basic header (fmt and chunk stream id), the state of a chunk
    # stream met for the first time, the message header (timestamp, extended timestamp), then the commit once
    # the whole chunk is buffered. Until then only what the headers alone settle changes (a fmt 0/1 header's
    # length, type and stream id, a partial message it interrupts, a new chunk stream, a finding), so reading
    # the chunk again when more bytes have come settles it the same way.

    def _next_chunk(self, events: list[Event]) -> bool:
        """Decode one whole chunk if it is buffered. False when more bytes are needed."""
        buf = self._buf
        pos = self._pos
        avail = len(buf) - pos
        if avail < 1:
            return False
        b0 = buf[pos]
        if b0 > 0xC1:  # fmt 3 with a one-byte chunk stream id: most likely the next piece of a message
            stream = self._streams.get(b0 & 0x3F)
            if stream is not None and stream.body is not None and not stream.extended:
                return self._continuations(b0, stream, stream.body, buf, pos, events)
        csid = b0 & 0x3F
        head = 1
        if csid < 2:  # ids 0 and 1 announce the two- and three-byte forms of the basic header
            long_form = _long_basic_header(csid, buf, pos, avail)
            if long_form is None:
                return False
            csid, head = long_form
        fmt = b0 >> 6
        need = head + _MESSAGE_HEADER_SIZE[fmt]
        if avail < need:
            return False
        offset = self._base + pos
        stream = self._streams.get(csid)
        if stream is None:
            if fmt >= 2:
                return self._unknown_stream(fmt, csid, pos, need, avail, offset, events)
            stream = self._new_stream(fmt, csid, offset, events)
        header = self._message_header(fmt, csid, stream, pos, head, need, avail, events)
        if header is None:
            return False
        need, ts_field, extended, body = header
        if body is None:  # the chunk begins a message
            if stream.length < 0:
                events.append(
                    Violation("chunk.unknown-length", "error", offset,
                              f"fmt {fmt} chunk on chunk stream {csid} with no known message length")
                )
                self._lose_sync()
                return True
            left = stream.length
        else:
            left = stream.remaining
        size = self.chunk_size
        payload = left if left < size else size  # not min(): this is the hot path
        if avail < need + payload:
            self._wait = self._base + pos + need + payload
            return False
        if body is None:
            body = self._start_message(stream, fmt, ts_field, extended, offset)
        # The chunks that can follow on the fast path: fmt 3 with this one-byte chunk stream id, no extended timestamp.
        continuation = 0xC0 | csid if csid < 64 and not stream.extended else -1
        return self._commit(csid, stream, body, buf, pos, pos + need, payload, continuation, events)

    def _unknown_stream(self, fmt: int, csid: int, pos: int, need: int, avail: int, offset: int,
                        events: list[Event]) -> bool:
        """A fmt 2 or 3 chunk on a chunk stream that never had a fmt 0/1 header, so neither the length nor the
        type of its message is known. True when dealt with (skipped, or sync lost), False when more bytes are
        needed to skip it."""
        if self._unknown_streams_expected:
            # Joined mid-message (after a gap or a mid-session start): the message began before
            # the bytes we have. Assume a full chunk, skip it, and pick the stream up at its next header.
            if avail < need + self.chunk_size:
                return False
            self._pos = pos + need + self.chunk_size
            events.append(Violation("chunk.skipped-unknown", "info", offset,
                                    f"skipped a fmt {fmt} chunk on chunk stream {csid}: its message began "
                                    "before the decodable bytes"))
            return True
        # Without a fmt 0/1 header we know neither length nor type: the chunk cannot be delimited.
        events.append(
            Violation(
                "chunk.unknown-stream",
                "error",
                offset,
                f"fmt {fmt} chunk on chunk stream {csid} that never had a full header; lost chunk boundaries",
            )
        )
        self._lose_sync()
        return True

    def _new_stream(self, fmt: int, csid: int, offset: int, events: list[Event]) -> _ChunkStream:
        """The state of a chunk stream first seen with a fmt 0 or 1 header."""
        if len(self._streams) >= MAX_CHUNK_STREAMS:
            self._forget_chunk_streams(offset, events)
        stream = self._streams[csid] = _ChunkStream()
        if fmt == 1:
            stream.inferred = True
            hint = self._hints.get(csid)
            if hint is not None:
                # Seen before a gap: the message stream id carries over; the timestamp base is the
                # last one known, short by the deltas of whatever the gap swallowed.
                stream.stream_id, stream.timestamp = hint
            if not self._unknown_streams_expected:
                events.append(
                    Violation(
                        "chunk.first-not-fmt0",
                        "warning",
                        offset,
                        f"first chunk on chunk stream {csid} has fmt 1, not 0; "
                        "message stream id and timestamp base unknown",
                    )
                )
        return stream

    def _message_header(self, fmt: int, csid: int, stream: _ChunkStream, pos: int, head: int, need: int,
                        avail: int, events: list[Event]) -> _Header | None:
        """Read the message header of the chunk at `pos` (basic header `head` bytes, both headers `need` bytes
        without an extended timestamp), or None when more bytes are needed. fmt 0 and 1 set the message's
        length and type (and fmt 0 its stream id); a fmt 0-2 header drops the message it interrupts."""
        buf = self._buf
        extended = False
        if fmt == 3:
            ts_field = stream.ts_field
            if stream.extended:
                # Peers differ on whether fmt 3 chunks repeat the extended timestamp: peek and compare.
                if avail < need + 4:
                    return None
                if int.from_bytes(buf[pos + need : pos + need + 4], "big") == ts_field:
                    need += 4
                    extended = True
                self._note_extended_convention(extended, self._base + pos, events)
            return need, ts_field, extended, stream.body
        h = pos + head
        ts_field = (buf[h] << 16) | (buf[h + 1] << 8) | buf[h + 2]
        if ts_field == 0xFFFFFF:
            if avail < need + 4:
                return None
            ts_field = int.from_bytes(buf[pos + need : pos + need + 4], "big")
            need += 4
            extended = True
        if stream.body is not None:
            lost = stream.length - stream.remaining
            events.append(
                Violation(
                    "chunk.header-mid-message",
                    "error",
                    self._base + pos,
                    f"fmt {fmt} header on chunk stream {csid} while a message was incomplete "
                    f"({lost} of {stream.length} bytes); the partial message is dropped",
                )
            )
            self._pending_bytes -= len(stream.body)
            stream.body = None
        if fmt <= 1:
            length = (buf[h + 3] << 16) | (buf[h + 4] << 8) | buf[h + 5]
            type_id = buf[h + 6]
            if fmt == 0:
                stream.stream_id = int.from_bytes(buf[h + 7 : h + 11], "little")
                stream.inferred = False
            stream.length = length
            stream.type_id = type_id
        return need, ts_field, extended, None

    def _start_message(self, stream: _ChunkStream, fmt: int, ts_field: int, extended: bool,
                       offset: int) -> bytearray:
        """The first chunk of a message is wholly buffered: its header becomes the chunk stream's state."""
        if fmt == 0:
            stream.timestamp = ts_field
        else:
            stream.timestamp = (stream.timestamp + ts_field) & 0xFFFFFFFF
        stream.ts_field = ts_field
        stream.extended = extended
        body = stream.body = bytearray()
        stream.remaining = stream.length
        stream.msg_offset = offset
        stream.chunks = 0
        stream.first_fmt = fmt
        stream.msg_extended = extended
        return body

    def _commit(self, csid: int, stream: _ChunkStream, body: bytearray, buf: bytearray, chunk_pos: int,
                start: int, payload: int, continuation: int, events: list[Event]) -> bool:
        """Commit the wholly buffered chunk at `chunk_pos` (its `payload` bytes at `start`) to the message
        `body` in progress on `stream`, then each fmt 3 continuation chunk of that message right behind it
        (one-byte header `continuation`; -1: there cannot be one) while it is wholly buffered. Each chunk
        completes the message, or leaves it in progress within MAX_PENDING_BYTES, or has the partial
        messages dropped. False when more bytes are needed for the next chunk, True when it may be decodable.

        The run of continuations is a loop here, with the counters in locals, because it is the hot path:
        most chunks of a large message are such continuations."""
        size = self.chunk_size
        buf_end = len(buf)
        remaining = stream.remaining
        chunks = stream.chunks
        while True:
            end = start + payload
            body += buf[start:end]
            remaining -= payload
            chunks += 1
            if remaining == 0:
                stream.remaining = 0
                stream.chunks = chunks
                self._pos = end
                self._pending_bytes -= len(body) - payload
                self._complete(csid, stream, body, events)
                return True
            self._pending_bytes += payload
            if self._pending_bytes > MAX_PENDING_BYTES:
                stream.remaining = remaining
                stream.chunks = chunks
                self._pos = end
                dropped = self._drop_partial_messages()
                events.append(
                    Violation(
                        "limit.pending-bytes",
                        "error",
                        self._base + chunk_pos,
                        f"more than {MAX_PENDING_BYTES} bytes in incomplete messages; dropped {dropped}",
                    )
                )
                return True
            if end >= buf_end or buf[end] != continuation:
                more = end < buf_end
                break
            payload = remaining if remaining < size else size
            if end + 1 + payload > buf_end:
                self._wait = self._base + end + 1 + payload
                more = False
                break
            chunk_pos = end
            start = end + 1
        stream.remaining = remaining
        stream.chunks = chunks
        self._pos = end
        return more

    def _continuations(self, b0: int, stream: _ChunkStream, body: bytearray, buf: bytearray, pos: int,
                       events: list[Event]) -> bool:
        """Fast path of `_next_chunk` for a fmt 3 continuation chunk (one-byte header `b0`, no extended
        timestamp) of the message in progress on its chunk stream: no header to read, straight to the commit
        (which goes on through the continuations behind it)."""
        remaining = stream.remaining
        size = self.chunk_size
        payload = remaining if remaining < size else size
        end = pos + 1 + payload
        if end > len(buf):
            self._wait = self._base + end
            return False
        return self._commit(b0 & 0x3F, stream, body, buf, pos, pos + 1, payload, b0, events)

    def _complete(self, csid: int, stream: _ChunkStream, body_in_progress: bytearray, events: list[Event]) -> None:
        body = bytes(body_in_progress)
        stream.body = None
        end = self._base + self._pos
        message = Message(
            csid,
            stream.stream_id,
            stream.timestamp,
            stream.type_id,
            body,
            stream.msg_offset,
            end,
            stream.chunks,
            stream.first_fmt,
            stream.msg_extended,
            stream.inferred,
        )
        self.messages += 1
        events.append(message)
        type_id = stream.type_id
        if type_id == MessageType.SET_CHUNK_SIZE:
            self._set_chunk_size(body, stream.msg_offset, events)
        elif type_id == MessageType.ABORT and len(body) >= 4:
            self._abort(int.from_bytes(body[:4], "big"), stream.msg_offset, events)

    def _set_chunk_size(self, body: bytes, offset: int, events: list[Event]) -> None:
        if len(body) < 4:
            events.append(Violation("control.short", "error", offset, "Set Chunk Size with fewer than 4 bytes"))
            return
        raw = int.from_bytes(body[:4], "big")
        size = raw & 0x7FFFFFFF
        if raw & 0x80000000:
            events.append(
                Violation("control.chunk-size-top-bit", "error", offset,
                          f"Set Chunk Size {raw:#010x} has the top bit set; using {size}")
            )
        if size == 0:
            events.append(Violation("control.chunk-size-zero", "error", offset,
                                    "Set Chunk Size 0 is invalid; chunk size unchanged"))
            return
        self.chunk_size = size
        self.chunk_size_inferred = False
        events.append(ChunkSizeChanged(size, offset))

    def _abort(self, csid: int, offset: int, events: list[Event]) -> None:
        stream = self._streams.get(csid)
        if stream is not None and stream.body is not None:
            self._pending_bytes -= len(stream.body)
            dropped = len(stream.body)
            stream.body = None
            stream.remaining = 0
            events.append(Violation("control.abort", "info", offset,
                                    f"Abort: dropped {dropped} bytes of a message on chunk stream {csid}"))
        else:
            events.append(Violation("control.abort-idle", "warning", offset,
                                    f"Abort for chunk stream {csid}, which had no message in progress"))

    def _forget_chunk_streams(self, offset: int, events: list[Event]) -> None:
        """Too many chunk streams: forget the idle ones, and the partial messages too if none is idle."""
        idle = [csid for csid, stream in self._streams.items() if stream.body is None]
        if idle:
            for csid in idle:
                del self._streams[csid]
            detail = f"forgot the state of {len(idle)} idle ones"
        else:
            detail = f"dropped {self._drop_partial_messages()} incomplete messages"
            self._streams.clear()
        self._hints.clear()
        events.append(Violation("limit.chunk-streams", "error", offset,
                                f"more than {MAX_CHUNK_STREAMS} chunk streams in use; {detail}"))

    def _note_extended_convention(self, repeated: bool, offset: int, events: list[Event]) -> None:
        known = self.repeats_extended_timestamp
        if known is None:
            self.repeats_extended_timestamp = repeated
        elif known != repeated:
            self.repeats_extended_timestamp = repeated
            events.append(
                Violation("chunk.extended-timestamp-inconsistent", "warning", offset,
                          "this peer both repeats and omits the extended timestamp on fmt 3 chunks")
            )

    # -- losing and finding sync -------------------------------------------------------------

    def _drop_buffer(self) -> None:
        self._wait = 0
        self._base += len(self._buf)
        self._buf = bytearray()
        self._pos = 0

    def _drop_partial_messages(self) -> int:
        dropped = 0
        for stream in self._streams.values():
            if stream.body is not None:
                stream.body = None
                stream.remaining = 0
                dropped += 1
        self._pending_bytes = 0
        return dropped

    def _lose_sync(self) -> None:
        self._wait = 0
        self._drop_partial_messages()
        self._pos += 1  # search from the next byte on
        self._phase = _RESYNC

    def _resync(self, events: list[Event], final: bool) -> bool:
        """Look for chunk boundaries in the buffered bytes. True when the chunk stream was found again.

        Windows of fixed sizes from the search position (RESYNC_FIRST_TRY, twice that, ... RESYNC_WINDOW) are
        searched as soon as they are buffered, each exactly, so where sync is found depends only on the bytes,
        not on how they arrived. `final` (at a gap, at the end): everything buffered is searched once."""
        known_size = None if self.chunk_size_inferred else self.chunk_size
        # With the chunk size known (after a gap) fewer clean headers are convincing.
        min_headers = RESYNC_KNOWN_SIZE_HEADERS if known_size and not final else None
        while True:
            window = max(RESYNC_FIRST_TRY, self._next_resync_try)
            if not final and len(self._buf) - self._pos < window:
                return False
            end = len(self._buf) if final else self._pos + window
            found = find_chunk_boundary(self._buf, self._pos, known_size, final, min_headers, end)
            if found is not None:
                break
            if final:
                return False
            if window < RESYNC_WINDOW:
                self._next_resync_try = window + RESYNC_FIRST_TRY  # try again when more has arrived
            else:
                # Nothing plausible in the whole window: skip most of it and keep looking.
                self._pos += window - 16
                self._next_resync_try = 0
        start, chunk_size, inferred = found
        self._wait = 0
        self._next_resync_try = 0
        skipped = start - self._pos
        self._pos = start
        self._hints.update((csid, (st.stream_id, st.timestamp)) for csid, st in self._streams.items() if st.length >= 0)
        self._streams.clear()
        self._unknown_streams_expected = True
        self.chunk_size = chunk_size
        self.chunk_size_inferred = inferred
        self._phase = _CHUNKS
        events.append(Resynchronised(self._base + start, skipped, chunk_size, inferred))
        return True
