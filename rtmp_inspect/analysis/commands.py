"""What the commands of one RTMP session say: connect parameters, request/response pairs,
message streams with their roles (publish or play) and names, and onStatus codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..rtmp.amf_values import amf_to_json
from ..rtmp.messages import AmfPayload
from ..rtmp.vocabulary import Direction
from .capabilities import capabilities_of
from .summary import status_fields

CONNECT_JSON_BUDGET = 100_000  # amf_to_json budget units for the connect fields kept
# Stream commands that the server answers with onStatus on the same message stream, not with _result.
STATUS_ANSWERED = frozenset({"publish", "play", "play2", "seek", "pause", "pauseRaw"})
CONNECT_FIELDS = ("app", "tcUrl", "flashVer", "swfUrl", "pageUrl", "objectEncoding", "capabilities",
                  "audioCodecs", "videoCodecs", "type")


@dataclass(slots=True)
class Request:
    name: str
    transaction_id: float
    dir: str
    frame: int
    time: float
    index: int
    args: list[Any]
    response: str | None = None  # "_result" or "_error" ("onStatus" for the stream commands below)
    response_index: int | None = None
    response_frame: int | None = None
    rtt: float | None = None  # seconds from request to response
    stream_id: int = 0  # the message stream it was sent on


@dataclass(slots=True)
class MessageStream:
    stream_id: int
    role: str | None = None  # "publish" or "play"
    name: str | None = None
    publish_type: str | None = None  # live, record, append
    created_frame: int | None = None
    statuses: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "stream_id": self.stream_id,
            "role": self.role,
            "name": self.name,
            "publish_type": self.publish_type,
            "statuses": self.statuses,
        }


@dataclass(slots=True)
class Status:
    code: str
    level: str | None
    description: str | None
    stream_id: int
    frame: int
    index: int


class SessionState:
    """Fed every command and data message of one flow in order; answers what the session did."""

    def __init__(self) -> None:
        self.connect: dict[str, Any] | None = None
        self.connect_result: str | None = None  # the code of connect's _result/_error
        self.requests: list[Request] = []
        self._open: dict[tuple[str, float], Request] = {}
        self.streams: dict[int, MessageStream] = {}
        self.statuses: list[Status] = []
        self.errors: list[Request] = []  # requests answered with _error
        self.capabilities: dict[str, Any] = {}  # E-RTMP: "client" (connect), "server" (its _result)
        self.reused_transactions: list[tuple[float, int]] = []  # (transaction id, frame)

    def stream(self, stream_id: int) -> MessageStream:
        found = self.streams.get(stream_id)
        if found is None:
            found = self.streams[stream_id] = MessageStream(stream_id)
        return found

    def on_command(self, payload: AmfPayload, dir: str, stream_id: int, frame: int, time: float,
                   index: int) -> Request | None:
        """Track one command; returns the request a response answers (for pairing), if any."""
        name = payload.name
        if name is None:
            return None
        txn = payload.transaction_id
        args = payload.args
        if name in ("_result", "_error"):
            return self._on_response(name, txn, dir, args, frame, time, index)
        if name == "onStatus":
            info = args[1] if len(args) > 1 else (args[0] if args else None)
            code, level, description = status_fields(info)
            if code:
                self.statuses.append(Status(code, level, description, stream_id, frame, index))
                self.stream(stream_id).statuses.append(
                    {"code": code, "level": level, "description": description, "frame": frame}
                )
            return self._on_status(dir, stream_id, frame, time, index)
        if name == "connect":
            command_object = args[0] if args and isinstance(args[0], dict) else {}
            budget = [CONNECT_JSON_BUDGET]  # AMF0 references can make a few bytes expand without end
            self.connect = {k: amf_to_json(command_object[k], budget=budget) for k in CONNECT_FIELDS
                            if k in command_object}
            offered = capabilities_of(command_object)
            if offered is not None:
                self.capabilities["client"] = offered
        elif name in ("publish", "play", "play2"):
            stream = self.stream(stream_id)
            stream.role = "publish" if name == "publish" else "play"
            stream_name = args[1] if len(args) > 1 else None
            if name == "play2" and len(args) > 1 and isinstance(args[1], dict):
                stream_name = args[1].get("streamName")
            if isinstance(stream_name, str):
                stream.name = stream_name
            if name == "publish" and len(args) > 2 and isinstance(args[2], str):
                stream.publish_type = args[2]
        if txn is not None and txn != 0:
            key = (dir, txn)
            if key in self._open:
                self.reused_transactions.append((txn, frame))
            request = Request(name, txn, dir, frame, time, index, [], stream_id=stream_id)
            if name == "createStream" or name == "connect":
                request.args = args[:1] if name == "connect" else []
            self._open[key] = request
            self.requests.append(request)
        return None

    def _on_response(self, name: str, txn: float | None, dir: str, args: list[Any], frame: int,
                     time: float, index: int) -> Request | None:
        if txn is None:
            return None
        request_dir = Direction(dir).other
        request = self._open.pop((request_dir, txn), None)
        if request is None:
            return None
        request.response = name
        request.response_index = index
        request.response_frame = frame
        request.rtt = round(time - request.time, 6)
        info = args[1] if len(args) > 1 else None
        code, _, _ = status_fields(info)
        if request.name == "connect":
            self.connect_result = code or name
            if name == "_result":
                answered = capabilities_of(args[0] if args else None) or capabilities_of(info)
                if answered is not None:
                    self.capabilities["server"] = answered
        if name == "_error":
            self.errors.append(request)
        elif request.name == "createStream" and len(args) > 1 and isinstance(args[1], (int, float)) \
                and not isinstance(args[1], bool):
            created = self.stream(int(args[1]))
            created.created_frame = frame
        return request

    def _on_status(self, dir: str, stream_id: int, frame: int, time: float, index: int) -> Request | None:
        """The first onStatus on a message stream answers the latest open publish/play/seek/pause sent on it."""
        request_dir = Direction(dir).other
        for key, request in reversed(self._open.items()):
            if request.name in STATUS_ANSWERED and request.dir == request_dir and request.stream_id == stream_id:
                del self._open[key]
                request.response = "onStatus"
                request.response_index = index
                request.response_frame = frame
                request.rtt = round(time - request.time, 6)
                return request
        return None

    def unanswered(self) -> list[Request]:
        return [r for r in self.requests if r.response is None]

    @property
    def app(self) -> str | None:
        app = (self.connect or {}).get("app")
        return app if isinstance(app, str) else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "connect": self.connect,
            "connect_result": self.connect_result,
            "requests": [
                {
                    "command": r.name,
                    "transaction_id": r.transaction_id,
                    "dir": r.dir,
                    "frame": r.frame,
                    "index": r.index,
                    "response": r.response,
                    "response_index": r.response_index,
                    "response_frame": r.response_frame,
                    "rtt": r.rtt,
                }
                for r in self.requests
            ],
            "statuses": [
                {"code": s.code, "level": s.level, "description": s.description, "stream_id": s.stream_id,
                 "frame": s.frame, "index": s.index}
                for s in self.statuses
            ],
        }
        if self.capabilities:  # E-RTMP capability negotiation, when there was any
            out["capabilities"] = self.capabilities
        return out
