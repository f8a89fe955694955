"""Expert analysis: protocol checks over a whole session, reported as warnings with stable codes.

`ExpertChecks` is an observer of a session (session.expert): it watches every message of a session and, at the
end, adds what it found to the flow's warnings. Every finding has a stable code, a severity and a
sentence meant for a person. The codes:

handshake   handshake.version-mismatch  C0 and S0 carry different versions (warning)
            handshake.echo-mismatch     C2 or S2 does not echo the peer's C1/S1 (warning)
            handshake.digest-invalid    the digest scheme is announced but a digest does not verify (warning)
flow control flow.ack-window-exceeded   more than the announced acknowledgement window sent, not acknowledged (warning)
            flow.ack-wrapped            an Acknowledgement sequence number wrapped at 2^32 (info)
            flow.ack-backwards          an Acknowledgement sequence number went backwards (warning)
            flow.window-zero            Window Acknowledgement Size or Set Peer Bandwidth of 0 (warning)
            flow.peer-bandwidth-limit-type  Set Peer Bandwidth with an undefined limit type (warning)
            ping.unanswered             a PingRequest never got its PingResponse (warning)
commands    command.unanswered          a request never got _result/_error (warning for connect and
                                        createStream, info for others)
            command.transaction-reused  a transaction id reused while its request was still open (warning)
            command.error               a request answered with _error (error)
            command.optional-error      an FMLE call answered with _error: info if the publish/play that
                                        follows starts, else warning (judged at the end)
            command.auth-required       the server asks for authentication (authmod=..., needauth) (warning)
            command.auth-failed         authentication failed (reason=authfailed, nosuchuser...) (error)
            status.error                onStatus with level "error", with the code explained (error)
            status.warning              onStatus with level "warning" (warning)
            connect.reconnect-requested the server asked for a reconnect (E-RTMP v2) (info)
            stream.not-created          publish/play on stream 0 or on a stream createStream did not make (warning)
            connect.closed-unanswered   the connection closed after connect without an answer (error)
media       media.timestamp-backwards   timestamps going backwards per direction, stream and type (warning)
            media.no-sequence-header    first coded frame of AVC/HEVC/AV1/VP9/AAC before its sequence header (warning)
            media.keyframe-interval     no keyframe for longer than KEYFRAME_LIMIT_MS (warning)
            media.no-keyframe           video frames but not one keyframe (warning)
            media.codec-change          the codec of a stream changes mid-stream (warning)
tcp         tcp.zero-window             a receiver advertised a zero TCP window (warning)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..flows.reassembly import MAX_AHEAD
from ..rtmp.media import (
    AudioInfo,
    VideoInfo,
    codec_name,
    is_keyframe,
    is_sequence_header,
    parse_audio,
    parse_video,
    track_views,
)
from ..rtmp.messages import Aggregate, AmfPayload, Control, UserControl
from ..rtmp.vocabulary import Direction, MessageType
from .capabilities import ENHANCED_FOURCCS, advertises, advertises_multitrack
from .commands import MessageStream, Status
from .records import MessageRecord, WarningRecord
from .summary import status_fields
from .verdict import START_CODES, verdict

C2S, S2C = Direction.C2S, Direction.S2C
OTHER = {d: d.other for d in Direction}
SIDE = {d: d.side for d in Direction}

KEYFRAME_LIMIT_MS = 10_000
PING_GRACE_S = 2.0  # a ping sent less than this before the capture ends may be answered after it
WRAP = 1 << 32

# Calls of Adobe's FMLE that many servers do not implement; FFmpeg deliberately ignores their _error. An
# _error to one is judged by what follows: harmless when a publish or play then starts.
OPTIONAL_CALLS = frozenset(("releaseStream", "FCPublish", "FCSubscribe", "FCUnpublish", "FCUnsubscribe", "_checkbw"))
_START_CODES = frozenset(code for codes in START_CODES.values() for code in codes)

# Commands that are answered by onStatus (or by nothing), not by _result/_error.
NO_RESULT_COMMANDS = frozenset({
    "publish", "play", "play2", "seek", "pause", "pauseRaw", "receiveAudio", "receiveVideo", "closeStream",
    "deleteStream", "FCPublish", "FCUnpublish", "releaseStream", "FCSubscribe", "FCUnsubscribe", "onBWDone",
    "onFCPublish", "onFCUnpublish", "@setDataFrame", "@clearDataFrame", "onStatus", "_checkbw",
})
IMPORTANT_REQUESTS = frozenset({"connect", "createStream"})
STOP_COMMANDS = frozenset({"deleteStream", "closeStream", "FCUnpublish"})
RECONNECT_REQUEST = "NetConnection.Connect.ReconnectRequest"  # E-RTMP v2: the server asks for a reconnect
STOP_STATUSES = frozenset({"NetStream.Unpublish.Success", "NetStream.Play.Stop", "NetStream.Play.UnpublishNotify",
                           "NetStream.Play.Complete", "NetConnection.Connect.Closed"})
START_STATUSES = {"publish": ("NetStream.Publish.Start",),
                  "play": ("NetStream.Play.Start", "NetStream.Play.Reset", "NetStream.Play.PublishNotify")}
NEEDS_SEQUENCE_HEADER = frozenset({"H.264", "HEVC", "VVC", "AV1", "VP9", "AAC"})

STATUS_EXPLANATIONS = {
    "NetConnection.Connect.Rejected": "the server refused the connection: an unknown application, "
                                      "authentication required or failed, or access denied",
    "NetConnection.Connect.Failed": "the connection attempt failed: the server or the application is unavailable",
    "NetConnection.Connect.InvalidApp": "the application named in connect (app/tcUrl) does not exist on the server",
    "NetConnection.Connect.AppShutdown": "the server application is shutting down",
    "NetConnection.Connect.IdleTimeout": "the server closed an idle connection",
    "NetConnection.Call.Failed": "a call to a server method failed: the method does not exist or it failed",
    "NetConnection.Call.BadVersion": "the packet had an unexpected format",
    "NetStream.Publish.BadName": "the stream name is already being published, or the name is not allowed",
    "NetStream.Publish.Denied": "the client may not publish this stream: access rules, a wrong stream key "
                                "or missing authentication",
    "NetStream.Play.StreamNotFound": "the server has no live or recorded stream with that name",
    "NetStream.Play.Failed": "the server could not play the stream for a reason other than not finding it",
    "NetStream.Play.Forbidden": "the client may not play this stream",
    "NetStream.Play.BadName": "the stream name is not valid",
    "NetStream.Play.FileStructureInvalid": "the recorded file is damaged or not a supported format",
    "NetStream.Play.NoSupportedTrackFound": "the recorded file has no track the client can play",
    "NetStream.Record.Failed": "the server could not record the stream",
    "NetStream.Record.NoAccess": "the server may not write the recording (permissions or a stream in use)",
    "NetStream.Seek.Failed": "the server could not seek in the stream",
    "NetStream.Seek.InvalidTime": "the seek time is outside the stream",
    "NetStream.Failed": "a stream error",
    "NetStream.Connect.Failed": "the peer-to-peer stream connection failed",
    "NetStream.Connect.Rejected": "the peer-to-peer stream connection was refused",
    "NetStream.Play.InsufficientBW": "the client does not receive data fast enough to play the stream",
    "NetStream.Publish.BadName.Duplicated": "the stream name is already being published",
}

_AUTHMOD = re.compile(r"authmod=([A-Za-z0-9_]+)")
_REASON = re.compile(r"reason=([A-Za-z0-9_]+)")
_AUTH_FAIL_REASONS = {
    "authfailed": "the user name or password is wrong",
    "nosuchuser": "the server knows no such user",
    "invalid_opaque": "the challenge answer does not match the challenge",
    "invalid_challenge": "the challenge answer does not match the challenge",
}


def explain_status(code: str | None) -> str | None:
    if code is None:
        return None
    return STATUS_EXPLANATIONS.get(code)


def auth_info(description: str | None) -> tuple[str | None, str | None]:
    """(authmod, reason) named in a rejection's description, e.g. '[ code=403 need auth; authmod=adobe ]'."""
    if not description:
        return None, None
    authmod = _AUTHMOD.search(description)
    reason = _REASON.search(description)
    reason_text = reason.group(1) if reason else None
    if reason_text is None and "need auth" in description:
        reason_text = "needauth"
    return (authmod.group(1) if authmod else None), reason_text


def _fmt_txn(txn: float) -> str:
    return str(int(txn)) if float(txn).is_integer() else repr(txn)


@dataclass(slots=True)
class _Track:
    """Media of one (direction, message stream, E-RTMP track id: 0 is the default track and any one-track
    stream)."""

    dir: str
    stream_id: int
    track_id: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    video_seq: bool = False
    audio_seq: bool = False
    video_first_checked: bool = False
    audio_first_checked: bool = False
    width: int | None = None
    height: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    video_frames: int = 0
    audio_frames: int = 0
    first_video_ts: int | None = None
    first_video_frame: int | None = None
    first_frame: int | None = None  # of its first media message
    multitrack: bool = False  # E-RTMP multitrack messages seen
    enhanced: bool = False  # E-RTMP (FourCC) media seen: legacy codec ids need no negotiation
    last_video_ts: int | None = None
    keyframes: int = 0
    last_key_ts: int | None = None
    key_gap_reported: bool = False
    metadata_fps: float | None = None
    codec_change_reported: bool = False

    @property
    def duration_ms(self) -> int | None:
        if self.first_ts is None or self.last_ts is None:
            return None
        return (self.last_ts - self.first_ts) % WRAP

    @property
    def fps(self) -> float | None:
        if self.video_frames >= 2 and self.first_video_ts is not None and self.last_video_ts is not None:
            span = (self.last_video_ts - self.first_video_ts) % WRAP
            if span > 0:
                return (self.video_frames - 1) * 1000.0 / span
        return self.metadata_fps

    @property
    def label(self) -> str:
        """'c2s stream 1', or 'c2s stream 1 track 2' for a track besides the default one."""
        return f"{self.dir} stream {self.stream_id}" + (f" track {self.track_id}" if self.track_id else "")

    def to_json(self) -> dict[str, Any]:
        fps = self.fps
        out: dict[str, Any] = {"dir": self.dir, "stream_id": self.stream_id}
        if self.track_id:
            out["track_id"] = self.track_id
        return out | {
            "duration_ms": self.duration_ms,
            "video": None if self.video_codec is None else {
                "codec": self.video_codec, "width": self.width, "height": self.height,
                "fps": None if fps is None else round(fps, 3), "frames": self.video_frames,
                "keyframes": self.keyframes,
            },
            "audio": None if self.audio_codec is None else {
                "codec": self.audio_codec, "sample_rate": self.sample_rate, "channels": self.channels,
                "frames": self.audio_frames,
            },
        }


class ExpertChecks:
    """Protocol checks over one session (see the module docstring for the codes)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.findings: list[WarningRecord] = []  # everything this observer reported, in order
        self.tracks: dict[tuple[str, int, int], _Track] = {}  # by (dir, stream id, track id)
        self._last_ts: dict[tuple[str, int, int], int] = {}
        self._backwards: dict[tuple[str, int, int], int] = {}
        # flow control: the window each side announced, how far each side's bytes were acknowledged
        self.window: dict[Direction, int] = {}
        self.sent: dict[Direction, int] = {C2S: 0, S2C: 0}  # end offset of the last message from each side
        self.acked: dict[Direction, int] = {C2S: 0, S2C: 0}  # `sent` of a side when the other last acknowledged
        self._ack_value: dict[Direction, int] = {}  # last Acknowledgement value sent by a side
        self._window_reported: set[Direction] = set()
        self.pings: dict[Direction, list[tuple[int, int, float]]] = {C2S: [], S2C: []}  # (value, frame, time)
        self._reused_seen = 0
        self.stop_seen = False  # deleteStream, closeStream, FCUnpublish, a stop/unpublish status or StreamEOF
        self.request_streams: dict[int, int] = {}  # message index of publish/play -> its message stream
        self._finished = False
        self._optional_errors: list[tuple[MessageRecord, str]] = []  # (the _error, its text), judged at the end
        self.reconnect: dict[str, Any] | None = None  # the server's ReconnectRequest, if it sent one
        self._rates_reported: set[tuple[str, int]] = set()  # (dir, stream) told about a header/ASC disagreement

    # -- helpers -------------------------------------------------------------------------------

    def _make(self, code: str, severity: str, frame: int | None, message: str, dir: str | None = None,
              time: float | None = None) -> WarningRecord:
        record = WarningRecord(self.session.id, code, severity, frame, message, dir, time)
        self.findings.append(record)
        return record

    def _track(self, dir: str, stream_id: int, track_id: int = 0) -> _Track:
        key = (dir, stream_id, track_id)
        track = self.tracks.get(key)
        if track is None:
            track = self.tracks[key] = _Track(dir, stream_id, track_id)
        return track

    # -- per message -----------------------------------------------------------------------------

    def observe(self, record: MessageRecord) -> list[WarningRecord]:
        out: list[WarningRecord] = []
        dir = record.dir
        if record.end_offset > self.sent[dir]:
            self.sent[dir] = record.end_offset
        type_id = record.type_id
        payload = record.payload
        if type_id in (MessageType.AUDIO, MessageType.VIDEO):
            self._media_tracks(record, type_id, record.timestamp, payload, out)
        elif type_id == MessageType.AGGREGATE and isinstance(payload, Aggregate):
            for part in payload.parts:
                if part.type_id in (MessageType.AUDIO, MessageType.VIDEO):
                    body = record.body[part.body_offset : part.body_offset + part.length]
                    info = parse_audio(body) if part.type_id == MessageType.AUDIO else parse_video(body)
                    self._media_tracks(record, part.type_id, part.timestamp, info, out)
        elif isinstance(payload, Control):
            self._control(record, payload, out)
        elif isinstance(payload, UserControl):
            self._user_control(record, payload, out)
        elif isinstance(payload, AmfPayload):
            if payload.is_command:
                self._command(record, payload, out)
            elif payload.name in ("@setDataFrame", "onMetaData"):
                self._metadata(record, payload)
        self._check_window(record, out)
        return out

    # flow control

    def _chunk_size(self, record: MessageRecord, value: int, out: list[WarningRecord]) -> None:
        """Sizes the decoder takes but peers may not (0 and the top bit are the decoder's own findings)."""
        dir = record.dir
        if 0 < value < 128:
            out.append(self._make("control.chunk-size-unusual", "warning", record.frame,
                                  f"the {SIDE[dir]} set a chunk size of {value}, below the 128 the spec asks for "
                                  "at least: SRS and other servers refuse it and close the connection",
                                  dir, record.time))
        elif 65536 < value < 1 << 31:
            out.append(self._make("control.chunk-size-unusual", "info", record.frame,
                                  f"the {SIDE[dir]} set a chunk size of {value}, above 65536: accepted by FFmpeg "
                                  "and nginx-rtmp, but some servers and players cap the chunk size at 65536",
                                  dir, record.time))

    def _control(self, record: MessageRecord, control: Control, out: list[WarningRecord]) -> None:
        dir = record.dir
        value = control.value
        if value is None:
            return
        if record.type_id == MessageType.SET_CHUNK_SIZE:
            self._chunk_size(record, value, out)
        elif record.type_id == MessageType.WINDOW_ACK_SIZE:
            if value == 0:
                out.append(self._make("flow.window-zero", "warning", record.frame,
                                      f"the {SIDE[dir]} set a Window Acknowledgement Size of 0: no acknowledgement "
                                      "interval can be kept", dir, record.time))
            else:
                if self.window.get(dir) != value:
                    # the peer learns the window now: count from here (bytes before were not under it)
                    self.acked[dir] = max(self.acked[dir], record.offset)
                self.window[dir] = value
        elif record.type_id == MessageType.SET_PEER_BANDWIDTH:
            if value == 0:
                out.append(self._make("flow.window-zero", "warning", record.frame,
                                      f"the {SIDE[dir]} set a peer bandwidth of 0 bytes: the peer may not send "
                                      "anything unacknowledged", dir, record.time))
            if control.limit_type is not None and control.limit_type not in (0, 1, 2):
                out.append(self._make("flow.peer-bandwidth-limit-type", "warning", record.frame,
                                      f"Set Peer Bandwidth from the {SIDE[dir]} has limit type {control.limit_type}; "
                                      "only 0 (hard), 1 (soft) and 2 (dynamic) are defined", dir, record.time))
        elif record.type_id == MessageType.ACKNOWLEDGEMENT:
            # dir acknowledges the bytes the other side sent
            other = OTHER[dir]
            previous = self._ack_value.get(dir)
            if previous is not None and value < previous:
                if previous - value > WRAP // 2:
                    out.append(self._make("flow.ack-wrapped", "info", record.frame,
                                          f"the {SIDE[dir]}'s Acknowledgement sequence number wrapped past 2^32 "
                                          f"({previous} then {value}): more than 4 GiB received", dir, record.time))
                else:
                    out.append(self._make("flow.ack-backwards", "warning", record.frame,
                                          f"the {SIDE[dir]}'s Acknowledgement sequence number went backwards "
                                          f"({previous} then {value})", dir, record.time))
            self._ack_value[dir] = value
            self.acked[other] = self.sent[other]

    def _check_window(self, record: MessageRecord, out: list[WarningRecord]) -> None:
        # The spec (5.4.4): the sender of Window Acknowledgement Size expects an Acknowledgement from its
        # peer after it has sent that many bytes. Half a window more is allowed for bytes in flight.
        dir = record.dir
        window = self.window.get(dir)
        if window is None or dir in self._window_reported:
            return
        unacked = self.sent[dir] - self.acked[dir]
        if unacked > window + window // 2:
            self._window_reported.add(dir)
            other = OTHER[dir]
            since = "since its last Acknowledgement" if self._ack_value.get(other) is not None else \
                "without sending any Acknowledgement"
            out.append(self._make("flow.ack-window-exceeded", "warning", record.frame,
                                  f"the {SIDE[dir]} sent {unacked} bytes and the {SIDE[other]} did not acknowledge "
                                  f"them {since}, although the {SIDE[dir]} set a Window Acknowledgement Size of "
                                  f"{window}: peers that wait for acknowledgements stall", dir, record.time))

    def _user_control(self, record: MessageRecord, event: UserControl, out: list[WarningRecord]) -> None:
        dir = record.dir
        if event.event_type == 6 and event.value is not None:
            self.pings[dir].append((event.value, record.frame, record.time))
        elif event.event_type == 1:
            self.stop_seen = True
        elif event.event_type == 7:
            pending = self.pings[OTHER[dir]]
            for i, (value, _, _) in enumerate(pending):
                if value == event.value:
                    del pending[i]
                    break
            else:
                if pending:
                    del pending[0]

    # commands

    def _command(self, record: MessageRecord, payload: AmfPayload, out: list[WarningRecord]) -> None:
        state = self.session.state
        dir = record.dir
        name = payload.name
        reused = state.reused_transactions
        while self._reused_seen < len(reused):
            txn, frame = reused[self._reused_seen]
            self._reused_seen += 1
            out.append(self._make("command.transaction-reused", "warning", frame,
                                  f"{name}: the {SIDE[dir]} reused transaction id {_fmt_txn(txn)} while an earlier "
                                  "request with that id was still unanswered: the answers cannot be told apart",
                                  dir, record.time))
        if name in STOP_COMMANDS:
            self.stop_seen = True
        if name == "_error":
            self._error(record, payload, out)
        elif name == "onStatus":
            args = payload.args
            info = args[1] if len(args) > 1 else (args[0] if args else None)
            code, level, description = status_fields(info)
            if code in STOP_STATUSES:
                self.stop_seen = True
            if code == RECONNECT_REQUEST:
                self._reconnect_request(record, info, description, out)
            elif level in ("error", "warning") and code:
                text = f"onStatus {code} on stream {record.stream_id}"
                explanation = explain_status(code)
                if explanation:
                    text += f": {explanation}"
                if description:
                    text += f" (server says: {description!r})"
                authmod, reason = auth_info(description)
                if authmod or reason:
                    text += f"; {self._auth_text(authmod, reason)}"
                out.append(self._make("status.error" if level == "error" else "status.warning", level,
                                      record.frame, text, dir, record.time))
        elif name in ("publish", "play", "play2"):
            self.request_streams[record.index] = record.stream_id
            self._stream_created(record, name, out)

    def _reconnect_request(self, record: MessageRecord, info: Any, description: str | None,
                           out: list[WarningRecord]) -> None:
        """E-RTMP v2: the server asks the client to reconnect, to the tcUrl it names or to the same one."""
        tc_url = info.get("tcUrl") if isinstance(info, dict) else None
        tc_url = tc_url if isinstance(tc_url, str) else None
        self.reconnect = {"frame": record.frame, "time": record.time, "tcUrl": tc_url, "description": description}
        target = f"to {tc_url!r}" if tc_url else "to the same tcUrl"
        text = f"the server asked the client to reconnect {target} (E-RTMP NetConnection.Connect.ReconnectRequest)"
        if description:
            text += f": {description!r}"
        out.append(self._make("connect.reconnect-requested", "info", record.frame,
                              text + "; the end of this connection is planned", record.dir, record.time))

    @staticmethod
    def _auth_text(authmod: str | None, reason: str | None) -> str:
        parts = []
        if authmod:
            parts.append(f"authentication method authmod={authmod}")
        if reason == "needauth":
            parts.append("the server sent a challenge: the client must reconnect with credentials answering it")
        elif reason in _AUTH_FAIL_REASONS:
            parts.append(f"reason={reason}: {_AUTH_FAIL_REASONS[reason]}")
        elif reason:
            parts.append(f"reason={reason}")
        return ", ".join(parts)

    def _error(self, record: MessageRecord, payload: AmfPayload, out: list[WarningRecord]) -> None:
        state = self.session.state
        dir = record.dir
        txn = payload.transaction_id
        request = None
        for candidate in reversed(state.requests):
            if candidate.response_index == record.index:
                request = candidate
                break
        what = request.name if request is not None else f"transaction {_fmt_txn(txn) if txn is not None else '?'}"
        args = payload.args
        info = args[1] if len(args) > 1 else (args[0] if args else None)
        code, _, description = status_fields(info)
        authmod, reason = auth_info(description)
        text = f"{what} answered _error"
        if code:
            text += f": {code}"
            explanation = explain_status(code)
            if explanation:
                text += f" ({explanation})"
        if description:
            text += f"; server says: {description!r}"
        if authmod or reason:
            text += f"; {self._auth_text(authmod, reason)}"
            if reason in _AUTH_FAIL_REASONS or (reason and reason != "needauth"):
                out.append(self._make("command.auth-failed", "error", record.frame, text, dir, record.time))
            else:
                out.append(self._make("command.auth-required", "warning", record.frame, text, dir, record.time))
            return
        if request is not None and request.name in OPTIONAL_CALLS:
            self._optional_errors.append((record, text))
            return
        out.append(self._make("command.error", "error", record.frame, text, dir, record.time))

    def _stream_created(self, record: MessageRecord, name: str, out: list[WarningRecord]) -> None:
        session = self.session
        stream_id = record.stream_id
        if stream_id == 0:
            out.append(self._make("stream.not-created", "warning", record.frame,
                                  f"{name} was sent on message stream 0 (the connection's own stream); "
                                  f"{name} belongs on a stream made by createStream, many servers ignore it",
                                  record.dir, record.time))
            return
        if not session.handshake.in_view:
            return  # createStream may be before the capture started
        stream = session.state.streams.get(stream_id)
        if stream is None or stream.created_frame is None:
            out.append(self._make("stream.not-created", "warning", record.frame,
                                  f"{name} was sent on message stream {stream_id} before a createStream _result "
                                  f"created that stream", record.dir, record.time))

    def _metadata(self, record: MessageRecord, payload: AmfPayload) -> None:
        for value in payload.values:
            if isinstance(value, dict):
                rate = value.get("framerate", value.get("videoframerate"))
                if isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 < rate < 1000:
                    self._track(record.dir, record.stream_id).metadata_fps = float(rate)
                return

    # media

    def _media_tracks(self, record: MessageRecord, type_id: int, ts: int, info: Any,
                      out: list[WarningRecord]) -> None:
        if not isinstance(info, (AudioInfo, VideoInfo)):
            return
        if info.multitrack_type is None:
            self._media(record, type_id, ts, info, 0, out)
            return
        for track_id, view in track_views(info):  # each track of an E-RTMP multitrack message by itself
            self._media(record, type_id, ts, view, track_id, out)

    def _media(self, record: MessageRecord, type_id: int, ts: int, info: AudioInfo | VideoInfo, track_id: int,
               out: list[WarningRecord]) -> None:
        dir = record.dir
        track = self._track(dir, record.stream_id, track_id)
        seq = is_sequence_header(info)
        codec = codec_name(info)
        is_video = type_id == MessageType.VIDEO
        if isinstance(info, VideoInfo) and info.command is not None:
            return
        if info.enhanced:
            track.enhanced = True
            if info.multitrack_type is not None:
                track.multitrack = True
        if isinstance(info, AudioInfo) and info.silence:
            return
        if isinstance(info, VideoInfo) and info.enhanced and info.packet_type in (2, 4):
            return  # SequenceEnd, Metadata: no coded frame
        if isinstance(info, VideoInfo) and not info.enhanced and info.codec_id in (7, 12, 13) \
                and info.packet_type == 2:
            return  # end of sequence
        # codec change
        if codec is not None:
            previous = track.video_codec if is_video else track.audio_codec
            if previous is not None and previous != codec and not track.codec_change_reported:
                track.codec_change_reported = True
                out.append(self._make("media.codec-change", "warning", record.frame,
                                      f"{'video' if is_video else 'audio'} codec of {track.label} "
                                      f"changed from {previous} to {codec} mid-stream: players that set up their "
                                      "decoder once will fail", dir, record.time))
            if is_video:
                track.video_codec = codec
            else:
                track.audio_codec = codec
        # (is_video, from the message type, and the type of info agree: decode_body parses by type)
        if seq:
            if isinstance(info, VideoInfo):
                track.video_seq = True
                if info.width and info.height:
                    track.width, track.height = info.width, info.height
            else:
                track.audio_seq = True
                config = info.config
                rate = getattr(config, "extension_sampling_frequency", None) or \
                    getattr(config, "sampling_frequency", None) or getattr(config, "sample_rate", None)
                if isinstance(rate, int) and rate > 0:
                    track.sample_rate = rate
                    self._legacy_rate_check(record, info, codec, rate, out)
                channels = getattr(config, "channels", None) or getattr(config, "channel_count", None)
                if isinstance(channels, int) and channels > 0:
                    track.channels = channels
            return
        # a coded frame
        if track.first_ts is None:
            track.first_ts = ts
            track.first_frame = record.frame
        track.last_ts = ts
        if isinstance(info, VideoInfo):
            track.video_frames += 1
            if info.width and info.height and track.width is None:
                track.width, track.height = info.width, info.height
        else:
            track.audio_frames += 1
            if track.sample_rate is None and info.sample_rate and codec not in ("AAC", None):
                track.sample_rate = info.sample_rate
                track.channels = info.channels
        self._first_frame_checks(record, track, is_video, codec, out)
        self._timestamp_checks(record, type_id, ts, out)
        if is_video:
            self._keyframe_checks(record, track, ts, is_keyframe(info), out)

    def _first_frame_checks(self, record: MessageRecord, track: _Track, is_video: bool, codec: str | None,
                            out: list[WarningRecord]) -> None:
        if is_video:
            if track.video_first_checked:
                return
            track.video_first_checked = True
            seen = track.video_seq
        else:
            if track.audio_first_checked:
                return
            track.audio_first_checked = True
            seen = track.audio_seq
        if seen or codec not in NEEDS_SEQUENCE_HEADER or not self.session.handshake.in_view:
            return
        kind = "video" if is_video else "audio"
        what = "an AVC/HEVC-style decoder configuration" if is_video else "an AudioSpecificConfig"
        out.append(self._make("media.no-sequence-header", "warning", record.frame,
                              f"the first {codec} {kind} frame of {track.label} came "
                              f"before its sequence header ({what}): decoders cannot start until one arrives",
                              record.dir, record.time))

    def _timestamp_checks(self, record: MessageRecord, type_id: int, ts: int, out: list[WarningRecord]) -> None:
        key = (record.dir, record.stream_id, type_id)
        previous = self._last_ts.get(key)
        self._last_ts[key] = ts
        if previous is None or ts >= previous or previous - ts > WRAP // 2:
            return
        count = self._backwards.get(key, 0) + 1
        self._backwards[key] = count
        if count == 1:
            kind = "video" if type_id == MessageType.VIDEO else "audio"
            out.append(self._make("media.timestamp-backwards", "warning", record.frame,
                                  f"{kind} timestamp of {record.dir} stream {record.stream_id} went backwards from "
                                  f"{previous} ms to {ts} ms: players may drop frames or stall",
                                  record.dir, record.time))

    def _keyframe_checks(self, record: MessageRecord, track: _Track, ts: int, key: bool,
                         out: list[WarningRecord]) -> None:
        if track.first_video_ts is None:
            track.first_video_ts = ts
            track.first_video_frame = record.frame
        track.last_video_ts = ts
        if key:
            track.keyframes += 1
            track.last_key_ts = ts
            track.key_gap_reported = False
            return
        since = track.last_key_ts if track.last_key_ts is not None else track.first_video_ts
        gap = (ts - since) % WRAP
        if gap > KEYFRAME_LIMIT_MS and not track.key_gap_reported and gap < WRAP // 2:
            track.key_gap_reported = True
            start = "its last keyframe" if track.last_key_ts is not None else "its first video frame"
            out.append(self._make("media.keyframe-interval", "warning", record.frame,
                                  f"{track.label}: no keyframe for {gap / 1000:.1f} s since "
                                  f"{start} (limit {KEYFRAME_LIMIT_MS / 1000:.0f} s): players joining now wait "
                                  "that long for a picture", record.dir, record.time))

    # -- at the end ------------------------------------------------------------------------------

    def finish(self) -> list[WarningRecord]:
        if self._finished:
            return []
        self._finished = True
        out: list[WarningRecord] = []
        self._handshake_checks(out)
        self._end_commands(out)
        self._end_streams(out)
        self._end_pings(out)
        self._end_media(out)
        self._end_tcp(out)
        return out

    def _handshake_checks(self, out: list[WarningRecord]) -> None:
        from ..rtmp.handshake import check_handshake

        hs = self.session.handshake
        if not hs.in_view or hs.encrypted:
            return
        frame_c = hs.frames.get(C2S)
        frame_s = hs.frames.get(S2C)
        cv, sv = hs.versions.get(C2S), hs.versions.get(S2C)
        if cv is not None and sv is not None and cv != sv:
            out.append(self._make("handshake.version-mismatch", "warning", frame_s,
                                  f"the client asked for RTMP version {cv} in C0 but the server answered version "
                                  f"{sv} in S0", S2C))
        if C2S not in hs.randoms and S2C not in hs.randoms:
            return
        check = check_handshake(hs.randoms.get(C2S), hs.randoms.get(S2C), hs.echoes.get(C2S), hs.echoes.get(S2C))
        scheme = check.scheme
        if check.client_digest_valid is False:
            out.append(self._make("handshake.digest-invalid", "warning", frame_c,
                                  "C1 announces the digest handshake (non-zero version field) but holds no valid "
                                  "digest: servers fall back to the simple handshake or reject the client", C2S))
        elif check.client_digest_valid and check.server_digest_valid is False:
            out.append(self._make("handshake.digest-invalid", "warning", frame_s,
                                  "S1 holds no valid server digest although the client used the digest handshake: "
                                  "Flash Player-style clients drop such a connection", S2C))
        for echo_ok, sender, peer, part, peer_part in ((check.c2_echoes_s1, C2S, S2C, "C2", "S1"),
                                                        (check.s2_echoes_c1, S2C, C2S, "S2", "C1")):
            if echo_ok is False:
                how = "does not repeat" if scheme == "simple" else "neither repeats nor signs"
                out.append(self._make("handshake.echo-mismatch", "warning", hs.frames.get(sender),
                                      f"{part} from the {SIDE[sender]} {how} {peer_part} ({scheme} handshake): "
                                      f"a strict {SIDE[peer]} closes the connection", sender))

    def _end_optional_errors(self, out: list[WarningRecord]) -> None:
        started = any(s.code in _START_CODES for s in self.session.state.statuses)
        for record, text in self._optional_errors:
            if started:
                out.append(self._make("command.optional-error", "info", record.frame,
                                      f"{text}: harmless, the publish or play that followed started (many servers do "
                                      "not implement this FMLE call)", record.dir, record.time))
            else:
                out.append(self._make("command.optional-error", "warning", record.frame,
                                      f"{text}, and no publish or play started afterwards (many servers do not "
                                      "implement this FMLE call; look at what failed next)", record.dir, record.time))

    def _end_capabilities(self, out: list[WarningRecord]) -> None:
        """E-RTMP: codecs and multitrack sent against what connect advertised (and the server accepted)."""
        offered = self.session.state.capabilities
        client, server = offered.get("client"), offered.get("server")
        told: set[tuple[str, int, str | None]] = set()  # (dir, stream, codec or None for multitrack): once each
        for (dir, stream_id, _), track in sorted(self.tracks.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
            sender = "client" if dir == C2S else "server"
            if not track.enhanced:
                continue
            checks = [(codec, ENHANCED_FOURCCS[codec], video) for codec, video in
                      ((track.video_codec, True), (track.audio_codec, False)) if codec in ENHANCED_FOURCCS
                      and (dir, stream_id, codec) not in told]
            told.update((dir, stream_id, codec) for codec, _, _ in checks)
            multitrack = track.multitrack and (dir, stream_id, None) not in told
            if multitrack:
                told.add((dir, stream_id, None))
            for codec, fourcc, video in checks:
                if not advertises(client, fourcc, video):
                    said = "had no fourCcList" if client is None else f"did not list {fourcc!r}"
                    meaning = "servers that negotiate (YouTube ingest) may refuse or drop it" if dir == C2S \
                        else "the player did not say it can decode it"
                    out.append(self._make("capability.not-advertised", "warning", track.first_frame,
                                          f"the {sender} sent {codec} on stream {stream_id} but connect {said}: "
                                          f"{meaning}", dir))
                elif dir == C2S and server is not None and not advertises(server, fourcc, video):
                    out.append(self._make("capability.not-accepted", "warning", track.first_frame,
                                          f"the client published {codec} on stream {stream_id} but the server's "
                                          f"connect _result did not list {fourcc!r}", dir))
            if multitrack and not advertises_multitrack(client):
                out.append(self._make("capability.not-advertised", "warning", track.first_frame,
                                      f"the {sender} sent multitrack media on stream {stream_id} but connect's capsEx "
                                      "did not advertise Multitrack", dir))
            elif multitrack and dir == C2S and server is not None and not advertises_multitrack(server):
                out.append(self._make("capability.not-accepted", "warning", track.first_frame,
                                      f"the client published multitrack media on stream {stream_id} but the server's "
                                      "capsEx did not include Multitrack", dir))

    def _end_commands(self, out: list[WarningRecord]) -> None:
        self._end_optional_errors(out)
        self._end_capabilities(out)
        session = self.session
        state = session.state
        ended = session.ended
        closed = ended in ("fin", "rst")
        last_time = session.last_time
        start = session.capture_start
        connect_closed = False
        if state.connect is not None and state.connect_result is None and closed:
            request = next((r for r in state.requests if r.name == "connect"), None)
            app = state.app
            who = self.closer()
            connect_closed = True
            if who == "the server":
                text = (f"connect({app!r}): the server closed the connection ({ended}) without answering connect: "
                        "it rejected the application name or the client")
            else:
                text = (f"connect({app!r}): the connection was closed ({ended}, by {who}) and the server never "
                        "answered connect: a wrong application name, a firewall or a server that is not RTMP")
            out.append(self._make("connect.closed-unanswered", "error", request.frame if request else None,
                                  text, C2S))
        for request in state.unanswered():
            if request.name in NO_RESULT_COMMANDS:
                continue
            if request.name == "connect" and connect_closed:
                continue
            important = request.name in IMPORTANT_REQUESTS
            if last_time is not None:
                after = round(last_time - start - request.time, 3)
                tail = f"the flow ends {after:g} s later ({ended})"
            else:
                tail = f"the flow ended ({ended})"
            out.append(self._make("command.unanswered", "warning" if important else "info", request.frame,
                                  f"{request.name} (transaction {_fmt_txn(request.transaction_id)}) from the "
                                  f"{SIDE[request.dir]} never got _result or _error; {tail}",
                                  request.dir, request.time))

    def _legacy_rate_check(self, record: MessageRecord, info: Any, codec: str | None, rate: int,
                           out: list[WarningRecord]) -> None:
        """Legacy AAC audio headers can only say 5.5, 11, 22 or 44 kHz (AAC is always written as 44): the
        AudioSpecificConfig is what decoders use. Worth an info when the two disagree, once per track."""
        legacy = getattr(info, "sample_rate", None)
        key = (record.dir, record.stream_id)
        if info.enhanced or codec != "AAC" or not legacy or legacy == rate or key in self._rates_reported:
            return
        self._rates_reported.add(key)
        out.append(self._make("media.sample-rate-header", "info", record.frame,
                              f"stream {record.stream_id}: the AAC audio header says {legacy} Hz but the "
                              f"AudioSpecificConfig says {rate} Hz; decoders use the AudioSpecificConfig (the "
                              "legacy header cannot express other rates)", record.dir, record.time))

    def _media_elsewhere(self, out: list[WarningRecord]) -> None:
        for _, stream in sorted(self.session.state.streams.items()):
            if not stream.role:
                continue
            track, other = self.media_track(stream)
            if track is None or other is None:
                continue
            sender = "client" if stream.role == "publish" else "server"
            out.append(self._make("stream.media-elsewhere", "warning", track.first_frame,
                                  f"the media of {stream.role} on message stream {stream.stream_id} came on message "
                                  f"stream {other} instead ({track.video_frames} video and {track.audio_frames} audio "
                                  f"frames): the {sender} sent it on the wrong stream; players that follow the spec "
                                  "drop it", track.dir))

    def abrupt_end(self) -> tuple[MessageStream, Status] | None:
        """(the stream, its start status) when a started stream ended with the connection
        (FIN/RST) and neither side stopped it (no deleteStream/closeStream/FCUnpublish, stop status, StreamEOF)."""
        session = self.session
        if session.ended not in ("fin", "rst") or self.stop_seen or self.reconnect is not None:
            return None
        for stream_id, stream in sorted(session.state.streams.items()):
            starts = START_STATUSES.get(stream.role or "", ())
            start = next((s for s in session.state.statuses if s.stream_id == stream_id and s.code in starts), None)
            if start is None:
                continue
            if any(s.level == "error" for s in session.state.statuses if s.stream_id == stream_id):
                continue
            return stream, start
        return None

    def media_track(self, stream: MessageStream) -> tuple[_Track | None, int | None]:
        """The media of a publish or play: on its own message stream, or else (a server's mistake) on another
        one in its direction that no publish or play of the session was started on. (track, the other stream
        id or None)."""
        media_dir = C2S if stream.role == "publish" else S2C
        own = self.tracks.get((media_dir, stream.stream_id, 0))
        if own is None or not (own.video_codec or own.audio_codec):  # a multitrack stream without track 0
            own = next((t for (dir, stream_id, _), t in sorted(self.tracks.items())
                        if dir == media_dir and stream_id == stream.stream_id and (t.video_codec or t.audio_codec)),
                       own)
        if own is not None and (own.video_codec or own.audio_codec):
            return own, None
        roles = self.session.state.streams
        for (dir, stream_id, _), track in sorted(self.tracks.items(), key=lambda kv: (kv[0][1], kv[0][2])):
            if dir == media_dir and stream_id != stream.stream_id and (track.video_codec or track.audio_codec) \
                    and not getattr(roles.get(stream_id), "role", None):
                return track, stream_id
        return own, None

    def other_tracks(self, track: _Track) -> list[_Track]:
        """The other E-RTMP tracks of the stream `track` belongs to, by track id."""
        return [t for (dir, stream_id, _), t in sorted(self.tracks.items())
                if dir == track.dir and stream_id == track.stream_id and t is not track
                and (t.video_codec or t.audio_codec)]

    def _end_streams(self, out: list[WarningRecord]) -> None:
        self._media_elsewhere(out)
        found = self.abrupt_end()
        if found is None:
            return
        stream, start = found
        session = self.session
        media_dir = C2S if stream.role == "publish" else S2C
        track = self.tracks.get((media_dir, stream.stream_id, 0))
        media = "no media" if track is None or track.duration_ms is None else \
            f"{track.duration_ms / 1000:.1f} s of media"
        out.append(self._make("stream.closed-abruptly", "warning", session.last_frame,
                              f"{stream.role} of stream {stream.stream_id} started ({start.code}) but the connection "
                              f"ended ({session.ended}) after {media} with no deleteStream, FCUnpublish, closeStream "
                              "or stop status: the server dropped the stream (access rules, a wrong key, a crash) "
                              "or the client died"))

    def closer(self) -> str:
        flow = self.session.tcp_flow
        server_dir = 1 - self.session.client_index
        fin_seen = getattr(flow, "fin_seen", None)
        try:
            if fin_seen is not None and fin_seen(server_dir):
                return "the server"
            if fin_seen is not None and fin_seen(1 - server_dir):
                return "the client"
        except (AttributeError, IndexError, TypeError):
            pass
        return "one side"

    def _end_pings(self, out: list[WarningRecord]) -> None:
        session = self.session
        end = None if session.last_time is None else session.last_time - session.capture_start
        for dir, pending in self.pings.items():
            if end is not None and session.ended not in ("fin", "rst"):
                # the capture ends too soon after a ping to tell whether it was answered
                pending = [p for p in pending if end - p[2] >= PING_GRACE_S]
            if not pending:
                continue
            value, frame, time = pending[0]
            more = f" (and {len(pending) - 1} later ones)" if len(pending) > 1 else ""
            out.append(self._make("ping.unanswered", "warning", frame,
                                  f"PingRequest (timestamp {value}){more} from the {SIDE[dir]} never got a "
                                  f"PingResponse from the {SIDE[OTHER[dir]]}: servers drop clients that "
                                  "do not answer pings", dir, time))

    def _end_media(self, out: list[WarningRecord]) -> None:
        for (dir, stream_id, type_id), count in sorted(self._backwards.items()):
            if count > 1:
                kind = "video" if type_id == MessageType.VIDEO else "audio"
                out.append(self._make("media.timestamp-backwards", "warning", None,
                                      f"{kind} timestamps of {dir} stream {stream_id} went backwards {count} times "
                                      "in all", dir))
        for track in self.tracks.values():
            if track.video_frames and track.keyframes == 0 and not track.key_gap_reported:
                if self.session.handshake.in_view:
                    out.append(self._make("media.no-keyframe", "warning", track.first_video_frame,
                                          f"{track.label} carried {track.video_frames} video "
                                          "frames and not one keyframe: no player can show a picture",
                                          track.dir))

    def _end_tcp(self, out: list[WarningRecord]) -> None:
        flow = self.session.tcp_flow
        self._end_tcp_integrity(flow, out)
        zero = getattr(flow, "zero_windows", 0) or 0
        if zero:
            first = getattr(flow, "zero_window_first_frame", None)
            data_start = self.session.first_frame
            if zero == 1 and first is not None and data_start is not None and first < data_start:
                out.append(self._make("tcp.zero-window", "info", first,
                                      "a zero TCP window was advertised once, before any data "
                                      "(e.g. on the SYN-ACK): harmless"))
                return
            out.append(self._make("tcp.zero-window", "warning", first,
                                  f"a receiver advertised a zero TCP window {zero} time(s): "
                                  "one side could not read as fast as the other sent (a slow reader or a full "
                                  "buffer)"))

    def _end_tcp_integrity(self, flow: Any, out: list[WarningRecord]) -> None:
        """Segments the receiver would not have taken, counted by the flow table (flows/table.py)."""
        drops = getattr(flow, "checksum_drops", None) or [0, 0]
        if drops[0] or drops[1]:
            client = self.session.client_index
            sides = ((client, "client"), (1 - client, "server"))
            per_side = ", ".join(f"{drops[d]} from the {name}" for d, name in sides if drops[d])
            out.append(self._make("tcp.checksum-bad", "info", flow.checksum_drop_first_frame,
                                  f"{drops[0] + drops[1]} TCP segment(s) with a wrong checksum were not used "
                                  f"({per_side}), as the receiver drops them: corrupted on the path"))
        segments = getattr(flow, "implausible_segments", 0) or 0
        acks = getattr(flow, "implausible_acks", 0) or 0
        if segments or acks:
            out.append(self._make("tcp.sequence-implausible", "info", None,
                                  f"{segments} segment(s) and {acks} ACK(s) carried sequence or acknowledgement "
                                  f"numbers more than {MAX_AHEAD >> 20} MiB beyond anything the connection showed: "
                                  "corrupted numbers, not used (and not counted as bytes missing from the capture)"))
        ignored = getattr(flow, "resets_ignored", 0) or 0
        if ignored:
            out.append(self._make("tcp.reset-ignored", "info", flow.reset_ignored_first_frame,
                                  f"{ignored} RST segment(s) with a sequence number the receiver would not accept "
                                  "(RFC 5961: behind what it had received, or far ahead) were not taken as the end of "
                                  "the connection"))

    # -- output ----------------------------------------------------------------------------------

    def media_tracks(self) -> list[_Track]:
        return [t for _, t in sorted(self.tracks.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2]))
                if t.video_codec or t.audio_codec]

    def to_json(self) -> dict[str, Any]:
        expert: dict[str, Any] = {
            "media": [t.to_json() for t in self.media_tracks()],
            "findings": {sev: sum(1 for f in self.findings if f.severity == sev)
                         for sev in ("error", "warning", "info")},
        }
        if self.reconnect is not None:
            expert["reconnect_request"] = dict(self.reconnect)
        return {"verdict": verdict(self.session), "expert": expert}
