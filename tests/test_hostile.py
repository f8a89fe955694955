"""Hostile inputs: no traceback, no hang, bounded memory, nothing raw on a terminal, no path outside DIR.

Work is checked by what was done (messages decoded, lines executed for N and 2N inputs), never by wall time;
subprocesses get a generous timeout only so that a hang fails instead of blocking CI. Memory is checked by
tracemalloc's peak in-process, or by the ru_maxrss a child process reports about itself.
Also replays every crashing input the fuzzers found (tests/data/fuzz_regressions/<harness>/, see fuzz/).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from rtmp_inspect.rtmp.amf0 import decode_amf0_values
from rtmp_inspect.rtmp.amf3 import decode_amf3_values
from rtmp_inspect.rtmp.amf_values import amf_to_json
from rtmp_inspect.rtmp.chunks import ChunkDecoder
from rtmp_inspect.rtmp.events import Message, Violation
from rtmp_inspect.rtmp.messages import decode_body
from tests.support import capture_builders as cb
from tests.support.rtmp_builder import amf0, chunk_header, command, echo, handshake_part, message_chunks, set_chunk_size

ROOT = Path(__file__).resolve().parent.parent
REGRESSIONS = Path(__file__).resolve().parent / "data" / "fuzz_regressions"
TIMEOUT = 300  # seconds: only so that a hang fails; every case here takes a few seconds at most
# Characters that must never reach a terminal raw (textsafe's set, newline aside).
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]")


# -- helpers ------------------------------------------------------------------------------------------------

def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtmp_inspect", *args], capture_output=True, input=stdin,
                          timeout=TIMEOUT, cwd=ROOT)


def child(code: str) -> dict:
    """Run `code` in a fresh interpreter; it sets `result` (a dict). Returns it with the child's peak RSS (MB)."""
    script = textwrap.dedent("""
        import json, resource, sys
        sys.path.insert(0, {root!r})
        result = {{}}
    """).format(root=str(ROOT)) + textwrap.dedent(code) + textwrap.dedent("""
        result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def baseline_rss() -> float:
    return child("from rtmp_inspect.rtmp.chunks import ChunkDecoder\n")["maxrss_mb"]


def lines_executed(function, *args) -> int:
    """Python lines executed by function(*args): a deterministic measure of the work done."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        function(*args)
    finally:
        sys.settrace(None)
    return count


def decode_chunks(data: bytes) -> list:
    decoder = ChunkDecoder(expect_handshake=False, at_chunk_boundary=True)
    return decoder.receive_data(data) + decoder.finish()


def session_pcap(client: list[bytes], server: list[bytes] = (), packets: list[tuple[int, bytes]] | None = None,
                 handshake: bool = True) -> bytes:
    """A pcap of one TCP connection 10.0.0.1:40000 -> 10.0.0.2:1935: the handshake, then client payloads,
    then server payloads (or `packets`: (direction, payload) in order)."""
    if packets is None:
        packets = [(0, p) for p in client] + [(1, p) for p in server]
    if handshake:
        c0, c1 = handshake_part(3)
        _, s1 = handshake_part(3, fill=7)
        packets = [(0, c0 + c1), (1, b"\x03" + s1 + echo(c1)), (0, echo(s1))] + packets
    packets = [(d, p[i : i + 1400]) for d, p in packets for i in range(0, max(len(p), 1), 1400)]  # TCP-sized
    seqs = [1000, 5000]
    frames = []
    for n, (direction, payload) in enumerate(packets):
        sport, dport = (40000, 1935) if direction == 0 else (1935, 40000)
        src, dst = ("10.0.0.1", "10.0.0.2") if direction == 0 else ("10.0.0.2", "10.0.0.1")
        frame = cb.tcp_eth(payload, sport=sport, dport=dport, seq=seqs[direction], src=src, dst=dst,
                           ack=seqs[1 - direction], window=65535)
        seqs[direction] += len(payload)
        frames.append((1700000000 + n, 0, frame))
    return cb.pcap(frames)


def connect_and_publish(name: str = "cam1", app: str = "live") -> list[bytes]:
    return [message_chunks(3, 20, command("connect", 1, {"app": app, "tcUrl": f"rtmp://h/{app}"})),
            message_chunks(3, 20, command("createStream", 2, None)),
            message_chunks(4, 20, command("publish", 3, None, name, "live"), stream_id=1)]


def amf0_nested_objects(depth: int) -> bytes:
    return b"\x03" + b"\x00\x01a\x03" * (depth - 1) + b"\x00\x00\x09" * depth


# -- chunk stream ---------------------------------------------------------------------------------------------

def test_chunk_size_1_on_a_1_mb_message_decodes_it_whole_in_bounded_memory():
    result = child("""
        from rtmp_inspect.rtmp.chunks import ChunkDecoder
        from rtmp_inspect.rtmp.events import Message
        from tests.support.rtmp_builder import message_chunks, set_chunk_size
        from tests.support.rtmp_builder import basic_header, chunk_header
        body = bytes(range(256)) * 4096
        c3 = basic_header(3, 6)  # (message_chunks' += would take quadratic time on a million chunks)
        data = message_chunks(2, 1, set_chunk_size(1)) + chunk_header(0, 6, 0, len(body), 9, 1) + body[:1] \
            + b"".join(c3 + body[i:i + 1] for i in range(1, len(body)))
        decoder = ChunkDecoder(expect_handshake=False, at_chunk_boundary=True)
        events = []
        for start in range(0, len(data), 1460):  # TCP-sized pieces
            events += decoder.receive_data(data[start:start + 1460])
        events += decoder.finish()
        messages = [e for e in events if isinstance(e, Message)]
        result["chunks"] = messages[-1].chunks
        result["ok"] = messages[-1].body == body and len(messages) == 2 and decoder.chunk_size == 1
    """)
    assert result["ok"] and result["chunks"] == 1 << 20
    assert result["maxrss_mb"] < baseline_rss() + 150  # 2 MB of input: buffers, not copies per chunk


def test_chunk_size_1_work_is_linear():
    def work(n: int) -> int:
        data = message_chunks(2, 1, set_chunk_size(1)) + chunk_header(0, 6, 0, n, 9, 1) + b"v" \
            + b"\xc6v" * (n - 1)
        return lines_executed(decode_chunks, data)

    small, large = work(4000), work(8000)
    assert large <= 2.1 * small


def test_every_chunk_stream_id_opened_with_fmt0_stays_bounded():
    # Every chunk stream id there is (2..65599, the three header forms) opens a message of 0xFFFFFF bytes
    # and sends one 128-byte chunk of it: 65,598 incomplete messages held at once.
    result = child("""
        from rtmp_inspect.rtmp.chunks import ChunkDecoder
        from rtmp_inspect.rtmp.events import Message, Violation
        from tests.support.rtmp_builder import chunk_header
        data = b"".join(chunk_header(0, csid, csid, 0xFFFFFF, 9, 1) + b"x" * 128 for csid in range(2, 65600))
        decoder = ChunkDecoder(expect_handshake=False, at_chunk_boundary=True)
        events = decoder.receive_data(data) + decoder.finish()
        result["messages"] = sum(isinstance(e, Message) for e in events)
        result["reasons"] = [e.reason for e in events if isinstance(e, Violation)]
        # then each stream completes a small message: all of them decode
        data = b"".join(chunk_header(0, csid, csid, 1, 8, 1) + b"a" for csid in range(2, 65600))
        decoder = ChunkDecoder(expect_handshake=False, at_chunk_boundary=True)
        events = decoder.receive_data(data) + decoder.finish()
        result["small"] = sum(isinstance(e, Message) for e in events)
        result["csids"] = len({e.csid for e in events if isinstance(e, Message)})
        result["limit_small"] = sum(isinstance(e, Violation) and e.code == "limit.chunk-streams" for e in events)
    """)
    assert result["messages"] == 0
    # Past MAX_CHUNK_STREAMS in progress at once, the partial messages are dropped with a warning each time.
    limit_hits = [r for r in result["reasons"] if r.startswith("more than 1024 chunk streams in use")]
    assert len(limit_hits) == 65598 // 1024, result["reasons"][:3]
    assert all("dropped 1024 incomplete messages" in r for r in limit_hits)
    # Idle streams are forgotten instead, so every fmt 0 message still decodes.
    assert result["small"] == result["csids"] == 65598
    assert result["limit_small"] == 65598 // 1024
    assert result["maxrss_mb"] < baseline_rss() + 100


def test_chunk_stream_count_work_is_linear():
    def work(n: int) -> int:
        data = b"".join(chunk_header(0, csid, 0, 300, 9, 1) + b"x" * 128 for csid in range(2, 2 + n))
        return lines_executed(decode_chunks, data)

    small, large = work(3000), work(6000)
    assert large <= 2.1 * small


def test_message_length_0xffffff_with_few_bytes_allocates_nothing_for_it():
    for chunk_size in (128, 0x7FFFFFFF):
        data = (message_chunks(2, 1, set_chunk_size(chunk_size)) if chunk_size != 128 else b"") \
            + chunk_header(0, 6, 0, 0xFFFFFF, 9, 1) + b"k" * 100
        tracemalloc.start()
        try:
            events = decode_chunks(data)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 256 * 1024, (chunk_size, peak)
        assert not [e for e in events if isinstance(e, Message) and e.type_id == 9]
        assert any(isinstance(e, Violation) and e.code == "stream.truncated" for e in events)


def test_message_length_0xffffff_with_few_bytes_through_the_cli(tmp_path):
    capture = tmp_path / "short.pcap"
    capture.write_bytes(session_pcap(connect_and_publish() + [chunk_header(0, 6, 0, 0xFFFFFF, 9, 1) + b"k" * 100]))
    result = run_cli(str(capture), "--format", "json")
    assert result.returncode == 0, result.stderr
    flow = json.loads(result.stdout)["flows"][0]
    assert [m.get("command") for m in flow["messages"]] == ["connect", "createStream", "publish"]


# -- AMF ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["amf0-object", "amf0-strict-array", "amf0-ecma-array", "amf3-object",
                                  "amf3-array", "amf0-to-amf3"])
def test_amf_nested_100000_deep_is_a_limit_error_not_recursion(kind):
    depth = 100_000
    if kind == "amf0-object":
        body, decode = amf0_nested_objects(depth), decode_amf0_values
    elif kind == "amf0-strict-array":
        body, decode = b"\x0a\x00\x00\x00\x01" * depth + b"\x05", decode_amf0_values
    elif kind == "amf0-ecma-array":
        body, decode = b"\x08\x00\x00\x00\x01\x00\x01a" * depth + b"\x05" + b"\x00\x00\x09" * depth, \
            decode_amf0_values
    elif kind == "amf3-object":  # anonymous dynamic objects, each the value of key "a" in the one before
        body, decode = b"\x0a\x0b\x01" + b"\x03a\x0a\x01" * depth + b"\x01", decode_amf3_values
    elif kind == "amf3-array":
        body, decode = b"\x09\x03\x01" * depth + b"\x01", decode_amf3_values
    else:
        body, decode = b"\x11" + b"\x09\x03\x01" * depth + b"\x01", decode_amf0_values
    result = decode(body)
    assert result.error is not None and result.error.kind == "limit-depth", result.error
    assert json.dumps(amf_to_json(result.values + [result.partial]))  # what was kept converts, too
    payload = decode_body(20, amf0("deep") + amf0(1) + body)
    assert payload.error


def test_amf_nested_100000_deep_through_the_cli(tmp_path):
    body = command("connect", 1, {"app": "live"}) + amf0_nested_objects(100_000)
    capture = tmp_path / "deep.pcap"
    capture.write_bytes(session_pcap([message_chunks(3, 20, body, chunk_size=128)]))
    for fmt in ("json", "text"):
        result = run_cli(str(capture), "--format", fmt)
        assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr
    result = run_cli(str(capture), "--format", "json")
    [message] = json.loads(result.stdout)["flows"][0]["messages"]
    assert message["command"] == "connect" and "decode_error" in message


def test_amf0_self_reference_and_amf3_self_reference_become_refs():
    # AMF0: object 0 = {"me": reference 0}
    result = decode_amf0_values(b"\x03\x00\x02me\x07\x00\x00\x00\x00\x09")
    assert result.error is None
    assert amf_to_json(result.values[0]) == {"me": {"$ref": 0}}
    # AMF3: array 0 = [reference to object 0]
    result = decode_amf3_values(b"\x09\x03\x01\x09\x00")
    assert result.error is None
    assert amf_to_json(result.values[0]) == [{"$ref": 0}]


def _amf0_reference_dag(levels: int, leaf: bytes = amf0(1.0)) -> bytes:
    """Object 0 holds `leaf`; object i holds two references to object i-1: 2**levels leaves when expanded."""
    out = b"\x03\x00\x01x" + leaf + b"\x00\x00\x09"
    for i in range(1, levels):
        out += b"\x03\x00\x01a\x07" + struct.pack(">H", i - 1) + b"\x00\x01b\x07" + struct.pack(">H", i - 1) \
            + b"\x00\x00\x09"
    return out


def test_amf_reference_chain_of_2000_stays_linear():
    body = b"\x09\x01\x01"  # AMF3: each array references the one before
    for i in range(2000):
        body += b"\x09\x03\x01\x09" + bytes([((i << 1) >> 7) | 0x80, (i << 1) & 0x7F]) if i << 1 >= 0x80 else \
            b"\x09\x03\x01\x09" + bytes([i << 1])
    result = decode_amf3_values(body)
    assert result.error is None
    json.dumps(amf_to_json(result.values[-1]))
    chain = lambda n: decode_amf0_values(b"".join(  # noqa: E731
        b"\x0a\x00\x00\x00\x01" + (b"\x07" + struct.pack(">H", i - 1) if i else b"\x05") for i in range(n)))
    assert lines_executed(chain, 2000) <= 2.1 * lines_executed(chain, 1000)


def test_amf_reference_dag_expansion_is_bounded_by_the_message_length():
    # 22 levels of "two references to the level below": 350 bytes that name 4 million values, and a 20 KB
    # string reached 2**21 times. JSON stays in proportion to the message, wherever it is turned into JSON.
    from rtmp_inspect.analysis.commands import CONNECT_JSON_BUDGET  # noqa: F401  (the connect fields' bound)
    from rtmp_inspect.export.message_json import JSON_BUDGET_BASE, JSON_BUDGET_PER_BYTE

    for leaf in (amf0(1.0), amf0("s" * 20_000)):
        body = amf0("onMetaData") + _amf0_reference_dag(22, leaf) + b"\x07\x00\x15" * 20  # 20 more args
        payload = decode_body(18, body)
        assert payload.error is None and len(payload.args) == 42  # 22 top-level objects, then 20 references
        budget = [JSON_BUDGET_BASE + JSON_BUDGET_PER_BYTE * len(body)]
        text = json.dumps([amf_to_json(v, budget=budget) for v in payload.args])
        assert len(text) < 200 * len(body) + 200_000
        assert '"$truncated": true' in text


def test_amf_reference_dag_through_the_cli(tmp_path):
    dag = _amf0_reference_dag(22, amf0("s" * 20_000))
    connect = amf0("connect") + amf0(1) + b"\x03\x00\x03app" + amf0("live") + b"\x00\x05tcUrl" + dag[:-3] \
        + b"\x00\x00\x09"
    messages = [message_chunks(3, 20, connect)]
    messages += [message_chunks(5, 18, amf0("onMetaData") + dag + b"\x07\x00\x15" * 20) for _ in range(10)]
    capture = tmp_path / "dag.pcap"
    capture.write_bytes(session_pcap(messages))
    for args in (["--format", "json"], ["--format", "jsonl"], ["--format", "text"], ["--check"]):
        result = run_cli(str(capture), *args)
        assert result.returncode in (0, 1) and b"Traceback" not in result.stderr, (args, result.stderr)
        assert len(result.stdout) < 50_000_000, (args, len(result.stdout))
    assert len(json.loads(run_cli(str(capture), "--format", "json").stdout)["flows"][0]["messages"]) == 11


def test_amf0_strict_array_of_2_32_minus_1_elements_in_10_bytes():
    body = b"\x0a\xff\xff\xff\xff" + b"\x05" * 5
    assert len(body) == 10
    tracemalloc.start()
    try:
        result = decode_amf0_values(body)
        payload = decode_body(18, body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.error is not None and result.error.kind == "count-exceeds-body"
    assert payload.error
    assert peak < 64 * 1024


@pytest.mark.parametrize("body", [b"\x09\xff\xff\xff\xff\x01", b"\x0d\xff\xff\xff\xff\x00", b"\x0c\xff\xff\xff\xff",
                                  b"\x06\xff\xff\xff\xff", b"\x11\x09\xff\xff\xff\xff\x01"])
def test_declared_amf_sizes_never_allocate_before_the_bytes_exist(body):
    tracemalloc.start()
    try:
        for decode in (decode_amf0_values, decode_amf3_values):
            assert decode(body).error is not None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


# -- damaged captures (CLI) -------------------------------------------------------------------------------------

def _one_line_exit_2(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr, result.stderr
    assert result.stdout == b""


def _decoded_before_damage(result: subprocess.CompletedProcess, commands: list[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    [flow] = [f for f in json.loads(result.stdout)["flows"] if f["client"] == "10.0.0.1:40000"]
    assert [m.get("command") for m in flow["messages"]][: len(commands)] == commands
    return result.stderr.decode()


SESSION_PACKETS = connect_and_publish()


def _pcap_records(capture: bytes) -> list[int]:
    """Offsets of the record headers of a little-endian pcap."""
    offsets, pos = [], 24
    while pos < len(capture):
        offsets.append(pos)
        pos += 16 + struct.unpack_from("<I", capture, pos + 8)[0]
    return offsets


def test_truncated_pcap_keeps_the_packets_before(tmp_path):
    capture = session_pcap(SESSION_PACKETS)
    path = tmp_path / "cut.pcap"
    path.write_bytes(capture[: len(capture) - 20])  # cut inside the last (publish) packet
    stderr = _decoded_before_damage(run_cli(str(path), "--format", "json"), ["connect", "createStream"])
    assert "truncated" in stderr and stderr.count("\n") >= 1


@pytest.mark.parametrize("content", [b"\x00" * 64, b"GIF89a" + b"\x00" * 100, b"\x0a\x0d\x0d\x0a", b"\xd4\xc3\xb2",
                                     b"\x1f\x8b\x08\x00garbage"], ids=["zeros", "gif", "pcapng-4-bytes",
                                                                       "pcap-3-bytes", "bad-gzip"])
def test_wrong_magic_and_unusable_starts_are_one_line_exit_2(tmp_path, content):
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    _one_line_exit_2(run_cli(str(path), "--format", "json"))
    _one_line_exit_2(run_cli("-", "--format", "text", stdin=content))


def test_zero_length_records_are_skipped(tmp_path):
    capture = session_pcap(SESSION_PACKETS)
    offsets = _pcap_records(capture)
    zero = struct.pack("<IIII", 1700000000, 0, 0, 0)
    cut = offsets[4]
    path = tmp_path / "zero.pcap"
    path.write_bytes(capture[:cut] + zero * 3 + capture[cut:])
    _decoded_before_damage(run_cli(str(path), "--format", "json"), ["connect", "createStream", "publish"])


@pytest.mark.parametrize("caplen", [0xFFFFFFFF, 262145, 0x7FFFFFFF])
def test_oversized_record_ends_reading_with_a_warning(tmp_path, caplen):
    capture = session_pcap(SESSION_PACKETS)
    offsets = _pcap_records(capture)
    last = offsets[-1]
    damaged = bytearray(capture)
    struct.pack_into("<I", damaged, last + 8, caplen)
    path = tmp_path / "big.pcap"
    path.write_bytes(bytes(damaged))
    stderr = _decoded_before_damage(run_cli(str(path), "--format", "json"), ["connect", "createStream"])
    assert "corrupt" in stderr or "claims" in stderr
    # an oversized first record: nothing to decode, but not unusable (the file header was fine)
    first = bytearray(capture)
    struct.pack_into("<I", first, 24 + 8, caplen)
    path.write_bytes(bytes(first))
    result = run_cli(str(path), "--format", "json")
    assert result.returncode == 0 and b"Traceback" not in result.stderr and json.loads(result.stdout)["flows"] == []


def _pcapng_session() -> tuple[bytes, list[bytes]]:
    pcap = session_pcap(SESSION_PACKETS)
    frames = [pcap[o + 16 : o + 16 + struct.unpack_from("<I", pcap, o + 8)[0]] for o in _pcap_records(pcap)]
    blocks = [cb.epb(0, 1_700_000_000_000_000 + i, frame) for i, frame in enumerate(frames)]
    return cb.shb() + cb.idb(1), blocks


@pytest.mark.parametrize("damage", ["trailer-differs", "length-5", "length-huge", "length-not-multiple-of-4",
                                    "caplen-beyond-block", "cut-in-block"])
def test_pcapng_with_corrupt_block_lengths_keeps_the_packets_before(tmp_path, damage):
    head, blocks = _pcapng_session()
    bad = bytearray(blocks[-1])
    if damage == "trailer-differs":
        struct.pack_into("<I", bad, len(bad) - 4, len(bad) + 4)
    elif damage == "length-5":
        struct.pack_into("<I", bad, 4, 5)
    elif damage == "length-huge":
        struct.pack_into("<I", bad, 4, 0xFFFFFFF0)
    elif damage == "length-not-multiple-of-4":
        struct.pack_into("<I", bad, 4, len(bad) + 2)
    elif damage == "caplen-beyond-block":
        struct.pack_into("<I", bad, 20, 0x10000)
    else:
        bad = bad[: len(bad) // 2]
    path = tmp_path / "bad.pcapng"
    path.write_bytes(head + b"".join(blocks[:-1]) + bytes(bad) + (b"" if damage == "cut-in-block" else blocks[-1]))
    stderr = _decoded_before_damage(run_cli(str(path), "--format", "json"), ["connect", "createStream"])
    assert stderr.strip()  # says what was wrong


@pytest.mark.parametrize("damage", ["shb-length", "shb-bom", "shb-trailer", "shb-cut"])
def test_pcapng_unusable_from_the_start_is_one_line_exit_2(tmp_path, damage):
    head, blocks = _pcapng_session()
    shb = bytearray(cb.shb())
    if damage == "shb-length":
        struct.pack_into("<I", shb, 4, 7)
    elif damage == "shb-bom":
        shb[8:12] = b"\x01\x02\x03\x04"
    elif damage == "shb-trailer":
        struct.pack_into("<I", shb, len(shb) - 4, 4096)
    else:
        shb = shb[:20]
    path = tmp_path / "bad.pcapng"
    path.write_bytes(bytes(shb) + (cb.idb(1) + b"".join(blocks) if damage != "shb-cut" else b""))
    _one_line_exit_2(run_cli(str(path), "--format", "json"))


def _bad_ip_tcp_frames() -> list[bytes]:
    payload = b"junk" * 10
    tcp = cb.tcp(41000, 1935, 1, payload=payload)  # a 4-tuple of its own: the session is left alone
    return [
        cb.ether(0x0800, cb.ipv4(payload=tcp, ihl=3)),  # IHL below 5
        cb.ether(0x0800, cb.ipv4(payload=tcp, ihl=15)),  # options beyond the packet
        cb.ether(0x0800, cb.ipv4(payload=tcp, total=10)),  # total length shorter than the header
        cb.ether(0x0800, cb.ipv4(payload=tcp, total=60000)),  # total length beyond the capture
        cb.ether(0x0800, cb.ipv4(payload=cb.tcp(41000, 1935, 1, payload=payload, doff=2))),  # TCP doff < 5
        cb.ether(0x0800, cb.ipv4(payload=cb.tcp(41000, 1935, 1, payload=payload, doff=15))),  # beyond
        cb.ether(0x0800, cb.ipv4(payload=tcp[:10])),  # TCP header cut
        cb.ether(0x86DD, cb.ipv6(payload=tcp, plen=60000)),  # IPv6 payload length beyond the capture
        cb.ether(0x86DD, cb.ipv6(payload=tcp, ext=[(0, cb.ext_opts(30))], plen=20)),  # extension header beyond
        cb.ether(0x0800, b""),  # no IP header at all
        b"\x00" * 5,  # not even Ethernet
    ]


def test_bad_ip_and_tcp_header_lengths_are_skipped_and_the_session_decodes(tmp_path):
    capture = session_pcap(SESSION_PACKETS)
    offsets = _pcap_records(capture)
    bad = b"".join(struct.pack("<IIII", 1700000000, 0, len(f), len(f)) + f for f in _bad_ip_tcp_frames())
    path = tmp_path / "bad-headers.pcap"
    path.write_bytes(capture[: offsets[4]] + bad + capture[offsets[4]:] + bad)
    _decoded_before_damage(run_cli(str(path), "--format", "json"), ["connect", "createStream", "publish"])
    for args in (["--format", "text"], ["--format", "jsonl"], ["--check"]):
        result = run_cli(str(path), *args)
        assert result.returncode in (0, 1) and b"Traceback" not in result.stderr, (args, result.stderr)


def test_damaged_capture_from_stdin_and_gzip(tmp_path):
    import gzip

    capture = session_pcap(SESSION_PACKETS)
    cut = capture[: len(capture) - 20]
    _decoded_before_damage(run_cli("-", "--format", "json", stdin=cut), ["connect", "createStream"])
    packed = gzip.compress(capture)
    _decoded_before_damage(run_cli("-", "--format", "json", stdin=packed[: len(packed) - 30]), ["connect"])


# -- terminal safety ------------------------------------------------------------------------------------------

HOSTILE = "cam\x1b]0;pwned\x07\x1b[2J\x9b31m\x85\u202eevil\u2066x\u2069\u2028y\x00z\x7f\ufeff"


def _hostile_capture(tmp_path: Path) -> Path:
    client = [message_chunks(3, 20, command("connect", 1, {"app": HOSTILE, "tcUrl": "rtmp://x/" + HOSTILE,
                                                           HOSTILE: HOSTILE})),
              message_chunks(3, 20, command("createStream", 2, None)),
              message_chunks(4, 20, command("publish", 3, None, HOSTILE, "live"), stream_id=1),
              message_chunks(5, 18, amf0("@setDataFrame") + amf0("onMetaData") + amf0({HOSTILE: HOSTILE}),
                             stream_id=1),
              message_chunks(6, 20, command(HOSTILE, 4, None, HOSTILE))]
    server = [message_chunks(3, 20, command("_result", 1, None, {"code": "NetConnection.Connect.Success",
                                                                  "description": HOSTILE})),
              message_chunks(3, 20, command("_result", 2, None, 1)),
              message_chunks(5, 20, command("onStatus", 0, None, {"level": "error", "code": HOSTILE,
                                                                   "description": HOSTILE}), stream_id=1)]
    path = tmp_path / ("hostile\x1b[31m\u202e.pcap")
    path.write_bytes(session_pcap(client, server))
    return path


def test_escape_c1_and_bidi_characters_from_the_capture_are_escaped_in_text_and_check(tmp_path):
    path = _hostile_capture(tmp_path)
    text = run_cli(str(path), "--format", "text")
    assert text.returncode == 0, text.stderr
    out = text.stdout.decode()
    assert not UNSAFE.search(out), UNSAFE.search(out)
    assert "\\e]0;pwned\\x07\\e[2J\\x9b31m\\x85\\u202eevil\\u2066x\\u2069\\u2028y\\x00z\\x7f\\ufeff" in out
    assert "publish" in out
    check = run_cli(str(path), "--check")
    assert check.returncode in (0, 1) and b"Traceback" not in check.stderr
    for stream in (check.stdout.decode(), check.stderr.decode(), text.stderr.decode()):
        assert not UNSAFE.search(stream), UNSAFE.search(stream)
    coloured = run_cli(str(path), "--format", "text", "--no-colour")
    assert not UNSAFE.search(coloured.stdout.decode())


def test_json_outputs_escape_by_construction(tmp_path):
    path = _hostile_capture(tmp_path)
    for fmt in ("json", "jsonl"):
        result = run_cli(str(path), "--format", fmt)
        assert result.returncode == 0, result.stderr
        assert all(b < 0x80 for b in result.stdout)  # ASCII: \u escapes for everything else
        assert b"\x1b" not in result.stdout and b"pwned" in result.stdout
    doc = json.loads(run_cli(str(path), "--format", "json").stdout)
    assert HOSTILE in [m.get("command") for m in doc["flows"][0]["messages"]]  # the value itself is kept intact


def test_unusable_file_with_a_hostile_name_is_reported_escaped(tmp_path):
    path = tmp_path / "x\x1b[2J\u202e.pcap"
    path.write_bytes(b"\x00" * 32)
    result = run_cli(str(path))
    _one_line_exit_2(result)
    assert not UNSAFE.search(result.stderr.decode().rstrip("\n"))


# -- --extract-flv paths ----------------------------------------------------------------------------------------

AUDIO = b"\xaf\x01" + b"\x21" * 20
KEY = b"\x17\x01\x00\x00\x00" + b"\x00\x00\x00\x05\x65" + b"\x88" * 4


@pytest.mark.parametrize("name", ["../../etc/x", "..", "/etc/passwd", "../" * 40 + "x", "a/../../../b\x00",
                                  "..\\..\\x", "~/.ssh/authorized_keys", ".", "-", "\x1b[2J\u202e"])
def test_extract_flv_names_from_the_capture_stay_inside_dir(tmp_path, name):
    client = connect_and_publish(name) + [message_chunks(6, 8, AUDIO, stream_id=1),
                                          message_chunks(7, 9, KEY, stream_id=1)]
    capture = tmp_path / "in" / "c.pcap"
    capture.parent.mkdir()
    capture.write_bytes(session_pcap(client))
    out_dir = tmp_path / "a" / "b" / "out"
    result = run_cli(str(capture), "--extract-flv", str(out_dir))
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 1 and not UNSAFE.search(result.stdout.decode().rstrip("\n"))
    written = Path(lines[0])
    assert written.parent == out_dir and written.is_file() and written.name.endswith(".flv")
    every_file = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert every_file == sorted([capture, written])  # nothing written anywhere else


def test_extract_flv_two_flows_with_the_same_hostile_name_get_distinct_files(tmp_path):
    media = [message_chunks(6, 8, AUDIO, stream_id=1)]
    one = session_pcap(connect_and_publish("../../etc/x") + media)
    capture = tmp_path / "c.pcap"
    capture.write_bytes(one)
    out_dir = tmp_path / "out"
    result = run_cli(str(capture), str(capture), "--extract-flv", str(out_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 2 and len(set(lines)) == 2
    assert all(Path(line).parent == out_dir for line in lines)
    assert sorted(os.listdir(out_dir)) == sorted(Path(line).name for line in lines)


# -- fuzz regressions -----------------------------------------------------------------------------------------

def _regressions() -> list:
    if not REGRESSIONS.is_dir():
        return []
    return [pytest.param(path.parent.name, path, id=f"{path.parent.name}/{path.name}")
            for path in sorted(REGRESSIONS.glob("*/*")) if path.is_file() and path.name != "README.md"]


@pytest.mark.parametrize("harness,path", _regressions())
def test_fuzz_regression_replays_cleanly(harness, path):
    """Every crashing input a fuzzer found runs through its harness's own checks without a finding."""
    fuzz_dir = str(ROOT / "fuzz")
    if fuzz_dir not in sys.path:
        sys.path.insert(0, fuzz_dir)
    module = importlib.import_module(f"fuzz_{harness}")
    module.test_one_input(path.read_bytes())


def test_open_flow_bound_ends_the_least_recent_session_with_a_warning():
    from rtmp_inspect.analysis.pipeline import Analyzer
    from rtmp_inspect.capture.reader import open_capture
    from rtmp_inspect.flows.table import FlowTable

    class Collect:
        def flow_started(self, session): pass
        def message(self, session, record): pass
        def warning(self, session, record): pass
        def flow_finished(self, session): pass

    reader = open_capture(str(ROOT / "samples" / "publish_play.pcap"))  # a publisher and two players, open together
    analyzer = Analyzer(Collect(), reader.start or 0.0)
    analyzer.table = FlowTable(max_flows=2)
    for segment in reader.segments():
        analyzer.add(segment)
    analyzer.finish()
    evicted = [s for s in analyzer.sessions if s.ended == "evicted"]
    assert evicted, [s.ended for s in analyzer.sessions]
    for session in evicted:
        assert [w.code for w in session.warnings].count("limit.open-flows") == 1
    assert all("limit.open-flows" not in [w.code for w in s.warnings] for s in analyzer.sessions if s not in evicted)
