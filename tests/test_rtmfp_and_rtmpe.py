"""RTMFP (UDP) is recognised and listed; RTMPE (handshake versions 6, 8, 9) is recognised and reported as
encrypted, end to end through the analyzer and the JSON output."""

from __future__ import annotations

import importlib.util
import json
import os
import random

import pytest

from rtmp_inspect.cli import main
from rtmp_inspect.rtmfp import read_handshake, session_id
from tests.support.rtmp_builder import handshake_part
from tests.support.tls_builder import analyze_segments, segments

VARIANTS = os.path.join(os.path.dirname(__file__), os.pardir, "samples", "variants")
_spec = importlib.util.spec_from_file_location("make_rtmfp", os.path.join(VARIANTS, "make_rtmfp.py"))
make_rtmfp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_rtmfp)


def run_json(tmp_path, path):
    out = tmp_path / "out.json"
    assert main([str(path), "--format", "json", "-o", str(out)]) == 0
    return json.loads(out.read_text())


def test_rtmfp_sample_is_listed_with_its_handshake(tmp_path):
    doc = run_json(tmp_path, os.path.join(VARIANTS, "rtmfp_handshake.pcap"))
    [flow] = doc["flows"]  # the DNS-like datagram is not listed
    assert flow["protocol"] == "rtmfp" and flow["messages"] == []
    assert flow["client"] == "10.1.0.1:50123" and flow["server"] == "10.1.0.2:1935"
    chunks = [(h["dir"], h["chunk"], h["checksum_ok"]) for h in flow["rtmfp"]["handshake"]]
    assert chunks == [("c2s", "IHello", True), ("s2c", "RHello", True), ("c2s", "IIKeying", True),
                      ("s2c", "RIKeying", True)]
    assert flow["rtmfp"]["handshake"][0]["url"] == "rtmfp://media.example/live"
    assert flow["rtmfp"]["packets"] == {"c2s": 5, "s2c": 5}
    assert [w["code"] for w in flow["warnings"]] == ["rtmfp.not-decoded"]
    assert doc["capture"]["tcp_flows"] == 0


def test_rtmfp_handshake_is_recognised_on_any_port(tmp_path):
    packet = make_rtmfp.ihello("rtmfp://x/y", bytes(16))
    assert session_id(packet) == 0
    assert read_handshake(packet)["url"] == "rtmfp://x/y"
    path = tmp_path / "other_port.pcap"
    import struct

    frame = make_rtmfp.udp_frame((bytes([10, 0, 0, 1]), 40000), (bytes([10, 0, 0, 2]), 10000), packet)
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
                     + struct.pack("<IIII", 1, 0, len(frame), len(frame)) + frame)
    [flow] = run_json(tmp_path, path)["flows"]
    assert flow["protocol"] == "rtmfp" and flow["server"] == "10.0.0.2:10000"


def test_random_udp_is_not_rtmfp():
    rng = random.Random(1)
    for size in (20, 36, 100, 1204):
        assert read_handshake(bytes(rng.getrandbits(8) for _ in range(size))) is None


def test_the_reader_hands_on_udp_datagrams_only_when_asked():
    """decoded() yields the UDP datagrams RTMFP is found in (no hook, no global state); segments() only TCP."""
    from rtmp_inspect.capture import open_capture
    from rtmp_inspect.capture.segment import TcpSegment, UdpDatagram

    path = os.path.join(VARIANTS, "rtmfp_handshake.pcap")
    with open_capture(path) as reader:
        datagrams = [p for p in reader.decoded() if type(p) is UdpDatagram]
    assert any(1935 in (d.sport, d.dport) for d in datagrams)  # the RTMFP server
    assert any(53 in (d.sport, d.dport) for d in datagrams)  # and DNS beside it
    assert datagrams[0].frame >= 1 and datagrams[0].payload
    with open_capture(path) as reader:
        assert all(type(s) is TcpSegment for s in reader.segments())


@pytest.mark.parametrize("version", [6, 8, 9])
def test_rtmpe_is_recognised_and_reported_as_encrypted(version):
    c0, c1 = handshake_part(version, time=1, fill=0x31)
    s0, s1 = handshake_part(version, time=2, fill=0x42)
    rng = random.Random(version)
    encrypted = bytes(rng.getrandbits(8) for _ in range(3000))
    wire = [(0, c0 + c1), (1, s0 + s1 + c1), (0, s1 + encrypted[:1000]), (1, encrypted[1000:])]
    analyzer, sink = analyze_segments(segments(wire, port=1935), None)
    [session] = analyzer.sessions
    handshake = session.to_json_header()["handshake"]
    assert handshake["encrypted"] and handshake["version"] == version
    assert handshake["client_version"] == version and handshake["server_version"] == version
    assert sink.messages == []
    assert "handshake.encrypted" in [w.code for w in session.warnings]
    assert session.outcome().startswith("RTMPE (encrypted)")
