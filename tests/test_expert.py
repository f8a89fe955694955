"""Expert checks (analysis/expert.py), verdicts (analysis/verdict.py) and `--check`.

Each check is triggered on crafted bytes fed to a FlowSession directly; the public captures must stay quiet
(apart from what really is in them).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from rtmp_inspect.analysis.expert import ExpertChecks, auth_info
from rtmp_inspect.analysis.session import FlowSession
from rtmp_inspect.analysis.verdict import verdict
from rtmp_inspect.export.check_report import check_report
from rtmp_inspect.rtmp.handshake import CLIENT_KEY, digest_offset
from tests.support.media_files import MEDIA, mp4_box
from tests.support.paths import public
from tests.support.rtmp_builder import amf0, command, echo, handshake_part, message_chunks

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT / "samples" / "public"

CONNECT_OK = {"level": "status", "code": "NetConnection.Connect.Success", "description": "Connection succeeded."}


class FakeFlow:
    def __init__(self, zero_windows: int = 0, zero_first: int | None = None, fins: tuple = ()) -> None:
        self.endpoints = [(b"\x7f\x00\x00\x01", 50000), (b"\x7f\x00\x00\x01", 1935)]
        self.zero_windows = zero_windows
        self.zero_window_first_frame = zero_first
        self.fins = set(fins)

    def fin_seen(self, direction: int) -> bool:
        return direction in self.fins


class Conversation:
    """A FlowSession fed with crafted bytes; the client is TCP direction 0."""

    def __init__(self, handshake: bool = True, flow: FakeFlow | None = None, client_version: int = 3,
                 server_version: int = 3, c1: bytes | None = None, s1: bytes | None = None,
                 s2: bytes | None = None, c2: bytes | None = None) -> None:
        self.flow = flow or FakeFlow()
        self.session = FlowSession(0, self.flow, 0, 0.0, handshake)
        self.frame = 0
        self.time = 0.0
        self.stream_ids = {"c2s": 0, "s2c": 0}
        if handshake:
            c0, default_c1 = handshake_part(client_version, fill=0x11)
            s0, default_s1 = handshake_part(server_version, fill=0x77)
            c1 = default_c1 if c1 is None else c1
            s1 = default_s1 if s1 is None else s1
            self.c2s(c0 + c1)
            self.s2c(s0 + s1 + (echo(c1) if s2 is None else s2))
            self.c2s(echo(s1) if c2 is None else c2)

    def _feed(self, direction: int, data: bytes, dt: float) -> list:
        self.frame += 1
        self.time += dt
        return self.session.feed(direction, self.frame, self.time, data)

    def c2s(self, data: bytes, dt: float = 0.01) -> list:
        return self._feed(0, data, dt)

    def s2c(self, data: bytes, dt: float = 0.01) -> list:
        return self._feed(1, data, dt)

    def send(self, dir: str, type_id: int, body: bytes, stream_id: int = 0, timestamp: int = 0,
             csid: int | None = None, dt: float = 0.01) -> list:
        csid = csid if csid is not None else (3 if type_id in (17, 20) else 2 if type_id < 8 else 6)
        data = message_chunks(csid, type_id, body, timestamp, stream_id)
        return self.c2s(data, dt) if dir == "c2s" else self.s2c(data, dt)

    def cmd(self, dir: str, name: str, txn: float, *args, stream_id: int = 0) -> list:
        return self.send(dir, 20, command(name, txn, *args), stream_id)

    def connect(self, app: str = "live", answer: bool = True) -> None:
        self.cmd("c2s", "connect", 1, {"app": app, "tcUrl": f"rtmp://example.net/{app}"})
        if answer:
            self.cmd("s2c", "_result", 1, {"fmsVer": "FMS/3,0,1,123"}, CONNECT_OK)

    def create_stream(self, txn: float = 2, stream_id: int = 1) -> None:
        self.cmd("c2s", "createStream", txn, None)
        self.cmd("s2c", "_result", txn, None, stream_id)

    def finish(self, reason: str = "fin") -> list:
        return self.session.finish(reason, None, None)

    def findings(self, code: str | None = None) -> list:
        return [w for w in self.session.warnings if code is None or w.code == code]

    def codes(self) -> list[str]:
        return [w.code for w in self.session.warnings]

    def verdict(self) -> str:
        return verdict(self.session)


def control(value: int) -> bytes:
    return struct.pack(">I", value)


def user_control(event: int, value: int) -> bytes:
    return struct.pack(">HI", event, value)


# media bodies (FLV tag bodies)
AVC_CONFIG = bytes([0x17, 0, 0, 0, 0, 1, 0x42, 0, 0x1E, 0xFF, 0xE0, 0x00])  # avcC without SPS/PPS
AAC_CONFIG = bytes([0xAF, 0x00, 0x12, 0x10])  # AAC LC, 44.1 kHz, stereo


def avc_frame(key: bool) -> bytes:
    nal = bytes([0x65 if key else 0x41, 0x88, 0x84])
    return bytes([0x17 if key else 0x27, 1, 0, 0, 0]) + struct.pack(">I", len(nal)) + nal


def hevc_frame(key: bool) -> bytes:
    nal = bytes([19 << 1 if key else 1 << 1, 1, 0xAF])
    return bytes([0x1C if key else 0x2C, 1, 0, 0, 0]) + struct.pack(">I", len(nal)) + nal


def aac_frame() -> bytes:
    return bytes([0xAF, 0x01, 0x21, 0x10, 0x05])


def publishing(app: str = "live", name: str = "cam1") -> Conversation:
    conv = Conversation()
    conv.connect(app)
    conv.create_stream()
    conv.cmd("c2s", "publish", 3, None, name, "live", stream_id=1)
    conv.cmd("s2c", "onStatus", 0, None, {"level": "status", "code": "NetStream.Publish.Start",
                                          "description": f"{name} is now published"}, stream_id=1)
    return conv


def send_media(conv: Conversation, seconds: float = 8.0, fps: int = 25, keyint_s: float = 2.0,
               audio: bool = True, first_config: bool = True, stream_id: int = 1) -> None:
    if first_config:
        conv.send("c2s", 9, AVC_CONFIG, stream_id)
        if audio:
            conv.send("c2s", 8, AAC_CONFIG, stream_id)
    frames = int(seconds * fps) + 1
    for i in range(frames):
        ts = round(i * 1000 / fps)
        key = keyint_s > 0 and i % round(keyint_s * fps) == 0
        conv.send("c2s", 9, avc_frame(key), stream_id, ts, dt=0.0)
        if audio:
            conv.send("c2s", 8, aac_frame(), stream_id, ts, dt=0.0)


# -- the clean case ---------------------------------------------------------------------------------

def test_clean_publish_has_no_findings_and_a_full_verdict():
    conv = publishing()
    send_media(conv)
    conv.cmd("c2s", "deleteStream", 0, None, 1)
    conv.finish("fin")
    assert conv.findings() == []
    assert conv.verdict() == "publish live/cam1: ok, 8.0 s, H.264 25 fps + AAC 44.1 kHz"
    expert = conv.session.expert
    data = expert.to_json()
    assert data["verdict"] == conv.verdict()
    [track] = data["expert"]["media"]
    assert track["video"]["codec"] == "H.264" and track["audio"]["sample_rate"] == 44100
    assert conv.session.to_json_summary()["verdict"] == conv.verdict()


# -- handshake --------------------------------------------------------------------------------------

def test_handshake_version_mismatch():
    conv = Conversation(server_version=4)
    conv.connect()
    conv.finish()
    [finding] = conv.findings("handshake.version-mismatch")
    assert finding.severity == "warning" and "version 3" in finding.message and "version 4" in finding.message
    assert finding.frame == 2


def test_handshake_echo_mismatch_simple_scheme():
    conv = Conversation(s2=bytes(1536))
    conv.connect()
    conv.finish()
    [finding] = conv.findings("handshake.echo-mismatch")
    assert finding.dir == "s2c" and "S2" in finding.message and "C1" in finding.message
    assert "simple" in finding.message


def test_handshake_client_digest_invalid():
    _, c1 = handshake_part(3, fill=0x11)
    c1 = c1[:4] + b"\x80\x00\x07\x02" + c1[8:]  # version field says digest scheme, no digest
    conv = Conversation(c1=c1)
    conv.connect()
    conv.finish()
    [finding] = conv.findings("handshake.digest-invalid")
    assert finding.dir == "c2s" and "C1" in finding.message


def _with_client_digest(data: bytes) -> bytes:
    data = bytearray(data[:4] + b"\x80\x00\x07\x02" + data[8:])
    offset = digest_offset(bytes(data), 0)
    message = bytes(data[:offset] + data[offset + 32:])
    data[offset : offset + 32] = hmac.new(CLIENT_KEY, message, hashlib.sha256).digest()
    return bytes(data)


def test_handshake_server_digest_invalid_when_client_used_the_digest_scheme():
    _, c1 = handshake_part(3, fill=0x11)
    _, s1 = handshake_part(3, fill=0x77)
    s1 = s1[:4] + b"\x04\x05\x00\x01" + s1[8:]
    conv = Conversation(c1=_with_client_digest(c1), s1=s1)
    conv.connect()
    conv.finish()
    [finding] = conv.findings("handshake.digest-invalid")
    assert finding.dir == "s2c" and "S1" in finding.message
    assert conv.findings("handshake.echo-mismatch") == []


def test_clean_handshake_is_quiet():
    conv = Conversation()
    conv.connect()
    conv.finish()
    assert not [c for c in conv.codes() if c.startswith("handshake.")]


# -- flow control -----------------------------------------------------------------------------------

def test_ack_window_exceeded_without_acknowledgement():
    conv = publishing()
    conv.send("c2s", 5, control(1000))
    for _ in range(20):  # 20 x ~116 bytes: well over 1.5 windows
        conv.send("c2s", 18, amf0("x" * 100), 1)
    conv.finish()
    [finding] = conv.findings("flow.ack-window-exceeded")
    assert finding.dir == "c2s" and "1000" in finding.message and finding.severity == "warning"


def test_ack_window_kept_when_the_peer_acknowledges():
    conv = publishing()
    conv.send("c2s", 5, control(1000))
    for i in range(20):
        conv.send("c2s", 18, amf0("x" * 100), 1)
        if i % 5 == 4:
            conv.send("s2c", 3, control(1000 * (i + 1)))
    conv.finish()
    assert conv.findings("flow.ack-window-exceeded") == []


def test_acknowledgement_wrap_is_info_and_backwards_is_warning():
    conv = publishing()
    conv.send("s2c", 3, control(0xFFFFFF00))
    conv.send("s2c", 3, control(0x100))
    conv.send("s2c", 3, control(0x50))
    conv.finish()
    [wrapped] = conv.findings("flow.ack-wrapped")
    assert wrapped.severity == "info" and "2^32" in wrapped.message
    [backwards] = conv.findings("flow.ack-backwards")
    assert backwards.severity == "warning"


def test_set_peer_bandwidth_bad_limit_type_and_zero_window():
    conv = Conversation()
    conv.send("s2c", 6, control(2500000) + bytes([7]))
    conv.send("s2c", 5, control(0))
    conv.connect()
    conv.finish()
    [limit] = conv.findings("flow.peer-bandwidth-limit-type")
    assert "7" in limit.message and limit.dir == "s2c"
    assert len(conv.findings("flow.window-zero")) == 1


def test_ping_without_response():
    conv = publishing()
    conv.send("s2c", 4, user_control(6, 12345))
    conv.send("c2s", 18, amf0("later"), 1, dt=5.0)
    conv.finish("fin")
    [finding] = conv.findings("ping.unanswered")
    assert "12345" in finding.message and finding.dir == "s2c"


def test_many_unanswered_pings_make_one_finding():
    conv = publishing()
    for value in (1, 2, 3):
        conv.send("s2c", 4, user_control(6, value), dt=3.0)
    conv.finish("fin")
    [finding] = conv.findings("ping.unanswered")
    assert "2 later ones" in finding.message


def test_ping_just_before_the_capture_ends_is_not_judged():
    conv = publishing()
    conv.send("s2c", 4, user_control(6, 1))
    conv.finish("end-of-capture")
    assert conv.findings("ping.unanswered") == []


def test_ping_with_response_is_quiet():
    conv = publishing()
    conv.send("s2c", 4, user_control(6, 12345))
    conv.send("c2s", 4, user_control(7, 12345))
    conv.send("c2s", 18, amf0("later"), 1, dt=5.0)
    conv.finish("fin")
    assert conv.findings("ping.unanswered") == []


# -- commands ---------------------------------------------------------------------------------------

def test_unanswered_create_stream():
    conv = Conversation()
    conv.connect()
    conv.cmd("c2s", "createStream", 2, None)
    conv.cmd("c2s", "releaseStream", 3, None, "cam1")  # commonly unanswered: not reported
    conv.finish("end-of-capture")
    [finding] = conv.findings("command.unanswered")
    assert finding.severity == "warning" and "createStream" in finding.message


def test_transaction_id_reused():
    conv = Conversation()
    conv.connect()
    conv.cmd("c2s", "createStream", 2, None)
    conv.cmd("c2s", "createStream", 2, None)
    [finding] = conv.findings("command.transaction-reused")
    assert "2" in finding.message and finding.frame == conv.frame


def test_error_response_reports_the_description():
    conv = Conversation()
    conv.connect()
    conv.cmd("c2s", "getStreamLength", 2, None, "x")
    conv.cmd("s2c", "_error", 2, None, {"level": "error", "code": "NetConnection.Call.Failed",
                                        "description": "Method not found (getStreamLength)."})
    conv.finish()
    [finding] = conv.findings("command.error")
    assert finding.severity == "error"
    assert "getStreamLength answered _error" in finding.message and "Method not found" in finding.message


def test_adobe_auth_challenge_is_parsed():
    conv = Conversation()
    conv.connect(answer=False)
    conv.cmd("s2c", "_error", 1, None, {"level": "error", "code": "NetConnection.Connect.Rejected",
                                        "description": "[ AccessManager.Reject ] : [ code=403 need auth; "
                                                       "authmod=adobe ] : "})
    conv.finish()
    [finding] = conv.findings("command.auth-required")
    assert finding.severity == "warning" and "authmod=adobe" in finding.message
    assert conv.verdict() == "connect('live'): rejected, NetConnection.Connect.Rejected (authentication required)"


def test_auth_failure_is_an_error():
    conv = Conversation()
    conv.connect(answer=False)
    conv.cmd("s2c", "_error", 1, None, {"level": "error", "code": "NetConnection.Connect.Rejected",
                                        "description": "[ AccessManager.Reject ] : [ authmod=adobe ] : "
                                                       "?reason=authfailed&opaque=vgoAAA=="})
    conv.finish()
    [finding] = conv.findings("command.auth-failed")
    assert finding.severity == "error" and "authfailed" in finding.message
    assert auth_info("?reason=needauth&user=u&salt=x") == (None, "needauth")


@pytest.mark.parametrize("code,role,words", [
    ("NetStream.Play.StreamNotFound", "play", "no live or recorded stream"),
    ("NetStream.Publish.BadName", "publish", "already being published"),
    ("NetStream.Publish.Denied", "publish", "may not publish"),
    ("NetStream.Play.Failed", "play", "could not play"),
])
def test_on_status_error_is_explained(code, role, words):
    conv = Conversation()
    conv.connect("vod")
    conv.create_stream()
    conv.cmd("c2s", role, 3, None, "missing", stream_id=1)
    conv.cmd("s2c", "onStatus", 0, None, {"level": "error", "code": code, "description": "no."}, stream_id=1)
    conv.finish()
    [finding] = conv.findings("status.error")
    assert finding.severity == "error" and code in finding.message and words in finding.message
    assert conv.verdict() == f"{role} vod/missing: failed, {code}"


def test_connect_errors_are_explained():
    conv = Conversation()
    conv.connect(answer=False)
    conv.cmd("s2c", "onStatus", 0, None, {"level": "error", "code": "NetConnection.Connect.Failed"})
    conv.finish()
    [finding] = conv.findings("status.error")
    assert "unavailable" in finding.message


def test_publish_on_stream_zero():
    conv = Conversation()
    conv.connect()
    conv.cmd("c2s", "publish", 3, None, "cam1", "live", stream_id=0)
    [finding] = conv.findings("stream.not-created")
    assert "stream 0" in finding.message


def test_play_before_create_stream_result():
    conv = Conversation()
    conv.connect()
    conv.cmd("c2s", "createStream", 2, None)
    conv.cmd("c2s", "play", 3, None, "cam1", stream_id=1)
    conv.cmd("s2c", "_result", 2, None, 1)
    [finding] = conv.findings("stream.not-created")
    assert "stream 1" in finding.message and "createStream" in finding.message


def test_play_after_create_stream_is_quiet():
    conv = Conversation()
    conv.connect()
    conv.create_stream()
    conv.cmd("c2s", "play", 3, None, "cam1", stream_id=1)
    assert conv.findings("stream.not-created") == []


def test_connection_closed_after_connect_without_result():
    conv = Conversation(flow=FakeFlow(fins=(1,)))
    conv.connect("nosuchapp", answer=False)
    conv.finish("fin")
    [finding] = conv.findings("connect.closed-unanswered")
    assert finding.severity == "error" and "the server" in finding.message
    assert conv.findings("command.unanswered") == []
    assert conv.verdict() == "connect('nosuchapp'): the server closed the connection without answering"


def test_connect_unanswered_at_end_of_capture_is_a_warning():
    conv = Conversation()
    conv.connect(answer=False)
    conv.finish("end-of-capture")
    assert conv.findings("connect.closed-unanswered") == []
    [finding] = conv.findings("command.unanswered")
    assert "connect" in finding.message
    assert conv.verdict() == "connect('live'): no answer before the capture ends"


# -- media ------------------------------------------------------------------------------------------

def test_timestamps_going_backwards():
    conv = publishing()
    conv.send("c2s", 9, AVC_CONFIG, 1)
    conv.send("c2s", 9, avc_frame(True), 1, 1000)
    conv.send("c2s", 9, avc_frame(False), 1, 1040)
    conv.send("c2s", 9, avc_frame(False), 1, 900)
    conv.send("c2s", 9, avc_frame(False), 1, 940)
    conv.send("c2s", 9, avc_frame(False), 1, 500)
    conv.finish()
    findings = conv.findings("media.timestamp-backwards")
    assert len(findings) == 2  # the first one at its frame, and a count at the end
    assert "1040 ms to 900 ms" in findings[0].message and "2 times" in findings[1].message


def test_audio_and_video_timestamps_are_independent():
    conv = publishing()
    send_media(conv, seconds=1)
    conv.finish()
    assert conv.findings("media.timestamp-backwards") == []


def test_first_video_frame_without_sequence_header():
    conv = publishing()
    send_media(conv, seconds=1, audio=False, first_config=False)
    conv.finish()
    [finding] = conv.findings("media.no-sequence-header")
    assert "H.264" in finding.message and "video" in finding.message


def test_no_keyframe_for_longer_than_the_limit():
    conv = publishing()
    send_media(conv, seconds=12, keyint_s=30, audio=False)
    conv.finish()
    [finding] = conv.findings("media.keyframe-interval")
    assert "no keyframe" in finding.message and "10 s" in finding.message


def test_video_without_any_keyframe():
    conv = publishing()
    send_media(conv, seconds=1, keyint_s=0, audio=False)
    conv.finish()
    [finding] = conv.findings("media.no-keyframe")
    assert "not one keyframe" in finding.message


def test_codec_change_mid_stream():
    conv = publishing()
    send_media(conv, seconds=1, audio=False)
    conv.send("c2s", 9, hevc_frame(True), 1, 1100)
    conv.finish()
    [finding] = conv.findings("media.codec-change")
    assert "H.264" in finding.message and "HEVC" in finding.message


def test_media_in_aggregate_messages_is_checked():
    conv = publishing()
    conv.send("c2s", 9, AVC_CONFIG, 1)

    def tag(type_id: int, ts: int, body: bytes) -> bytes:
        head = bytes([type_id]) + len(body).to_bytes(3, "big") + (ts & 0xFFFFFF).to_bytes(3, "big") + \
            bytes([ts >> 24]) + b"\0\0\0"
        return head + body + struct.pack(">I", 11 + len(body))

    body = tag(9, 0, avc_frame(True)) + tag(9, 40, avc_frame(False)) + tag(9, 20, avc_frame(False))
    conv.send("c2s", 22, body, 1, 0)
    conv.finish()
    assert len(conv.findings("media.timestamp-backwards")) == 1


def test_started_stream_closed_without_a_stop():
    conv = publishing()
    send_media(conv, seconds=2)
    conv.finish("rst")
    [finding] = conv.findings("stream.closed-abruptly")
    assert "NetStream.Publish.Start" in finding.message and "2.0 s of media" in finding.message
    assert conv.verdict().startswith("publish live/cam1: started, then the connection ended (rst) without a stop")


def test_capture_ending_mid_stream_is_not_an_abrupt_close():
    conv = publishing()
    send_media(conv, seconds=2)
    conv.finish("end-of-capture")
    assert conv.findings() == []
    assert conv.verdict().startswith("publish live/cam1: ok, 2.0 s")


# -- TCP, RTMPE, verdict corner cases ----------------------------------------------------------------

def test_zero_window_reported():
    conv = Conversation(flow=FakeFlow(zero_windows=3, zero_first=7))
    conv.connect()
    conv.finish()
    [finding] = conv.findings("tcp.zero-window")
    assert finding.severity == "warning" and finding.frame == 7 and "3 time" in finding.message


def test_encrypted_session_verdict():
    conv = Conversation(handshake=False)
    conv.session.handshake.encrypted = True
    assert conv.verdict() == "RTMPE (encrypted): not decoded"


def test_rtmpe_handshake_verdict():
    session = FlowSession(0, FakeFlow(), 0, 0.0, True)
    c0, c1 = handshake_part(6)
    s0, s1 = handshake_part(6, fill=0x77)
    session.feed(0, 1, 0.0, c0 + c1)
    session.feed(1, 2, 0.1, s0 + s1 + echo(c1))
    session.feed(0, 3, 0.2, echo(s1) + bytes(300))
    session.finish("fin", None, None)
    assert verdict(session) == "RTMPE (encrypted): not decoded"


def test_mid_session_capture_verdict():
    conv = Conversation(handshake=False)
    conv.c2s(message_chunks(6, 9, AVC_CONFIG, 0, 1) + message_chunks(6, 9, avc_frame(True), 0, 1))
    conv.finish("end-of-capture")
    assert conv.verdict().startswith("mid-session capture: c2s stream 1 H.264")


def test_observer_is_registered():
    session = FlowSession(0, FakeFlow(), 0, 0.0, True)
    assert isinstance(session.expert, ExpertChecks)


def test_check_report_escapes_capture_strings():
    conv = Conversation()
    conv.connect("li\x1b[2Jve", answer=False)
    conv.finish("end-of-capture")
    text, errors = check_report("x.pcap", [conv.session])
    assert "\x1b" not in text and "li\\x1b[2Jve" in text and errors == 0
    conv = Conversation()
    conv.connect()
    conv.create_stream()
    conv.cmd("c2s", "play", 3, None, "cam\u202e1\x1b]0;x\x07", stream_id=1)
    conv.cmd("s2c", "onStatus", 0, None, {"level": "error", "code": "NetStream.Play.StreamNotFound",
                                          "description": "\x1b[31mred\u202e"}, stream_id=1)
    conv.finish()
    text, errors = check_report("x\x1b.pcap", [conv.session])
    assert errors == 1
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text
    assert "cam\\u202e1\\e]0;x\\x07" in text


def test_check_report_counts_errors():
    conv = Conversation(flow=FakeFlow(fins=(1,)))
    conv.connect("nosuchapp", answer=False)
    conv.finish("fin")
    text, errors = check_report("x.pcap", [conv.session])
    assert errors == 1 and "connect.closed-unanswered" in text and "1 error(s)" in text


# -- real captures ---------------------------------------------------------------------------------

def _sessions(path: Path) -> list:
    from rtmp_inspect.export.check_report import CheckSink
    from rtmp_inspect.runner import run

    return run(str(path), CheckSink()).sessions


def test_nginx_publish_capture_is_clean():
    [session] = _sessions(public("twinx_nginx_publish.pcap"))
    assert [w.to_json() for w in session.warnings if w.severity in ("warning", "error")] == []
    assert verdict(session) == "publish twinx/1234: ok, 4.2 s, H.264 1280x720 30 fps + AAC 48 kHz"


def test_wireshark_sample_reports_play_failed():
    [session] = _sessions(public("wireshark_rtmp_sample.cap"))
    [finding] = [w for w in session.warnings if w.severity == "error"]
    assert finding.code == "status.error" and "NetStream.Play.Failed" in finding.message and finding.frame == 25
    assert verdict(session) == "play rtmp://fc432.streamedia.info/StreamPlayer/: failed, NetStream.Play.Failed"


def test_public_capture_verdicts():
    expected = {
        "ndpi_rtmp_gtp_vlan.pcapng": [
            "play rtmp://fc432.streamedia.info/StreamPlayer/: failed, NetStream.Play.Failed",
            "connect('live'): connected, no publish or play, 0.7 s",
            "connect('live'): connected, no publish or play, 2.4 s",
        ],
        "twinx_short_publish.pcap": ["publish twinx/1234: started, then the connection ended (rst) without a stop, "
                                     "0.0 s, H.264 1280x720 30 fps + AAC 48 kHz"],
    }
    for name, verdicts in expected.items():
        assert [verdict(s) for s in _sessions(public(name))] == verdicts


def test_pipelined_publish_on_stream_zero_is_found_in_real_captures():
    for name in ("twinx_twitch_publish.pcap", "twinx_ingest_publish.pcap"):
        [session] = _sessions(public(name))
        codes = [w.code for w in session.warnings if w.severity != "info"]
        assert codes == ["stream.not-created"], (name, codes)


SAMPLES = ROOT / "samples"
SAMPLE_EXPECTATIONS = {
    # name: (codes that must be among the warning/error findings (None: no warning or error at all), verdict start)
    "publish_play.pcap": (None, "play live/cam1: ok, 4.0 s, H.264 640x360 25 fps + AAC 44.1 kHz"),
    "chunk128.pcap": (None, "play live/cam1: ok"),
    "ext_timestamp.pcap": (None, "play live/cam1: ok, 4.0 s"),
    "connect_rejected.pcap": ({"connect.closed-unanswered"},
                              "connect('nosuchapp'): the server closed the connection without answering"),
    "play_missing.pcap": ({"status.error"}, "play live/nothere: failed, NetStream.Play.StreamNotFound"),
    "publish_rejected.pcap": ({"stream.closed-abruptly"}, "publish live/cam1: started, then the connection ended"),
}


@pytest.mark.parametrize("name", sorted(SAMPLE_EXPECTATIONS))
def test_loopback_samples(name):
    """The captures samples/make_samples.sh makes with nginx-rtmp, ffmpeg and rtmpdump (when present)."""
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"samples/{name} not made (samples/make_samples.sh)")
    codes, start = SAMPLE_EXPECTATIONS[name]
    sessions = _sessions(path)
    found = {w.code for s in sessions for w in s.warnings if w.severity in ("warning", "error")}
    if codes is None:
        assert found == set()
    else:
        assert codes <= found
    assert verdict(sessions[0]).startswith(start)


# -- --check exit statuses --------------------------------------------------------------------------

def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtmp_inspect", *args], capture_output=True, timeout=120,
                          cwd=ROOT)


def test_check_exits_1_on_errors():
    result = run_cli(str(public("wireshark_rtmp_sample.cap")), "--check")
    assert result.returncode == 1, result.stderr
    out = result.stdout.decode()
    assert "flow #0 192.168.43.1:1177 -> 192.168.43.128:1935: play " in out
    assert "status.error" in out and "NetStream.Play.Failed" in out


def test_check_exits_0_when_clean():
    """A clean real publish (48 kHz AAC under the legacy 0xAF header, as encoders write it): exit 0, and the
    only finding is the info about the header's rate."""
    result = run_cli(str(public("twinx_nginx_publish.pcap")), "--check")
    assert result.returncode == 0, result.stderr
    assert b"publish twinx/1234: ok" in result.stdout and b"+ AAC 48 kHz" in result.stdout
    assert b"0 error(s), 0 warning(s), 1 info" in result.stdout
    assert b"media.sample-rate-header" in result.stdout and b"says 44100 Hz but the AudioSpecificConfig says 48000" \
        in result.stdout


def test_check_exits_1_when_any_capture_has_errors():
    result = run_cli(str(public("twinx_nginx_publish.pcap")), str(public("wireshark_rtmp_sample.cap")), "--check")
    assert result.returncode == 1


def test_check_exits_2_on_missing_file(tmp_path):
    result = run_cli(str(tmp_path / "missing.pcap"), "--check")
    assert result.returncode == 2 and len(result.stderr.decode().strip().splitlines()) == 1


def test_check_without_rtmp_exits_0(tmp_path):
    path = tmp_path / "empty.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    result = run_cli(str(path), "--check")
    assert result.returncode == 0 and b"no RTMP found" in result.stderr


def test_publish_and_play_are_answered_by_the_first_onstatus_on_their_stream():
    document = json.loads(run_cli(str(ROOT / "samples" / "publish_play.pcap"), "--format", "json").stdout)
    seen = set()
    for flow in document["flows"]:
        messages = flow["messages"]
        for request in flow["session"]["requests"]:
            if request["command"] not in ("publish", "play"):
                continue
            sent = messages[request["index"]]
            answer = messages[request["response_index"]]
            assert request["response"] == "onStatus" and answer["command"] == "onStatus"
            assert answer["stream_id"] == sent["stream_id"] and answer["dir"] != sent["dir"]
            assert request["response_frame"] == answer["frame"]
            # the first onStatus on that stream after the request
            between = [m for m in messages[request["index"] + 1:request["response_index"]]
                       if m.get("command") == "onStatus" and m["stream_id"] == sent["stream_id"]]
            assert not between
            code = answer["args"][1]["code"]
            seen.add((request["command"], code))
    assert seen == {("publish", "NetStream.Publish.Start"), ("play", "NetStream.Play.Start")}


# -- FMLE calls a server does not implement --------------------------------------------------------------

def _fmle_publish(start: bool) -> Conversation:
    """FFmpeg's publish sequence (releaseStream, FCPublish, createStream, publish) to a server that answers the
    two FMLE calls with _error, as servers that do not implement them do."""
    conv = Conversation()
    conv.connect()
    not_found = {"level": "error", "code": "NetConnection.Call.Failed", "description": "Method not found."}
    conv.cmd("c2s", "releaseStream", 2, None, "cam1")
    conv.cmd("s2c", "_error", 2, None, not_found)
    conv.cmd("c2s", "FCPublish", 3, None, "cam1")
    conv.cmd("s2c", "_error", 3, None, not_found)
    conv.create_stream()
    conv.cmd("c2s", "publish", 5, None, "cam1", "live", stream_id=1)
    code = "NetStream.Publish.Start" if start else "NetStream.Publish.BadName"
    conv.cmd("s2c", "onStatus", 0, None, {"level": "status" if start else "error", "code": code,
                                          "description": "cam1"}, stream_id=1)
    if start:
        send_media(conv, seconds=2.0)
        conv.cmd("c2s", "deleteStream", 6, None, 1)
    conv.finish()
    return conv


def test_fmle_call_errors_are_info_when_the_publish_starts():
    conv = _fmle_publish(start=True)
    assert not conv.findings("command.error")
    found = conv.findings("command.optional-error")
    assert [f.severity for f in found] == ["info", "info"]
    assert "releaseStream answered _error" in found[0].message and "harmless" in found[0].message
    assert "FCPublish answered _error" in found[1].message
    assert "publish live/cam1: ok" in verdict(conv.session)
    assert not [f for f in conv.session.warnings if f.severity == "error"]


def test_fmle_call_errors_are_warnings_when_nothing_starts():
    conv = _fmle_publish(start=False)
    found = conv.findings("command.optional-error")
    assert [f.severity for f in found] == ["warning", "warning"]
    assert "no publish or play started" in found[0].message
    assert "failed, NetStream.Publish.BadName" in verdict(conv.session)


# -- chunk sizes peers may refuse ------------------------------------------------------------------------

@pytest.mark.parametrize("size,severity,words", [(64, "warning", "SRS"), (1 << 20, "info", "65536")])
def test_unusual_chunk_sizes_are_reported(size, severity, words):
    conv = Conversation()
    conv.send("s2c", 1, struct.pack(">I", size))
    conv.finish()
    [finding] = conv.findings("control.chunk-size-unusual")
    assert finding.severity == severity and words in finding.message and str(size) in finding.message


@pytest.mark.parametrize("size", [128, 4096, 60000, 65536])
def test_usual_chunk_sizes_are_quiet(size):
    conv = Conversation()
    conv.send("s2c", 1, struct.pack(">I", size))
    conv.finish()
    assert not conv.findings("control.chunk-size-unusual")


# -- E-RTMP v2 reconnect request --------------------------------------------------------------------------

def test_reconnect_request_makes_the_end_planned():
    """The server asks for a reconnect (NetConnection.Connect.ReconnectRequest, E-RTMP v2) and closes: not an
    abrupt end, and the verdict says where the client was sent."""
    conv = publishing()
    send_media(conv, seconds=2.0)
    conv.cmd("s2c", "onStatus", 0, None, {"level": "status", "code": "NetConnection.Connect.ReconnectRequest",
                                          "description": "server maintenance",
                                          "tcUrl": "rtmp://edge2.example.net/live"})
    conv.finish("fin")
    assert not conv.findings("stream.closed-abruptly")
    [finding] = conv.findings("connect.reconnect-requested")
    assert finding.severity == "info" and "rtmp://edge2.example.net/live" in finding.message
    assert "server maintenance" in finding.message
    assert "publish live/cam1: ok until the server asked the client to reconnect to rtmp://edge2.example.net/live" \
        in verdict(conv.session)
    summary = conv.session.to_json_summary()
    assert summary["expert"]["reconnect_request"]["tcUrl"] == "rtmp://edge2.example.net/live"


def test_without_reconnect_request_the_same_end_is_abrupt():
    conv = publishing()
    send_media(conv, seconds=2.0)
    conv.finish("fin")
    assert conv.findings("stream.closed-abruptly") and not conv.findings("connect.reconnect-requested")
    assert "reconnect_request" not in conv.session.to_json_summary()["expert"]


# -- media on another message stream than the play's ------------------------------------------------------

def test_media_sent_on_stream_zero_is_counted_and_reported():
    """node-media-server sends a player's media on message stream 0, not on the stream play was sent on."""
    conv = Conversation()
    conv.connect()
    conv.create_stream()
    conv.cmd("c2s", "play", 3, None, "cam1", stream_id=1)
    conv.cmd("s2c", "onStatus", 0, None, {"level": "status", "code": "NetStream.Play.Start",
                                          "description": "Started playing cam1."}, stream_id=1)
    conv.send("s2c", 9, AVC_CONFIG, 0)
    conv.send("s2c", 8, AAC_CONFIG, 0)
    for i in range(76):
        conv.send("s2c", 9, avc_frame(i % 50 == 0), 0, i * 40, dt=0.0)
        conv.send("s2c", 8, aac_frame(), 0, i * 40, dt=0.0)
    conv.cmd("c2s", "deleteStream", 4, None, 1)
    conv.finish()
    [finding] = conv.findings("stream.media-elsewhere")
    assert finding.severity == "warning" and "came on message stream 0" in finding.message
    assert "76 video and 76 audio frames" in finding.message  # (not counting the sequence headers)
    text = verdict(conv.session)
    assert text.startswith("play live/cam1: ok, 3.0 s, H.264") and "media on message stream 0" in text
    assert "no media" not in text


def test_media_on_the_play_stream_is_quiet():
    conv = publishing()
    send_media(conv, seconds=2.0)
    conv.cmd("c2s", "deleteStream", 4, None, 1)
    conv.finish()
    assert not conv.findings("stream.media-elsewhere")


# -- E-RTMP capability negotiation --------------------------------------------------------------------------

def _ex_video(frame_type: int, packet_type: int, fourcc: bytes, payload: bytes) -> bytes:
    return bytes([0x80 | (frame_type << 4) | packet_type]) + fourcc + payload


def _hevc_publish(client_caps: dict | None, server_caps: dict | None = None, multitrack: bool = False) -> Conversation:
    """An E-RTMP HEVC publish (the configuration record is ffmpeg's, from tests/data/media) after a connect that
    offers `client_caps` and a _result that answers `server_caps`."""
    conv = Conversation()
    conv.cmd("c2s", "connect", 1, {"app": "live", "tcUrl": "rtmp://example.net/live", **(client_caps or {})})
    conv.cmd("s2c", "_result", 1, {"fmsVer": "FMS/3,0,1,123", **(server_caps or {})}, CONNECT_OK)
    conv.create_stream()
    conv.cmd("c2s", "publish", 3, None, "cam1", "live", stream_id=1)
    conv.cmd("s2c", "onStatus", 0, None, {"level": "status", "code": "NetStream.Publish.Start",
                                          "description": "cam1"}, stream_id=1)
    hvcc = mp4_box(MEDIA / "hevc_main10_640x360.mp4", b"hvcC")
    conv.send("c2s", 9, _ex_video(1, 0, b"hvc1", hvcc), 1)
    for i in range(50):
        nal = bytes([19 << 1 if i % 25 == 0 else 1 << 1, 1, 0xAF])
        frame = struct.pack(">I", len(nal)) + nal
        if multitrack:  # OneTrack, CodedFramesX, track 1
            body = bytes([0x80 | ((1 if i % 25 == 0 else 2) << 4) | 6, 3]) + b"hvc1" + bytes([1]) + frame
        else:
            body = _ex_video(1 if i % 25 == 0 else 2, 3, b"hvc1", frame)
        conv.send("c2s", 9, body, 1, i * 40, dt=0.0)
    conv.cmd("c2s", "deleteStream", 4, None, 1)
    conv.finish()
    return conv


def test_capabilities_are_in_the_session_summary_for_both_sides():
    conv = _hevc_publish({"fourCcList": ["hvc1", "av01"], "capsEx": 3.0,
                          "videoFourCcInfoMap": {"hvc1": 2.0}},
                         {"fourCcList": ["hvc1"], "capsEx": 1.0})
    capabilities = conv.session.to_json_summary()["session"]["capabilities"]
    assert capabilities["client"]["fourCcList"] == ["hvc1", "av01"]
    assert capabilities["client"]["capsEx_names"] == ["Reconnect", "Multitrack"]
    assert capabilities["client"]["videoFourCcInfoMap"] == {"hvc1": {"flags": 2, "names": ["CanEncode"]}}
    assert capabilities["server"] == {"fourCcList": ["hvc1"], "capsEx": 1, "capsEx_names": ["Reconnect"]}
    assert not conv.findings("capability.not-advertised") and not conv.findings("capability.not-accepted")


def test_hevc_sent_without_being_advertised():
    conv = _hevc_publish(None)
    [finding] = conv.findings("capability.not-advertised")
    assert finding.severity == "warning" and "sent HEVC" in finding.message and "no fourCcList" in finding.message
    assert "capabilities" not in conv.session.to_json_summary()["session"]


def test_hevc_the_server_did_not_list():
    conv = _hevc_publish({"fourCcList": ["hvc1"]}, {"fourCcList": ["av01"]})
    [finding] = conv.findings("capability.not-accepted")
    assert "'hvc1'" in finding.message and not conv.findings("capability.not-advertised")


def test_wildcard_fourcc_list_advertises_every_codec():
    assert not _hevc_publish({"fourCcList": ["*"]}).findings("capability.not-advertised")


def test_multitrack_sent_without_caps_ex_multitrack():
    conv = _hevc_publish({"fourCcList": ["hvc1"], "capsEx": 1.0}, multitrack=True)
    [finding] = conv.findings("capability.not-advertised")
    assert "multitrack" in finding.message and "Multitrack" in finding.message
    assert not _hevc_publish({"fourCcList": ["hvc1"], "capsEx": 2.0}, multitrack=True) \
        .findings("capability.not-advertised")


def test_legacy_codecs_need_no_negotiation():
    conv = publishing()
    send_media(conv, seconds=2.0)
    conv.finish()
    assert not conv.findings("capability.not-advertised")


def test_aac_header_rate_against_the_audio_specific_config():
    """OBS and ffmpeg write 0xAF (44 kHz) for 48 kHz AAC: the AudioSpecificConfig (0x1190: LC, 48 kHz,
    stereo) wins, and the disagreement is an info, once."""
    conv = publishing()
    conv.send("c2s", 8, bytes([0xAF, 0x00, 0x11, 0x90]), 1)
    for i in range(20):
        conv.send("c2s", 8, aac_frame(), 1, i * 21, dt=0.0)
    conv.cmd("c2s", "deleteStream", 4, None, 1)
    conv.finish()
    [finding] = conv.findings("media.sample-rate-header")
    assert finding.severity == "info" and "44100 Hz" in finding.message and "48000 Hz" in finding.message
    assert "AAC 48 kHz" in verdict(conv.session)


def test_aac_header_rate_that_agrees_is_quiet():
    conv = publishing()
    send_media(conv, seconds=1.0)
    conv.finish()
    assert not conv.findings("media.sample-rate-header")
