"""The command line contract: outputs, determinism, exit statuses, one-line errors, escaping."""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import public

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT / "samples" / "public"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtmp_inspect", *args], capture_output=True, input=stdin,
                          timeout=120)


def test_json_document_has_the_contract_shape():
    result = run(str(public("wireshark_rtmp_sample.cap")), "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["tool"] == "rtmp-inspect" and doc["schema_version"] == 1
    assert doc["capture"]["format"] == "pcap" and doc["capture"]["packets"] == 26
    [flow] = doc["flows"]
    assert flow["id"] == 0
    assert flow["client"] == "192.168.43.1:1177" and flow["server"] == "192.168.43.128:1935"
    assert flow["handshake"]["complete"] is True and flow["handshake"]["version"] == 3
    commands = [m["command"] for m in flow["messages"] if m["type"] == "command_amf0"]
    assert commands == ["connect", "_result", "createStream", "_result", "play", "onStatus"]
    connect = flow["messages"][0]
    assert connect["frame"] == 14 and connect["dir"] == "c2s" and connect["transaction_id"] == 1
    assert connect["args"][0]["app"] == "StreamPlayer/"
    assert [m["index"] for m in flow["messages"]] == list(range(len(flow["messages"])))
    status = [m for m in flow["messages"] if m.get("command") == "onStatus"][0]
    assert status["args"][1]["code"] == "NetStream.Play.Failed"


def test_output_is_byte_identical_across_runs():
    path = str(public("ndpi_rtmp_gtp_vlan.pcapng"))
    for fmt in ("json", "jsonl", "text"):
        first, second = run(path, "--format", fmt), run(path, "--format", fmt)
        assert first.returncode == 0 and first.stdout == second.stdout


def test_gtp_tunnelled_session_on_port_6002_is_found_without_decode_as():
    doc = json.loads(run(str(public("ndpi_rtmp_gtp_vlan.pcapng")), "--format", "json").stdout)
    servers = [f["server"] for f in doc["flows"]]
    assert "193.118.47.46:6002" in servers and len(servers) == 3
    flow = doc["flows"][servers.index("193.118.47.46:6002")]
    sizes = [m["value"] for m in flow["messages"] if m["type"] == "set_chunk_size"]
    assert 60000 in sizes


def test_jsonl_lines_carry_kind_and_flow():
    result = run(str(public("twinx_short_publish.pcap")), "--format", "jsonl")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["kind"] == "capture"
    kinds = {line["kind"] for line in lines}
    assert {"capture", "flow", "message", "flow_end", "end"} <= kinds
    messages = [line for line in lines if line["kind"] == "message"]
    assert all(m["flow"] == 0 for m in messages)
    doc = json.loads(run(str(public("twinx_short_publish.pcap")), "--format", "json").stdout)
    assert [{k: v for k, v in m.items() if k not in ("kind", "flow")} for m in messages] == doc["flows"][0]["messages"]


def test_gzip_and_stdin_read_the_same(tmp_path):
    raw = public("wireshark_rtmp_sample.cap").read_bytes()
    packed = tmp_path / "x.cap.gz"
    packed.write_bytes(gzip.compress(raw))
    plain = json.loads(run(str(public("wireshark_rtmp_sample.cap")), "--format", "json").stdout)
    zipped = json.loads(run(str(packed), "--format", "json").stdout)
    piped = json.loads(run("-", "--format", "json", stdin=raw).stdout)
    assert plain["flows"] == zipped["flows"] == piped["flows"]


@pytest.mark.parametrize(
    "content",
    [b"", b"hello, this is a text file\n" * 10, b"\xd4\xc3\xb2\xa1"],
    ids=["empty", "text", "short-header"],
)
def test_unusable_input_is_one_line_and_exit_2(tmp_path, content):
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    result = run(str(path))
    assert result.returncode == 2
    assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr


def test_missing_file_and_bad_arguments_exit_2():
    for args in (["/nonexistent/x.pcap"], ["--format", "xml", "x.pcap"], [], ["x.pcap", "--decode-as", "0"]):
        result = run(*args)
        assert result.returncode == 2, args
        assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr


def test_capture_without_rtmp_exits_0_and_says_so(tmp_path):
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    path = tmp_path / "empty.pcap"
    path.write_bytes(header)
    result = run(str(path), "--format", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["flows"] == []
    assert b"no RTMP" in result.stderr


def test_version_and_help():
    assert run("--version").stdout.startswith(b"rtmp-inspect ")
    assert run("--help").returncode == 0


def test_flows_are_numbered_in_the_order_of_their_first_packet(tmp_path):
    """Two connections open in turn, but the second completes its handshake first: it still gets id 1."""
    import sys as _sys

    _sys.path.insert(0, str(ROOT))
    from tests.support.rtmp_builder import command, echo, handshake_part, message_chunks

    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    seqs: dict = {}
    frame = 0

    def packet(client_port: int, to_server: bool, payload: bytes, flags: int = 0x18) -> bytes:
        nonlocal frame
        frame += 1
        key = (client_port, to_server)
        seq = seqs.setdefault(key, 1000 if to_server else 9000)
        seqs[key] = seq + len(payload) + (1 if flags & 0x02 else 0)
        ack = seqs.get((client_port, not to_server), 0)
        src, dst = (
            (b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02") if to_server else (b"\x0a\x00\x00\x02", b"\x0a\x00\x00\x01")
        )
        sport, dport = (client_port, 1935) if to_server else (1935, client_port)
        tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), frame, 0, 64, 6, 0, src, dst)
        data = b"\x00" * 12 + b"\x08\x00" + ip + tcp + payload
        return struct.pack("<IIII", 1700000000, frame, len(data), len(data)) + data

    c0, c1 = handshake_part(3)
    _, s1 = handshake_part(3, fill=9)
    out += packet(40001, True, b"", 0x02) + packet(40002, True, b"", 0x02)  # A's SYN, then B's
    out += packet(40001, True, c0 + c1) + packet(40002, True, c0 + c1)
    out += packet(40002, False, b"\x03" + s1 + echo(c1))  # the server answers B first
    out += packet(40001, False, b"\x03" + s1 + echo(c1))
    for port in (40002, 40001):
        app = f"app{port}"
        out += packet(port, True, echo(s1) + message_chunks(3, 20, command("connect", 1, {"app": app})))
    path = tmp_path / "order.pcap"
    path.write_bytes(out)
    doc = json.loads(run(str(path), "--format", "json").stdout)
    assert [(f["id"], f["client"]) for f in doc["flows"]] == [(0, "10.0.0.1:40001"), (1, "10.0.0.1:40002")]
    lines = [json.loads(x) for x in run(str(path), "--format", "jsonl").stdout.splitlines()]
    assert [(x["id"], x["client"]) for x in lines if x["kind"] == "flow"] == [
        (0, "10.0.0.1:40001"),
        (1, "10.0.0.1:40002"),
    ]


def test_the_handshake_is_part_of_the_timeline_in_jsonl_and_text(tmp_path):
    from rtmp_inspect import cli as _cli

    samples = Path(__file__).resolve().parent.parent / "samples"
    out = tmp_path / "out.jsonl"
    assert _cli.main([str(samples / "publish_play.pcap"), "--format", "jsonl", "-o", str(out), "--jobs", "1"]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    for flow in range(3):
        parts = [line for line in lines if line["kind"] == "handshake" and line["flow"] == flow]
        assert sorted(p["part"] for p in parts) == ["C0", "C1", "C2", "S0", "S1", "S2"]
        by_part = {p["part"]: p for p in parts}
        assert [(by_part[p]["offset"], by_part[p]["length"]) for p in ("C0", "C1", "C2")] == [(0, 1), (1, 1536),
                                                                                          (1537, 1536)]
        first_message = next(line for line in lines if line["kind"] == "message" and line["flow"] == flow)
        assert all(p["frame"] <= first_message["frame"] for p in parts)
        assert lines.index(by_part["C2"]) < lines.index(first_message)
    # A capture that starts mid-session has no handshake to show.
    assert _cli.main([str(samples / "midsession.pcap"), "--format", "jsonl", "-o", str(out), "--jobs", "1"]) == 0
    assert '"kind":"handshake"' not in out.read_text()
    text = tmp_path / "out.txt"
    assert _cli.main([str(samples / "publish_play.pcap"), "--format", "text", "-o", str(text), "--jobs", "1"]) == 0
    assert text.read_text().count(" handshake C1 ") == 3


# -- -o never destroys a file ----------------------------------------------------------------------------

def _copy_of_sample(tmp_path: Path) -> Path:
    capture = tmp_path / "capture.pcap"
    capture.write_bytes(public("wireshark_rtmp_sample.cap").read_bytes())
    return capture


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink", "relative"])
def test_output_naming_an_input_is_refused_and_the_input_kept(tmp_path: Path, how: str):
    capture = _copy_of_sample(tmp_path)
    original = capture.read_bytes()
    target = {"same": capture, "symlink": tmp_path / "link.pcap", "hardlink": tmp_path / "hard.pcap",
              "relative": tmp_path / "sub" / ".." / "capture.pcap"}[how]
    (tmp_path / "sub").mkdir()
    if how == "symlink":
        target.symlink_to(capture)
    elif how == "hardlink":
        target.hardlink_to(capture)
    done = run(str(capture), "-o", str(target), "--format", "json")
    assert done.returncode == 2
    assert b"is an input of this run" in done.stderr and done.stderr.count(b"\n") == 1
    assert capture.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")) == []


def test_a_failed_run_leaves_the_output_file_as_it_was(tmp_path: Path):
    existing = tmp_path / "report.json"
    existing.write_text("the previous report\n")
    done = run(str(tmp_path / "missing.pcap"), "-o", str(existing), "--format", "json")
    assert done.returncode == 2
    assert existing.read_text() == "the previous report\n"
    flv = tmp_path / "x.flv"
    flv.write_bytes(b"FLV\x01" + bytes(100))
    assert run(str(flv), "-o", str(existing), "--format", "json").returncode == 2
    assert existing.read_text() == "the previous report\n"
    fresh = tmp_path / "new.json"
    assert run(str(tmp_path / "missing.pcap"), "-o", str(fresh)).returncode == 2
    assert not fresh.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_a_successful_run_replaces_the_output_file_whole(tmp_path: Path):
    capture = _copy_of_sample(tmp_path)
    target = tmp_path / "report.json"
    target.write_text("old")
    target.chmod(0o640)
    done = run(str(capture), "-o", str(target), "--format", "json")
    assert done.returncode == 0
    assert json.loads(target.read_text())["flows"], "the new report is whole"
    assert target.stat().st_mode & 0o777 == 0o640  # the file keeps its permissions
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_a_mid_session_capture_on_another_port_gets_a_hint(tmp_path: Path):
    """samples/midsession.pcap with the server's port moved from 1935 to 8935: no handshake, no known port, so
    no RTMP is found; stderr says what to do, and doing it finds the session."""
    from scapy.all import TCP, rdpcap, wrpcap

    packets = rdpcap(str(ROOT / "samples" / "midsession.pcap"))
    for packet in packets:
        if TCP in packet:
            for field in ("sport", "dport"):
                if getattr(packet[TCP], field) == 1935:
                    setattr(packet[TCP], field, 8935)
            del packet[TCP].chksum
    moved = tmp_path / "moved.pcap"
    wrpcap(str(moved), packets)
    done = run(str(moved), "--format", "json")
    assert b"no RTMP found" in done.stderr and b"--decode-as PORT" in done.stderr
    assert json.loads(done.stdout)["flows"] == []
    found = run(str(moved), "--format", "json", "--decode-as", "8935")
    assert json.loads(found.stdout)["flows"], "--decode-as finds the session the hint points at"


def test_diff_into_a_closed_pipe_is_quiet():
    """`rtmp-inspect diff A B | head -1`: no BrokenPipeError traceback, the exit status still says they differ."""
    command = (f"{sys.executable} -m rtmp_inspect diff {ROOT}/samples/publish_play.pcap "
               f"{ROOT}/samples/chunk128.pcap | head -1; exit ${{PIPESTATUS[0]}}")
    done = subprocess.run(["bash", "-c", command], capture_output=True, timeout=120)
    assert done.stdout.startswith(b"--- ") and done.stdout.count(b"\n") == 1
    assert b"Traceback" not in done.stderr and done.returncode == 1


def test_diff_takes_a_key_log():
    keys = ROOT / "samples/variants/rtmps_tls12.keys"
    capture = ROOT / "samples/variants/rtmps_tls12.pcap"
    done = run("diff", str(capture), str(capture), "--tls-keylog", str(keys))
    assert done.returncode == 0 and b"no differences" in done.stdout
    assert run("diff", str(capture), str(capture), "--tls-keylog", "/nonexistent.keys").returncode == 2


def test_several_captures_as_json_are_one_document():
    """CONTRACT: several captures with --format json give one document with "captures" (not one document per
    capture back to back), the same from one process and from several, and a single capture keeps its shape."""
    paths = [str(ROOT / "samples/publish_play.pcap"), str(ROOT / "samples/chunk128.pcap"),
             str(ROOT / "samples/publish_play.pcap")]
    outputs = [run(*paths, "--format", "json", "--jobs", jobs) for jobs in ("1", "3")]
    assert outputs[0].returncode == 0 and outputs[0].stdout == outputs[1].stdout
    document = json.loads(outputs[0].stdout)
    assert list(document) == ["tool", "schema_version", "captures"]
    assert [c["capture"]["path"] for c in document["captures"]] == paths
    single = json.loads(run(paths[0], "--format", "json").stdout)
    assert document["captures"][0] == {"capture": single["capture"], "flows": single["flows"]}
    assert document["captures"][2]["flows"] == single["flows"]


# -- option combinations: everything asked for, or exit 2 with one line naming the conflict ------------------

def test_check_with_extract_flv_does_both(tmp_path: Path):
    sample = str(ROOT / "samples" / "publish_play.pcap")
    alone = run(sample, "--check")
    both = run(sample, "--check", "--extract-flv", str(tmp_path / "flv"))
    assert both.returncode == alone.returncode == 0
    assert both.stdout == alone.stdout  # the report, unchanged
    written = sorted(p.name for p in (tmp_path / "flv").iterdir())
    assert written == ["flow0-s2c-stream1-play-cam1.flv", "flow1-s2c-stream1-play-cam1.flv",
                       "flow2-c2s-stream1-publish-cam1.flv"]
    assert [line for line in both.stderr.decode().splitlines() if "wrote" in line] == \
        [f"rtmp-inspect: wrote {tmp_path / 'flv' / name}" for name in written]


def test_check_as_json_is_one_document_with_the_check_exit_status():
    sample = str(ROOT / "samples" / "connect_rejected.pcap")
    text = run(sample, "--check")
    done = run(sample, "--check", "--format", "json")
    assert done.returncode == text.returncode
    doc = json.loads(done.stdout)
    assert doc["tool"] == "rtmp-inspect" and [c["capture"] for c in doc["check"]] == [sample]
    [part] = doc["check"]
    verdicts = [line.split(": ", 1)[1] for line in text.stdout.decode().splitlines() if line.startswith("flow #")]
    assert [f["verdict"] for f in part["flows"]] == verdicts
    shown = [line for line in text.stdout.decode().splitlines()
             if line.startswith("  ") and not line.startswith(("  capture:", "  no findings"))]
    assert sum(len(f["findings"]) for f in part["flows"]) == len(shown) > 0
    assert part["notes"][0]["code"] == "capture.checksum-offload" and part["notes"][0]["severity"] == "info"
    assert doc["counts"] == part["counts"]


def test_extract_flv_with_format_json_writes_both(tmp_path: Path):
    sample = str(ROOT / "samples" / "publish_play.pcap")
    done = run(sample, "--extract-flv", str(tmp_path / "flv"), "--format", "json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["flows"] == json.loads(run(sample, "--format", "json").stdout)["flows"]
    assert len(list((tmp_path / "flv").iterdir())) == 3 and done.stderr.count(b"rtmp-inspect: wrote ") == 3


@pytest.mark.parametrize("args, says", [
    (["--hide-addresses"], "--hide-addresses applies to --stable"),
    (["--check", "--format", "jsonl"], "--check writes text or, with --format json, one JSON document"),
    (["--check", "--stable"], "not --stable"),
])
def test_options_that_cannot_go_together_are_refused(args: list[str], says: str):
    done = run(str(ROOT / "samples" / "publish_play.pcap"), *args)
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().count("\n") == 1 and says in done.stderr.decode()


def test_two_outputs_from_standard_input_are_refused(tmp_path: Path):
    data = (ROOT / "samples" / "publish_play.pcap").read_bytes()
    done = run("-", "--check", "--extract-flv", str(tmp_path / "flv"), stdin=data)
    assert done.returncode == 2 and b"standard input" in done.stderr and not (tmp_path / "flv").exists()


def test_wording_a_media_file_given_as_a_capture_and_a_missing_key_log(tmp_path: Path):
    for pure in (False, True):
        env = {**os.environ, **({"RTMP_INSPECT_PURE": "1"} if pure else {})}
        done = subprocess.run([sys.executable, "-m", "rtmp_inspect", str(ROOT / "samples" / "publish_play.ffmpeg.flv")],
                              capture_output=True, env=env, timeout=60)
        assert done.returncode == 2 and b"this is an FLV file, not a capture" in done.stderr, done.stderr
    done = run(str(ROOT / "samples" / "publish_play.pcap"), "--tls-keylog", str(tmp_path / "nope.keys"))
    assert done.returncode == 2
    assert done.stderr.decode() == f"rtmp-inspect: --tls-keylog: {tmp_path / 'nope.keys'}: no such file\n"
    done = run(str(ROOT / "samples" / "publish_play.pcap"), "--jobs", "1000")
    assert done.returncode == 2 and b"--jobs 1000: this machine gives" in done.stderr


def test_wording_counts_agree_with_their_number():
    done = run(str(ROOT / "samples" / "publish_play.pcap"), "--format", "text")
    text = done.stdout.decode()
    assert " 1 warnings" not in text and " 1 warning\n" in text  # flow #0 has one finding


def test_dash_r_reads_a_capture_as_tshark_does():
    sample = str(ROOT / "samples" / "publish_play.pcap")
    assert run("-r", sample, "--format", "json").stdout == run(sample, "--format", "json").stdout
    both = json.loads(run(sample, "-r", sample, "--format", "json").stdout)
    assert [c["capture"]["path"] for c in both["captures"]] == [sample, sample]
