"""Widgets of the TUI. The timeline and the hex dump are line-API `ScrollView`s: their virtual
height is the row count and `render_line(y)` draws only the rows on screen (as Textualize/toolong
does), so a million rows cost what a screenful costs.

Everything that comes from the capture reaches the screen as plain `Segment`/`Text` content, escaped
with `textsafe.escape`, never through Rich markup.
"""

from __future__ import annotations

import bisect
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Tree

from ..analysis.timeline import (
    AUDIO,
    COMMAND,
    CONTROL,
    DATA,
    HANDSHAKE,
    KEYFRAME,
    OTHER,
    SEQUENCE_HEADER,
    SEVERITIES,
    SEVERITY_SHIFT,
    USER_CONTROL,
    VIDEO,
    WARNING,
    Timeline,
)
from ..rtmp.amf_values import amf_to_json
from ..rtmp.messages import type_name
from ..textsafe import escape
from .readable import Namer, absent, field_note

KIND_STYLES = {
    CONTROL: Style(color="grey62"),
    USER_CONTROL: Style(color="grey62"),
    COMMAND: Style(color="bright_green"),
    DATA: Style(color="magenta"),
    AUDIO: Style(color="deep_sky_blue1"),
    VIDEO: Style(color="medium_purple1"),
    OTHER: Style(color="cyan"),
    HANDSHAKE: Style(color="gold3"),
}
KEYFRAME_STYLE = Style(color="medium_purple1", bold=True)
SEVERITY_STYLES = (Style(color="yellow"), Style(color="dark_orange", bold=True), Style(color="red", bold=True))
DIM = Style(dim=True)

SHORT_TYPES = {
    1: "chunksize", 2: "abort", 3: "ack", 4: "userctl", 5: "winack", 6: "peerbw", 8: "audio", 9: "video",
    15: "data3", 16: "so3", 17: "cmd3", 18: "data", 19: "so", 20: "cmd", 22: "aggr",
}


def row_style(kind: int, flags: int) -> Style:
    if kind == WARNING:
        return SEVERITY_STYLES[min((flags >> SEVERITY_SHIFT) & 3, 2)]
    if kind == VIDEO and flags & (KEYFRAME | SEQUENCE_HEADER):
        return KEYFRAME_STYLE
    return KIND_STYLES.get(kind, Style())


def fit_time(seconds: float, width: int, decimals: int) -> str:
    """Seconds in at most `width` characters: fewer decimals for large values, never a wider column."""
    for places in range(decimals, -1, -1):
        text = f"{seconds:.{places}f}"
        if len(text) <= width:
            return text
    return f"{seconds:.{max(width - 6, 1)}g}"[:width]


class TimelineLayout:
    """Which columns fit a width, and how a row reads in them."""

    def __init__(self, width: int) -> None:
        self.wide = width >= 110
        self.medium = width >= 90

    def header(self) -> str:
        if self.wide:
            return f"{'frame':>7} {'time':>10} {'flow':<4} {'dir':<3} {'csid':>4} {'msid':>4} {'timestamp':>9} " \
                   f"{'type':<18} summary"
        if self.medium:
            return f"{'frame':>7} {'time':>9} {'fl':<3} {'dir':<3} {'msid':>4} {'type':<9} summary"
        return f"{'frame':>6} {'time':>8} {'dir':<3} {'type':<9} summary"

    def cells(self, timeline: Timeline, row: int) -> tuple[str, str]:
        """(fixed columns, summary) of one timeline row; the summary is escaped."""
        kind = timeline.kind[row]
        frame = timeline.frame[row]
        time = timeline.time[row]
        direction = timeline.dir[row]
        dir_text = ("C>S", "S>C", "")[direction]
        flow = timeline.flow[row]
        flow_text = f"#{flow}" if flow >= 0 else ""
        frame_text = str(frame) if frame or kind != WARNING else ""
        if kind == WARNING:
            severity = SEVERITIES[min((timeline.flags[row] >> SEVERITY_SHIFT) & 3, 2)]
            name = timeline.names[timeline.name[row]]
            summary = f"{severity} {escape(name)}: {escape(timeline.summary[row])}"
            type_text = "WARNING" if self.wide else "WARN"
            csid = msid = ts = ""
        elif kind == HANDSHAKE:
            summary = escape(timeline.summary[row])
            part = timeline.names[timeline.name[row]]
            type_text = f"handshake {part}" if self.wide else f"hs {part}"
            csid = msid = ts = ""
        else:
            summary = escape(timeline.summary[row])
            type_id = timeline.type_id[row]
            type_text = type_name(type_id) if self.wide else SHORT_TYPES.get(type_id, f"type{type_id}")
            csid = str(timeline.csid[row])
            msid = str(timeline.stream_id[row])
            ts = str(timeline.timestamp[row])
        if time != time:  # NaN: a warning without a time
            time_text = ""
        else:
            time_text = fit_time(time, 10 if self.wide else 9 if self.medium else 8, 6 if self.wide else 3)
        if self.wide:
            fixed = f"{frame_text:>7} {time_text:>10} {flow_text:<4} {dir_text:<3} {csid:>4} {msid:>4} {ts:>9} " \
                    f"{type_text:<18} "
        elif self.medium:
            fixed = f"{frame_text:>7} {time_text:>9} {flow_text:<3} {dir_text:<3} {msid:>4} {type_text:<9} "
        else:
            fixed = f"{frame_text:>6} {time_text:>8} {dir_text:<3} {type_text:<9} "
        return fixed, summary


class TimelineView(ScrollView, can_focus=True):
    """The message timeline: one line per row of the `Timeline`'s current view, with a cursor."""

    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "PgUp", show=False),
        Binding("pagedown", "page_down", "PgDn", show=False),
        Binding("home", "first", "Home", show=False),
        Binding("end", "last", "End", show=False),
        Binding("left", "shift_left", "Left", show=False),
        Binding("right", "shift_right", "Right", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class CursorMoved(Message):
        def __init__(self, view: TimelineView, position: int | None) -> None:
            super().__init__()
            self.view = view
            self.position = position

    def __init__(self, timeline: Timeline, **kw: Any) -> None:
        super().__init__(**kw)
        self.timeline = timeline
        self._rows = 0
        self.lines_rendered = 0  # for measurements
        self.summary_offset = 0  # left/right scroll the summary column only; the fixed columns stay

    # -- size and data ------------------------------------------------------------------------

    def sync(self) -> None:
        """Take the timeline's current length (after rows were added or the filter changed)."""
        rows = len(self.timeline)
        width = self.scrollable_content_region.width or self.size.width
        if rows != self._rows or self.virtual_size.width != width:
            self._rows = rows
            self.virtual_size = Size(width, rows)
            if self.cursor >= rows:
                self.cursor = max(rows - 1, 0)
            self.refresh()
            # A cursor moved now scrolls against the old size (clamped to its end): scroll again once the new
            # size is laid out (e.g. `p` clearing a filter to reach a row far down).
            self.call_after_refresh(self.scroll_to_cursor)

    def on_resize(self) -> None:
        self.sync()
        self.scroll_to_cursor()

    @property
    def position(self) -> int | None:
        return self.cursor if self._rows else None

    def render_line(self, y: int) -> Strip:
        scroll_y = int(self.scroll_offset.y)
        pos = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        timeline = self.timeline
        if pos >= self._rows or pos >= len(timeline):
            return Strip.blank(width, base)
        self.lines_rendered += 1
        row = timeline.row_at(pos)
        layout = TimelineLayout(width)
        fixed, summary = layout.cells(timeline, row)
        if self.summary_offset:
            summary = summary[self.summary_offset:]
        style = base + row_style(timeline.kind[row], timeline.flags[row])
        if pos == self.cursor:
            style = style + (Style(reverse=True) if self.has_focus else Style(bgcolor="grey30"))
        dim_fixed = pos != self.cursor and timeline.kind[row] != WARNING
        strip = Strip([Segment(fixed, style + DIM if dim_fixed else style), Segment(summary, style)])
        return strip.crop_extend(0, width, style if pos == self.cursor else base)

    # -- the cursor ---------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.scroll_to_cursor()
        self.refresh()
        self.post_message(self.CursorMoved(self, new if self._rows else None))

    def scroll_to_cursor(self) -> None:
        height = self.scrollable_content_region.height
        if height <= 0:
            return
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def move_to(self, position: int | None) -> None:
        if position is None or not self._rows:
            return
        self.cursor = min(max(position, 0), self._rows - 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_page_up(self) -> None:
        self.move_to(self.cursor - max(self.scrollable_content_region.height - 1, 1))

    def action_page_down(self) -> None:
        self.move_to(self.cursor + max(self.scrollable_content_region.height - 1, 1))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self._rows - 1)

    def action_shift_left(self) -> None:
        if self.summary_offset:
            self.summary_offset = max(self.summary_offset - 10, 0)
            self.refresh()

    def action_shift_right(self) -> None:
        self.summary_offset = min(self.summary_offset + 10, 10_000)
        self.refresh()

    def on_click(self, event: Any) -> None:
        self.focus()
        self.move_to(int(self.scroll_offset.y) + event.y)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


NoteLine = list[tuple[str, Style]]  # a line of our own text above the dump, in styled pieces

HEADER_STYLE = Style(color="black", bgcolor="dark_orange")  # raw mode: chunk header bytes
OTHER_STYLE = Style(dim=True, italic=True)  # raw mode: chunks of other chunk streams sent in between
TEXT_STYLE = Style(color="green")


class HexView(ScrollView, can_focus=True):
    """A hex dump (a message body, or the raw chunks it came in), drawn line by line. `spans` style
    byte ranges (chunk headers in raw mode); `first_offset` is the offset shown for the first byte."""

    BINDINGS = [
        Binding("up", "scroll_up", "Up", show=False),
        Binding("down", "scroll_down", "Down", show=False),
    ]

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.data = b""
        self.notes: list[NoteLine] = []
        self.spans: list[tuple[int, int, Style]] = []  # (start, end, style) over data, sorted, disjoint
        self._span_starts: list[int] = []
        self.first_offset = 0

    @property
    def note(self) -> str:
        """The text above the dump, as plain text."""
        return "\n".join("".join(text for text, _ in line) for line in self.notes)

    def show(self, data: bytes | None, note: str | list[NoteLine] = "",
             spans: list[tuple[int, int, Style]] | None = None, first_offset: int = 0) -> None:
        self.data = data or b""
        if isinstance(note, str):
            self.notes = [[(note, DIM)]] if note else []
        else:
            self.notes = note
        self.spans = spans or []
        self._span_starts = [start for start, _, _ in self.spans]
        self.first_offset = first_offset
        self.scroll_to(y=0, animate=False, immediate=True)
        self._resize_virtual()
        self.refresh()

    def _per_line(self) -> int:
        width = self.scrollable_content_region.width or self.size.width
        # 8 offset + 2 + 3 per byte + 1 + 1 per byte
        for n in (16, 8, 4):
            if 10 + 4 * n + 1 <= width:
                return n
        return 4

    def _resize_virtual(self) -> None:
        lines = (len(self.data) + self._per_line() - 1) // self._per_line() + len(self.notes)
        width = self.scrollable_content_region.width or self.size.width
        self.virtual_size = Size(width, lines)

    def on_resize(self) -> None:
        self._resize_virtual()

    def style_at(self, index: int) -> Style | None:
        """The span style of byte `index` of the data (None: plain)."""
        at = bisect.bisect_right(self._span_starts, index) - 1
        if at >= 0:
            start, end, style = self.spans[at]
            if start <= index < end:
                return style
        return None

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        line = int(self.scroll_offset.y) + y
        if line < len(self.notes):
            return Strip([Segment(text, base + style) for text, style in self.notes[line]]).crop_extend(0, width, base)
        line -= len(self.notes)
        n = self._per_line()
        start = line * n
        if start >= len(self.data):
            return Strip.blank(width, base)
        chunk = self.data[start:start + n]
        segments = [Segment(f"{self.first_offset + start:08x}  ", base + DIM)]
        text = []
        styles = [self.style_at(start + i) if self.spans else None for i in range(len(chunk))]
        for i, b in enumerate(chunk):
            style = styles[i]
            segments.append(Segment(f"{b:02x}", base + style if style else base))
            # The space after a byte takes its style when the next byte is in the same span: one bar per span.
            same = style is not None and i + 1 < len(chunk) and styles[i + 1] is style
            segments.append(Segment(" ", base + style if same else base))
            text.append(Segment(chr(b) if 0x20 <= b < 0x7F else ".", base + (style or TEXT_STYLE)))
        segments.append(Segment("   " * (n - len(chunk)) + " ", base))
        return Strip(segments + text).crop_extend(0, width, base)


MAX_TREE_NODES = 3000


def safe(text: Any, style: str | Style = "") -> Text:
    """Capture text as a Rich Text, escaped; never parsed as markup."""
    return Text(escape(str(text)), style=style)


def json_label(key: str | None, value: Any, note: str | None = None) -> Text:
    """`key: value`, styled by type; `note` (a name for a code, a unit) after the value, dimmed."""
    label = Text()
    if key is not None:
        label.append(escape(key), style="bold")
        label.append(": ")
    if isinstance(value, str):
        # Quoted, with control characters as textsafe escapes (\\e, \\x07), the way the text output shows them.
        label.append("'" + escape(value).replace("'", "\\'") + "'", style="green")
    elif isinstance(value, bool) or value is None:
        label.append({True: "true", False: "false", None: "null"}[value], style="italic")
    elif isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        label.append(str(int(value)), style="cyan")
    elif isinstance(value, (int, float)):
        label.append(str(value), style="cyan")
    elif isinstance(value, dict):
        marker = next((k for k in value if k.startswith("$")), None) if len(value) <= 2 else None
        if marker is not None and marker != "$class":
            label.append(escape(f"{marker} {value[marker]!s}"[:200]), style="magenta")
        else:
            cls = value.get("$class")
            count = len(value) - (cls is not None)
            fields = f"{count} field" + ("" if count == 1 else "s")
            label.append(escape(fields if cls is None else f"{cls}, {fields}"), style="dim")
    elif isinstance(value, list):
        label.append(f"{len(value)} item" + ("" if len(value) == 1 else "s"), style="dim")
    else:
        label.append(escape(str(value)))
    if note:
        label.append(" " + escape(note), style="dim")
    return label


class DetailsTree(Tree[None]):
    """The selected row as a tree; labels are always `Text` (Tree would parse a `str` as markup)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(Text("no message selected"), **kw)
        self.show_root = True
        self._node_count = 0
        self.lines_text: list[str] = []  # plain labels, for tests

    def reset_to(self, title: Text) -> None:
        self.clear()
        self.root.set_label(title)
        self.root.expand()
        self._node_count = 0
        self.lines_text = [title.plain]

    def add(self, parent: Any, label: Text, expand: bool = True, leaf: bool = False) -> Any:
        self._node_count += 1
        self.lines_text.append(label.plain)
        if leaf:
            return parent.add_leaf(label)
        return parent.add(label, expand=expand)

    def add_fields(self, parent: Any, fields: list[tuple[str, Any]]) -> None:
        """Fields of our own making (strings shown without quotes, still escaped; no value reads as such, not
        as `null`)."""
        for key, value in fields:
            if value is None:
                label = Text()
                label.append(escape(key), style="bold")
                label.append(": " + absent(key), style="dim")
            elif isinstance(value, str):
                label = Text()
                label.append(escape(key), style="bold")
                label.append(": " + escape(value))
            else:
                label = json_label(key, value, field_note(key, value))
            self.add(parent, label, leaf=True)

    def add_json_value(self, parent: Any, key: str | None, value: Any, depth: int = 0,
                       namer: Namer | None = None, parent_key: str | None = None) -> None:
        """A JSON-shaped value (see amf_to_json) as nodes, bounded in depth and node count (unlike Textual's
        own Tree.add_json)."""
        if self._node_count >= MAX_TREE_NODES:
            if self._node_count == MAX_TREE_NODES:
                self.add(parent, Text("… (more values not shown)", style="dim"), leaf=True)
            return
        is_marker = isinstance(value, dict) and len(value) <= 2 and any(
            k.startswith("$") and k != "$class" for k in value)
        if isinstance(value, (dict, list)) and value and not is_marker and depth < 40:
            node = self.add(parent, json_label(key, value), expand=depth < 3)
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for child_key, child in items:
                if child_key == "$class":
                    continue
                self.add_json_value(node, str(child_key), child, depth + 1, namer, key)
        else:
            note = namer(parent_key, key, value) if namer is not None else None
            self.add(parent, json_label(key, value, note), leaf=True)

    def add_amf(self, parent: Any, key: str | None, value: Any) -> None:
        self.add_json_value(parent, key, amf_to_json(value, max_nodes=MAX_TREE_NODES * 2))
