"""A small HTTP/1.x message reader for one direction of one connection, sans-IO.

Enough for RTMPT: a start line, headers, and a body framed by Content-Length or chunked encoding
(keep-alive: several messages one after another). Messages come back with the frame and time of the piece
that completed them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_HEAD = 64 * 1024


@dataclass(slots=True)
class HttpMessage:
    start_line: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    frame: int = 0
    time: float = 0.0

    @property
    def method(self) -> str:
        return self.start_line.split(" ", 1)[0]

    @property
    def path(self) -> str:
        parts = self.start_line.split(" ")
        return parts[1] if len(parts) > 1 else ""

    @property
    def status(self) -> int | None:
        parts = self.start_line.split(" ")
        if len(parts) > 1 and parts[0].startswith("HTTP/") and parts[1].isdigit():
            return int(parts[1])
        return None


class HttpReader:
    """One direction. `expect_body(message)` says whether a response carries a body (HEAD, 1xx, 204, 304 do not)."""

    def __init__(self, is_request_side: bool) -> None:
        self.is_request_side = is_request_side
        self._buffer = bytearray()
        self._current: HttpMessage | None = None
        self._remaining = 0
        self._chunked = False
        self.broken: str | None = None

    def feed(self, data: bytes, frame: int, time: float, head_requests: int = 0) -> list[HttpMessage]:
        if self.broken:
            return []
        self._buffer += data
        out: list[HttpMessage] = []
        while True:
            if self._current is None:
                end = self._buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self._buffer) > MAX_HEAD:
                        self.broken = "an HTTP header longer than 64 KiB"
                    break
                head = bytes(self._buffer[:end]).decode("latin-1")
                del self._buffer[:end + 4]
                lines = head.split("\r\n")
                message = HttpMessage(lines[0])
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    message.headers[name.strip().lower()] = value.strip()
                self._current = message
                self._chunked = "chunked" in message.headers.get("transfer-encoding", "").lower()
                try:
                    self._remaining = int(message.headers.get("content-length", "0"))
                    if self._remaining < 0:
                        raise ValueError
                except ValueError:
                    self.broken = f"bad Content-Length {message.headers.get('content-length')!r}"
                    break
                status = message.status
                if not self.is_request_side and status is not None and (status < 200 or status in (204, 304)):
                    self._remaining, self._chunked = 0, False
            message = self._current
            if self._chunked:
                line_end = self._buffer.find(b"\r\n")
                if line_end < 0:
                    break
                try:
                    size = int(bytes(self._buffer[:line_end]).split(b";")[0], 16)
                except ValueError:
                    self.broken = "bad chunk size"
                    break
                if size == 0:
                    trailer_end = self._buffer.find(b"\r\n\r\n")
                    if trailer_end < 0:
                        break
                    del self._buffer[:trailer_end + 4]
                    self._chunked = False
                    self._remaining = 0
                else:
                    if len(self._buffer) < line_end + 2 + size + 2:
                        break
                    message.body += bytes(self._buffer[line_end + 2:line_end + 2 + size])
                    del self._buffer[:line_end + 2 + size + 2]
                    continue
            if self._remaining:
                take = min(self._remaining, len(self._buffer))
                message.body += bytes(self._buffer[:take])
                del self._buffer[:take]
                self._remaining -= take
                if self._remaining:
                    break
            message.frame, message.time = frame, time
            out.append(message)
            self._current = None
        return out

    def gap(self, size: int) -> None:
        if not self.broken:
            self.broken = f"{size} bytes missing from the capture"
        self._buffer.clear()
