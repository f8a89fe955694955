"""`--extract-flv DIR`: the files are read back with an FLV reader written here from the spec, and checked
against the JSON output (timestamps, types, lengths), tshark (message bodies), ffprobe (codecs, packet count),
and, when samples/make_samples.sh has run, the FLV files real players and the publisher wrote."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from rtmp_inspect.analysis.records import MessageRecord
from rtmp_inspect.export import flv as flv_module
from rtmp_inspect.export.flv import FlvExtractSink, flv_file_name, safe_name_part
from rtmp_inspect.rtmp.messages import decode_body
from tests.support.paths import public
from tests.support.rtmp_builder import amf0, command, echo, handshake_part, message_chunks

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT / "samples" / "public"
SAMPLES = Path(os.environ.get("RTMP_INSPECT_SAMPLES", ROOT / "samples"))  # where make_samples.sh wrote
FFPROBE = shutil.which("ffprobe")
TSHARK = shutil.which("tshark")


find = public


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtmp_inspect", *args], capture_output=True, timeout=300)


# -- an FLV reader, from the FLV spec (Adobe FLV v10.1, annex E) ---------------------------------

@dataclass
class Tag:
    type: int
    timestamp: int
    body: bytes


@dataclass
class FlvFile:
    flags: int
    tags: list[Tag]

    def media(self) -> list[Tag]:
        return [t for t in self.tags if t.type in (8, 9)]


def read_flv(path: Path, strict: bool = True) -> FlvFile:
    """Parses a whole FLV file; with `strict`, every previous-tag-size and stream id must be right."""
    data = path.read_bytes()
    assert data[:3] == b"FLV" and data[3] == 1, "not an FLV version 1 file"
    flags = data[4]
    offset = struct.unpack(">I", data[5:9])[0]
    assert offset == 9
    assert struct.unpack(">I", data[9:13])[0] == 0, "the first previous-tag-size must be 0"
    pos = 13
    tags = []
    while pos < len(data):
        assert len(data) - pos >= 11, f"truncated tag header at {pos}"
        tag_type = data[pos] & 0x1F
        size = int.from_bytes(data[pos + 1 : pos + 4], "big")
        timestamp = int.from_bytes(data[pos + 4 : pos + 7], "big") | (data[pos + 7] << 24)
        stream_id = int.from_bytes(data[pos + 8 : pos + 11], "big")
        body = data[pos + 11 : pos + 11 + size]
        assert len(body) == size, f"truncated tag body at {pos}"
        end = pos + 11 + size
        if end + 4 > len(data):
            assert not strict, f"missing previous-tag-size after the tag at {pos}"
            tags.append(Tag(tag_type, timestamp, body))
            break
        previous = struct.unpack(">I", data[end : end + 4])[0]
        if strict:
            assert stream_id == 0, f"tag at {pos}: stream id {stream_id}"
            assert previous == 11 + size, f"tag at {pos}: previous-tag-size {previous}, expected {11 + size}"
        tags.append(Tag(tag_type, timestamp, body))
        pos = end + 4
    return FlvFile(flags, tags)


def amf0_string_at(body: bytes, pos: int = 0) -> str | None:
    if len(body) < pos + 3 or body[pos] != 2:
        return None
    n = struct.unpack(">H", body[pos + 1 : pos + 3])[0]
    return body[pos + 3 : pos + 3 + n].decode("utf-8", "replace")


# -- the nginx publish capture ----------------------------------------------------------------------

NGINX = "twinx_nginx_publish.pcap"


@pytest.fixture(scope="module")
def nginx_extract(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("flv")
    result = run(str(find(NGINX)), "--extract-flv", str(out_dir))
    assert result.returncode == 0, result.stderr
    doc = json.loads(run(str(find(NGINX)), "--format", "json").stdout)
    return out_dir, result.stdout.decode().splitlines(), doc


def test_one_file_named_after_the_published_stream(nginx_extract):
    out_dir, lines, _ = nginx_extract
    assert lines == [str(out_dir / "flow0-c2s-stream1-publish-1234.flv")]
    assert sorted(os.listdir(out_dir)) == ["flow0-c2s-stream1-publish-1234.flv"]


def test_structure_types_timestamps_and_lengths_match_the_messages(nginx_extract):
    out_dir, lines, doc = nginx_extract
    flv = read_flv(Path(lines[0]))
    assert flv.flags == 0x05  # audio and video
    messages = [m for m in doc["flows"][0]["messages"] if m["dir"] == "c2s" and m["stream_id"] == 1]
    media = [m for m in messages if m["type_id"] in (8, 9)]
    assert len(media) == 323
    assert [(t.type, t.timestamp, len(t.body)) for t in flv.media()] == \
        [(m["type_id"], m["timestamp"], m["length"]) for m in media]
    # The script data: the @setDataFrame message, minus its first string, first of all tags.
    scripts = [t for t in flv.tags if t.type == 18]
    assert len(scripts) == 1 and flv.tags[0].type == 18
    data_message = [m for m in messages if m["type_id"] == 18]
    assert data_message[0]["command"] == "@setDataFrame"
    assert amf0_string_at(scripts[0].body) == "onMetaData"
    assert len(scripts[0].body) == data_message[0]["length"] - (3 + len("@setDataFrame"))
    assert len(flv.tags) == 324


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (apt-get install tshark)")
def test_bodies_are_the_ones_wireshark_reassembled(nginx_extract):
    _, lines, _ = nginx_extract
    flv = read_flv(Path(lines[0]))
    args = [
        TSHARK,
        "-r",
        str(find(NGINX)),
        "-o",
        "tcp.reassemble_out_of_order:TRUE",
        "-o",
        "rtmpt.max_packet_size:16777215",
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
        "-e",
        "rtmpt.audio.control",
        "-e",
        "rtmpt.audio.data",
        "-e",
        "rtmpt.video.control",
        "-e",
        "rtmpt.video.data",
    ]
    fields = subprocess.run(args, capture_output=True, timeout=300, check=True).stdout.decode()
    wireshark: list[tuple[int, bytes]] = []
    for line in fields.splitlines():
        cols = (line.split("\t") + ["", "", "", ""])[:4]
        for tag_type, control, data in ((8, cols[0], cols[1]), (9, cols[2], cols[3])):
            if not control:
                continue
            controls, datas = control.split("|"), data.split("|")
            assert len(controls) == len(datas)
            for c, d in zip(controls, datas):
                wireshark.append((tag_type, bytes([int(c, 16)]) + bytes.fromhex(d)))
    # Compared per type: a frame that ends an audio and a video message lists both without their order.
    assert len(wireshark) == 323
    for tag_type in (8, 9):
        ours = [t.body for t in flv.media() if t.type == tag_type]
        assert ours == [body for kind, body in wireshark if kind == tag_type]


@pytest.mark.skipif(FFPROBE is None, reason="ffprobe is not installed (apt-get install ffmpeg)")
def test_ffprobe_reads_h264_and_aac(nginx_extract):
    _, lines, doc = nginx_extract
    probe = json.loads(subprocess.run([FFPROBE, "-v", "error", "-show_streams", "-show_format", "-of", "json",
                                       lines[0]], capture_output=True, timeout=120, check=True).stdout)
    streams = {s["codec_type"]: s for s in probe["streams"]}
    assert streams["video"]["codec_name"] == "h264"
    assert (streams["video"]["width"], streams["video"]["height"]) == (1280, 720)
    assert streams["audio"]["codec_name"] == "aac" and streams["audio"]["sample_rate"] == "48000"
    assert probe["format"]["format_name"] == "flv"
    packets = subprocess.run([FFPROBE, "-v", "error", "-show_packets", "-of", "csv", lines[0]],
                             capture_output=True, timeout=120, check=True).stdout.decode().splitlines()
    media = [m for m in doc["flows"][0]["messages"] if m["type_id"] in (8, 9)]
    frames = [m for m in media if not m.get("media", {}).get("sequence_header")]
    assert len([p for p in packets if p.startswith("packet")]) == len(frames) == 321


def test_output_is_deterministic_and_names_stay_unique_across_captures(tmp_path):
    capture = str(find(NGINX))
    first = run(capture, capture, "--extract-flv", str(tmp_path / "a"))
    second = run(capture, capture, "--extract-flv", str(tmp_path / "b"))
    assert first.returncode == 0 and second.returncode == 0
    names = [Path(p).name for p in first.stdout.decode().splitlines()]
    assert names == ["flow0-c2s-stream1-publish-1234.flv", "flow0-c2s-stream1-publish-1234-2.flv"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / names[0]).read_bytes() == (tmp_path / "a" / names[1]).read_bytes()


def test_capture_without_media_writes_nothing(tmp_path):
    result = run(str(find("wireshark_rtmp_sample.cap")), "--extract-flv", str(tmp_path / "out"))
    assert result.returncode == 0 and result.stdout == b""
    assert os.listdir(tmp_path / "out") == []


def test_directory_that_cannot_be_made_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run(str(find(NGINX)), "--extract-flv", str(blocker / "sub"))
    assert result.returncode == 2
    assert len(result.stderr.decode().strip().splitlines()) == 1 and b"Traceback" not in result.stderr


# -- file names from capture text --------------------------------------------------------------------

@pytest.mark.parametrize("hostile", ["../../etc/x", "..", "/etc/passwd", "a/../../b", "cam\x00\x1b[31m\n",
                                     "..\\..\\windows", "-rf", ".hidden", "x" * 500, "名前", "a?key=secret&x=1"])
def test_hostile_stream_names_become_safe_names_inside_the_directory(tmp_path, hostile):
    part = safe_name_part(hostile)
    assert len(part) <= 64
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in part)
    assert ".." not in part and not part.startswith((".", "-"))
    name = flv_file_name(3, "s2c", 1, "play", hostile) + ".flv"
    assert name.startswith("flow3-s2c-stream1-play")
    assert "/" not in name and "\\" not in name and ".." not in name
    target = (tmp_path / name).resolve()
    assert target.parent == tmp_path.resolve()


def test_names_without_role_or_name():
    assert flv_file_name(0, "s2c", 1, None, None) == "flow0-s2c-stream1"
    assert flv_file_name(0, "c2s", 1, "publish", "") == "flow0-c2s-stream1-publish"
    assert flv_file_name(2, "c2s", 5, "publish", "cam1") == "flow2-c2s-stream5-publish-cam1"
    assert flv_file_name(0, "c2s", 1, "publish", "../..") == "flow0-c2s-stream1-publish"
    assert flv_file_name(0, "c2s", 1, "publish", "live/a b?k=1") == "flow0-c2s-stream1-publish-live_a_b_k_1"


# -- the sink on records built here: aggregates, data messages, file handles --------------------------

class _Stream:
    def __init__(self, role, name):
        self.role, self.name = role, name


class _State:
    def __init__(self):
        self.streams = {}


class _Session:
    def __init__(self, flow_id=0):
        self.id = flow_id
        self.state = _State()


def record(dir: str, stream_id: int, timestamp: int, type_id: int, body: bytes, flow: int = 0,
           inferred: bool = False) -> MessageRecord:
    payload = decode_body(type_id, body, timestamp)
    return MessageRecord(flow, 0, dir, 1, 0.0, 4, stream_id, timestamp, type_id, len(body), payload, "", 0, 0, 1,
                         0, inferred, body)


def flv_tag_bytes(tag_type: int, timestamp: int, body: bytes, stream_id: int = 0) -> bytes:
    header = bytes([tag_type]) + len(body).to_bytes(3, "big") + (timestamp & 0xFFFFFF).to_bytes(3, "big") \
        + bytes([timestamp >> 24]) + stream_id.to_bytes(3, "big")
    return header + body + struct.pack(">I", 11 + len(body))


AUDIO = b"\xaf\x01" + bytes(range(40))
VIDEO = b"\x27\x01\x00\x00\x00" + bytes(range(60))
KEY = b"\x17\x01\x00\x00\x00" + bytes(range(90))


def test_aggregate_is_split_with_rebased_timestamps_and_data_messages_are_cleaned(tmp_path):
    session = _Session()
    session.state.streams[1] = _Stream("play", "live/cam 1")
    sink = FlvExtractSink(str(tmp_path))
    sink.flow_started(session)
    set_data_frame = amf0("@setDataFrame") + amf0("onMetaData") + amf0({"width": 640.0})
    sink.message(session, record("s2c", 1, 0, 18, set_data_frame))
    sink.message(session, record("s2c", 1, 0, 18, amf0("|RtmpSampleAccess") + amf0(False) + amf0(False)))
    sink.message(session, record("s2c", 1, 0, 15, b"\x00" + amf0("onCuePoint") + amf0({"name": "c"})))
    sink.message(session, record("s2c", 1, 0, 15, b"\x06\x05ab"))  # pure AMF3: no FLV form, left out
    sink.message(session, record("s2c", 1, 0, 18, amf0("@clearDataFrame")))
    aggregate = flv_tag_bytes(9, 5000, KEY) + flv_tag_bytes(8, 5010, AUDIO) + flv_tag_bytes(9, 5033, VIDEO)
    sink.message(session, record("s2c", 1, 0x01000010, 22, aggregate))  # timestamp above 24 bits
    sink.message(session, record("s2c", 1, 0x01000050, 8, AUDIO))
    sink.message(session, record("s2c", 1, 0x01000051, 8, b""))  # an empty message (nginx sends one): kept
    sink.flow_finished(session)
    [path] = sink.close()
    assert Path(path).name == "flow0-s2c-stream1-play-live_cam_1.flv"
    flv = read_flv(Path(path))
    assert flv.flags == 0x05
    assert [(t.type, t.timestamp) for t in flv.tags] == [
        (18, 0), (18, 0), (9, 0x01000010), (8, 0x01000010 + 10), (9, 0x01000010 + 33), (8, 0x01000050), (8, 0x01000051)]
    assert flv.tags[0].body == amf0("onMetaData") + amf0({"width": 640.0})
    assert flv.tags[1].body == amf0("onCuePoint") + amf0({"name": "c"})
    assert [t.body for t in flv.media()] == [KEY, AUDIO, VIDEO, AUDIO, b""]


def test_flags_say_what_the_file_holds_and_script_only_streams_leave_no_file(tmp_path):
    session = _Session(4)
    session.state.streams[1] = _Stream("publish", "audio-only")
    sink = FlvExtractSink(str(tmp_path))
    sink.message(session, record("c2s", 1, 0, 18, amf0("onMetaData") + amf0({"a": 1.0})))
    sink.message(session, record("c2s", 1, 0, 8, AUDIO))
    sink.message(session, record("c2s", 3, 0, 18, amf0("onMetaData") + amf0({"a": 1.0})))  # never any media
    sink.message(session, record("s2c", 1, 7, 9, VIDEO))  # no name known: it still gets a file
    assert sink.close() == [str(tmp_path / "flow4-c2s-stream1-publish-audio-only.flv"),
                            str(tmp_path / "flow4-s2c-stream1-publish-audio-only.flv")]
    assert sorted(os.listdir(tmp_path)) == ["flow4-c2s-stream1-publish-audio-only.flv",
                                            "flow4-s2c-stream1-publish-audio-only.flv"]
    assert read_flv(tmp_path / "flow4-c2s-stream1-publish-audio-only.flv").flags == 0x04
    assert read_flv(tmp_path / "flow4-s2c-stream1-publish-audio-only.flv").flags == 0x01


def test_media_decoded_after_a_resynchronisation_stays_with_its_stream(tmp_path):
    """After a gap the decoder cannot know the message stream id and reports 0 (inferred)."""
    session = _Session()
    session.state.streams[1] = _Stream("play", "cam1")
    sink = FlvExtractSink(str(tmp_path))
    sink.message(session, record("s2c", 1, 0, 9, KEY))
    sink.message(session, record("s2c", 0, 40, 9, VIDEO, inferred=True))  # after a gap
    sink.message(session, record("c2s", 0, 40, 8, AUDIO, inferred=True))  # nothing known in this direction
    [unknown, play] = sink.close()  # by flow, stream id, direction
    assert Path(play).name == "flow0-s2c-stream1-play-cam1.flv"
    assert [t.body for t in read_flv(Path(play)).tags] == [KEY, VIDEO]
    assert Path(unknown).name == "flow0-c2s-stream0.flv"


def test_a_stream0_file_from_a_mid_session_start_is_adopted_by_the_real_stream(tmp_path):
    session = _Session(2)
    session.state.streams[1] = _Stream("publish", "cam1")
    sink = FlvExtractSink(str(tmp_path))
    sink.message(session, record("c2s", 0, 1000, 9, VIDEO, inferred=True))
    sink.message(session, record("c2s", 0, 1020, 8, AUDIO, inferred=True))
    assert os.listdir(tmp_path) == ["flow2-c2s-stream0.flv"]
    sink.message(session, record("c2s", 1, 1040, 9, KEY))  # a full (fmt 0) header: the stream is known now
    sink.message(session, record("c2s", 0, 1060, 9, VIDEO, inferred=True))
    [path] = sink.close()
    assert Path(path).name == "flow2-c2s-stream1-publish-cam1.flv"
    assert os.listdir(tmp_path) == ["flow2-c2s-stream1-publish-cam1.flv"]
    flv = read_flv(Path(path))
    assert flv.flags == 0x05
    assert [(t.timestamp, t.body) for t in flv.tags] == [(1000, VIDEO), (1020, AUDIO), (1040, KEY), (1060, VIDEO)]


def test_many_streams_reuse_a_bounded_number_of_file_handles(tmp_path, monkeypatch):
    monkeypatch.setattr(flv_module, "MAX_OPEN", 3)
    session = _Session()
    sink = FlvExtractSink(str(tmp_path))
    for round_ in range(4):
        for stream_id in range(1, 9):
            sink.message(session, record("c2s", stream_id, round_ * 10, 9, VIDEO + bytes([stream_id])))
            assert sum(f.handle is not None for f in sink._files.values()) <= 3
    paths = sink.close()
    assert len(paths) == 8
    for stream_id, path in zip(range(1, 9), paths):
        assert Path(path).name == f"flow0-c2s-stream{stream_id}.flv"
        flv = read_flv(Path(path))
        assert [(t.timestamp, t.body) for t in flv.tags] == [(r * 10, VIDEO + bytes([stream_id])) for r in range(4)]


# -- a crafted capture: hostile stream name, and a gap in the middle of the media ------------------------

def _pcap(packets: list[tuple[int, bytes]], skip: set[int] = frozenset()) -> bytes:
    """Ethernet/IPv4 pcap of one TCP connection (no SYN); packets numbered in `skip` are left out (a gap)."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    seqs = {0: 1000, 1: 5000}
    for n, (direction, payload) in enumerate(packets, 1):
        src, dst = (b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02") if direction == 0 else \
            (b"\x0a\x00\x00\x02", b"\x0a\x00\x00\x01")
        sport, dport = (40000, 1935) if direction == 0 else (1935, 40000)
        tcp = struct.pack(">HHIIBBHHH", sport, dport, seqs[direction], seqs[1 - direction], 5 << 4, 0x18, 65535, 0, 0)
        seqs[direction] += len(payload)
        if n in skip:
            continue
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), n, 0, 64, 6, 0, src, dst)
        frame = b"\x00" * 12 + b"\x08\x00" + ip + tcp + payload
        out += struct.pack("<IIII", 1700000000 + n, 0, len(frame), len(frame)) + frame
    return out


def _session_packets(name: str, media: list[tuple[int, int, bytes]]) -> list[tuple[int, bytes]]:
    c0, c1 = handshake_part(3)
    _, s1 = handshake_part(3, fill=7)
    packets = [(0, c0 + c1), (1, b"\x03" + s1 + echo(c1)),
               (0, echo(s1) + message_chunks(3, 20, command("connect", 1, {"app": "live"}))),
               (1, message_chunks(3, 20, command("_result", 1, None, {"code": "NetConnection.Connect.Success"}))),
               (0, message_chunks(3, 20, command("createStream", 2, None))),
               (1, message_chunks(3, 20, command("_result", 2, None, 1))),
               (0, message_chunks(4, 20, command("publish", 3, None, name, "live"), stream_id=1))]
    for type_id, timestamp, body in media:
        packets.append((0, message_chunks(6, type_id, body, timestamp=timestamp, stream_id=1)))
    return packets


def test_crafted_capture_with_hostile_name_stays_in_the_directory(tmp_path):
    media = [(8, 0, AUDIO), (9, 0, KEY), (9, 33, VIDEO)]
    capture = tmp_path / "hostile.pcap"
    capture.write_bytes(_pcap(_session_packets("../../etc/\x1b[2Jx", media)))
    out_dir = tmp_path / "out"
    result = run(str(capture), "--extract-flv", str(out_dir))
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.decode().splitlines()
    assert line == str(out_dir / "flow0-c2s-stream1-publish-etc_2Jx.flv")
    assert os.listdir(out_dir) == ["flow0-c2s-stream1-publish-etc_2Jx.flv"]
    assert [t.body for t in read_flv(Path(line)).tags] == [AUDIO, KEY, VIDEO]


def test_a_gap_leaves_the_file_going_with_the_whole_messages_after_it(tmp_path):
    media = [(8, 0, AUDIO), (9, 0, KEY)] + [(9, 33 * i, VIDEO + bytes([i])) for i in range(1, 10)]
    packets = _session_packets("cam1", media)
    lost = len(packets) - 5  # one whole video message missing from the capture
    capture = tmp_path / "gap.pcap"
    capture.write_bytes(_pcap(packets, skip={lost + 1}))
    doc = json.loads(run(str(capture), "--format", "json").stdout)
    assert "tcp.gap" in [w["code"] for w in doc["flows"][0]["warnings"]]
    decoded = [m for m in doc["flows"][0]["messages"] if m["type_id"] in (8, 9)]
    result = run(str(capture), "--extract-flv", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.decode().splitlines()
    flv = read_flv(Path(line))
    assert [(t.type, t.timestamp, len(t.body)) for t in flv.tags] == \
        [(m["type_id"], m["timestamp"], m["length"]) for m in decoded]
    expected = [body for _, _, body in media]
    assert len(flv.tags) == len(media) - 1
    assert flv.tags[-1].body == expected[-1]  # decoding went on after the gap
    assert all(t.body in expected for t in flv.tags)


# -- real sessions made by samples/make_samples.sh: the peers' own FLV files ----------------------------
#
# <name>.ffmpeg.flv / <name>.rtmpdump.flv: what a player received (ffmpeg -c copy -f flv, rtmpdump -o), to
# compare with our s2c play files; publish_play.source.flv: what every publisher sent (ffmpeg -re -c copy),
# to compare with our c2s publish files. Only audio/video tags are compared (players write their own
# metadata). "contained": the share of our tags found in theirs, in order; "coverage": the share of theirs
# found in ours. A session the capture holds whole must have both; a mid-session capture only the first.

SOURCE = SAMPLES / "publish_play.source.flv"


def _sample_sets() -> list[tuple[Path, list[Path]]]:
    found = []
    for capture in sorted(list(SAMPLES.glob("*.pcap")) + list(SAMPLES.glob("*.pcapng"))):
        references = [p for p in sorted(SAMPLES.glob(capture.stem + ".*.flv")) if p != SOURCE]
        if SOURCE.exists():
            references.append(SOURCE)
        found.append((capture, references))
    return found


SAMPLE_SETS = _sample_sets()


def _keys(tags: list[Tag]) -> list[tuple[int, bytes]]:
    return [(t.type, hashlib.sha1(t.body).digest()) for t in tags]


def matched_in_order(ours: list[Tag], theirs: list[Tag]) -> int:
    matcher = difflib.SequenceMatcher(None, _keys(ours), _keys(theirs), autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks())


def missing_from(tags: list[Tag], other: list[Tag]) -> list[Tag]:
    """The tags of `tags` whose (type, body) `other` lacks, counting repeats."""
    left = Counter(_keys(other))
    out = []
    for tag, key in zip(tags, _keys(tags)):
        if left[key] > 0:
            left[key] -= 1
        else:
            out.append(tag)
    return out


@pytest.mark.skipif(not SAMPLE_SETS, reason="samples/*.pcap and their FLV files not made yet (samples/make_samples.sh)")
@pytest.mark.parametrize("capture,references", SAMPLE_SETS, ids=[c.name for c, _ in SAMPLE_SETS] or None)
def test_extracted_bodies_match_what_the_peers_wrote(tmp_path, capture, references):
    """Players drop empty audio/video messages (nginx sends one) and may reorder the sequence headers (ffmpeg
    writes them first) or leave out the AVC end-of-sequence (rtmpdump): so every tag a peer wrote must be
    one of ours, byte for byte, and in order at least 99% of ours must be in theirs."""
    result = run(str(capture), "--extract-flv", str(tmp_path))
    assert result.returncode == 0, result.stderr
    extracted = [Path(p) for p in result.stdout.decode().splitlines()]
    doc = json.loads(run(str(capture), "--format", "json").stdout)
    damage = ("tcp.", "stream.", "chunk.", "handshake.missing")  # lost or cut-off bytes, a mid-session start
    complete = all(f["handshake"]["complete"] and not any(w["code"].startswith(damage) for w in f["warnings"])
                   for f in doc["flows"])
    refused = {f["id"] for f in doc["flows"] if any(
        m.get("command") == "_error" or (m.get("command") == "onStatus" and any(
            isinstance(a, dict) and a.get("level") == "error" for a in m.get("args", [])))
        for m in f["messages"])}
    ours = {p: read_flv(p).media() for p in extracted}
    report = []
    for reference in references:
        theirs = read_flv(reference, strict=False).media()
        wanted = "-c2s-" if reference == SOURCE else "-s2c-"
        candidates = [p for p in extracted if wanted in p.name and ours[p]]
        if reference == SOURCE and not candidates:
            continue  # no publish with media in this capture (a rejected publish, a play-only capture)
        assert candidates, f"no extracted {wanted.strip('-')} file to compare with {reference.name}"
        if reference != SOURCE:  # the player's own connection: the file that matches best
            candidates = [max(candidates, key=lambda p: matched_in_order(ours[p], theirs))]
        for path in candidates:
            mine = ours[path]
            in_order = 100.0 * matched_in_order(mine, theirs) / max(len(mine), len(theirs))
            foreign = missing_from(theirs, mine)  # tags the peer wrote that we do not have
            extra = missing_from(mine, theirs)
            report.append(f"{capture.name}: {path.name} vs {reference.name}: {len(mine)} ours, {len(theirs)} theirs, "
                          f"{in_order:.2f}% in order, {len(extra)} only ours "
                          f"({', '.join(f'type {t.type} len {len(t.body)}' for t in extra[:4])}), "
                          f"{len(foreign)} only theirs")
            flow = int(path.name.split("-")[0][len("flow"):])
            if complete and flow not in refused:
                assert in_order >= 99.0 and not foreign, report[-1]
            else:  # a capture that starts mid-session, a refused publish: what we have must be in theirs
                assert len([t for t in extra if t.body]) <= 1, report[-1]
    print("\n".join(report))


@pytest.mark.skipif(not (SAMPLES / "ext_timestamp.pcap").exists(), reason="samples/ext_timestamp.pcap not made yet")
def test_timestamps_above_24_bits_use_the_extended_byte(tmp_path):
    capture = str(SAMPLES / "ext_timestamp.pcap")
    result = run(capture, "--extract-flv", str(tmp_path))
    assert result.returncode == 0, result.stderr
    doc = json.loads(run(capture, "--format", "json").stdout)
    for line in result.stdout.decode().splitlines():
        flow, dir = int(Path(line).name.split("-")[0][4:]), Path(line).name.split("-")[1]
        messages = [m for f in doc["flows"] if f["id"] == flow for m in f["messages"]
                    if m["dir"] == dir and m["type_id"] in (8, 9)]
        tags = read_flv(Path(line)).media()
        assert [t.timestamp for t in tags] == [m["timestamp"] for m in messages]
        assert max(t.timestamp for t in tags) > 0xFFFFFF


# -- what a written file lacks --------------------------------------------------------------------------------

def _extract(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtmp_inspect", *args, "--extract-flv", str(tmp_path / "flv")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe (apt-get install ffmpeg) is the oracle here")
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_mid_session_capture_s_files_are_said_to_lack_their_sequence_headers(tmp_path: Path, jobs: str):
    """The capture began after the sequence headers were sent: the files cannot be decoded (ffprobe rejects
    them), and each file says so on stderr, with one process and with two."""
    done = _extract(tmp_path, str(ROOT / "samples/midsession.pcap"), "--decode-as", "1935", "--jobs", jobs)
    assert done.returncode == 0
    files = done.stdout.split()
    assert len(files) == 2
    for file in files:
        assert f"{file}: warning: no H.264 sequence header before its first video frame" in done.stderr
        assert f"{file}: warning: no AAC sequence header before its first audio frame" in done.stderr
        probe = subprocess.run(["ffprobe", "-v", "error", file], capture_output=True, text=True)
        assert probe.returncode != 0, "ffprobe accepted a file said to be undecodable"


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe (apt-get install ffmpeg) is the oracle here")
def test_whole_sessions_give_files_without_warnings(tmp_path: Path):
    done = _extract(tmp_path, str(ROOT / "samples/publish_play.pcap"))
    assert done.returncode == 0 and "warning" not in done.stderr
    for file in done.stdout.split():
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv", file],
                               capture_output=True, text=True)
        assert probe.returncode == 0 and "h264" in probe.stdout


def test_a_capture_without_media_says_no_file_was_written(tmp_path: Path):
    done = _extract(tmp_path, str(ROOT / "samples/connect_rejected.pcap"))
    assert done.returncode == 0 and done.stdout == ""
    assert done.stderr.strip().endswith("no FLV file written: no audio or video decoded in its 1 RTMP flow(s)")
