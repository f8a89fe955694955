"""RTMPS: TLS 1.2 and 1.3 conversations made by OpenSSL (Python's ssl over memory BIOs), decrypted with the
key log OpenSSL wrote, must decode to the RTMP that was sent, with Wireshark's frame numbers."""

from __future__ import annotations

import pytest

from rtmp_inspect.tls.decrypt import SUITES, Tls13Decryptor, hkdf_expand_label, tls12_prf
from rtmp_inspect.tls.keylog import parse_keylog
from rtmp_inspect.tls.records import RecordReader, looks_like_client_hello, parse_hello
from tests.support.rtmp_builder import command, echo, handshake_part, message_chunks
from tests.support.tls_builder import analyze_segments, conversation, segments

C0, C1 = handshake_part(3, time=1, fill=0x11)
S0, S1 = handshake_part(3, time=2, fill=0x22)
CONNECT = message_chunks(3, 20, command("connect", 1, {"app": "live", "tcUrl": "rtmps://live.example/live"}))
RESULT = message_chunks(
    3, 20, command("_result", 1, {"fmsVer": "FMS/3,0,1,123"}, {"code": "NetConnection.Connect.Success"})
)
CREATE = message_chunks(3, 20, command("createStream", 2, None))
RTMP_STEPS = [(0, C0 + C1), (1, S0 + S1 + echo(C1)), (0, echo(S1) + CONNECT), (1, RESULT), (0, CREATE)]


def commands(sink):
    return [(m.dir, m.command, m.length) for m in sink.messages]


EXPECTED = [("c2s", "connect"), ("s2c", "_result"), ("c2s", "createStream")]


def check_decoded(analyzer, sink):
    assert [s.to_json_header()["protocol"] for s in analyzer.sessions] == ["rtmps"]
    assert [(d, c) for d, c, _ in commands(sink)] == EXPECTED
    session = analyzer.sessions[0]
    assert session.handshake.complete
    assert session.client == "10.0.0.1:50000" and session.server == "10.0.0.2:443"
    tls = session.to_json_header()["tls"]
    assert tls["decrypted"] and tls["keys"] == "found" and tls["sni"] == "live.example"
    return tls


@pytest.mark.parametrize("version,ciphers,suite", [
    ("1.3", None, None),
    ("1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    ("1.2", "ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    ("1.2", "ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
])
def test_rtmp_inside_tls_decodes_with_the_key_log(version, ciphers, suite):
    wire, keys = conversation(RTMP_STEPS, version, ciphers)
    analyzer, sink = analyze_segments(segments(wire), keys)
    tls = check_decoded(analyzer, sink)
    assert tls["version"] == f"TLS {version}"
    if suite:
        assert tls["cipher_suite"] == suite


@pytest.mark.parametrize("mss", [1, 7, 300])
def test_records_split_across_segments_decode_the_same(mss):
    wire, keys = conversation(RTMP_STEPS, "1.3")
    _, whole = analyze_segments(segments(wire, mss=100000), keys)
    analyzer, split = analyze_segments(segments(wire, mss=mss), keys)
    check_decoded(analyzer, split)
    assert commands(split) == commands(whole)


def test_several_records_in_one_segment_decode_the_same():
    steps = [(0, C0 + C1), (1, S0 + S1 + echo(C1)), (0, echo(S1)), (0, CONNECT), (1, RESULT), (0, CREATE)]
    wire, keys = conversation(steps, "1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")
    joined: list = []
    for direction, data in wire:  # the client's records C2 and connect travel in one segment
        if joined and joined[-1][0] == direction:
            joined[-1] = (direction, joined[-1][1] + data)
        else:
            joined.append((direction, data))
    analyzer, sink = analyze_segments(segments(joined, mss=100000), keys)
    check_decoded(analyzer, sink)


def test_message_frame_is_the_segment_that_completed_the_record():
    wire, keys = conversation(RTMP_STEPS, "1.3")
    segs = segments(wire, mss=50)
    analyzer, sink = analyze_segments(segs, keys)
    connect = next(m for m in sink.messages if m.command == "connect")
    # the connect travelled in the client's last record but one: find the segment that ended that record
    client_bytes = b"".join(s.payload for s in segs if s.sport == 50000 and s.frame <= connect.frame)
    reader = RecordReader()
    records = reader.feed(client_bytes, 0, 0.0)
    assert not reader._buffer, "the message's frame must be the one that completed a record"
    assert records[-1].content_type == 23
    assert segs[connect.frame - 1].sport == 50000


def test_without_keys_the_flow_is_listed_as_rtmps_with_version_suite_and_sni():
    wire, _ = conversation(RTMP_STEPS, "1.2", "ECDHE-ECDSA-CHACHA20-POLY1305")
    analyzer, sink = analyze_segments(segments(wire), None)
    [session] = analyzer.sessions
    header = session.to_json_header()
    assert header["protocol"] == "rtmps" and not sink.messages
    assert header["tls"]["version"] == "TLS 1.2"
    assert header["tls"]["cipher_suite"] == "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
    assert header["tls"]["sni"] == "live.example" and header["tls"]["keys"] == "missing"
    assert [w.code for w in session.warnings] == ["tls.no-keys"]
    assert "keys needed" in session.outcome()


def test_a_key_log_without_this_connection_is_a_warning():
    wire, _ = conversation(RTMP_STEPS, "1.3")
    _, other_keys = conversation(RTMP_STEPS, "1.3")
    analyzer, _ = analyze_segments(segments(wire), other_keys)
    [session] = analyzer.sessions
    assert [(w.code, w.severity) for w in session.warnings] == [("tls.no-keys", "warning")]


def test_https_with_http_alpn_is_not_listed_without_keys():
    wire, _ = conversation([(0, b"GET / HTTP/1.1\r\n\r\n")], "1.3", alpn=["h2", "http/1.1"])
    analyzer, _ = analyze_segments(segments(wire), None)
    assert analyzer.sessions == []


def test_decrypted_tls_that_is_not_rtmp_is_not_listed():
    wire, keys = conversation([(0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), (1, b"HTTP/1.1 200 OK\r\n\r\n")], "1.3")
    analyzer, _ = analyze_segments(segments(wire), keys)
    assert analyzer.sessions == []


def test_tls13_with_only_application_secrets_skips_the_handshake_records():
    wire, keys = conversation(RTMP_STEPS, "1.3")
    only_traffic = "\n".join(line for line in keys.splitlines() if "HANDSHAKE" not in line)
    analyzer, sink = analyze_segments(segments(wire), only_traffic)
    check_decoded(analyzer, sink)


def test_tls13_key_update_derives_the_next_traffic_secret():
    # OpenSSL over memory BIOs cannot be asked for a KeyUpdate from Python: check the derivation instead
    suite = SUITES[0x1301]
    first = Tls13Decryptor(suite, b"\x01" * 32)
    second = first.next_generation()
    assert second.secret == hkdf_expand_label(b"\x01" * 32, "traffic upd", b"", 32, "sha256")
    assert second.seq == 0


@pytest.mark.parametrize("code", [0x1301, 0x1302, 0x1303, 0x1304])
def test_tls13_record_protection_round_trip(code):
    """Nonce = iv xor sequence number; additional data = the record header; inner type last (RFC 8446 5.2)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

    suite = SUITES[code]
    size = 48 if suite.hash_name == "sha384" else 32
    secret = bytes(range(size))
    key = hkdf_expand_label(secret, "key", b"", suite.key_length, suite.hash_name)
    iv = hkdf_expand_label(secret, "iv", b"", 12, suite.hash_name)
    aead = {"gcm": AESGCM, "chacha": ChaCha20Poly1305}.get(suite.cipher, AESCCM)(key)
    decryptor = Tls13Decryptor(suite, secret)
    for seq, plain in enumerate([b"first", b"second" * 100]):
        inner = plain + bytes([23]) + b"\x00" * 5
        header = b"\x17\x03\x03" + (len(inner) + 16).to_bytes(2, "big")
        nonce = bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big")))
        assert decryptor.decrypt(header, aead.encrypt(nonce, inner, header)) == (23, plain)


def test_tls12_prf_matches_a_known_vector():
    # P_SHA256 test vector (from the IETF TLS WG mailing list vectors used by many implementations)
    secret = bytes.fromhex("9bbe436ba940f017b17652849a71db35")
    seed = bytes.fromhex("a0ba9f936cda311827a6f796ffd5198c")
    out = tls12_prf(secret, b"test label", seed, 100, "sha256")
    assert out.hex().startswith("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a")


def test_key_log_parsing_skips_noise():
    text = "# comment\nCLIENT_RANDOM " + "00" * 32 + " " + "11" * 48 + "\ngarbage line\nX zz yy\n"
    keylog = parse_keylog(text)
    assert keylog.get("CLIENT_RANDOM", bytes(32)) == b"\x11" * 48 and len(keylog) == 1


def test_client_hello_is_recognised_and_parsed():
    wire, _ = conversation(RTMP_STEPS, "1.3", alpn=["rtmp"])
    assert looks_like_client_hello(wire[0][1])
    hello = parse_hello(wire[0][1][9:], client=True)
    assert hello.sni == "live.example" and hello.alpn == ["rtmp"] and 0x0304 in hello.supported_versions
    assert not looks_like_client_hello(b"\x03" + bytes(1536))


@pytest.mark.parametrize("ciphers,suite", [
    ("ECDHE-ECDSA-AES128-CCM", "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"),
    ("ECDHE-ECDSA-AES256-CCM8", "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"),
])
def test_tls12_ccm_suites_decrypt(ciphers, suite):
    try:
        wire, keys = conversation(RTMP_STEPS, "1.2", ciphers)
    except Exception as exc:  # an OpenSSL build without CCM
        pytest.skip(f"OpenSSL here cannot make {ciphers}: {exc}")
    analyzer, sink = analyze_segments(segments(wire), keys)
    assert check_decoded(analyzer, sink)["cipher_suite"] == suite


def test_after_a_capture_gap_in_tls_decryption_resumes_at_the_next_record():
    big = message_chunks(5, 9, bytes(range(256)) * 40, stream_id=1)
    after = [(0, message_chunks(3, 20, command("createStream", n, None))) for n in range(3, 9)]
    steps = RTMP_STEPS + [(0, big), (0, big)] + after
    wire, keys = conversation(steps, "1.3")
    segs = segments(wire, mss=500)
    client_data = [s for s in segs if s.sport == 50000 and s.payload]
    del segs[segs.index(client_data[-11])]  # lose a piece of the media, after connect and createStream
    for n, segment in enumerate(segs, 1):
        segment.frame = n
    analyzer, sink = analyze_segments(segs, keys)
    [session] = analyzer.sessions
    assert [m.command for m in sink.messages][:3] == ["connect", "_result", "createStream"]
    assert "tls.gap" in [w.code for w in session.warnings]
    assert "tls.decrypt-failed" not in [w.code for w in session.warnings]
    # decryption resumed after the gap: the createStreams after the lost media are decoded again
    tail = [m.command for m in sink.messages if m.frame > client_data[-11].frame]
    assert tail.count("createStream") >= 4


def test_tls_notes_after_the_session_started_reach_the_sink():
    big = message_chunks(5, 9, bytes(range(256)) * 40, stream_id=1)
    wire, keys = conversation(RTMP_STEPS + [(0, big), (0, big)], "1.3")
    segs = segments(wire, mss=500)
    client_data = [s for s in segs if s.sport == 50000 and s.payload]
    del segs[segs.index(client_data[-4])]
    for n, segment in enumerate(segs, 1):
        segment.frame = n
    _, sink = analyze_segments(segs, keys)
    assert "tls.gap" in [w.code for w in sink.warnings]


def test_capture_starting_inside_tls_on_port_1935_is_listed_as_rtmps_not_decoded_as_rtmp():
    wire, keys = conversation(RTMP_STEPS, "1.3")
    segs = segments(wire, port=1935)
    first_app = next(i for i, s in enumerate(segs) if s.payload[:1] == b"\x17" and i > 6)
    tail = segs[first_app:]
    analyzer, sink = analyze_segments(tail, keys)
    [session] = analyzer.sessions
    header = session.to_json_header()
    assert header["protocol"] == "rtmps" and not header["tls"]["handshake_in_capture"]
    assert header["server"] == "10.0.0.2:1935" and sink.messages == []
    assert "tls.midstream" in [w.code for w in session.warnings]
