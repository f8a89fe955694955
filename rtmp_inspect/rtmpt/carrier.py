"""RTMPT tunnels: HTTP connections whose POSTs carry RTMP, joined per tunnel session into a virtual flow.

Request bodies of `/send/<session>/<seq>` are the client-to-server RTMP bytes; response bodies of `/send` and
`/idle` are the server-to-client bytes after their first byte, which is the server's polling interval hint
(counted and shown, never decoded). `/open/1` answers with the session id; `/close/<session>/<seq>` ends it.
One tunnel may use several TCP connections, one after another or side by side; its virtual flow has the
HTTP client's address (and the port of the connection that opened it) and the HTTP server's address:port.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

from ..flows.events import Endpoint, FlowEnded, FlowEvent, FlowStarted, Held, StreamData, StreamGap
from ..flows.virtual import Note, VirtualFlow
from .http import HttpMessage, HttpReader

RTMPT_PATHS = (b"/open/", b"/send/", b"/idle/", b"/close/", b"/fcs/ident")
CLIENT, SERVER = 0, 1  # directions of the virtual flow


def looks_like_rtmpt(first: bytes) -> bool:
    return first.startswith(b"POST ") and first[5:].startswith(RTMPT_PATHS)


class Tunnel:
    """One RTMPT session id: the virtual flow and its counters."""

    def __init__(self, number: int, session_id: str, client: Endpoint, server: Endpoint) -> None:
        self.session_id = session_id
        self.vflow = VirtualFlow(("rtmpt", number), (client, server), self, "rtmpt")
        self.offsets = [0, 0]
        self.requests: Counter[str] = Counter()
        self.intervals: Counter[int] = Counter()
        self.connections: set[int] = set()
        self.closed = False
        self.notes: list[Note] = []  # taken by the session (analysis/carried.py)

    def forced_client(self) -> int | None:
        return CLIENT  # the tunnel is RTMP by construction: list it even if nothing in it decodes

    def data(self, direction: int, message: HttpMessage, body: bytes) -> list[FlowEvent]:
        if not body:
            return []
        offset = self.offsets[direction]
        self.offsets[direction] += len(body)
        return [StreamData(self.vflow, direction, message.frame, message.time, body, offset)]

    def note(self, code: str, severity: str, frame: int | None, message: str, dir: str | None) -> None:
        self.notes.append((code, severity, frame, message, dir))

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "connections": len(self.connections),
            "requests": dict(sorted(self.requests.items())),
            "poll_intervals": {str(k): v for k, v in sorted(self.intervals.items())},
            "closed": self.closed,
        }


class RtmptTunnels:
    """Every RTMPT tunnel of a capture (one per analyzer): connections are opened through `open`."""

    def __init__(self) -> None:
        self.tunnels: dict[tuple[bytes, Endpoint, str], Tunnel] = {}  # (client address, server, session id)
        self.count = 0

    def open(self, flow: Any, first: list[bytes]) -> HttpConnection | str | None:
        """A connection when a POST to an RTMPT path opens the flow; "wait" while too few bytes are in view."""
        wait = False
        for direction in (0, 1):
            data = first[direction]
            if looks_like_rtmpt(data):
                return HttpConnection(self, flow, direction)
            if data and len(data) < 16 and any(p.startswith(data[5:]) for p in RTMPT_PATHS) \
                    and b"POST /".startswith(data[:6]):
                wait = True
        return "wait" if wait else None

    def tunnel(self, connection: HttpConnection, session_id: str, events: list[FlowEvent]) -> Tunnel:
        client_address = connection.flow.endpoints[connection.client][0]
        server = connection.flow.endpoints[1 - connection.client]
        key = (client_address, server, session_id)
        tunnel = self.tunnels.get(key)
        if tunnel is None:
            tunnel = Tunnel(self.count, session_id, connection.flow.endpoints[connection.client], server)
            self.count += 1
            self.tunnels[key] = tunnel
            events.append(FlowStarted(tunnel.vflow))
        tunnel.connections.add(connection.flow.id)
        return tunnel


def _split_path(path: str) -> tuple[str, str | None]:
    """('send', session) for /send/<session>/<seq>; ('open', None) for /open/1; ('ident', None) ..."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    if not parts:
        return "", None
    kind = parts[0]
    if kind == "fcs":
        return "ident", None
    if kind in ("send", "idle", "close") and len(parts) >= 2:
        return kind, parts[1]
    return kind, None


class HttpConnection:
    """One TCP connection of RTMPT: requests and responses paired in order (HTTP/1.1 keeps them in order)."""

    def __init__(self, tunnels: RtmptTunnels, flow: Any, client: int) -> None:
        self.tunnels = tunnels
        self.flow = flow
        self.client = client
        self.readers = {client: HttpReader(True), 1 - client: HttpReader(False)}
        self.pending: deque[HttpMessage] = deque()

    def replay(self, held: list[Held]) -> list[FlowEvent]:
        events: list[FlowEvent] = []
        for item in held:
            if item[0] == "data":
                _, direction, frame, time, payload = item
                events += self.handle(StreamData(self.flow, direction, frame, time, payload, 0))
            else:
                _, direction, frame, time, size = item
                events += self.handle(StreamGap(self.flow, direction, frame, time, 0, size))
        return events

    def handle(self, event: Any) -> list[FlowEvent]:
        kind = type(event)
        events: list[FlowEvent] = []
        if kind is StreamData:
            reader = self.readers[event.direction]
            for message in reader.feed(event.data, event.frame, event.time):
                if event.direction == self.client:
                    self._request(message, events)
                else:
                    self._response(message, events)
        elif kind is StreamGap:
            self.readers[event.direction].gap(event.size)
            for tunnel in list(self.tunnels.tunnels.values()):
                if self.flow.id in tunnel.connections and not tunnel.closed:
                    # the bytes lost belong to whichever tunnel this connection carried last
                    direction = CLIENT if event.direction == self.client else SERVER
                    events.append(StreamGap(tunnel.vflow, direction, event.frame, event.time,
                                            tunnel.offsets[direction], event.size))
                    tunnel.note("rtmpt.gap", "warning", event.frame,
                                f"{event.size} bytes of an RTMPT connection are missing from the capture",
                                "c2s" if direction == CLIENT else "s2c")
        return events

    def _request(self, message: HttpMessage, events: list[FlowEvent]) -> None:
        self.pending.append(message)
        kind, session_id = _split_path(message.path)
        if kind == "send" and session_id is not None:
            tunnel = self.tunnels.tunnel(self, session_id, events)
            tunnel.requests[kind] += 1
            events += tunnel.data(CLIENT, message, message.body)

    def _response(self, response: HttpMessage, events: list[FlowEvent]) -> None:
        if not self.pending:
            return
        request = self.pending.popleft()
        kind, session_id = _split_path(request.path)
        if kind == "open" and response.status == 200:
            session_id = response.body.decode("latin-1").strip()
            if session_id:
                tunnel = self.tunnels.tunnel(self, session_id, events)
                tunnel.requests["open"] += 1
            return
        if session_id is None or kind not in ("send", "idle", "close"):
            return
        tunnel = self.tunnels.tunnel(self, session_id, events)
        if kind != "send":
            tunnel.requests[kind] += 1
        if response.status != 200:
            tunnel.note("rtmpt.http-error", "warning", response.frame,
                        f"{request.method} {request.path} answered {response.start_line}", None)
        elif kind in ("send", "idle") and response.body:
            tunnel.intervals[response.body[0]] += 1
            events += tunnel.data(SERVER, response, response.body[1:])
        if kind == "close" and not tunnel.closed:
            tunnel.closed = True
            events.append(FlowEnded(tunnel.vflow, response.frame, response.time, "rtmpt-close"))


__all__ = ["RtmptTunnels", "looks_like_rtmpt"]
