"""Per-stream media analytics: what each audio/video stream of a session carried, and how it was timed.

`StreamStatistics` is a session observer (session.stats). It keeps one `MediaStream` per
(direction, message stream id) that carries audio or video, and reports, in the flow JSON under
"media_streams":

- codec settings from the sequence headers (codec, profile, level, width, height, sample rate, channels);
- what onMetaData / @setDataFrame declared, and where it disagrees with what was sent (`media.metadata-mismatch`);
- measured frame rate, bitrate overall and per RTMP-time second, keyframe interval, largest frame, frame counts;
- timing: A/V offset and drift, timestamps going backwards or jumping (`media.timestamp-backwards`,
  `media.timestamp-jump`), RTMP time against capture time (`media.clock-rate`), delivery stalls (`media.stall`).

Memory is bounded per stream whatever the capture's size: counters, a few extremes, and per-second byte
buckets for at most the first `MAX_SECONDS` seconds of RTMP time.

Definitions:
- A track's duration is the RTMP time from its first to its last coded frame plus one mean frame interval, so
  frame rate = frames / duration = (frames - 1) / (last - first timestamp); bitrate = 8 * body bytes (sequence
  headers included) / duration.
- Backwards/jump checks and frame timing use coded frames only (sequence headers are often stamped 0 by servers).
- Clock rate: for every media message, lead = RTMP timestamp - capture time. The message with the largest lead
  (the least delayed one) in the first `WINDOW_S` seconds and the one in the last 1-2 capture seconds give two
  points; clock rate = RTMP time between them / capture time between them. Taking the least delayed message makes
  this immune to start-up bursts (a server's GOP cache) and to network jitter. Stalls (reported by themselves)
  are taken out of capture time first.
- Timestamps count on past the 32-bit wrap (after 49.7 days), so JSON timestamps may exceed 2^32.
- `media.timestamp-backwards` is reported by ExpertChecks (analysis/expert.py); the counts are in this JSON.
- A/V drift = change of the video lead minus change of the audio lead, between those start and end points: how far
  video timestamps ran ahead of (positive) or behind audio timestamps over the session, relative to capture time.
"""

from __future__ import annotations

import math
from typing import Any

from ..rtmp.codec_config import AudioSpecificConfig, OpusHeader
from ..rtmp.media import (
    AUDIO_FOURCCS,
    VIDEO_FOURCCS,
    AudioInfo,
    VideoInfo,
    codec_name,
    is_keyframe,
    is_sequence_header,
    parse_audio,
    parse_video,
    track_views,
)
from ..rtmp.messages import Aggregate, AmfPayload, decode_body
from ..rtmp.vocabulary import Direction, MessageType
from .records import MessageRecord, WarningRecord

STALL_S = 2.0  # capture-time gap between consecutive media messages of a stream that counts as a stall
JUMP_MS = 5000  # forward timestamp step between consecutive frames of a track that counts as a jump
CLOCK_TOLERANCE = 0.05  # clock rate further than this from 1.0 ...
CLOCK_MIN_SPAN_S = 5.0  # ... measured over more than this many capture seconds gives media.clock-rate
BACKLOG_SHARE = 0.9  # full-sized data segments in a direction that had a backlog (the path held it back)
MIN_PATH_SEGMENTS = 100  # data segments needed to judge the share
WINDOW_S = 2.0  # capture seconds at the start used for the clock/drift start point
MAX_SECONDS = 3600  # per-second bitrate buckets kept per track
MAX_WARNINGS = 5  # warnings of one code per stream before the rest are only counted
FRAME_RATE_TOLERANCE = 0.10  # declared vs measured frame rate
DATA_RATE_TOLERANCE = 0.50  # declared vs measured bitrate (encoders' rate control is loose)
DATA_RATE_MIN_S = 5.0  # media duration needed before bitrates are compared
MAX_METADATA_KEYS = 64
MAX_RESOLUTIONS = 8

_DECLARED_FRAME_RATE_KEYS = ("framerate", "videoframerate", "fps")


def _r(value: float | None, digits: int = 3) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


class _Range:
    """count / mean / min / max of a series, in O(1)."""

    __slots__ = ("count", "total", "min", "max")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.min: float | None = None
        self.max: float | None = None

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        if self.min is None or value < self.min:
            self.min = value
        if self.max is None or value > self.max:
            self.max = value

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def to_json(self, digits: int = 1) -> dict[str, Any] | None:
        if not self.count:
            return None
        return {"mean": _r(self.mean, digits), "min": _r(self.min, digits), "max": _r(self.max, digits)}


class _Clock:
    """RTMP time against capture time, from the least delayed message near the start and near the end."""

    __slots__ = ("first_time", "start", "cur_sec", "cur", "prev")

    def __init__(self) -> None:
        self.first_time: float | None = None
        self.start: tuple[float, float, int] | None = None  # (lead ms, capture time s, timestamp ms)
        self.cur_sec: int | None = None
        self.cur: tuple[float, float, int] | None = None
        self.prev: tuple[float, float, int] | None = None

    def add(self, time: float, ts: int) -> None:
        """`time`: capture seconds with the stream's stalls so far taken out."""
        point = (ts - time * 1000.0, time, ts)
        if self.first_time is None:
            self.first_time = time
        if time < self.first_time + WINDOW_S and (self.start is None or point[0] > self.start[0]):
            self.start = point
        sec = int(time // 1)
        if self.cur_sec is None or sec > self.cur_sec:
            self.prev = self.cur if self.cur_sec is not None and sec == self.cur_sec + 1 else None
            self.cur_sec = sec
            self.cur = None
        if self.cur is None or point[0] > self.cur[0]:
            self.cur = point

    @property
    def end(self) -> tuple[float, float, int] | None:
        if self.prev is not None and (self.cur is None or self.prev[0] > self.cur[0]):
            return self.prev
        return self.cur

    def rate(self) -> tuple[float | None, float]:
        """(RTMP seconds per capture second, capture seconds it was measured over)."""
        start, end = self.start, self.end
        if start is None or end is None or end[1] - start[1] <= 0:
            return None, 0.0
        span = end[1] - start[1]
        return (end[2] - start[2]) / (1000.0 * span), span

    def lead_change(self) -> float | None:
        start, end = self.start, self.end
        if start is None or end is None or end[1] <= start[1]:
            return None
        return end[0] - start[0]


class _Track:
    """One kind of media (audio or video) of one stream."""

    def __init__(self, kind: str, track_id: int = 0) -> None:
        self.kind = kind
        self.track_id = track_id  # E-RTMP multitrack track id; 0 is the default track (and any one-track stream)
        self.messages = 0
        self.bytes = 0
        self.aggregated = 0  # messages that came inside aggregates
        self.frames = 0  # coded frames
        self.counts: dict[str, int] = {}
        self.sequence_headers = 0
        self.config_changes = 0
        self.last_config: bytes | None = None
        self.errors = 0
        self.codec: str | None = None
        self.settings: dict[str, Any] = {}
        self.resolutions: list[str] = []
        self.first_ts: int | None = None
        self.last_ts: int | None = None
        self.max_ts: int | None = None
        self.interval = _Range()
        self.largest: tuple[int, int, int] | None = None  # (bytes, frame, timestamp)
        self.per_second: list[int] = []
        self.per_second_dropped = 0  # bytes past MAX_SECONDS or far before the stream's base
        self.per_second_truncated = False  # some bytes fell past MAX_SECONDS
        self.early_bytes = 0  # bytes before the stream's first coded frame (sequence headers): second 0
        self.epoch = 0  # added to timestamps after they wrapped at 2^32
        self.raw_last: int | None = None
        self.clock = _Clock()
        self.backwards = 0
        self.jumps = 0
        # video only
        self.keyframes = 0
        self.last_key: tuple[int, int] | None = None  # (frame index, timestamp)
        self.key_frames_between = _Range()
        self.key_ms_between = _Range()

    @property
    def label(self) -> str:
        return self.kind if not self.track_id else f"{self.kind} track {self.track_id}"

    def unwrap(self, ts: int, update: bool) -> int:
        """RTMP timestamps are 32-bit milliseconds and wrap after 49.7 days: count on past the wrap."""
        last = self.raw_last
        if last is not None and last - ts > 1 << 31:
            if update:
                self.epoch += 1 << 32
            else:
                return ts + self.epoch + (1 << 32)
        if update:
            self.raw_last = ts
        return ts + self.epoch

    def count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def add_bytes(self, ts: int, size: int, base: int | None) -> None:
        self.bytes += size
        if base is None:
            self.early_bytes += size
            return
        if self.early_bytes:
            size += self.early_bytes
            self.early_bytes = 0
        index = (ts - base) // 1000
        if -1 <= index < 0:
            index = 0  # a frame a little before the stream's first frame (the other track started first)
        if index < 0 or index >= MAX_SECONDS:
            self.per_second_dropped += size
            if index >= MAX_SECONDS:
                self.per_second_truncated = True
            return
        buckets = self.per_second
        if index >= len(buckets):
            buckets.extend([0] * (index + 1 - len(buckets)))
        buckets[index] += size

    @property
    def duration_ms(self) -> float | None:
        if self.frames < 2 or self.first_ts is None or self.last_ts is None:
            return None
        span = self.max_ts - self.first_ts if self.max_ts is not None else self.last_ts - self.first_ts
        if span <= 0:
            return None
        return span * self.frames / (self.frames - 1)

    @property
    def frame_rate(self) -> float | None:
        duration = self.duration_ms
        return None if not duration else self.frames * 1000.0 / duration

    @property
    def bitrate_kbps(self) -> float | None:
        duration = self.duration_ms
        return None if not duration else self.bytes * 8 / duration  # bits per ms = kbit/s

    def add_resolution(self, width: Any, height: Any) -> None:
        if width is None or height is None:
            return
        text = f"{width}x{height}"
        if text not in self.resolutions and len(self.resolutions) < MAX_RESOLUTIONS:
            self.resolutions.append(text)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"codec": self.codec}
        out.update(self.settings)
        out["sequence_headers"] = self.sequence_headers
        out["config_changes"] = self.config_changes
        if self.kind == "video":
            out["resolutions"] = list(self.resolutions)
        out["messages"] = self.messages
        out["aggregated"] = self.aggregated
        out["bytes"] = self.bytes
        frames: dict[str, int] = {"total": self.frames}
        names = ("key", "inter", "disposable", "generated_key") if self.kind == "video" else ()
        for name in names:
            frames[name] = self.counts.get(name, 0)
        for name in sorted(self.counts):
            if name not in frames:
                frames[name] = self.counts[name]
        frames["sequence_headers"] = self.sequence_headers
        out["frames"] = frames
        out["decode_errors"] = self.errors
        out["first_timestamp"] = self.first_ts
        out["last_timestamp"] = self.last_ts
        out["duration_ms"] = _r(self.duration_ms, 1)
        out["frame_rate"] = _r(self.frame_rate, 3)
        out["frame_interval_ms"] = self.interval.to_json(1)
        out["bitrate_kbps"] = _r(self.bitrate_kbps, 1)
        out["bitrate_per_second_kbps"] = [round(b * 8 / 1000, 1) for b in self.per_second]
        out["per_second_truncated"] = self.per_second_truncated
        if self.kind == "video":
            key: dict[str, Any] | None = None
            if self.keyframes:
                key = {"count": self.keyframes, "intervals": self.key_frames_between.count,
                       "frames": self.key_frames_between.to_json(1), "ms": self.key_ms_between.to_json(1)}
            out["keyframes"] = key
        out["largest_frame"] = None if self.largest is None else {
            "bytes": self.largest[0], "frame": self.largest[1], "timestamp": self.largest[2]}
        out["timestamps_backwards"] = self.backwards
        out["timestamp_jumps"] = self.jumps
        return out

    def describe(self) -> str:
        parts = [self.codec or self.kind]
        s = self.settings
        if s.get("profile"):
            parts.append(str(s["profile"]))
        if self.kind == "video":
            if s.get("width") is not None and s.get("height") is not None:
                parts.append(f"{s['width']}x{s['height']}")
            if self.frame_rate is not None:
                parts.append(f"{self.frame_rate:.1f} fps")
        else:
            rate = s.get("output_sample_rate") or s.get("sample_rate")  # HE-AAC: the SBR output rate
            if rate:
                parts.append(f"{rate / 1000:g} kHz")
            if s.get("channels") is not None:
                parts.append(f"{s['channels']} ch")
        if self.bitrate_kbps is not None:
            parts.append(f"{self.bitrate_kbps:.0f} kbit/s")
        return " ".join(parts)


def _video_settings(info: VideoInfo) -> dict[str, Any]:
    cfg = info.config
    out: dict[str, Any] = {"profile": None, "level": None, "width": info.width, "height": info.height}
    if cfg is None:
        return out
    profile = getattr(cfg, "profile_name", None)
    vp_profile = getattr(cfg, "profile", None)  # VP8/VP9
    if profile is None and vp_profile is not None:
        profile = f"profile {vp_profile}"
    level = getattr(cfg, "level_name", None) if hasattr(cfg, "level_name") else getattr(cfg, "level", None)
    out["profile"] = profile if isinstance(profile, str) and profile != "?" else None
    out["level"] = level if isinstance(level, str) and level not in ("?", "") else None
    sps = getattr(cfg, "sps", None)
    rate = getattr(sps, "frame_rate", None) if sps is not None else getattr(cfg, "frame_rate", None)
    if rate:
        out["bitstream_frame_rate"] = _r(rate, 3)
    return out


def _audio_settings(info: AudioInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"profile": None, "sample_rate": None, "channels": None}
    cfg = info.config
    if cfg is None:
        if not info.enhanced and info.sound_format != 10:
            out["sample_rate"] = info.sample_rate
            out["channels"] = info.channels
            out["sample_size"] = info.sound_size
        elif info.enhanced and info.sample_rate:  # AC-3 / E-AC-3: from the sync frame header
            out["sample_rate"] = info.sample_rate
            out["channels"] = info.channels
        if info.multichannel is not None and info.multichannel.channel_count is not None:
            out["channels"] = info.multichannel.channel_count
        return out
    if isinstance(cfg, AudioSpecificConfig):  # AAC
        out["profile"] = cfg.profile if cfg.profile != "?" else None
        out["sample_rate"] = cfg.sampling_frequency
        if cfg.sbr and cfg.extension_sampling_frequency:
            out["output_sample_rate"] = cfg.extension_sampling_frequency
        out["channels"] = cfg.channels
    elif isinstance(cfg, OpusHeader):
        out["sample_rate"] = cfg.input_sample_rate
        out["channels"] = cfg.channels
    else:  # FLAC
        out["sample_rate"] = getattr(cfg, "sample_rate", None)
        out["channels"] = getattr(cfg, "channels", None)
        out["sample_size"] = getattr(cfg, "bits_per_sample", None)
    return out


def _metadata_object(payload: AmfPayload) -> dict[str, Any] | None:
    name, args = payload.name, payload.args
    if name == "@setDataFrame":
        if len(args) >= 2 and args[0] == "onMetaData" and isinstance(args[1], dict):
            return args[1]
    elif name == "onMetaData" and args and isinstance(args[0], dict):
        return args[0]
    return None


def _scalars(obj: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if len(out) >= MAX_METADATA_KEYS:
            break
        if not isinstance(key, str):
            continue
        if isinstance(value, bool) or value is None:
            out[key] = value
        elif isinstance(value, (int, float)):
            if math.isfinite(value):
                out[key] = value
        elif isinstance(value, str):
            out[key] = value[:256]
    return out


def _track_metadata(obj: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    """E-RTMP v2 onMetaData: videoTrackIdInfoMap / audioTrackIdInfoMap, {track id (a string): properties of that
    track, which override the top-level ones}."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for kind in ("video", "audio"):
        found = obj.get(f"{kind}TrackIdInfoMap")
        if not isinstance(found, dict):
            continue
        for key, value in list(found.items())[:MAX_METADATA_KEYS]:
            if isinstance(key, str) and key.isdigit() and len(key) <= 3 and isinstance(value, dict):
                out[(kind, int(key))] = _scalars(value)
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _declared_codec(value: Any, video: bool) -> str | None:
    """onMetaData videocodecid/audiocodecid (a CodecID/SoundFormat number, or a FourCC as string or number)."""
    fourccs = VIDEO_FOURCCS if video else AUDIO_FOURCCS
    if isinstance(value, str):
        return fourccs.get(value)
    number = _number(value)
    if number is None or number != int(number) or number < 0:
        return None
    number = int(number)
    if number > 255:
        fourcc = number.to_bytes(4, "big", signed=False).decode("latin-1") if number < 1 << 32 else ""
        return fourccs.get(fourcc)
    if video:
        return codec_name(VideoInfo(codec_id=number))
    if number > 15:
        return None
    return codec_name(AudioInfo(sound_format=number))


class MediaStream:
    """Everything measured about one (direction, message stream id)."""

    def __init__(self, dir: str, stream_id: int) -> None:
        self.dir = dir
        self.stream_id = stream_id
        self.video: _Track | None = None  # the default track (track id 0) of each kind
        self.audio: _Track | None = None
        self.more_tracks: dict[tuple[str, int], _Track] = {}  # E-RTMP multitrack: (kind, track id) of the others
        self.track_metadata: dict[tuple[str, int], dict[str, Any]] = {}  # onMetaData's {video,audio}TrackIdInfoMap
        self.base_ts: int | None = None  # first coded frame's timestamp: second 0 of the per-second lists
        self.metadata: dict[str, Any] | None = None
        self.metadata_count = 0
        self.metadata_frame: int | None = None
        self.metadata_time: float | None = None
        self.first_time: float | None = None
        self.last_time: float | None = None
        self.last_frame: int | None = None
        self.clock = _Clock()
        self.stalls = 0
        self.stall_seconds = 0.0
        self.longest_stall: tuple[float, int, float] | None = None  # (seconds, frame, time)
        self.warning_counts: dict[str, int] = {}
        self.mismatches: list[dict[str, Any]] = []

    @property
    def has_media(self) -> bool:
        return self.video is not None or self.audio is not None or bool(self.more_tracks)

    def track(self, kind: str, track_id: int = 0) -> _Track:
        if track_id:
            found = self.more_tracks.get((kind, track_id))
            if found is None:
                found = self.more_tracks[(kind, track_id)] = _Track(kind, track_id)
            return found
        track: _Track | None = getattr(self, kind)  # self.video or self.audio
        if track is None:
            track = _Track(kind)
            setattr(self, kind, track)
        return track

    def other_tracks(self) -> list[_Track]:
        """The tracks besides the default ones, video first, by track id."""
        return [t for _, t in sorted(self.more_tracks.items(), key=lambda kv: (kv[0][0] != "video", kv[0][1]))]

    def describe(self) -> str:
        parts = [t.describe() for t in (self.video, self.audio) if t is not None]
        parts += [f"{t.kind} track {t.track_id}: {t.describe()}" for t in self.other_tracks()]
        return " + ".join(parts) if parts else "no media"

    def timing_json(self) -> dict[str, Any]:
        rate, span = self.clock.rate()
        v_lead = self.video.clock.lead_change() if self.video else None
        a_lead = self.audio.clock.lead_change() if self.audio else None
        drift = None if v_lead is None or a_lead is None else v_lead - a_lead
        offset: dict[str, Any] | None = None
        # (last_ts is set whenever first_ts is)
        if self.video and self.audio and self.video.first_ts is not None and self.audio.first_ts is not None \
                and self.video.last_ts is not None and self.audio.last_ts is not None:
            offset = {"start": self.video.first_ts - self.audio.first_ts,
                      "end": self.video.last_ts - self.audio.last_ts}
        rtmp_first = [t.first_ts for t in (self.video, self.audio) if t is not None and t.first_ts is not None]
        rtmp_last = [t.max_ts for t in (self.video, self.audio) if t is not None and t.max_ts is not None]
        return {
            "first_time": self.first_time,
            "last_time": self.last_time,
            "capture_duration_s": None if self.first_time is None or self.last_time is None
            else _r(self.last_time - self.first_time, 6),
            "rtmp_first_timestamp": min(rtmp_first) if rtmp_first else None,
            "rtmp_last_timestamp": max(rtmp_last) if rtmp_last else None,
            "rtmp_duration_s": _r((max(rtmp_last) - min(rtmp_first)) / 1000.0, 3) if rtmp_first else None,
            "per_second_base_timestamp": self.base_ts,
            "clock_rate": _r(rate, 4),
            "clock_rate_span_s": _r(span, 3),
            "av_offset_ms": offset,
            "av_drift_ms": _r(drift, 1),
            "timestamps_backwards": sum(t.backwards for t in (self.video, self.audio) if t is not None),
            "timestamp_jumps": sum(t.jumps for t in (self.video, self.audio) if t is not None),
            "stalls": self.stalls,
            "stall_seconds": _r(self.stall_seconds, 3),
            "longest_stall": None if self.longest_stall is None else {
                "seconds": _r(self.longest_stall[0], 6), "frame": self.longest_stall[1],
                "time": self.longest_stall[2]},
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "dir": self.dir,
            "stream_id": self.stream_id,
            "description": self.describe(),
            "metadata": self.metadata,
            "metadata_count": self.metadata_count,
            "metadata_mismatches": list(self.mismatches),
            "video": self.video.to_json() if self.video else None,
            "audio": self.audio.to_json() if self.audio else None,
            "timing": self.timing_json(),
            # E-RTMP multitrack: the tracks besides the default one of each kind (video and audio above)
            "tracks": [{"kind": t.kind, "track_id": t.track_id,
                        "metadata": self.track_metadata.get((t.kind, t.track_id)), **t.to_json()}
                       for t in self.other_tracks()],
        }


class StreamStatistics:
    """Session observer: per-stream media analytics, in the flow JSON as "media_streams"."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.flow_id = getattr(session, "id", None)
        self._streams: dict[tuple[str, int], MediaStream] = {}

    # -- observer interface ----------------------------------------------------------------------

    def observe(self, record: MessageRecord) -> list[WarningRecord]:
        type_id = record.type_id
        if type_id == MessageType.AUDIO or type_id == MessageType.VIDEO:
            out: list[WarningRecord] = []
            stream = self._stream(record.dir, record.stream_id)
            self._delivered(stream, record, out)
            info = record.payload
            if not isinstance(info, (AudioInfo, VideoInfo)):
                info = parse_audio(record.body) if type_id == MessageType.AUDIO else parse_video(record.body)
            self._media_tracks(stream, record, type_id, record.timestamp, record.body, info, False, out)
            return out
        if type_id == MessageType.DATA_AMF0 or type_id == MessageType.DATA_AMF3:
            if isinstance(record.payload, AmfPayload):
                self._data(record.dir, record.stream_id, record, record.payload)
            return []
        if type_id == MessageType.AGGREGATE and isinstance(record.payload, Aggregate):
            return self._aggregate(record, record.payload)
        return []

    def finish(self) -> list[WarningRecord]:
        out: list[WarningRecord] = []
        for stream in self.streams:
            self._check_metadata(stream, out)
            self._check_clock(stream, out)
            for code, count in sorted(stream.warning_counts.items()):
                if count > MAX_WARNINGS:
                    out.append(self._warning(
                        code, "info", stream.last_frame, stream.last_time, stream.dir,
                        f"stream {stream.stream_id}: {count - MAX_WARNINGS} more {code} not listed "
                        f"({count} in all)"))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"media_streams": [s.to_json() for s in self.streams]}

    # -- for other analyses ------------------------------------------------------------------------

    @property
    def streams(self) -> list[MediaStream]:
        """The streams that carried audio or video, by direction then message stream id."""
        return [s for _, s in sorted(self._streams.items()) if s.has_media]

    def stream(self, dir: str, stream_id: int) -> MediaStream | None:
        found = self._streams.get((dir, stream_id))
        return found if found is not None and found.has_media else None

    def describe(self, dir: str | None = None, stream_id: int | None = None) -> str:
        """One line per matching stream (MediaStream.describe), e.g.
        "H.264 High 640x360 25.0 fps 812 kbit/s + AAC LC 44.1 kHz 2 ch 97 kbit/s"."""
        lines = [s.describe() for s in self.streams
                 if (dir is None or s.dir == dir) and (stream_id is None or s.stream_id == stream_id)]
        return "\n".join(lines)

    # -- internals ---------------------------------------------------------------------------------

    def _stream(self, dir: str, stream_id: int) -> MediaStream:
        key = (dir, stream_id)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = MediaStream(dir, stream_id)
        return stream

    def _warning(self, code: str, severity: str, frame: int | None, time: float | None, dir: str | None,
                 message: str) -> WarningRecord:
        return WarningRecord(self.flow_id, code, severity, frame, message, dir, time)

    def _limited(self, stream: MediaStream, out: list[WarningRecord], code: str, record: MessageRecord,
                 message: str) -> None:
        count = stream.warning_counts.get(code, 0) + 1
        stream.warning_counts[code] = count
        if count <= MAX_WARNINGS:
            out.append(self._warning(code, "warning", record.frame, record.time, record.dir, message))

    def _delivered(self, stream: MediaStream, record: MessageRecord, out: list[WarningRecord]) -> None:
        """A media message (or aggregate) arrived: stall check on capture time."""
        time = record.time
        if stream.last_time is not None:
            gap = time - stream.last_time
            if gap > STALL_S:
                stream.stalls += 1
                stream.stall_seconds += gap
                if stream.longest_stall is None or gap > stream.longest_stall[0]:
                    stream.longest_stall = (gap, record.frame, time)
                self._limited(stream, out, "media.stall", record,
                              f"stream {stream.stream_id}: no media for {gap:.3f} s of capture time "
                              f"(previous media message at {stream.last_time:.6f} s)")
        if stream.first_time is None:
            stream.first_time = time
        if stream.last_time is None or time >= stream.last_time:
            stream.last_time = time
        stream.last_frame = record.frame

    def _media_tracks(self, stream: MediaStream, record: MessageRecord, type_id: int, ts: int, body: bytes,
                      info: AudioInfo | VideoInfo, aggregated: bool, out: list[WarningRecord]) -> None:
        if info.multitrack_type is None:
            self._media(stream, record, type_id, ts, body, info, aggregated, len(body), 0, out)
            return
        for track_id, view in track_views(info):  # each track of an E-RTMP multitrack message by itself
            self._media(stream, record, type_id, ts, body, view, aggregated, view.payload_length or 0, track_id, out)

    def _media(self, stream: MediaStream, record: MessageRecord, type_id: int, ts: int, body: bytes,
               info: AudioInfo | VideoInfo, aggregated: bool, size: int, track_id: int,
               out: list[WarningRecord]) -> None:
        """One message (or one track of a multitrack message: `size` is then the track's payload)."""
        kind = "video" if type_id == MessageType.VIDEO else "audio"
        track = stream.track(kind, track_id)
        track.messages += 1
        if aggregated:
            track.aggregated += 1
        if info.error:
            track.errors += 1
        codec = codec_name(info)
        if codec is not None:
            track.codec = codec
        coded = False
        if kind == "video":
            assert isinstance(info, VideoInfo)
            if info.command is not None:
                track.count("commands")
            elif is_sequence_header(info):
                self._sequence_header(track, info, body)
            elif info.packet_type == 2 and (info.enhanced or info.codec_id in (7, 12, 13)):
                track.count("end_of_sequence")
            elif info.enhanced and info.packet_type == 4:
                track.count("metadata")
            elif info.frame_type in (1, 2, 3, 4) and (info.codec_id is not None or info.enhanced):
                coded = True
                name = {1: "key", 2: "inter", 3: "disposable", 4: "generated_key"}[info.frame_type]
                track.count(name)
                if not track.sequence_headers:
                    track.add_resolution(info.width, info.height)  # H.263 / VP6 carry the size in each frame
                    if info.width is not None and not track.settings.get("width"):
                        track.settings.update({"profile": None, "level": None,
                                               "width": info.width, "height": info.height})
            else:
                track.count("other")
        else:
            assert isinstance(info, AudioInfo)
            if info.silence:
                track.count("silence")
            elif is_sequence_header(info):
                self._sequence_header(track, info, body)
            elif info.sound_format is None or (info.enhanced and info.packet_type != 1):
                track.count("other")
            else:
                coded = True
                if not track.settings and (not (info.sound_format == 10 or info.enhanced)
                                           or (info.enhanced and info.sample_rate)):
                    track.settings = _audio_settings(info)
        ts = track.unwrap(ts, coded)
        if coded:
            self._frame(stream, track, record, ts, size, info, out)
        track.add_bytes(ts, size, stream.base_ts)

    def _sequence_header(self, track: _Track, info: AudioInfo | VideoInfo, body: bytes) -> None:
        track.sequence_headers += 1
        start = info.payload_offset or 0
        end = len(body) if info.payload_length is None else start + info.payload_length
        config = bytes(body[start:end][:4096])
        settings = _video_settings(info) if isinstance(info, VideoInfo) else _audio_settings(info)
        if track.sequence_headers == 1:
            track.settings = settings
        elif track.last_config is not None and config != track.last_config:
            track.config_changes += 1
            track.settings = settings  # report what the stream ended with
        if isinstance(info, VideoInfo):
            track.add_resolution(info.width, info.height)
        track.last_config = config

    def _frame(self, stream: MediaStream, track: _Track, record: MessageRecord, ts: int, size: int,
               info: AudioInfo | VideoInfo, out: list[WarningRecord]) -> None:
        if stream.base_ts is None:
            stream.base_ts = ts
        track.frames += 1
        index = track.frames
        previous = track.last_ts
        if previous is not None:
            step = ts - previous
            if step < 0:
                track.backwards += 1  # reported by ExpertChecks
            else:
                if step > JUMP_MS:
                    track.jumps += 1
                    self._limited(stream, out, "media.timestamp-jump", record,
                                  f"stream {stream.stream_id} {track.label}: timestamp jumped from {previous} "
                                  f"to {ts} ms (+{step} ms)")
                else:
                    track.interval.add(step)
        else:
            track.first_ts = ts
        track.last_ts = ts
        if track.max_ts is None or ts > track.max_ts:
            track.max_ts = ts
        if track.largest is None or size > track.largest[0]:
            track.largest = (size, record.frame, ts)
        paced = record.time - stream.stall_seconds  # stalls are reported by themselves, not as a slow clock
        track.clock.add(paced, ts)
        stream.clock.add(paced, ts)
        if isinstance(info, VideoInfo) and is_keyframe(info):
            track.keyframes += 1
            if track.last_key is not None:
                track.key_frames_between.add(index - track.last_key[0])
                track.key_ms_between.add(ts - track.last_key[1])
            track.last_key = (index, ts)

    def _data(self, dir: str, stream_id: int, record: MessageRecord, payload: AmfPayload) -> None:
        obj = _metadata_object(payload)
        if obj is None:
            return
        stream = self._stream(dir, stream_id)
        stream.metadata = _scalars(obj)
        stream.track_metadata = _track_metadata(obj)
        stream.metadata_count += 1
        stream.metadata_frame = record.frame
        stream.metadata_time = record.time

    def _aggregate(self, record: MessageRecord, aggregate: Aggregate) -> list[WarningRecord]:
        out: list[WarningRecord] = []
        stream: MediaStream | None = None
        body = record.body
        for part in aggregate.parts:
            piece = body[part.body_offset:part.body_offset + part.length]
            if part.type_id in (MessageType.AUDIO, MessageType.VIDEO):
                if stream is None:
                    stream = self._stream(record.dir, record.stream_id)
                    self._delivered(stream, record, out)
                info = parse_audio(piece) if part.type_id == MessageType.AUDIO else parse_video(piece)
                self._media_tracks(stream, record, part.type_id, part.timestamp, piece, info, True, out)
            elif part.type_id in (MessageType.DATA_AMF3, MessageType.DATA_AMF0):
                payload = decode_body(part.type_id, piece, part.timestamp)
                if isinstance(payload, AmfPayload):
                    self._data(record.dir, record.stream_id, record, payload)
        return out

    # -- end-of-flow checks ------------------------------------------------------------------------

    def _check_clock(self, stream: MediaStream, out: list[WarningRecord]) -> None:
        rate, span = stream.clock.rate()
        if rate is None or span <= CLOCK_MIN_SPAN_S or abs(rate - 1.0) <= CLOCK_TOLERANCE:
            return
        pace = "faster" if rate > 1 else "slower"
        out.append(self._warning(
            "media.clock-rate", "warning", stream.last_frame, stream.last_time, stream.dir,
            f"stream {stream.stream_id}: RTMP timestamps advanced {rate:.3f}x as fast as capture time over "
            f"{span:.1f} s: the sender runs {pace} than real time"))
        if rate < 1 and stream.dir == Direction.C2S:
            # (only what the client publishes: a player's stream that falls behind follows its source)
            self._check_path(stream, out)

    def _check_path(self, stream: MediaStream, out: list[WarningRecord]) -> None:
        """A stream falling behind real time: is the path the bottleneck? What the TCP direction carried per
        second of capture against what the media needs per second of its own timestamps."""
        tracks = [t for t in (stream.video, stream.audio) if t is not None] + stream.other_tracks()
        firsts = [t.first_ts for t in tracks if t.first_ts is not None]
        lasts = [t.max_ts for t in tracks if t.max_ts is not None]
        if not firsts or not lasts or stream.first_time is None or stream.last_time is None:
            return
        media_s = (max(lasts) - min(firsts)) / 1000.0
        capture_s = stream.last_time - stream.first_time
        if media_s <= 0 or capture_s <= 0:
            return
        # Held back by the path, the sender has a backlog: nearly every data segment it sends is full-sized.
        # A sender with nothing waiting (a slow encoder) ends a segment with each message.
        flow = self.session.tcp_flow
        direction = self.session.client_index if stream.dir == Direction.C2S else 1 - self.session.client_index
        data = getattr(flow, "data_segments", [0, 0])[direction]
        full = getattr(flow, "full_segments", [0, 0])[direction]
        if data < MIN_PATH_SEGMENTS or full < data * BACKLOG_SHARE:
            return
        needed = sum(t.bytes for t in tracks) * 8 / media_s
        carried = self.session.byte_counts[stream.dir] * 8 / capture_s
        out.append(self._warning(
            "network.too-slow", "warning", stream.last_frame, stream.last_time, stream.dir,
            f"stream {stream.stream_id}: the path carried {carried / 1e6:.2f} Mbit/s while the stream needs "
            f"{needed / 1e6:.2f} Mbit/s; media fell {capture_s - media_s:.1f} s behind real time in {capture_s:.1f} s "
            f"of capture ({100 * full / data:.0f}% of the data segments were full: the sender had a backlog)"))

    def _check_metadata(self, stream: MediaStream, out: list[WarningRecord]) -> None:
        top = stream.metadata
        if top is None:
            return
        found: list[tuple[str, Any, Any]] = []
        video, audio = stream.video, stream.audio
        # the default tracks: the top-level properties, as track 0's entries of the track maps override them
        declared = {**top, **stream.track_metadata.get(("video", 0), {}), **stream.track_metadata.get(("audio", 0), {})}
        declares_video = "videocodecid" in declared and declared["videocodecid"] not in (0, "", None) \
            or any((_number(declared.get(k)) or 0) > 0 for k in ("width", "height", "videodatarate"))
        audio_figures = any((_number(declared.get(k)) or 0) > 0 for k in ("audiosamplerate", "audiodatarate"))
        # nginx-rtmp writes audiocodecid 0 with audiodatarate 0 to mean "no audio"; SoundFormat 0 (linear PCM)
        # really sent comes with a sample rate or a data rate.
        codec_id = declared.get("audiocodecid")
        declares_audio = "audiocodecid" in declared and codec_id not in ("", None) \
            and not (_number(codec_id) == 0 and not audio_figures) or audio_figures
        # A declared track that never came, once the other has run long enough (2 s) to expect it.
        for name, declares, track, other in (("video", declares_video, video, audio),
                                             ("audio", declares_audio, audio, video)):
            if declares and track is None and other is not None and (other.duration_ms or 0) >= 2000:
                found.append((name, "present", "absent"))
        if video is not None:
            self._video_mismatches(declared, video, found, "")
        if audio is not None:
            self._audio_mismatches(declared, audio, found, "")
        # E-RTMP multitrack: the other tracks against their own entries of the track maps (only what those say)
        for track in stream.other_tracks():
            entry = stream.track_metadata.get((track.kind, track.track_id))
            if not entry:
                continue
            prefix = f"{track.kind}TrackIdInfoMap[{track.track_id}]."
            if track.kind == "video":
                self._video_mismatches(entry, track, found, prefix)
            else:
                self._audio_mismatches(entry, track, found, prefix)
        for key, want, have in found:
            stream.mismatches.append({"field": key, "declared": want, "measured": have})
            if key in ("video", "audio"):
                text = f"onMetaData declares {key} but the stream carried none"
            else:
                measured = have if isinstance(have, str) else _show(have)
                text = f"onMetaData declares {key}={_show(want)} but the stream has {measured}"
            out.append(self._warning("media.metadata-mismatch", "warning", stream.metadata_frame,
                                     stream.metadata_time, stream.dir, f"stream {stream.stream_id}: {text}"))

    def _video_mismatches(self, declared: dict[str, Any], video: _Track, found: list[tuple[str, Any, Any]],
                          prefix: str) -> None:
        vs = video.settings
        for key in ("width", "height"):
            want = _number(declared.get(key))
            have = vs.get(key)
            if want is not None and want > 0 and have is not None and int(round(want)) != have:
                found.append((prefix + key, declared[key], have))
        want_codec = _declared_codec(declared.get("videocodecid"), True) if "videocodecid" in declared else None
        if want_codec is not None and video.codec is not None and want_codec != video.codec:
            found.append((prefix + "videocodecid", declared["videocodecid"], video.codec))
        for key in _DECLARED_FRAME_RATE_KEYS:
            want = _number(declared.get(key))
            if want is None or want <= 0:
                continue
            rate = video.frame_rate
            if rate is not None and video.frames >= 10 and (video.duration_ms or 0) >= 1000 \
                    and abs(rate - want) / want > FRAME_RATE_TOLERANCE:
                found.append((prefix + key, declared[key], _r(rate, 3)))
            break
        self._check_rate(declared, "videodatarate", video, found, prefix)

    def _audio_mismatches(self, declared: dict[str, Any], audio: _Track, found: list[tuple[str, Any, Any]],
                          prefix: str) -> None:
        aus = audio.settings
        want = _number(declared.get("audiosamplerate"))
        rates = {aus.get("sample_rate"), aus.get("output_sample_rate")} - {None}
        if want is not None and want > 0 and rates and int(round(want)) not in rates:
            found.append((prefix + "audiosamplerate", declared["audiosamplerate"], aus.get("sample_rate")))
        channels = aus.get("channels")
        want = _number(declared.get("audiochannels"))
        if want is not None and want > 0 and channels is not None and int(round(want)) != channels:
            found.append((prefix + "audiochannels", declared["audiochannels"], channels))
        stereo = declared.get("stereo")
        if isinstance(stereo, bool) and channels is not None and stereo != (channels >= 2):
            found.append((prefix + "stereo", stereo, channels))
        want = _number(declared.get("audiosamplesize"))
        size = aus.get("sample_size")
        if want is not None and want > 0 and size is not None and int(round(want)) != size:
            found.append((prefix + "audiosamplesize", declared["audiosamplesize"], size))
        want_codec = _declared_codec(declared.get("audiocodecid"), False) if "audiocodecid" in declared else None
        if want_codec is not None and audio.codec is not None and want_codec != audio.codec:
            found.append((prefix + "audiocodecid", declared["audiocodecid"], audio.codec))
        self._check_rate(declared, "audiodatarate", audio, found, prefix)

    @staticmethod
    def _check_rate(declared: dict[str, Any], key: str, track: _Track, found: list[tuple[str, Any, Any]],
                    prefix: str) -> None:
        want = _number(declared.get(key))
        have = track.bitrate_kbps
        if want is None or want <= 0 or have is None or (track.duration_ms or 0) < DATA_RATE_MIN_S * 1000:
            return
        if abs(have - want) / want > DATA_RATE_TOLERANCE:
            found.append((prefix + key, declared[key], _r(have, 1)))


def _show(value: Any) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    return str(value)
