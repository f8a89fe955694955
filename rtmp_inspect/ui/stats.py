"""The stats screen (`s`): per media stream, the codec settings, frame rate and bitrate, with bitrate and
messages per second of RTMP time as terminal plots; then the warnings.

The figures are those of the JSON output (analysis/media_stats.py, a session observer). Messages per
second (a coded frame each, but for sequence headers, left out, and the rare end-of-sequence or command
message) are counted from the timeline's rows, from the same second 0 as the per-second bitrate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..analysis.media_stats import MAX_SECONDS, StreamStatistics
from ..analysis.timeline import SEQUENCE_HEADER, SEVERITIES, SEVERITY_SHIFT, FlowInfo, Timeline
from ..rtmp.vocabulary import MessageType
from ..textsafe import escape

BARS = "▁▂▃▄▅▆▇█"
MAX_WARNINGS_SHOWN = 500
# Keys of a track's JSON that are measurements; the others are its codec settings.
_MEASURED = {"codec", "sequence_headers", "config_changes", "resolutions", "messages", "aggregated", "bytes",
             "frames", "decode_errors", "first_timestamp", "last_timestamp", "duration_ms", "frame_rate",
             "frame_interval_ms", "bitrate_kbps", "bitrate_per_second_kbps", "per_second_truncated", "keyframes",
             "largest_frame", "timestamps_backwards", "timestamp_jumps"}


def sparkline(values: list[float], width: int) -> str:
    """Values as block characters, one per value, or averaged into `width` columns when more."""
    if not values:
        return ""
    if len(values) > width > 0:
        step = len(values) / width
        values = [sum(part) / len(part) for part in
                  (values[int(i * step):max(int((i + 1) * step), int(i * step) + 1)] for i in range(width))]
    top = max(values)
    if top <= 0:
        return BARS[0] * len(values)
    return "".join(BARS[min(int(v / top * (len(BARS) - 1) + 0.5), len(BARS) - 1)] for v in values)


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def messages_per_second(timeline: Timeline, info: FlowInfo,
                        bases: dict[tuple[str, int], int]) -> dict[tuple[str, int, int], list[float]]:
    """Per (direction, message stream, type id) of the streams in `bases`: audio and video messages per
    second of RTMP time from the stream's base timestamp, sequence headers left out. One pass over the flow."""
    counts: dict[tuple[str, int, int], list[float]] = {}
    type_ids, dirs, stream_ids, flags, timestamps = (timeline.type_id, timeline.dir, timeline.stream_id,
                                                     timeline.flags, timeline.timestamp)
    for row in list(info.rows):
        type_id = type_ids[row]
        if (type_id != MessageType.AUDIO and type_id != MessageType.VIDEO) or flags[row] & SEQUENCE_HEADER:
            continue
        dir = "c2s" if dirs[row] == 0 else "s2c"
        base = bases.get((dir, stream_ids[row]))
        if base is None:
            continue
        second = (timestamps[row] - base) // 1000
        if 0 <= second < MAX_SECONDS:
            series = counts.setdefault((dir, stream_ids[row], type_id), [])
            if second >= len(series):
                series.extend([0.0] * (second + 1 - len(series)))
            series[second] += 1
    return counts


@dataclass
class FlowFigures:
    """What the page shows of one flow, gathered once (drawing again at another width costs nothing)."""

    info: FlowInfo
    streams: list[dict[str, Any]]  # MediaStream.to_json() of each media stream
    counts: dict[tuple[str, int, int], list[float]]


def gather(timeline: Timeline, flow: int | None) -> list[FlowFigures]:
    figures = []
    for info in list(timeline.flows):
        if flow is None or info.id == flow:
            streams = _media_streams(info)
            bases = {(s["dir"], s["stream_id"]): s["timing"].get("per_second_base_timestamp") for s in streams}
            counts = messages_per_second(timeline, info, {k: v for k, v in bases.items() if v is not None})
            figures.append(FlowFigures(info, streams, counts))
    return figures


def stats_text(timeline: Timeline, figures: list[FlowFigures], flow: int | None, width: int) -> Text:
    """The whole stats page for one flow (None: every flow)."""
    out = Text()
    if not timeline.finished:
        out.append("decoding: the figures so far\n\n", style="bold yellow")
    plot_width = max(width - 32, 8)
    for figure in figures:
        info = figure.info
        out.append(f"flow #{info.id} ", style="bold")
        out.append(f"{escape(info.client)} -> {escape(info.server)}  ")
        out.append(escape(info.outcome()) + "\n")
        if not figure.streams:
            out.append("  no audio or video\n", style="dim")
        for stream in figure.streams:
            _stream_text(out, figure, stream, plot_width)
        out.append("\n")
    if not figures:
        out.append("no RTMP flows\n", style="dim")
    _warnings_text(out, timeline, flow)
    return out


def _media_streams(info: FlowInfo) -> list[dict[str, Any]]:
    stats = getattr(info.session, "stats", None)
    if not isinstance(stats, StreamStatistics):
        return []
    try:
        return [s.to_json() for s in stats.streams]
    except RuntimeError:  # changed by the decoding thread while read: shown on the next look
        return []


def _stream_text(out: Text, figure: FlowFigures, stream: dict[str, Any], plot_width: int) -> None:
    stream_id = stream["stream_id"]
    state = figure.info.session.state.streams.get(stream_id)
    role = " ".join(escape(str(x)) for x in (state.role, state.name) if x) if state is not None else ""
    out.append(f"  {stream['dir']} stream {stream_id}", style="bold")
    out.append(f" ({role})" if role else "")
    out.append(f": {escape(stream['description'])}\n")
    for kind, type_id, style in (("video", 9, "medium_purple1"), ("audio", 8, "deep_sky_blue1")):
        track = stream.get(kind)
        if not track:
            continue
        settings = [f"{k} {v}" for k, v in track.items() if k not in _MEASURED and v is not None]
        out.append(f"    {kind:<6}", style=f"bold {style}")
        out.append(escape(" ".join([str(track.get("codec") or "unknown codec"), *settings])) + "\n")
        line = f"{track['frames']['total']} frames"
        if track.get("frame_rate") is not None:
            line += f", {track['frame_rate']:.1f} fps"
        if track.get("bitrate_kbps") is not None:
            line += f", {track['bitrate_kbps']:.0f} kbit/s"
        if kind == "video" and track.get("keyframes"):
            keys = track["keyframes"]
            line += f", {keys['count']} keyframes"
            if keys.get("ms"):
                line += f" every {keys['ms']['mean']:.0f} ms"
        if track.get("largest_frame"):
            line += f", largest {track['largest_frame']['bytes']} bytes"
        out.append(f"          {line}\n", style="dim")
        rates = [float(v) for v in track.get("bitrate_per_second_kbps") or []]
        counts = figure.counts.get((stream["dir"], stream_id, type_id), [])
        for label, values in (("kbit/s", rates), ("msgs/s", counts)):
            out.append(f"      {label:<9}", style="dim")
            out.append(sparkline(values, plot_width), style=style)
            if values:
                out.append(f"  {_number(min(values))}-{_number(max(values))} over {len(values)} s", style="dim")
            else:
                out.append("no data", style="dim")
            out.append("\n")
    timing = stream["timing"]
    parts = []
    offset = timing.get("av_offset_ms")
    if offset:
        parts.append(f"A/V offset {offset['start']} ms at start, {offset['end']} at end")
    if timing.get("clock_rate") is not None:
        parts.append(f"clock rate {timing['clock_rate']}")
    parts.append(f"stalls {timing.get('stalls', 0)}")
    out.append("    timing  " + "; ".join(parts) + "\n", style="dim")


def _warnings_text(out: Text, timeline: Timeline, flow: int | None) -> None:
    total = timeline.total
    rows = [r for r in list(timeline.warnings) if r < total and (flow is None or timeline.flow[r] == flow)]
    out.append(f"warnings ({len(rows)})\n", style="bold")
    for row in rows[:MAX_WARNINGS_SHOWN]:
        severity = SEVERITIES[min((timeline.flags[row] >> SEVERITY_SHIFT) & 3, 2)]
        style = {"info": "", "warning": "yellow", "error": "bold red"}[severity]
        frame = timeline.frame[row]
        where = f"#{timeline.flow[row]} " if timeline.flow[row] >= 0 else ""
        out.append(f"  {frame or '':>7} {where}{severity:<7} ", style=style)
        out.append(f"{escape(timeline.names[timeline.name[row]])}: {escape(timeline.summary[row])}\n")
    if len(rows) > MAX_WARNINGS_SHOWN:
        more = len(rows) - MAX_WARNINGS_SHOWN
        out.append(f"  … {more} more (filter the timeline with kind:warning)\n", style="dim")


class StatsScreen(Screen[None]):
    """Media statistics and warnings of the flow selected in the flows table (or of all)."""

    BINDINGS = [Binding("escape,q,s", "dismiss", "Close")]

    def __init__(self, timeline: Timeline, flow: int | None) -> None:
        super().__init__()
        self.timeline = timeline
        self.flow = flow
        self.figures: list[FlowFigures] = []

    def compose(self) -> ComposeResult:
        title = "all flows" if self.flow is None else f"flow #{self.flow}"
        yield Static(Text(f"stats: {title} (Escape closes)", style="bold"), id="stats-title")
        with VerticalScroll(id="stats-scroll"):
            yield Static(id="stats")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#stats-scroll").focus()
        self.figures = gather(self.timeline, self.flow)
        self._fill()

    def on_resize(self) -> None:
        self._fill()

    def _fill(self) -> None:
        width = self.size.width or self.app.size.width
        self.query_one("#stats", Static).update(stats_text(self.timeline, self.figures, self.flow, width))

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
