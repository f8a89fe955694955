"""Ingest profiles (`--profile NAME|FILE.toml`): a platform's published rules for what it ingests, checked
against what a publisher sent.

A profile is a TOML file (the built-in ones are in `profiles/`: youtube, twitch, facebook, generic). Every
part is optional:

    name = "YouTube"                       source = "https://..."   (the page the rules come from)
    [keyframe_interval]  max_s, recommended_s, says
    [video]              codecs, enhanced_rtmp (codecs only Enhanced RTMP signals), max_frame_rate,
                         frame_rates (the allowed ones), max_kbps, cbr (true: constant bitrate asked), says
    [audio]              codecs, sample_rates, channels, max_kbps, says
    [[bitrate]]          max_height, max_frame_rate, min_kbps, max_kbps, says  (by resolution and frame rate)

`says` is the platform's rule in its own words; every finding names the measured value, the rule and the
source. Breaking a "do not exceed" or a requirement is a warning; missing a recommendation is an info.
The checks read what the statistics measured (media_stats.py) of every stream the client sent.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..rtmp.vocabulary import Direction
from .records import MessageRecord, WarningRecord

PROFILE_DIR = Path(__file__).parent / "profiles"
KEYFRAME_SLACK_S = 0.05  # timestamps are milliseconds: 2.001 s is a 2 s interval
FRAME_RATE_SLACK = 0.05  # 29.97 is 30
CBR_MAX_VARIATION = 0.5  # coefficient of variation of the bitrate over 2-second windows: more is not CBR
MIN_SECONDS = 4  # media needed before rates are judged


class ProfileError(ValueError):
    """A profile that cannot be used: one line."""


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    source: str
    keyframe: dict[str, Any] = field(default_factory=dict)
    video: dict[str, Any] = field(default_factory=dict)
    audio: dict[str, Any] = field(default_factory=dict)
    bitrate: tuple[dict[str, Any], ...] = ()

    def cite(self, says: str | None) -> str:
        """'YouTube: <its words> (<source>)'."""
        return f"{self.name}: {says or 'see its rules'} ({self.source})"


def builtin_profiles() -> list[str]:
    return sorted(path.stem for path in PROFILE_DIR.glob("*.toml"))


def load_profile(name: str) -> Profile:
    """A built-in profile by name, or a user's TOML file by path (ProfileError, one line, if unusable)."""
    builtin = PROFILE_DIR / f"{name}.toml"
    path = builtin if builtin.is_file() and "/" not in name else Path(name)
    if not path.is_file():
        raise ProfileError(f"{name}: no such profile (built in: {', '.join(builtin_profiles())}; or a .toml file)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{name}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{name}: not valid TOML ({exc})") from None
    return _profile(name, data)


def _profile(name: str, data: dict[str, Any]) -> Profile:
    known = {"name", "source", "keyframe_interval", "video", "audio", "bitrate"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ProfileError(f"{name}: unknown key {unknown[0]!r} (profile keys: {', '.join(sorted(known))})")
    tables = {key: data.get(key, {}) for key in ("keyframe_interval", "video", "audio")}
    for key, table in tables.items():
        if not isinstance(table, dict):
            raise ProfileError(f"{name}: [{key}] must be a table")
    rows = data.get("bitrate", [])
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ProfileError(f"{name}: [[bitrate]] must be an array of tables")
    return Profile(str(data.get("name", name)), str(data.get("source", "")), tables["keyframe_interval"],
                   tables["video"], tables["audio"], tuple(rows))


class ProfileChecks:
    """Session observer: the profile's rules against the session's published media, at its end."""

    def __init__(self, session: Any, profile: Profile) -> None:
        self.session = session
        self.profile = profile
        self.results: list[dict[str, Any]] = []

    def observe(self, record: MessageRecord) -> tuple[()]:
        return ()

    def finish(self) -> list[WarningRecord]:
        out: list[WarningRecord] = []
        stats = self.session.stats
        for stream in stats.streams:
            if stream.dir != Direction.C2S:
                continue
            tracks = [t for t in (stream.video, stream.audio) if t is not None] + stream.other_tracks()
            for track in tracks:
                label = f"stream {stream.stream_id}" + (f" {track.label}" if track.track_id else "")
                if track.kind == "video":
                    self._video(stream, track, label, out)
                else:
                    self._audio(track, label, out)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"profile": {"name": self.profile.name, "source": self.profile.source, "checks": self.results}}

    # -- the rules ------------------------------------------------------------------------------

    def _judge(self, out: list[WarningRecord], rule: str, label: str, measured: Any, ok: bool,
               severity: str, text: str, says: str | None) -> None:
        self.results.append({"rule": rule, "stream": label, "measured": measured, "ok": ok})
        if not ok:
            out.append(WarningRecord(self.session.id, f"profile.{rule}", severity, None,
                                     f"{label}: {text}; {self.profile.cite(says)}", Direction.C2S))

    def _video(self, stream: Any, track: Any, label: str, out: list[WarningRecord]) -> None:
        rules, profile = self.profile.video, self.profile
        codec = track.codec
        if "codecs" in rules and codec:
            self._judge(out, "video-codec", label, codec, codec in rules["codecs"], "warning",
                        f"video codec {codec}", rules.get("says"))
            if codec in rules.get("enhanced_rtmp", ()) and codec in rules["codecs"]:
                enhanced = self._sent_enhanced(stream, track)
                self._judge(out, "enhanced-rtmp", label, enhanced, enhanced, "warning",
                            f"{codec} sent with a legacy codec id, not Enhanced RTMP (FourCC)", rules.get("says"))
        key = profile.keyframe
        intervals = track.key_ms_between
        if key and intervals.count and intervals.max is not None:
            longest = intervals.max / 1000
            limit, recommended = key.get("max_s"), key.get("recommended_s")
            if limit is not None and longest > limit + KEYFRAME_SLACK_S:
                self._judge(out, "keyframe-interval", label, round(longest, 3), False, "warning",
                            f"keyframe interval {longest:.1f} s", key.get("says"))
            elif recommended is not None and longest > recommended + KEYFRAME_SLACK_S:
                self._judge(out, "keyframe-interval", label, round(longest, 3), False, "info",
                            f"keyframe interval {longest:.1f} s (more than the recommended {recommended:g} s)",
                            key.get("says"))
            else:
                self._judge(out, "keyframe-interval", label, round(longest, 3), True, "info", "", None)
        rate = track.frame_rate
        if rate is not None and (track.duration_ms or 0) >= MIN_SECONDS * 1000:
            if "max_frame_rate" in rules:
                ok = rate <= rules["max_frame_rate"] * (1 + FRAME_RATE_SLACK)
                self._judge(out, "frame-rate", label, round(rate, 3), ok, "warning", f"frame rate {rate:.2f} fps",
                            rules.get("says"))
            if "frame_rates" in rules:
                ok = any(abs(rate - allowed) <= allowed * FRAME_RATE_SLACK for allowed in rules["frame_rates"])
                self._judge(out, "frame-rate", label, round(rate, 3), ok, "warning", f"frame rate {rate:.2f} fps",
                            rules.get("says"))
        kbps = track.bitrate_kbps
        if kbps is None or (track.duration_ms or 0) < MIN_SECONDS * 1000:
            return
        if "max_kbps" in rules:
            self._judge(out, "video-bitrate", label, round(kbps), kbps <= rules["max_kbps"], "warning",
                        f"video bitrate {kbps:.0f} kbit/s", rules.get("says"))
        row = self._bitrate_row(track.settings.get("height"), rate)
        if row is not None:
            low, high = row.get("min_kbps"), row.get("max_kbps")
            if high is not None and kbps > high:
                self._judge(out, "video-bitrate", label, round(kbps), False, "warning",
                            f"video bitrate {kbps:.0f} kbit/s at {track.settings.get('height')}p", row.get("says"))
            elif low is not None and kbps < low:
                self._judge(out, "video-bitrate", label, round(kbps), False, "info",
                            f"video bitrate {kbps:.0f} kbit/s at {track.settings.get('height')}p, below the "
                            "recommended range", row.get("says"))
            else:
                self._judge(out, "video-bitrate", label, round(kbps), True, "info", "", None)
        if rules.get("cbr"):
            variation = _variation(track.per_second)
            if variation is not None:
                self._judge(out, "bitrate-variation", label, round(variation, 2), variation <= CBR_MAX_VARIATION,
                            "info", f"the video bitrate varied by {100 * variation:.0f}% between 2-second windows "
                            "(not constant)", rules.get("says"))

    def _audio(self, track: Any, label: str, out: list[WarningRecord]) -> None:
        rules = self.profile.audio
        codec = track.codec
        if "codecs" in rules and codec:
            self._judge(out, "audio-codec", label, codec, codec in rules["codecs"], "warning",
                        f"audio codec {codec}", rules.get("says"))
        settings = track.settings
        rate = settings.get("output_sample_rate") or settings.get("sample_rate")
        if "sample_rates" in rules and rate:
            self._judge(out, "audio-sample-rate", label, rate, rate in rules["sample_rates"], "warning",
                        f"audio sample rate {rate / 1000:g} kHz", rules.get("says"))
        channels = settings.get("channels")
        if "channels" in rules and channels:
            self._judge(out, "audio-channels", label, channels, channels in rules["channels"], "warning",
                        f"{channels} audio channel(s)", rules.get("says"))
        kbps = track.bitrate_kbps
        if "max_kbps" in rules and kbps is not None and (track.duration_ms or 0) >= MIN_SECONDS * 1000:
            self._judge(out, "audio-bitrate", label, round(kbps), kbps <= rules["max_kbps"] * 1.05, "warning",
                        f"audio bitrate {kbps:.0f} kbit/s", rules.get("says"))

    def _bitrate_row(self, height: Any, rate: float | None) -> dict[str, Any] | None:
        """The first row of the profile's table that the stream's height and frame rate fall in."""
        if not isinstance(height, int) or rate is None:
            return None
        for row in sorted(self.profile.bitrate, key=lambda r: (r.get("max_height", math.inf),
                                                                r.get("max_frame_rate", math.inf))):
            if height <= row.get("max_height", math.inf) and \
                    rate <= row.get("max_frame_rate", math.inf) * (1 + FRAME_RATE_SLACK):
                return row
        return None

    def _sent_enhanced(self, stream: Any, track: Any) -> bool:
        found = self.session.expert.tracks.get((stream.dir, stream.stream_id, track.track_id))
        return bool(found is not None and found.enhanced)


def _variation(per_second: list[int]) -> float | None:
    """Coefficient of variation of the bytes per 2-second window, without the first and last windows (start
    and end are never steady); None for too short a stream."""
    windows = [sum(per_second[i:i + 2]) for i in range(0, len(per_second) - 1, 2)][1:-1]
    if len(windows) < 3:
        return None
    mean = sum(windows) / len(windows)
    if mean <= 0:
        return None
    return math.sqrt(sum((w - mean) ** 2 for w in windows) / len(windows)) / mean
