"""The raw chunks of one message, as they were on the wire in its direction (the bytes pane's `r` mode).

Nothing is kept from the first decoding: like the bodies (analysis/timeline.py, `make_body_loader`), the
bytes are found again by decoding the flow once more (analysis/refetch.py), up to the message. On the way, the bytes of
the message's direction from its first chunk header to its end (at most RAW_LIMIT of them) are copied,
and the real chunk decoder tells where each chunk ends: in that stretch the session is fed one byte at a
time, and a chunk decoder takes a chunk only once all of its bytes are in, so its offset moves exactly at
chunk ends (about 2 µs a byte).

Offsets are the decoder's stream offsets (those of the timeline's rows); for RTMPS they count the
decrypted plaintext, for RTMPT the joined tunnel bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..analysis.records import MessageRecord, Record, WarningRecord
from ..analysis.refetch import session_matcher
from ..analysis.timeline import FlowInfo

RAW_LIMIT = 256 * 1024  # raw bytes shown (and mapped into chunks) at most per message
HEADER_SIZES = (11, 7, 3, 0)  # message header size by chunk fmt


@dataclass(frozen=True, slots=True)
class RawChunk:
    offset: int  # stream offset of the chunk's first byte
    size: int  # header and payload
    header: int  # header bytes (basic header, message header, extended timestamp); 0 for other chunk streams
    ours: bool  # a chunk of the message itself (else of another chunk stream, sent in between)
    fmt: int
    csid: int


@dataclass(slots=True)
class RawBytes:
    """The bytes of a message's chunks, from its first chunk header to its end (or to RAW_LIMIT)."""

    start: int  # stream offset of data[0]
    end: int  # stream offset just past the message
    data: bytearray = field(default_factory=bytearray)
    chunks: list[RawChunk] = field(default_factory=list)
    missing: list[tuple[int, int]] = field(default_factory=list)  # (offset, size) lost from the capture
    found: bool = False  # the message was met again at the same offsets

    @property
    def complete(self) -> bool:
        """Every byte of the shown range is here."""
        return self.found and not self.missing and len(self.data) == min(self.end, self.start + RAW_LIMIT) - self.start

    @property
    def truncated(self) -> bool:
        return self.end - self.start > RAW_LIMIT


class _Done(Exception):
    pass


# A session's feed and gap: (TCP direction, frame, time, the bytes / the gap's size) -> its records.
_Feed = Callable[[int, int, float, bytes], list[Record]]
_Gap = Callable[[int, int, float, int], list[Record]]


class _RawCollector:
    """A pipeline sink that watches one direction of one flow, copies the stream bytes of [start, end) and
    maps them into chunks; it stops the run (raises _Done) once the message was decoded."""

    keeps_finished_sessions = False

    def __init__(self, is_flow: Any, direction: str, index: int, start: int, end: int, length: int,
                 stop: threading.Event | None) -> None:
        self.is_flow = is_flow
        self.direction = direction
        self.index = index
        self.stop = stop
        self.raw = RawBytes(start, end)
        self.map_end = min(end, start + RAW_LIMIT)
        self.csid: int | None = None
        self.length = length  # the message's body size
        self.payload_seen = 0
        self.extended: bytes | None = None  # the extended timestamp field of the message's first header

    # -- the sink ----------------------------------------------------------------------------

    def flow_started(self, session: Any) -> None:
        if not self.is_flow(session):
            return
        # Watch what the analyzer feeds this session (an instance attribute shadows the method).
        feed: _Feed = session.feed
        gap: _Gap = session.gap

        def watched_feed(tcp_direction: int, frame: int, time: float, data: bytes) -> list[Record]:
            if session.direction(tcp_direction) != self.direction:
                return feed(tcp_direction, frame, time, data)
            return self._feed(session, feed, tcp_direction, frame, time, data)

        def watched_gap(tcp_direction: int, frame: int, time: float, size: int) -> list[Record]:
            if session.direction(tcp_direction) == self.direction:
                at = self._decoder(session).received_offset
                if at < self.map_end and at + size > self.raw.start:
                    self.raw.missing.append((at, size))
            return gap(tcp_direction, frame, time, size)

        session.feed = watched_feed
        session.gap = watched_gap

    def message(self, session: Any, record: MessageRecord) -> None:
        if self.stop is not None and self.stop.is_set():
            raise _Done
        if not self.is_flow(session):
            return
        if record.index == self.index:
            self.raw.found = record.offset == self.raw.start and record.end_offset == self.raw.end \
                and record.dir == self.direction
            raise _Done
        if record.index > self.index:
            raise _Done

    def warning(self, session: Any, record: WarningRecord) -> None:
        pass

    def flow_finished(self, session: Any) -> None:
        if self.is_flow(session):
            raise _Done

    # -- watching the bytes --------------------------------------------------------------------

    def _decoder(self, session: Any) -> Any:
        """The chunk decoder of the watched direction (a re-decode with the pure core: see load_raw)."""
        return session.connection.decoders[0 if self.direction == "c2s" else 1]

    def _feed(self, session: Any, feed: _Feed, tcp_direction: int, frame: int, time: float,
              data: bytes) -> list[Record]:
        decoder = self._decoder(session)
        at = decoder.received_offset
        start, map_end = self.raw.start, self.map_end
        lo = max(start - at, 0)
        hi = min(map_end - at, len(data))
        if hi <= lo:
            return feed(tcp_direction, frame, time, data)
        self.raw.data += data[lo:hi]
        records = feed(tcp_direction, frame, time, data[:lo]) if lo else []
        for i in range(lo, hi):
            before = decoder.offset
            chunk_size = decoder.chunk_size  # the size the chunk that ends with this byte was cut with
            records += feed(tcp_direction, frame, time, data[i:i + 1])
            after = decoder.offset
            if after != before and before >= start:
                self._chunk(before, after, chunk_size)
        if at + hi == map_end < self.raw.end and start <= decoder.offset < map_end:
            self._cut_chunk(decoder.offset)  # RAW_LIMIT cuts a chunk: its end is past what is shown
        if hi < len(data):
            records += feed(tcp_direction, frame, time, data[hi:])
        return records

    def _basic_header(self, at: int) -> tuple[int, int, int]:
        """(fmt, chunk stream id, basic header size) of the chunk at data[at]."""
        data = self.raw.data
        b0 = data[at]
        fmt, csid, size = b0 >> 6, b0 & 0x3F, 1
        if csid == 0 and at + 1 < len(data):
            csid, size = 64 + data[at + 1], 2
        elif csid == 1 and at + 2 < len(data):
            csid, size = 64 + data[at + 1] + (data[at + 2] << 8), 3
        return fmt, csid, size

    def _chunk(self, begin: int, end: int, chunk_size: int) -> None:
        at = begin - self.raw.start
        if at >= len(self.raw.data):
            return
        fmt, csid, basic = self._basic_header(at)
        if self.csid is None:  # the range starts with the message's first chunk
            self.csid = csid
            h = at + basic
            if fmt < 3 and self.raw.data[h:h + 3] == b"\xff\xff\xff":
                self.extended = bytes(self.raw.data[h + HEADER_SIZES[fmt]:h + HEADER_SIZES[fmt] + 4])
        size = end - begin
        if csid == self.csid:
            # The payload of a chunk of this message is what the decoder took for it: the chunk size, or
            # what is left of the message; everything before it is header.
            payload = max(min(chunk_size, self.length - self.payload_seen, size), 0)
            self.payload_seen += payload
            self.raw.chunks.append(RawChunk(begin, size, size - payload, True, fmt, csid))
        else:
            self.raw.chunks.append(RawChunk(begin, size, 0, False, fmt, csid))

    def _cut_chunk(self, begin: int) -> None:
        """The chunk that RAW_LIMIT cuts: its header size read from its bytes, as the decoder reads it (a
        fmt 3 chunk repeats the extended timestamp if its 4 bytes equal the first header's; unknown, so
        taken as not repeated, when the message itself began with a fmt 3 chunk)."""
        at = begin - self.raw.start
        fmt, csid, basic = self._basic_header(at)
        size = self.map_end - begin
        if csid != self.csid:
            self.raw.chunks.append(RawChunk(begin, size, 0, False, fmt, csid))
            return
        h = at + basic
        header = basic + HEADER_SIZES[fmt]
        if fmt < 3 and self.raw.data[h:h + 3] == b"\xff\xff\xff":
            header += 4
        elif fmt == 3 and self.extended is not None and self.raw.data[h:h + 4] == self.extended:
            header += 4
        self.raw.chunks.append(RawChunk(begin, size, min(header, size), True, fmt, csid))


def load_raw(flow: FlowInfo, direction: str, index: int, start: int, end: int, length: int,
             redecode: Callable[..., Any], stop: threading.Event | None = None) -> RawBytes | None:
    """The raw chunks of message `index` of `flow` (in `direction`, at stream offsets [start, end), with a
    body of `length` bytes). None when the capture cannot be read again (standard input, gone).

    `redecode` must decode with the pure core: the chunks are found by watching its chunk decoder byte by
    byte, which the native engine does not let one do."""
    if flow.path is None or flow.path == "-":
        return None
    is_flow, connection = session_matcher(flow.session, flow.local_id)
    sink = _RawCollector(is_flow, direction, index, start, end, length, stop)
    try:
        redecode(flow.path, sink, stop, connection)
    except _Done:
        pass
    except Exception:
        return None
    return sink.raw
