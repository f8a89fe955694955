"""Per-stream media analytics (analysis/media_stats.py).

Oracles, independent of this project's decoder:
- tshark: the media messages of twinx_nginx_publish.pcap as Wireshark's RTMPT dissector sees them (timestamps,
  sizes, control bytes, bodies), and ffprobe on an FLV written from those bodies;
- ffmpeg/ffprobe: an FLV encoded at test time, sent through a crafted RTMP session, against ffprobe on the same FLV.
Crafted RTMP sessions (real chunk bytes through FlowSession) for every warning.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import pytest

from rtmp_inspect.analysis.media_stats import StreamStatistics
from rtmp_inspect.analysis.records import MessageRecord, WarningRecord
from rtmp_inspect.analysis.session import FlowSession
from tests.support.paths import public
from tests.support.rtmp_builder import amf0, echo, handshake_part, message_chunks

ROOT = Path(__file__).resolve().parent.parent
TSHARK = shutil.which("tshark")
FFPROBE = shutil.which("ffprobe")
FFMPEG = shutil.which("ffmpeg")
NEED_TSHARK = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (apt-get install tshark); "
                                 ".ci/run installs it")
NEED_FFPROBE = pytest.mark.skipif(FFPROBE is None, reason="ffprobe is not installed (apt-get install ffmpeg); "
                                  ".ci/run installs it")
NEED_FFMPEG = pytest.mark.skipif(FFMPEG is None or FFPROBE is None,
                                 reason="ffmpeg/ffprobe are not installed (apt-get install ffmpeg); "
                                 ".ci/run installs it")

# Real encoder output (libx264 High 640x360, ffmpeg AAC LC 44.1 kHz stereo): sequence header bodies.
AVC_SEQ = bytes.fromhex("17000000000164001effe1001a6764001eacd940a02ff97011000003000100000300320f162d960100"
                        "0668ebe04d2c8bfdf8f800")
AAC_SEQ = bytes.fromhex("af00121056e500")


capture = public


def video_frame(key: bool, size: int = 200, disposable: bool = False) -> bytes:
    nal = bytes([0x65 if key else 0x41]) + bytes(size - 1)
    first = 0x17 if key else (0x37 if disposable else 0x27)
    return bytes([first, 1, 0, 0, 0]) + struct.pack(">I", len(nal)) + nal


def audio_frame(size: int = 100) -> bytes:
    return b"\xaf\x01" + b"\x21" * (size - 2)


def metadata(**values) -> bytes:
    return amf0("@setDataFrame") + amf0("onMetaData") + amf0(values)


# -- a crafted session: real RTMP chunk bytes through FlowSession ----------------------------------


class Sim:
    def __init__(self) -> None:
        flow = SimpleNamespace(endpoints=[(bytes([10, 0, 0, 1]), 50000), (bytes([10, 0, 0, 2]), 1935)])
        self.session = FlowSession(0, flow, 0, 0.0, True)
        self.frame = 0
        self.warnings: list[WarningRecord] = []
        self.records: list = []
        c0, c1 = handshake_part()
        s0, s1 = handshake_part(fill=0x33)
        self._feed(0, 0.0, c0 + c1)
        self._feed(1, 0.0, s0 + s1 + echo(c1))
        self._feed(0, 0.0, echo(s1))

    def _feed(self, direction: int, time: float, data: bytes) -> None:
        self.frame += 1
        for item in self.session.feed(direction, self.frame, time, data):
            if isinstance(item, WarningRecord):
                self.warnings.append(item)
            elif isinstance(item, MessageRecord):
                self.records.append(item)

    def send(self, time: float, type_id: int, body: bytes, ts: int, stream_id: int = 1, direction: int = 0) -> None:
        csid = {8: 4, 9: 6}.get(type_id, 5)
        self._feed(direction, time, message_chunks(csid, type_id, body, ts, stream_id))

    def finish(self) -> StreamStatistics:
        for item in self.session.finish("end-of-capture", None, None):
            if isinstance(item, WarningRecord):
                self.warnings.append(item)
        return self.stats

    @property
    def stats(self) -> StreamStatistics:
        return self.session.stats

    def codes(self, prefix: str = "media.") -> list[str]:
        return [w.code for w in self.warnings if w.code.startswith(prefix)]


def publish(sim: Sim, seconds: float, fps: float = 25, gop: int = 50, audio: bool = True, start: float = 1.0,
            ts_of=lambda t: t, time_of=lambda ms: ms / 1000.0, stream_id: int = 1, direction: int = 0,
            video: bool = True) -> None:
    """Sequence headers, then video at `fps` and AAC (1024 samples at 44.1 kHz), interleaved by timestamp.
    `ts_of(ms)` maps nominal media time to the RTMP timestamp; `time_of(ms)` to capture seconds after `start`."""
    events = []
    if video:
        n = int(round(seconds * fps))
        for i in range(n):
            nominal = i * 1000.0 / fps
            events.append((nominal, 9, video_frame(i % gop == 0, 300 if i % gop == 0 else 150)))
    if audio:
        n = int(seconds * 44100 / 1024)
        for i in range(n):
            events.append((i * 1024 * 1000.0 / 44100, 8, audio_frame()))
    events.sort(key=lambda e: (e[0], e[1]))
    if video:
        sim.send(start, 9, AVC_SEQ, 0, stream_id, direction)
    if audio:
        sim.send(start, 8, AAC_SEQ, 0, stream_id, direction)
    for nominal, type_id, body in events:
        sim.send(start + time_of(nominal), type_id, body, int(ts_of(nominal)), stream_id, direction)


def only_stream(stats: StreamStatistics) -> dict:
    [stream] = stats.to_json()["media_streams"]
    return stream


# -- clean streams -------------------------------------------------------------------------------


def test_clean_publish_measures_and_stays_quiet():
    sim = Sim()
    sim.send(0.5, 18, metadata(width=640, height=360, framerate=25, videocodecid=7, audiocodecid=10,
                               audiosamplerate=44100, audiochannels=2, stereo=True), 0)
    publish(sim, 10.0)
    stats = sim.finish()
    assert sim.codes() == []
    s = only_stream(stats)
    assert s["dir"] == "c2s" and s["stream_id"] == 1 and s["metadata_mismatches"] == []
    v, a, t = s["video"], s["audio"], s["timing"]
    assert (v["codec"], v["profile"], v["level"], v["width"], v["height"]) == ("H.264", "High", "3.0", 640, 360)
    assert v["frames"] == {"total": 250, "key": 5, "inter": 245, "disposable": 0, "generated_key": 0,
                           "sequence_headers": 1}
    assert v["frame_rate"] == pytest.approx(25.0, rel=0.01)
    assert v["keyframes"]["count"] == 5 and v["keyframes"]["intervals"] == 4
    assert v["keyframes"]["frames"] == {"mean": 50, "min": 50, "max": 50}
    assert v["keyframes"]["ms"]["mean"] == pytest.approx(2000, abs=1)
    assert v["largest_frame"]["bytes"] == len(video_frame(True, 300))
    video_bytes = len(AVC_SEQ) + 5 * len(video_frame(True, 300)) + 245 * len(video_frame(False, 150))
    assert v["bytes"] == video_bytes
    assert v["bitrate_kbps"] == pytest.approx(video_bytes * 8 / 10000, rel=0.01)
    assert len(v["bitrate_per_second_kbps"]) == 10
    assert sum(v["bitrate_per_second_kbps"]) == pytest.approx(video_bytes * 8 / 1000, abs=0.1 * 10)
    assert (a["codec"], a["profile"], a["sample_rate"], a["channels"]) == ("AAC", "LC", 44100, 2)
    assert a["frame_rate"] == pytest.approx(44100 / 1024, rel=0.01)
    assert t["clock_rate"] == pytest.approx(1.0, abs=0.01)
    assert abs(t["av_drift_ms"]) < 30 and t["stalls"] == 0
    assert t["timestamps_backwards"] == 0 and t["timestamp_jumps"] == 0
    assert stats.describe() == s["description"]
    assert s["description"].startswith("H.264 High 640x360 25.0 fps ")
    assert " + AAC LC 44.1 kHz 2 ch " in s["description"] and s["description"].endswith(" kbit/s")


def test_streams_are_per_direction_and_message_stream():
    sim = Sim()
    publish(sim, 2.0, stream_id=1)
    publish(sim, 2.0, stream_id=2, audio=False, start=4.0)
    publish(sim, 2.0, stream_id=1, direction=1, video=False, start=7.0)
    stats = sim.finish()
    streams = stats.to_json()["media_streams"]
    assert [(s["dir"], s["stream_id"]) for s in streams] == [("c2s", 1), ("c2s", 2), ("s2c", 1)]
    assert streams[1]["audio"] is None and streams[2]["video"] is None
    assert stats.describe("s2c", 1).startswith("AAC LC 44.1 kHz 2 ch")
    assert stats.stream("c2s", 2).describe().startswith("H.264 High 640x360 25.0 fps")
    assert stats.stream("c2s", 3) is None


def test_no_media_means_no_entry():
    sim = Sim()
    sim.send(0.1, 18, metadata(width=640, height=360), 0)
    stats = sim.finish()
    assert stats.to_json() == {"media_streams": []} and stats.describe() == ""


def test_aggregate_parts_are_counted():
    def tag(type_id: int, ts: int, body: bytes) -> bytes:
        head = bytes([type_id]) + len(body).to_bytes(3, "big") + (ts & 0xFFFFFF).to_bytes(3, "big") \
            + bytes([ts >> 24]) + b"\x00\x00\x00"
        return head + body + struct.pack(">I", 11 + len(body))

    sim = Sim()
    sim.send(1.0, 9, AVC_SEQ, 0)
    sim.send(1.0, 8, AAC_SEQ, 0)
    for second in range(3):
        parts = b""
        for i in range(25):
            parts += tag(9, 1000 * second + 40 * i, video_frame(i == 0))
        for i in range(43):
            parts += tag(8, 1000 * second + 23 * i, audio_frame())
        sim.send(1.0 + second, 22, parts, 1000 * second)
    stats = sim.finish()
    s = only_stream(stats)
    assert s["video"]["frames"]["total"] == 75 and s["video"]["aggregated"] == 75
    assert s["video"]["frames"]["key"] == 3 and s["audio"]["frames"]["total"] == 129
    assert s["video"]["keyframes"]["frames"]["mean"] == 25
    # Parts within an aggregate interleave audio and video timestamps; each track is monotonic by itself.
    assert s["timing"]["timestamps_backwards"] == 0


# -- warnings ------------------------------------------------------------------------------------


def test_timestamp_backwards():
    sim = Sim()
    sim.send(1.0, 9, AVC_SEQ, 0)
    for i, ts in enumerate([0, 40, 80, 120, 160, 120, 200, 240]):
        sim.send(1.0 + i * 0.04, 9, video_frame(i == 0), ts)
    stats = sim.finish()
    # Reported once, by ExpertChecks (it owns the code).
    assert sim.codes() == ["media.timestamp-backwards"]
    warning = sim.warnings[-1]
    assert warning.frame == sim.records[-3].frame and "160" in warning.message and "120" in warning.message
    assert warning.dir == "c2s"
    s = only_stream(stats)
    assert s["timing"]["timestamps_backwards"] == 1 and s["video"]["timestamps_backwards"] == 1


def test_timestamps_wrapping_at_32_bits_are_not_backwards():
    sim = Sim()
    sim.send(1.0, 9, AVC_SEQ, 0)
    start = (1 << 32) - 200
    for i in range(10):
        sim.send(1.0 + i * 0.04, 9, video_frame(i == 0), (start + 40 * i) & 0xFFFFFFFF)
    stats = sim.finish()
    assert sim.codes("media.timestamp-jump") == [] and sim.codes("media.stall") == []
    v = only_stream(stats)["video"]
    assert v["timestamps_backwards"] == 0 and v["last_timestamp"] == start + 360
    assert v["frame_rate"] == pytest.approx(25.0)


def test_timestamp_jump():
    sim = Sim()
    sim.send(1.0, 9, AVC_SEQ, 0)
    for i, ts in enumerate([0, 40, 80, 7080, 7120]):
        sim.send(1.0 + i * 0.04, 9, video_frame(i == 0), ts)
    stats = sim.finish()
    assert sim.codes() == ["media.timestamp-jump"]
    assert "+7000 ms" in sim.warnings[-1].message
    s = only_stream(stats)
    assert s["timing"]["timestamp_jumps"] == 1 and s["video"]["timestamp_jumps"] == 1


def test_sequence_header_stamped_zero_is_not_a_jump():
    sim = Sim()
    sim.send(1.0, 9, AVC_SEQ, 0)
    for i in range(10):
        sim.send(1.0 + i * 0.04, 9, video_frame(i == 0), 3_600_000 + 40 * i)
    stats = sim.finish()
    assert sim.codes() == []
    s = only_stream(stats)
    assert s["timing"]["per_second_base_timestamp"] == 3_600_000
    assert len(s["video"]["bitrate_per_second_kbps"]) == 1


def test_stall():
    sim = Sim()
    publish(sim, 4.0, time_of=lambda ms: ms / 1000.0 + (3.0 if ms >= 2000 else 0.0))
    stats = sim.finish()
    assert sim.codes() == ["media.stall"]  # and no media.clock-rate: the stall is not a slow clock
    assert only_stream(stats)["timing"]["clock_rate"] == pytest.approx(1.0, abs=0.01)
    assert only_stream(stats)["timing"]["stall_seconds"] == pytest.approx(3.0, abs=0.05)
    stall = only_stream(stats)["timing"]["longest_stall"]
    assert stall["seconds"] == pytest.approx(3.0, abs=0.05) and only_stream(stats)["timing"]["stalls"] == 1
    assert "no media for 3.0" in sim.warnings[-1].message


def test_metadata_mismatch():
    sim = Sim()
    sim.send(0.5, 18, metadata(width=1280, height=720, framerate=30, videocodecid=7, audiocodecid=10,
                               audiosamplerate=48000, audiochannels=1), 0)
    publish(sim, 4.0)
    stats = sim.finish()
    mismatches = {m["field"]: (m["declared"], m["measured"]) for m in only_stream(stats)["metadata_mismatches"]}
    assert set(mismatches) == {"width", "height", "framerate", "audiosamplerate", "audiochannels"}
    assert mismatches["width"] == (1280, 640) and mismatches["audiosamplerate"] == (48000, 44100)
    assert mismatches["framerate"][1] == pytest.approx(25, rel=0.01)
    assert sim.codes() == ["media.metadata-mismatch"] * 5
    warning = sim.warnings[0]
    assert warning.frame == sim.records[0].frame and "width=1280" in warning.message
    assert only_stream(stats)["metadata"]["width"] == 1280


def test_metadata_codec_and_missing_track():
    sim = Sim()
    sim.send(0.5, 18, metadata(width=640, height=360, videocodecid="hvc1", audiocodecid=2), 0)
    publish(sim, 4.0, audio=False)
    sim.finish()
    messages = sorted(w.message for w in sim.warnings if w.code == "media.metadata-mismatch")
    assert messages == ["stream 1: onMetaData declares audio but the stream carried none",
                        "stream 1: onMetaData declares videocodecid='hvc1' but the stream has H.264"]


def test_clock_rate_fast_publisher():
    sim = Sim()
    publish(sim, 12.0, ts_of=lambda ms: ms * 1.25)  # 12 s of media stamped as 15 s
    stats = sim.finish()
    assert sim.codes() == ["media.clock-rate"]
    assert only_stream(stats)["timing"]["clock_rate"] == pytest.approx(1.25, abs=0.01)
    assert "faster than real time" in sim.warnings[-1].message


def test_clock_rate_short_or_close_is_quiet():
    sim = Sim()
    publish(sim, 4.0, ts_of=lambda ms: ms * 1.3)  # off, but not for long enough
    publish(sim, 12.0, ts_of=lambda ms: ms * 1.03, stream_id=2, start=10.0)  # long, within 5 %
    sim.finish()
    assert sim.codes() == []


def test_burst_at_start_is_not_a_clock_problem():
    """A server sending its GOP cache to a player: 3 s of media at once, then real time."""
    sim = Sim()
    publish(sim, 12.0, direction=1, time_of=lambda ms: max(0.0, ms - 3000) / 1000.0)
    stats = sim.finish()
    assert sim.codes() == []
    assert only_stream(stats)["timing"]["clock_rate"] == pytest.approx(1.0, abs=0.02)


def test_av_drift():
    sim = Sim()
    events = []
    for i in range(250):  # video runs 1 % fast: +100 ms over 10 s
        events.append((i * 40.0, 9, int(i * 40 * 1.01), video_frame(i % 50 == 0)))
    for i in range(430):
        events.append((i * 1024000 / 44100, 8, int(i * 1024000 / 44100), audio_frame()))
    sim.send(1.0, 9, AVC_SEQ, 0)
    sim.send(1.0, 8, AAC_SEQ, 0)
    for nominal, type_id, ts, body in sorted(events, key=lambda e: e[0]):
        sim.send(1.0 + nominal / 1000, type_id, body, ts)
    stats = sim.finish()
    timing = only_stream(stats)["timing"]
    assert timing["av_drift_ms"] == pytest.approx(90, abs=25)  # measured between the start and end windows
    assert timing["av_offset_ms"]["end"] == pytest.approx(99, abs=30)


def test_repeated_warnings_are_limited_and_summarised():
    sim = Sim()
    sim.send(1.0, 9, AVC_SEQ, 0)
    for i in range(10):
        sim.send(1.0 + i * 0.04, 9, video_frame(True), i * 6000)
    stats = sim.finish()
    codes = sim.codes()
    assert codes == ["media.timestamp-jump"] * 6  # 5 listed + 1 summary
    assert sim.warnings[-1].severity == "info" and "4 more" in sim.warnings[-1].message
    assert only_stream(stats)["timing"]["timestamp_jumps"] == 9


def test_per_second_list_is_bounded():
    sim = Sim()
    sim.send(1.0, 9, AVC_SEQ, 0)
    for i in range(4):  # frames 1000 s apart
        sim.send(1.0 + i, 9, video_frame(True), i * 1_000_000)
    v = only_stream(sim.finish())["video"]
    assert len(v["bitrate_per_second_kbps"]) == 3001 and v["per_second_truncated"] is False
    sim = Sim()
    sim.send(1.0, 9, AVC_SEQ, 0)
    for i in range(6):  # the last two fall past the first hour
        sim.send(1.0 + i, 9, video_frame(True), i * 1_000_000)
    v = only_stream(sim.finish())["video"]
    assert len(v["bitrate_per_second_kbps"]) == 3001 and v["per_second_truncated"] is True
    assert v["bytes"] == len(AVC_SEQ) + 6 * len(video_frame(True))


# -- the CLI and JSON shape ------------------------------------------------------------------------


def run_json(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "rtmp_inspect", str(path), "--format", "json"],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def nginx_doc() -> dict:
    return run_json(capture("twinx_nginx_publish.pcap"))


def test_json_shape(nginx_doc):
    [flow] = nginx_doc["flows"]
    [stream] = flow["media_streams"]
    assert set(stream) >= {"dir", "stream_id", "video", "audio", "timing", "metadata", "metadata_mismatches",
                           "description"}
    assert set(stream["video"]) >= {"codec", "profile", "level", "width", "height", "frame_rate", "bitrate_kbps",
                                    "bitrate_per_second_kbps", "keyframes", "largest_frame", "frames"}
    assert set(stream["audio"]) >= {"codec", "profile", "sample_rate", "channels", "bitrate_kbps",
                                    "bitrate_per_second_kbps", "frames"}
    assert set(stream["timing"]) >= {"clock_rate", "av_drift_ms", "av_offset_ms", "timestamps_backwards",
                                     "timestamp_jumps", "stalls", "longest_stall"}
    assert stream["description"] == \
        "H.264 Constrained Baseline 1280x720 30.0 fps 2443 kbit/s + AAC LC 48 kHz 2 ch 161 kbit/s"
    assert stream["metadata"]["encoder"].startswith("obs-output") and stream["metadata_mismatches"] == []
    assert not [w for w in flow["warnings"] if w["code"].startswith("media.") and w["severity"] != "info"]


# -- oracle 1: tshark's view of twinx_nginx_publish.pcap, and ffprobe on an FLV of tshark's bytes ----


def tshark_media(path: Path) -> list[dict]:
    """The client's audio/video messages as the RTMPT dissector decodes them, with their bodies."""
    args = [TSHARK, "-r", str(path), "-T", "pdml", "-o", "tcp.reassemble_out_of_order:TRUE",
            "-o", "rtmpt.max_packet_size:16777215"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    state: dict[tuple[str, int], tuple[int, int]] = {}
    out = []
    src = None
    for _, packet in ET.iterparse(proc.stdout, events=("end",)):
        if packet.tag != "packet":
            continue
        for proto in packet:
            name = proto.get("name")
            if name == "tcp":
                src = next(f.get("show") for f in proto.iter("field") if f.get("name") == "tcp.srcport")
            if name != "rtmpt" or "Handshake" in (proto.get("showname") or ""):
                continue
            fields: dict[str, str] = {}
            for field in proto.iter("field"):
                fname = field.get("name") or ""
                if fname.startswith("rtmpt.") and fname not in fields:
                    fields[fname] = field.get("value") if fname.endswith((".data", ".control")) else field.get("show")
            if "rtmpt.header.csid" not in fields:
                continue
            csid = int(fields["rtmpt.header.csid"])
            if "rtmpt.header.typeid" in fields and "rtmpt.header.bodysize" in fields:
                state[(src, csid)] = (int(fields["rtmpt.header.typeid"], 16), int(fields["rtmpt.header.bodysize"]))
            type_id, length = state.get((src, csid), (None, None))
            if src == "1935" or type_id not in (8, 9):
                continue
            kind = "video" if type_id == 9 else "audio"
            body = bytes.fromhex(fields[f"rtmpt.{kind}.control"] + fields.get(f"rtmpt.{kind}.data", ""))
            ts = int(fields.get("rtmpt.header.ets") or fields["rtmpt.header.timestamp"])
            out.append({"type": type_id, "ts": ts, "length": length, "body": body})
        packet.clear()
    proc.wait()
    return out


def write_flv(path: Path, tags: list[tuple[int, int, bytes]]) -> None:
    with open(path, "wb") as f:
        f.write(b"FLV\x01\x05\x00\x00\x00\x09" + b"\x00\x00\x00\x00")
        for type_id, ts, body in tags:
            f.write(bytes([type_id]) + len(body).to_bytes(3, "big") + (ts & 0xFFFFFF).to_bytes(3, "big")
                    + bytes([(ts >> 24) & 0xFF]) + b"\x00\x00\x00" + body + struct.pack(">I", 11 + len(body)))


def ffprobe(path: Path) -> dict:
    out = subprocess.run([FFPROBE, "-v", "error", "-show_streams", "-show_packets", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    doc = json.loads(out)
    streams = {s["codec_type"]: s for s in doc["streams"]}
    for s in streams.values():
        s["packets"] = [p for p in doc["packets"] if p["stream_index"] == s["index"]]
    return streams


def packet_rates(packets: list[dict]) -> tuple[float, float]:
    """(frames per second, kbit/s) from ffprobe's packets: ffprobe's own timestamps, sizes and durations."""
    pts = [float(p["pts_time"]) for p in packets]
    span = max(pts) - min(pts)
    fps = (len(pts) - 1) / span
    last = packets[-1]
    duration = span + float(last.get("duration_time") or span / (len(pts) - 1))
    return fps, sum(int(p["size"]) for p in packets) * 8 / duration / 1000


def oracle_track(messages: list[dict], type_id: int, base: int) -> dict:
    msgs = [m for m in messages if m["type"] == type_id]
    # AVC/AAC packet type 0 is the sequence header (byte 1 of the body).
    frames = [m for m in msgs if m["body"][1] != 0]
    ts = [m["ts"] for m in frames]
    n = len(frames)
    span = max(ts) - min(ts)
    total = sum(m["length"] for m in msgs)
    per_second: dict[int, int] = {}
    for m in msgs:
        index = max(0, (m["ts"] - base) // 1000)
        per_second[index] = per_second.get(index, 0) + m["length"]
    return {
        "messages": len(msgs), "frames": n, "sequence_headers": len(msgs) - n, "bytes": total,
        "key": sum(1 for m in frames if m["body"][0] >> 4 == 1),
        "inter": sum(1 for m in frames if m["body"][0] >> 4 == 2),
        "first": min(ts), "last": max(ts),
        "frame_rate": (n - 1) * 1000 / span,
        "bitrate_kbps": total * 8 / (span * n / (n - 1)),
        "largest": max(m["length"] for m in frames),
        "per_second": [round(per_second.get(i, 0) * 8 / 1000, 1) for i in range(max(per_second) + 1)],
    }


@NEED_TSHARK
def test_nginx_publish_against_tshark(nginx_doc):
    messages = tshark_media(capture("twinx_nginx_publish.pcap"))
    [stream] = nginx_doc["flows"][0]["media_streams"]
    base = min(m["ts"] for m in messages if m["body"][1] != 0)
    for kind, type_id in (("video", 9), ("audio", 8)):
        want = oracle_track(messages, type_id, base)
        got = stream[kind]
        assert got["messages"] == want["messages"]
        assert got["frames"]["total"] == want["frames"]
        assert got["frames"]["sequence_headers"] == want["sequence_headers"]
        assert got["bytes"] == want["bytes"]
        assert (got["first_timestamp"], got["last_timestamp"]) == (want["first"], want["last"])
        assert got["frame_rate"] == pytest.approx(want["frame_rate"], rel=1e-3)
        assert got["bitrate_kbps"] == pytest.approx(want["bitrate_kbps"], rel=1e-3)
        assert got["largest_frame"]["bytes"] == want["largest"]
        assert got["bitrate_per_second_kbps"] == want["per_second"]
        if kind == "video":
            assert (got["frames"]["key"], got["frames"]["inter"]) == (want["key"], want["inter"])
    # The numbers the brief names, for the record: 1280x720 H.264 at 30 fps, AAC 48 kHz.
    assert stream["video"]["frame_rate"] == pytest.approx(30.0, rel=0.01)


@NEED_TSHARK
@NEED_FFPROBE
def test_nginx_publish_against_ffprobe_of_tshark_bytes(nginx_doc, tmp_path):
    messages = tshark_media(capture("twinx_nginx_publish.pcap"))
    flv = tmp_path / "from_tshark.flv"
    write_flv(flv, [(m["type"], m["ts"], m["body"]) for m in messages])
    probe = ffprobe(flv)
    [stream] = nginx_doc["flows"][0]["media_streams"]
    v, a = stream["video"], stream["audio"]
    pv, pa = probe["video"], probe["audio"]
    assert (v["codec"], pv["codec_name"]) == ("H.264", "h264")
    assert (v["width"], v["height"]) == (pv["width"], pv["height"]) == (1280, 720)
    assert v["profile"] == pv["profile"]
    assert v["frame_rate"] == pytest.approx(float(Fraction(pv["r_frame_rate"])), rel=0.01)
    fps, kbps = packet_rates(pv["packets"])
    assert len(pv["packets"]) == v["frames"]["total"]
    assert sum(1 for p in pv["packets"] if "K" in p["flags"]) == v["frames"]["key"]
    assert v["frame_rate"] == pytest.approx(fps, rel=0.01)
    assert v["bitrate_kbps"] == pytest.approx(kbps, rel=0.03)  # ffprobe's sizes lack the 5-byte FLV video header
    assert (a["codec"], pa["codec_name"]) == ("AAC", "aac")
    assert a["sample_rate"] == int(pa["sample_rate"]) == 48000
    assert a["channels"] == pa["channels"] == 2 and a["profile"] == pa["profile"] == "LC"
    afps, akbps = packet_rates(pa["packets"])
    assert len(pa["packets"]) == a["frames"]["total"]
    assert a["bitrate_kbps"] == pytest.approx(akbps, rel=0.03)  # ffprobe's sizes lack the 2-byte AAC header
    assert a["frame_rate"] == pytest.approx(afps, rel=0.01)


# -- oracle 2: an FLV made by ffmpeg now, sent through a crafted RTMP session, against ffprobe ------


def read_flv(path: Path) -> list[tuple[int, int, bytes]]:
    data = path.read_bytes()
    pos = 9 + 4
    tags = []
    while pos + 11 <= len(data):
        type_id = data[pos]
        size = int.from_bytes(data[pos + 1:pos + 4], "big")
        ts = int.from_bytes(data[pos + 4:pos + 7], "big") | (data[pos + 7] << 24)
        tags.append((type_id, ts, data[pos + 11:pos + 11 + size]))
        pos += 11 + size + 4
    return tags


@pytest.fixture(scope="module")
def encoded_flv(tmp_path_factory) -> Path:
    if FFMPEG is None or FFPROBE is None:
        pytest.skip("ffmpeg/ffprobe are not installed (apt-get install ffmpeg); .ci/run installs it")
    path = tmp_path_factory.mktemp("media") / "publish.flv"
    result = subprocess.run(
        [FFMPEG, "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi",
         "-i", "sine=frequency=440:sample_rate=44100", "-t", "8", "-c:v", "libx264", "-profile:v", "high",
         "-preset", "veryfast", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-b:v", "600k",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", "-ac", "2", "-f", "flv", str(path)],
        capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.skip(f"ffmpeg could not encode the test stream (libx264 missing?): {result.stderr.strip()[:200]}")
    return path


@NEED_FFMPEG
def test_encoded_stream_through_rtmp_against_ffprobe(encoded_flv):
    sim = Sim()
    for type_id, ts, body in read_flv(encoded_flv):
        if type_id == 18:
            sim.send(0.9, 18, amf0("@setDataFrame") + body, 0)
        else:
            sim.send(1.0 + ts / 1000.0, type_id, body, ts)
    stats = sim.finish()
    s = only_stream(stats)
    probe = ffprobe(encoded_flv)
    v, a, pv, pa = s["video"], s["audio"], probe["video"], probe["audio"]
    assert (v["width"], v["height"], v["profile"]) == (pv["width"], pv["height"], pv["profile"]) \
        == (640, 360, "High")
    assert v["frames"]["total"] == len(pv["packets"]) == 200
    keys = [i for i, p in enumerate(pv["packets"]) if "K" in p["flags"]]
    assert v["frames"]["key"] == len(keys) == 4
    gaps = [b - a_ for a_, b in zip(keys, keys[1:])]
    assert v["keyframes"]["frames"] == {"mean": sum(gaps) / len(gaps), "min": min(gaps), "max": max(gaps)}
    key_ms = [round(float(pv["packets"][b]["pts_time"]) * 1000 - float(pv["packets"][a_]["pts_time"]) * 1000)
              for a_, b in zip(keys, keys[1:])]
    # RTMP timestamps are decode times; ffprobe's pts include the composition offset, equal for I frames here
    assert v["keyframes"]["ms"]["mean"] == pytest.approx(sum(key_ms) / len(key_ms), abs=2)
    fps, kbps = packet_rates(pv["packets"])
    assert v["frame_rate"] == pytest.approx(fps, rel=0.01) == pytest.approx(25.0, rel=0.01)
    assert v["bitrate_kbps"] == pytest.approx(kbps, rel=0.03)
    assert v["largest_frame"]["bytes"] == max(int(p["size"]) for p in pv["packets"]) + 5
    assert (a["sample_rate"], a["channels"], a["profile"]) == (int(pa["sample_rate"]), pa["channels"], pa["profile"])
    afps, akbps = packet_rates(pa["packets"])
    assert a["frames"]["total"] == len(pa["packets"])
    assert a["bitrate_kbps"] == pytest.approx(akbps, rel=0.03)
    assert s["metadata"]["width"] == 640 and s["metadata"]["framerate"] == 25
    # ffmpeg's declarations match what it sent (its bitrate target is loose on 8 s of a test pattern)
    assert [m["field"] for m in s["metadata_mismatches"] if "datarate" not in m["field"]] == []
    assert s["timing"]["clock_rate"] == pytest.approx(1.0, abs=0.01)


# -- oracle 3: samples/publish_play.pcap (samples/make_samples.sh) against the FLVs of the same run -------
# The publisher sent publish_play.source.flv with -c copy; rtmpdump and ffmpeg wrote what they played.


def sample(name: str) -> Path:
    path = ROOT / "samples" / name
    if not path.exists():
        pytest.skip(f"samples/{name} is not there (bash samples/make_samples.sh makes it)")
    return path


@pytest.fixture(scope="module")
def publish_play_doc() -> dict:
    return run_json(sample("publish_play.pcap"))


def assert_matches_flv(stream: dict, probe: dict, exact: bool) -> None:
    for kind in ("video", "audio"):
        ours, theirs = stream[kind], probe.get(kind)
        assert (ours is None) == (theirs is None), kind
        if ours is None:
            continue
        fps, kbps = packet_rates(theirs["packets"])
        assert ours["frame_rate"] == pytest.approx(fps, rel=0.01 if exact else 0.03), kind
        assert ours["bitrate_kbps"] == pytest.approx(kbps, rel=0.03 if exact else 0.06), kind
        if exact:
            assert ours["frames"]["total"] == len(theirs["packets"]), kind
        if kind == "video":
            assert (ours["width"], ours["height"]) == (theirs["width"], theirs["height"])
            assert ours["profile"] == theirs["profile"]
            if exact:
                assert ours["frames"]["key"] == sum(1 for p in theirs["packets"] if "K" in p["flags"])
        else:
            assert ours["sample_rate"] == int(theirs["sample_rate"])
            assert ours["channels"] == theirs["channels"]


@NEED_FFPROBE
def test_publish_play_publisher_against_source_flv(publish_play_doc):
    published = [s for f in publish_play_doc["flows"] for s in f["media_streams"] if s["dir"] == "c2s"]
    assert len(published) == 1
    assert_matches_flv(published[0], ffprobe(sample("publish_play.source.flv")), exact=True)
    assert published[0]["metadata_mismatches"] == [] or \
        all("datarate" in m["field"] for m in published[0]["metadata_mismatches"])


@NEED_FFPROBE
def test_publish_play_players_against_their_flvs(publish_play_doc):
    played = [s for f in publish_play_doc["flows"] for s in f["media_streams"] if s["dir"] == "s2c"]
    assert played, "no played media stream in samples/publish_play.pcap"
    rtmpdump = ffprobe(sample("publish_play.rtmpdump.flv"))
    # rtmpdump writes the tags it received as they are: one played stream matches it exactly.
    matched = 0
    for stream in played:
        try:
            assert_matches_flv(stream, rtmpdump, exact=True)
            matched += 1
        except AssertionError:
            assert_matches_flv(stream, rtmpdump, exact=False)
    assert matched >= 1
    assert not [s for s in played if s["timing"]["stalls"] or s["timing"]["timestamps_backwards"]]


def test_nal_units_are_walked_with_the_length_size_the_configuration_declares():
    # The real sequence header with lengthSizeMinusOne = 1 (2-byte NAL unit lengths), then a keyframe framed so.
    two_byte_seq = AVC_SEQ[:9] + bytes([0xFD]) + AVC_SEQ[10:]
    sei, idr = b"\x06\x05\x01\x80", b"\x65" + bytes(40)
    frame = b"\x17\x01\x00\x00\x00" + struct.pack(">H", len(sei)) + sei + struct.pack(">H", len(idr)) + idr
    sim = Sim()
    sim.send(1.0, 9, two_byte_seq, 0)
    sim.send(1.04, 9, frame, 40)
    sim.send(1.08, 9, AVC_SEQ, 80)  # back to 4-byte lengths
    sim.send(1.12, 9, video_frame(True), 120)
    config, framed, config4, framed4 = [r.payload for r in sim.records if r.type_id == 9]
    assert config.config.nal_length_size == 2 and config4.config.nal_length_size == 4
    assert framed.units == (6, 5) and framed.error is None
    assert framed4.units == (5,) and framed4.error is None
    # Without the configuration, the 4-byte default misreads the same frame.
    from rtmp_inspect.rtmp.media import parse_video
    assert parse_video(frame).units != (6, 5)


def test_nginx_rtmp_audiocodecid_zero_means_no_audio():
    """nginx-rtmp's onMetaData for a video-only stream: audiocodecid 0 and audiodatarate 0 say "no audio"."""
    sim = Sim()
    sim.send(0.5, 18, metadata(width=640, height=360, framerate=25, videocodecid=7, videodatarate=0,
                               audiocodecid=0, audiodatarate=0, audiosamplerate=0), 0)
    publish(sim, 4.0, audio=False)
    sim.finish()
    assert "media.metadata-mismatch" not in sim.codes()


def test_audiocodecid_zero_with_a_sample_rate_still_declares_audio():
    """SoundFormat 0 (linear PCM) with a sample rate is a declared track: its absence is still reported."""
    sim = Sim()
    sim.send(0.5, 18, metadata(width=640, height=360, framerate=25, videocodecid=7, audiocodecid=0,
                               audiosamplerate=44100), 0)
    publish(sim, 4.0, audio=False)
    sim.finish()
    assert [w.message for w in sim.warnings if w.code == "media.metadata-mismatch"] == \
        ["stream 1: onMetaData declares audio but the stream carried none"]
