"""RTMPT: RTMP in HTTP POSTs, joined per tunnel session (across TCP connections) into one RTMP flow."""

from __future__ import annotations

import json
import os

import pytest

from rtmp_inspect.capture.segment import ACK, FIN, PSH, SYN, TcpSegment
from rtmp_inspect.cli import main
from rtmp_inspect.rtmpt.http import HttpReader
from tests.support.rtmp_builder import command, echo, handshake_part, message_chunks
from tests.support.sinks import CollectingSink

VARIANTS = os.path.join(os.path.dirname(__file__), os.pardir, "samples", "variants")
CLIENT, SERVER = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])


def messages(flow, dir):
    return [(m["type"], m["length"], m["timestamp"], m["stream_id"], m.get("command"), json.dumps(m.get("args")))
            for m in flow["messages"] if m["dir"] == dir]


def test_rtmpt_sample_decodes_like_its_plain_twins(tmp_path):
    out = tmp_path / "out.json"
    assert main([os.path.join(VARIANTS, "rtmpt.pcap"), "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    tunnels = [f for f in doc["flows"] if f.get("protocol") == "rtmpt"]
    plain = [f for f in doc["flows"] if f["server"].endswith(":19350")]
    assert len(tunnels) == 2 and len(plain) == 2  # ffmpeg publishing and rtmpdump playing, each with its twin
    for tunnel in tunnels:
        assert tunnel["server"].endswith(":19080") and tunnel["handshake"]["complete"]
        assert tunnel["rtmpt"]["requests"]["open"] == 1
        assert tunnel["rtmpt"]["closed"] == (tunnel["streams"][0]["role"] == "publish")  # rtmpdump is killed
        assert sum(tunnel["rtmpt"]["poll_intervals"].values()) >= tunnel["rtmpt"]["requests"]["send"]
        role = tunnel["streams"][0]["role"]
        [twin] = [f for f in plain if f["streams"][0]["role"] == role]
        assert messages(tunnel, "c2s") == messages(twin, "c2s") and len(messages(tunnel, "c2s")) > 5
        # the gateway may close the tunnel before relaying nginx's very last message: a prefix, at most 1 short
        s2c, twin_s2c = messages(tunnel, "s2c"), messages(twin, "s2c")
        assert s2c == twin_s2c[:len(s2c)] and len(twin_s2c) - len(s2c) <= 1 and len(s2c) > 5
        assert not [w for w in tunnel["warnings"] if w["code"].startswith("rtmpt.")]
    assert {t["streams"][0]["role"] for t in tunnels} == {"publish", "play"}


# -- crafted tunnels -------------------------------------------------------------------------------

C0, C1 = handshake_part(3, time=1, fill=0x11)
S0, S1 = handshake_part(3, time=2, fill=0x22)
CONNECT = message_chunks(3, 20, command("connect", 1, {"app": "live"}))
RESULT = message_chunks(3, 20, command("_result", 1, None, {"code": "NetConnection.Connect.Success"}))


def request(path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-fcs\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def response(body: bytes) -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: application/x-fcs\r\nContent-Length: {len(body)}\r\n\r\n".encode() \
        + body


EXCHANGES = [  # (connection, request, response)
    (0, request("/fcs/ident2", b"\x00"), b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    (0, request("/open/1", b"\x00"), response(b"SID42\n")),
    (0, request("/send/SID42/0", C0 + C1), response(b"\x01")),
    (1, request("/idle/SID42/1", b"\x00"), response(b"\x03" + S0 + S1 + echo(C1))),
    (1, request("/send/SID42/2", echo(S1) + CONNECT), response(b"\x01" + RESULT)),
    (2, request("/close/SID42/3", b"\x00"), response(b"\x00")),
]


def tunnel_segments(mss: int = 100000) -> list[TcpSegment]:
    """Each connection: SYN, exchanges (split to mss), FIN; connections one after another, new client ports."""
    segments: list[TcpSegment] = []

    def add(c2s: bool, port: int, seq: int, ack: int, flags: int, payload: bytes = b"") -> None:
        frame = len(segments) + 1
        src, sport, dst, dport = (CLIENT, port, SERVER, 80) if c2s else (SERVER, 80, CLIENT, port)
        segments.append(TcpSegment(frame, 100.0 + frame / 100, src, sport, dst, dport, seq, ack, flags, 65535,
                                   payload))

    for connection in sorted({c for c, _, _ in EXCHANGES}):
        port = 40000 + connection
        seq = [1, 1]
        add(True, port, 0, 0, SYN)
        add(False, port, 0, 1, SYN | ACK)
        for c, req, resp in EXCHANGES:
            if c != connection:
                continue
            for direction, data in ((0, req), (1, resp)):
                for start in range(0, len(data), mss):
                    piece = data[start:start + mss]
                    add(direction == 0, port, seq[direction], seq[1 - direction], PSH | ACK, piece)
                    seq[direction] += len(piece)
        add(True, port, seq[0], seq[1], FIN | ACK)
        add(False, port, seq[1], seq[0] + 1, FIN | ACK)
    return segments


def run(segments):
    from rtmp_inspect.analysis.pipeline import Analyzer

    sink = CollectingSink()
    analyzer = Analyzer(sink, segments[0].time)
    for segment in segments:
        analyzer.add(segment)
    analyzer.finish()
    return analyzer, sink


@pytest.mark.parametrize("mss", [100000, 50, 1])
def test_one_tunnel_across_several_connections_is_one_flow(mss):
    analyzer, sink = run(tunnel_segments(mss))
    [session] = analyzer.sessions
    header = session.to_json_header()
    assert header["protocol"] == "rtmpt" and header["client"] == "10.0.0.1:40000" and header["server"] == "10.0.0.2:80"
    assert header["rtmpt"]["connections"] == 3 and header["rtmpt"]["session_id"] == "SID42"
    assert header["rtmpt"]["requests"] == {"close": 1, "idle": 1, "open": 1, "send": 2}
    assert session.handshake.complete
    assert [(m.dir, m.command) for m in sink.messages] == [("c2s", "connect"), ("s2c", "_result")]
    assert analyzer.tcp_flows == 3


def test_polling_interval_byte_is_counted_not_decoded():
    analyzer, sink = run(tunnel_segments())
    [session] = analyzer.sessions
    assert session.to_json_header()["rtmpt"]["poll_intervals"] == {"1": 2, "3": 1}
    assert session.byte_counts["s2c"] == len(S0 + S1 + echo(C1) + RESULT)


def test_message_frame_is_the_segment_that_completed_the_http_body():
    segments = tunnel_segments(mss=40)
    _, sink = run(segments)
    connect = next(m for m in sink.messages if m.command == "connect")
    carried = segments[connect.frame - 1]
    assert carried.payload and carried.payload.endswith(CONNECT[-len(carried.payload):])


def test_http_reader_handles_keep_alive_and_chunked_bodies():
    reader = HttpReader(True)
    data = request("/send/a/1", b"xyz") + b"POST /send/a/2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" \
        b"2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"
    got = []
    for i in range(len(data)):
        got += reader.feed(data[i:i + 1], i + 1, 0.0)
    assert [(m.path, m.body) for m in got] == [("/send/a/1", b"xyz"), ("/send/a/2", b"abc")]


def test_plain_http_is_not_rtmpt():
    segments = tunnel_segments()
    for segment in segments:
        if segment.payload.startswith(b"POST /"):
            segment.payload = segment.payload.replace(b"POST /", b"POST /x", 1)
    analyzer, _ = run(segments)
    assert analyzer.sessions == []
