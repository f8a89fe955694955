#!/usr/bin/env python3
"""A small RTMPT-to-RTMP gateway, for making RTMPT samples only (no packaged server speaks RTMPT).

    python3 rtmpt_gateway.py [--listen 127.0.0.1:19080] [--rtmp 127.0.0.1:19350]

Speaks the server side of RTMPT as ffmpeg's and rtmpdump's clients use it: `POST /fcs/ident2` (404, as
Flash Media Server answers), `POST /open/1` (answers a new session id and a newline), `POST /send/<id>/<seq>`
(the body goes to the RTMP server; the answer is one polling-interval byte and whatever the RTMP server sent
since), `POST /idle/<id>/<seq>` (the same without a body), `POST /close/<id>/<seq>`. Each session is one plain
RTMP TCP connection to --rtmp, so a capture of both sides holds an RTMPT session and its plain-RTMP twin.
Stdlib only; HTTP/1.1 keep-alive; content type application/x-fcs.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WAIT_FOR_DATA_S = 0.05  # how long a /send or /idle answer waits for the RTMP server's bytes


class Session:
    def __init__(self, rtmp: tuple[str, int]) -> None:
        self.sock = socket.create_connection(rtmp)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray()
        self.lock = threading.Condition()
        self.closed = False
        self.idle_polls = 0
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            with self.lock:
                if not data:
                    self.closed = True
                    self.lock.notify_all()
                    return
                self.buffer += data
                self.lock.notify_all()

    def take(self, wait: float) -> bytes:
        with self.lock:
            if not self.buffer and not self.closed:
                self.lock.wait(wait)
            data = bytes(self.buffer)
            self.buffer.clear()
            return data

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Gateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, listen: tuple[str, int], rtmp: tuple[str, int], close_each: bool = False) -> None:
        super().__init__(listen, Handler)
        self.rtmp = rtmp
        self.close_each = close_each
        self.sessions: dict[str, Session] = {}
        self.next_id = 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Gateway

    def log_message(self, format: str, *args) -> None:  # quiet
        pass

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-fcs")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close" if self.server.close_each else "keep-alive")
        self.close_connection = self.server.close_each
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        parts = [p for p in self.path.split("/") if p]
        command = parts[0] if parts else ""
        if command == "open":
            session_id = f"{self.server.next_id:08d}{int(time.time()) % 100000:05d}"
            self.server.next_id += 1
            self.server.sessions[session_id] = Session(self.server.rtmp)
            self._answer(200, session_id.encode() + b"\n")
            return
        session = self.server.sessions.get(parts[1]) if len(parts) >= 2 else None
        if command not in ("send", "idle", "close") or session is None:
            self._answer(404, b"")
            return
        if command == "close":
            self.server.sessions.pop(parts[1], None)
            session.close()
            self._answer(200, b"\x00")
            return
        if command == "send" and body:  # an /idle body is one filler byte, not RTMP
            session.sock.sendall(body)
        data = session.take(WAIT_FOR_DATA_S)
        # the polling interval hint: short while data flows, longer while idle (as FMS does, 1..0x21)
        session.idle_polls = 0 if (data or command == "send") else min(session.idle_polls + 1, 0x20)
        self._answer(200, bytes([1 + session.idle_polls]) + data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="127.0.0.1:19080")
    parser.add_argument("--rtmp", default="127.0.0.1:19350")
    parser.add_argument("--close-each", action="store_true",
                        help="answer every request with Connection: close (one TCP connection per request)")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    rhost, rport = args.rtmp.rsplit(":", 1)
    Gateway((host, int(port)), (rhost, int(rport)), args.close_each).serve_forever()


if __name__ == "__main__":
    main()
