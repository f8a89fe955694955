"""Decoding one flow of a capture again, for what the first pass did not keep (the TUI's bodies and raw chunks).

A re-decode is exact because it is the same decoding of the same bytes. It is quick because, for a flow carried
by one TCP connection (plain RTMP, RTMPS), every packet of other connections is dropped right after it is read:
what is left is the cost of reading the file, not of decoding all of it. The flow is then recognised by its
connection's first frame rather than by its id, which counts the other flows. An RTMPT tunnel spans several
connections and is decoded with the rest of the capture, as is anything else without a single connection.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterator

from ..capture.segment import TcpSegment


def connection_of(session: Any) -> Any:
    """The TCP connection (flows.table.Flow) that carries a session by itself, or None."""
    flow = getattr(session, "tcp_flow", None)
    if getattr(flow, "virtual", False):
        flow = getattr(flow, "tcp", None)  # RTMPS: the TLS connection; RTMPT and RTMFP have none
    return flow if flow is not None and hasattr(flow, "first_frame") else None


class _OneConnection:
    """A capture reader that yields only the segments of one TCP connection (both directions)."""

    def __init__(self, reader: Any, endpoints: tuple) -> None:
        (a, pa), (b, pb) = endpoints
        self._reader = reader
        self._keys = frozenset(((a, pa, b, pb), (b, pb, a, pa)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def segments(self) -> Iterator[TcpSegment]:
        keys = self._keys
        for segment in self._reader.segments():
            if (segment.src, segment.sport, segment.dst, segment.dport) in keys:
                yield segment


def session_matcher(session: Any, local_id: int) -> tuple[Callable[[Any], bool], Any]:
    """(is-it(session) for the sessions of a re-decode, the connection to narrow it to or None)."""
    connection = connection_of(session)
    if connection is None:
        return (lambda other: other.id == local_id), None
    first_frame = connection.first_frame
    virtual = getattr(session.tcp_flow, "virtual", False)

    def same(other: Any) -> bool:
        found = connection_of(other)
        return found is not None and found.first_frame == first_frame \
            and getattr(other.tcp_flow, "virtual", False) == virtual

    return same, connection


def redecode(path: str, sink: Any, decode_as: list[int], stop: threading.Event | None = None,
             connection: Any = None) -> None:
    """Run a capture through the analysis into `sink` again, quietly (no progress line: under the TUI,
    stderr is the screen), only `connection`'s packets when given; `stop` set ends the run early."""
    from ..capture.reader import open_capture
    from .driver import run_capture

    reader = open_capture(path)
    try:
        source = reader if connection is None else _OneConnection(reader, connection.endpoints)
        run_capture(source, sink, decode_as, lambda _segments: not (stop is not None and stop.is_set()))
    finally:
        reader.close()
