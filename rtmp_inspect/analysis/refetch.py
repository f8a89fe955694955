"""Decoding one flow of a capture again, for what the first pass did not keep (the TUI's bodies and raw chunks).

A re-decode is exact because it is the same decoding of the same bytes. It is quick because, for a flow carried
by one TCP connection (plain RTMP, RTMPS), every packet of other connections is dropped right after it is read:
what is left is the cost of reading the file, not of decoding all of it. The flow is then recognised by its
connection's first frame rather than by its id, which counts the other flows. An RTMPT tunnel spans several
connections and is decoded with the rest of the capture, as is anything else without a single connection.
The re-decode itself is `runner.redecode`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def connection_of(session: Any) -> Any:
    """The TCP connection (flows.table.Flow) that carries a session by itself, or None."""
    flow = getattr(session, "tcp_flow", None)
    if getattr(flow, "virtual", False):
        flow = getattr(flow, "tcp", None)  # RTMPS: the TLS connection; RTMPT and RTMFP have none
    return flow if flow is not None and hasattr(flow, "first_frame") else None


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
