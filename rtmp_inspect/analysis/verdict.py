"""One line per session that a person can act on.

Examples:
    publish live/cam1: ok, 8.0 s, H.264 640x360 25 fps + AAC 44.1 kHz
    play vod/missing: failed, NetStream.Play.StreamNotFound
    connect('nosuchapp'): the server closed the connection without answering
    RTMPE (encrypted): not decoded

The line holds raw strings from the capture: escape it (textsafe.escape) before printing it to a terminal.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..rtmp.vocabulary import Direction

START_CODES = {"publish": ("NetStream.Publish.Start",),
               "play": ("NetStream.Play.Start", "NetStream.Play.Reset", "NetStream.Play.PublishNotify")}
C2S, S2C = Direction.C2S, Direction.S2C


def _expert(session: Any) -> Any:
    """The session's expert checks (analysis/expert.py), if it has them (RTMFP and stand-ins do not)."""
    return getattr(session, "expert", None)


def _seconds(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f} s"


def _fps(fps: float | None) -> str | None:
    if fps is None or fps <= 0:
        return None
    if abs(fps - round(fps)) < 0.05:
        return f"{round(fps)} fps"
    return f"{fps:.2f}".rstrip("0").rstrip(".") + " fps"


def media_text(track: Any) -> str:
    """'H.264 640x360 25 fps + AAC 44.1 kHz' for one (direction, stream) of ExpertChecks."""
    parts = []
    if track.video_codec:
        video = [track.video_codec]
        if track.width and track.height:
            video.append(f"{track.width}x{track.height}")
        fps = _fps(track.fps)
        if fps:
            video.append(fps)
        parts.append(" ".join(video))
    if track.audio_codec:
        audio = [track.audio_codec]
        if track.sample_rate:
            audio.append(f"{track.sample_rate / 1000:g} kHz")
        parts.append(" ".join(audio))
    return " + ".join(parts)


def _more_tracks(tracks: list[Any]) -> str:
    """' (+ track 1: H.264 1280x720 30 fps; track 2: ...)' for an E-RTMP multitrack stream, else ''."""
    if not tracks:
        return ""
    return " (+ " + "; ".join(f"track {t.track_id}: {media_text(t)}" for t in tracks) + ")"


def _stream_label(role: str, app: str | None, name: str | None) -> str:
    if name is None:
        name = "?"
    if "://" in name or not app:
        return f"{role} {name}"
    return f"{role} {app.rstrip('/')}/{name}"


class _Timed(Protocol):
    first_time: float | None
    last_time: float | None


def _flow_duration(session: _Timed) -> float | None:
    if session.first_time is None or session.last_time is None:
        return None
    return session.last_time - session.first_time


def _ended_text(session: Any) -> str:
    return {"fin": "the connection closed", "rst": "the connection was reset",
            "end-of-capture": "the capture ends"}.get(session.ended or "", "the flow ends")


def _stream_verdict(session: Any, stream: Any, expert: Any) -> str:
    state = session.state
    label = _stream_label(stream.role, state.app, stream.name)
    codes = [s for s in state.statuses if s.stream_id == stream.stream_id]
    errors = [s for s in codes if s.level == "error"]
    on_stream = expert.request_streams if expert is not None else {}
    request = next((r for r in state.requests if r.name in ("publish", "play", "play2")
                    and on_stream.get(r.index) == stream.stream_id), None)
    if errors:
        return f"{label}: failed, {errors[0].code}"
    if request is not None and request.response == "_error":
        return f"{label}: failed, {request.name} answered _error"
    track, elsewhere = expert.media_track(stream) if expert is not None else (None, None)
    has_media = track is not None and (track.video_codec or track.audio_codec)
    started = any(s.code in START_CODES.get(stream.role, ()) for s in codes)
    abrupt = expert.abrupt_end() if expert is not None else None
    reconnect = expert.reconnect if expert is not None else None
    if started and abrupt is not None and abrupt[0] is stream:
        status = f"started, then the connection ended ({session.ended}) without a stop"
    elif started and reconnect is not None:
        target = f" to {reconnect['tcUrl']}" if reconnect["tcUrl"] else ""
        status = f"ok until the server asked the client to reconnect{target}"
    elif started:
        status = "ok"
    elif has_media:
        status = "media without a start status"
    else:
        other = [s.code for s in codes]
        status = f"no start status ({', '.join(other)})" if other else \
            f"no answer from the server before {_ended_text(session)}"
    parts = [f"{label}: {status}"]
    if has_media and track is not None:
        duration = track.duration_ms
        parts.append(_seconds(None if duration is None else duration / 1000))
        parts.append(media_text(track) + _more_tracks(expert.other_tracks(track)))
    elif started:
        parts.append(_seconds(_flow_duration(session)))
        parts.append("no media")
    if stream.stream_id == 0:
        parts.append("sent on stream 0")
    if elsewhere is not None and has_media:
        parts.append(f"media on message stream {elsewhere}")
    return ", ".join(parts)


def _connect_verdict(session: Any, expert: Any) -> str:
    state = session.state
    label = f"connect({state.app!r})"
    result = state.connect_result
    if result is None:
        if session.ended in ("fin", "rst"):
            who = expert.closer() if expert is not None else "one side"
            if who == "the server":
                return f"{label}: the server closed the connection without answering"
            return f"{label}: no answer before the connection closed ({who} closed it)"
        return f"{label}: no answer before {_ended_text(session)}"
    if result == "_error" or not result.endswith("Success"):
        text = f"{label}: rejected, {result}"
        if expert is not None:
            auth = next((f for f in expert.findings if f.code in ("command.auth-required", "command.auth-failed")),
                        None)
            if auth is not None:
                text += " (authentication required)" if auth.code == "command.auth-required" \
                    else " (authentication failed)"
        return text
    return f"{label}: connected, no publish or play, {_seconds(_flow_duration(session))}"


def verdict(session: Any) -> str:
    """One line saying what the session did and whether it worked."""
    # RTMPS without keys, RTMFP: said by their sessions
    undecoded: str | None = getattr(session, "undecoded_reason", None)
    if undecoded:
        return undecoded
    if session.handshake.encrypted:
        return "RTMPE (encrypted): not decoded"
    state = session.state
    expert = _expert(session)
    streams = [s for _, s in sorted(state.streams.items()) if s.role]
    if streams:
        return "; ".join(_stream_verdict(session, s, expert) for s in streams)
    if state.connect is not None:
        return _connect_verdict(session, expert)
    tracks = expert.media_tracks() if expert is not None else []
    if tracks:
        prefix = "mid-session capture" if not session.handshake.in_view else "no commands seen"
        media = "; ".join(f"{t.label} {media_text(t)}, "
                          f"{_seconds(None if t.duration_ms is None else t.duration_ms / 1000)}" for t in tracks)
        return f"{prefix}: {media}"
    if not session.handshake.in_view:
        return f"mid-session capture: no commands or media seen ({session.message_count} messages)"
    if not session.handshake.complete:
        return "handshake not completed: no RTMP session"
    return f"no commands seen ({session.message_count} messages)"
