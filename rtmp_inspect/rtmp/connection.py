"""Both directions of one RTMP connection: a chunk decoder each, and which capture frame carried what.

The session above it (analysis/session.py) hands it the bytes of each direction with the frame and time of
the TCP segment they came in, and gets the decoder's events back. A message whose last byte arrived in an
earlier segment than the one that let it be decoded (after resynchronisation) is credited to the frame that
really carried its last byte. It also counts what the session reports about itself: bytes per
direction and its first and last frame and time.

This is the readable reference; the native core (rtmp_inspect._native.ConnectionDecoder) implements the same
interface and gives the same events.
"""

from __future__ import annotations

from collections import deque

from .chunks import ChunkDecoder
from .events import Event, Message

C2S, S2C = 0, 1  # direction indexes: from the client, from the server


class ConnectionDecoder:
    """`feed`, `gap` and `finish` take a direction index (C2S or S2C)."""

    def __init__(self, expect_handshake: bool) -> None:
        self.decoders = (ChunkDecoder(expect_handshake), ChunkDecoder(expect_handshake))
        # Per direction: (stream offset just past a fed segment, its frame, its time), for the bytes not
        # yet decoded.
        self._frames: tuple[deque[tuple[int, int, float]], deque[tuple[int, int, float]]] = (deque(), deque())
        self.bytes = [0, 0]
        self.first_frame: int | None = None
        self.last_frame: int | None = None
        self.first_time: float | None = None
        self.last_time: float | None = None

    def count(self, direction: int, frame: int, time: float, size: int) -> None:
        """Count bytes that are not decoded (RTMFP's datagrams)."""
        self._touch(frame, time)
        self.bytes[direction] += size

    def _touch(self, frame: int, time: float) -> None:
        if self.first_frame is None:
            self.first_frame = frame
            self.first_time = time
        self.last_frame = frame
        self.last_time = time

    def feed(self, direction: int, frame: int, time: float, data: bytes
             ) -> tuple[list[Event], dict[int, tuple[int, float]] | None]:
        """The decoder's events for `data`, and for the messages among them whose last byte came in an
        earlier segment (decoded late, after the decoder found its place): {end offset: (frame, time)} of
        the segment that carried it, or None when there are none."""
        self._touch(frame, time)
        self.bytes[direction] += len(data)
        decoder = self.decoders[direction]
        start = decoder.received_offset
        frames = self._frames[direction]
        frames.append((start + len(data), frame, time))
        events = decoder.receive_data(data)
        late: dict[int, tuple[int, float]] | None = None
        for event in events:
            if type(event) is Message and event.end_offset <= start:
                found = self._frame_of(direction, event.end_offset)
                if found is not None:
                    if late is None:
                        late = {}
                    late[event.end_offset] = found
        # Keep only the frames that may still hold the last byte of a message not yet decoded.
        consumed = decoder.offset
        while len(frames) > 1 and frames[0][0] <= consumed:
            frames.popleft()
        return events, late

    def _frame_of(self, direction: int, end_offset: int) -> tuple[int, float] | None:
        """The frame (and its time) that carried the byte just before `end_offset`, if still known."""
        for frame_end, frame, time in self._frames[direction]:
            if frame_end >= end_offset:
                return frame, time
        return None

    def gap(self, direction: int, frame: int, time: float, size: int) -> list[Event]:
        self._touch(frame, time)
        return self.decoders[direction].receive_gap(size)

    def finish(self, direction: int) -> list[Event]:
        return self.decoders[direction].finish()

    def chunk_size(self, direction: int) -> int:
        return self.decoders[direction].chunk_size

    def received_offset(self, direction: int) -> int:
        return self.decoders[direction].received_offset
