"""The interactive TUI (`rtmp-inspect capture.pcap` on a terminal): flows, the message timeline,
details of the selected message, and its bytes.

A thin adapter over `analysis.timeline.Timeline`: the capture is decoded in a worker thread straight
into the Timeline (a pipeline sink), and the screen polls it, so the first screen shows at once and
fills in as decoding goes.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Static

from ..analysis.timeline import (
    HANDSHAKE,
    WARNING,
    Filter,
    FlowInfo,
    Timeline,
    make_body_loader,
    query_filter,
)
from ..display_filter import FilterError
from ..rtmp.media import AudioInfo, VideoInfo, codec_name
from ..rtmp.messages import Aggregate, AmfPayload, Control, SharedObject, UserControl
from ..runner import RunOptions, open_reader, redecode, run_reader
from ..textsafe import escape
from .raw import RAW_LIMIT, RawBytes, load_raw
from .readable import media_namer
from .stats import StatsScreen
from .widgets import (
    DIM,
    HEADER_STYLE,
    OTHER_STYLE,
    DetailsTree,
    HexView,
    NoteLine,
    TimelineLayout,
    TimelineView,
    json_label,
    safe,
)

HEX_LIMIT = 1024 * 1024  # the bytes pane shows at most this much of a body

FILTER_PLACEHOLDER = "filter: type == video && media.keyframe, command == publish, or text, kind:video, dir:c2s"
HELP = """\
rtmp-inspect keys
  up/down pgup/pgdn home/end  move in the timeline (or the focused pane)
  tab / shift+tab             next / previous pane
  flows table: up/down        show only that flow ("all flows": every one)
  /                           filter (Enter applies; Escape clears it)
  g                           go to a frame number
  n N / k K / w W             next/previous command, video keyframe, warning
  p                           from a request to its response and back
  r                           bytes: body, or raw chunks (headers lit)
  s                           stats: codecs, rates per second, warnings
  left/right                  scroll the summary column
  ?  help      q  quit
Filter: the -Y language over what a row holds, e.g.
  type == video && media.keyframe    command in {publish, play}
  !(dir == c2s) and length > 4096    kind == warning or severity == error
  fields: flow index dir frame time csid stream_id timestamp type_id length
  type command summary media.keyframe media.sequence_header kind code severity
or terms (each one must match; free text matches summary, name or type):
  kind:command|data|audio|video|control|handshake|warning|media
  type:video|set_chunk_size|20   cmd:publish  stream:1  dir:c2s|s2c  flow:0
Colours: commands green, data magenta, audio blue, video purple (keyframes
bold), control grey, handshake gold, warnings yellow/orange/red.
Capture strings are shown escaped (\\e, \\x07, \\u202e).
"""


def unless_gone(method: Any) -> Any:
    """For timer and thread callbacks: they may still fire while the app quits and its widgets are
    already gone; then there is nothing to update."""

    @functools.wraps(method)
    def run(self: Any, *args: Any) -> Any:
        try:
            return method(self, *args)
        except NoMatches:
            return None

    return run


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        yield Static(Text(HELP), id="help")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


class RtmpInspectApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "rtmp-inspect"
    ENABLE_COMMAND_PALETTE = False  # nothing of ours in it; its ^p would take footer room from our keys

    BINDINGS = [
        # Short labels, help first: the footer shows them all at 80 columns.
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("slash", "open_filter", "Filter"),
        Binding("g", "open_goto", "Go to"),
        Binding("n", "jump('command', True)", "Cmd"),
        Binding("N", "jump('command', False)", "Prev cmd", show=False),
        Binding("k", "jump('keyframe', True)", "Key"),
        Binding("K", "jump('keyframe', False)", "Prev keyframe", show=False),
        Binding("w", "jump('warning', True)", "Warn"),
        Binding("W", "jump('warning', False)", "Prev warning", show=False),
        Binding("p", "pair", "Pair"),
        Binding("r", "toggle_raw", "Raw"),
        Binding("s", "stats", "Stats"),
    ]

    def __init__(self, paths: list[str], options: RunOptions = RunOptions(), timeline: Timeline | None = None) -> None:
        super().__init__()
        self.paths = list(paths)
        self.options = options
        # Bodies and raw chunks not kept are decoded again from the capture (analysis/refetch.py).
        self.redecode = functools.partial(redecode, options=options)
        self._redecode_pure = functools.partial(redecode, options=replace(options, native=False))  # raw chunks
        self._stop = threading.Event()  # set on quit: the decoding threads end early
        if timeline is None:
            timeline = Timeline(make_body_loader(self.redecode, self._stop))
            self._preloaded = False
        else:
            self._preloaded = True
        self.timeline = timeline
        self.flow_filter: int | None = None
        self.filter_text = ""
        self.progress = 0.0 if not self._preloaded else 1.0
        self.load_error: str | None = None
        self.load_started = time.perf_counter()
        self.load_seconds: float | None = None
        self.first_screen_seconds: float | None = None
        self._flows_shown = -1
        self._flow_cells: dict[tuple[str, str], str] = {}  # (row key, column key) -> plain text shown
        self._flow_widths: list[int] = []  # of the flows table's columns, as last built
        self._input_mode = "filter"
        self._note = ""
        self._details_for: int | None = None
        self._body_lock = threading.Lock()
        self._wanted: list[tuple[str, int]] = []  # ("body" or "raw", row) the loading thread is to fetch
        self._body_busy = False
        self.raw_mode = False  # the bytes pane shows the raw chunks instead of the body
        self._raw_cache: OrderedDict[int, RawBytes | None] = OrderedDict()
        self._bytes_for: tuple[bool, int] | None = None  # (raw mode, row) the bytes pane shows in full
        self.last_input = 0.0  # monotonic time of the last key or click (the decoder yields to the user)
        self._last_flow_update = 0.0
        self._flows_final = False  # the flows table shows the final counts
        self._details_timer: Any = None

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        flows: DataTable[Text] = DataTable(id="flows", cursor_type="row", zebra_stripes=False)
        flows.border_title = "flows"
        yield flows
        with Vertical(id="timeline-box"):
            yield Static(id="timeline-header")
            yield TimelineView(self.timeline, id="timeline")
        with Horizontal(id="bottom"):
            details = DetailsTree(id="details")
            details.border_title = "details"
            yield details
            hexview = HexView(id="bytes")
            hexview.border_title = "bytes"
            yield hexview
        yield Input(id="query", placeholder=FILTER_PLACEHOLDER)
        yield Static(id="status")
        yield Footer(compact=True)  # every key fits in 80 columns

    def on_mount(self) -> None:
        bar = self.query_one("#query", Input)
        bar.display = False
        bar.cursor_blink = False  # a steady cursor (a blinking one also makes screenshots differ)
        view = self.query_one(TimelineView)
        view.focus()
        self._update_header()
        self.poll()
        self.set_interval(0.2, self.poll, name="poll")
        if not self._preloaded:
            self.load()
        self.call_after_refresh(self._first_screen)

    def _first_screen(self) -> None:
        if self.first_screen_seconds is None:
            self.first_screen_seconds = time.perf_counter() - self.load_started

    def on_resize(self) -> None:
        self._update_header()

    def _update_header(self) -> None:
        view = self.query_one(TimelineView)
        width = view.scrollable_content_region.width or self.size.width
        self.query_one("#timeline-header", Static).update(Text(TimelineLayout(width).header(), style="bold"))

    # -- decoding in a worker thread ---------------------------------------------------------

    @work(thread=True, exclusive=True, group="decode")
    def load(self) -> None:
        from ..capture.reader import CaptureError

        timeline = self.timeline
        sizes = [_file_size(p) for p in self.paths]
        total = sum(s for s in sizes if s) or 0
        done_before = 0
        for path, size in zip(self.paths, sizes):
            if self._stop.is_set():
                return
            timeline.begin_capture(path)
            try:
                reader = open_reader(path, self.options)
            except (CaptureError, OSError) as exc:
                self.load_error = f"{path}: {exc}"
                continue
            try:
                def tick(segments: int, reader: Any, done_before: int = done_before) -> bool:
                    if self._stop.is_set():
                        return False
                    # The decoder and the screen share the GIL: while the user presses keys, let the
                    # screen have it (a thread otherwise holds it in 5 ms slices, and a screen update
                    # that waits for it dozens of times takes seconds).
                    while time.monotonic() - self.last_input < 0.4 and not self._stop.is_set():
                        time.sleep(0.02)
                    if total:
                        position, _ = reader.progress()
                        self.progress = min((done_before + position) / total, 0.999)
                    return True

                run_reader(path, reader, timeline, replace(self.options, tick=tick))
                if self._stop.is_set():
                    return
                for warning in reader.warnings:
                    self.load_error = f"{path}: {warning}"
            except Exception as exc:  # a decoder bug must not take the screen down
                self.load_error = f"{path}: {type(exc).__name__}: {exc}"
            finally:
                reader.close()
            done_before += size or 0
        timeline.finished = True
        self.progress = 1.0
        self.load_seconds = time.perf_counter() - self.load_started

    # -- polling the model -------------------------------------------------------------------

    @unless_gone
    def poll(self) -> None:
        view = self.query_one(TimelineView)
        view.sync()
        now = time.monotonic()
        # While decoding, the counts in the flows table change all the time: redraw them at most once a second.
        finished = self.timeline.finished
        if (finished and not self._flows_final) or now - self._last_flow_update > 1.0 \
                or len(self.timeline.flows) != self._flows_shown:
            self._last_flow_update = now
            self._flows_final = finished
            self._update_flows()
        # Every time: whether the table needs its horizontal scrollbar is known only after its layout.
        self._size_flows_table()
        if self._details_for is None and self._details_timer is None and view.position is not None:
            self.show_details(view.position)
        self._update_status()

    def _update_flows(self) -> None:
        table = self.query_one("#flows", DataTable)
        flows = list(self.timeline.flows)
        rows = {("all" if info is None else f"f{info.id}"): self._flow_cells_for(info, flows)
                for info in [None, *flows]}
        widths = [max([cell_len(label)] + [cell_len(cells[n].plain) for cells in rows.values()])
                  for n, (_, label) in enumerate(FLOW_COLUMNS)]
        if len(flows) != self._flows_shown or widths != self._flow_widths:
            # A new flow or a wider cell: build the table again with each column as wide as its widest cell,
            # set explicitly, so the widths never depend on when rows arrived or when the table was idle.
            self._flows_shown = len(flows)
            self._flow_widths = widths
            keep = table.cursor_row
            table.clear(columns=True)
            self._flow_cells.clear()
            for (key, label), width in zip(FLOW_COLUMNS, widths):
                table.add_column(Text(label), key=key, width=width)
            for key, cells in rows.items():
                table.add_row(*cells, key=key)
                for (column, _), value in zip(FLOW_COLUMNS, cells):
                    self._flow_cells[(key, column)] = value.plain
            if 0 <= keep < table.row_count:
                table.move_cursor(row=keep)
            self._size_flows_table()
            return
        # Counts and outcomes change while decoding: update those cells only (they fit: widths are unchanged).
        for key, cells in rows.items():
            for (column, _), value in zip(FLOW_COLUMNS, cells):
                if self._flow_cells.get((key, column)) != value.plain:
                    self._flow_cells[(key, column)] = value.plain
                    try:
                        table.update_cell(key, column, value)
                    except Exception:
                        pass

    def _flows_table_height(self) -> int:
        table = self.query_one("#flows", DataTable)
        rows = min(len(self.timeline.flows) + 1, 6) + 1  # the column labels, "all flows", the flows
        # Whether the horizontal scrollbar shows, from what the cells hold (the table itself measures them
        # only when idle): each column as wide as its widest cell, plus padding on both sides.
        needed = sum(max([cell_len(label)] + [cell_len(text) for (_, col), text in self._flow_cells.items()
                                              if col == key]) + 2 * table.cell_padding
                     for key, label in FLOW_COLUMNS)
        if needed > table.scrollable_content_region.width:
            rows += 1  # the horizontal scrollbar
        return rows

    def _size_flows_table(self) -> None:
        table = self.query_one("#flows", DataTable)
        rows = self._flows_table_height()
        if table.styles.height is None or table.styles.height.value != rows:
            table.styles.height = rows

    def _flow_cells_for(self, info: FlowInfo | None, flows: list[FlowInfo]) -> list[Text]:
        if info is None:
            messages = sum(f.messages for f in flows)
            warnings = sum(f.warnings for f in flows)
            return [Text("*"), Text("all flows", style="bold"), Text(""), Text(""), Text(""), Text(""), Text(""),
                    Text(str(messages), justify="right"), Text(str(warnings), justify="right")]
        streams = info.streams()
        names = ", ".join(escape(n) for _, n in streams if n) or ""
        roles = ", ".join(sorted({r for r, _ in streams if r})) or ""
        outcome = info.outcome()
        return [Text(str(info.id)), safe(info.client), safe(info.server), safe(info.app() or ""),
                Text(names[:40]), Text(roles), safe(outcome[:60]),
                Text(str(info.messages), justify="right"),
                Text(str(info.warnings), justify="right", style="bold red" if info.warnings else "")]

    def _update_status(self) -> None:
        timeline = self.timeline
        status = Text()
        if not timeline.finished and self.progress < 1.0:
            status.append(f"decoding {self.progress * 100:4.1f}%  ", style="bold yellow")
        shown = len(timeline)
        total = timeline.total
        view = self.query_one(TimelineView)
        position = view.position
        if position is not None:
            status.append(f"row {position + 1}/{shown}")
        else:
            status.append(f"0/{shown} rows")
        if shown != total:
            status.append(f" (of {total})")
        if self.flow_filter is not None:
            status.append(f"  flow #{self.flow_filter}", style="bold")
        if self.filter_text:
            status.append("  filter ")
            status.append(escape(self.filter_text), style="bold")
            status.append(f": {shown} matched")
        if timeline.finished and total == 0 and not self.load_error:
            status.append("  no RTMP found in the capture", style="italic")
        if self._note:
            status.append("  " + self._note, style="italic")
        if self.load_error:
            status.append("  " + escape(self.load_error), style="red")
        self.query_one("#status", Static).update(status, layout=False)

    # -- flows table ---------------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key is not None else None
        flow = None if key in (None, "all") else int(str(key)[1:])
        if flow != self.flow_filter:
            self.flow_filter = flow
            self.apply_filter()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.query_one(TimelineView).focus()

    # -- filter and goto bar -----------------------------------------------------------------

    def apply_filter(self) -> None:
        view = self.query_one(TimelineView)
        timeline = self.timeline
        current = view.position
        keep_row = timeline.row_at(current) if current is not None and current < len(timeline) else None
        try:
            query = query_filter(self.filter_text, self.flow_filter) if self.filter_text \
                else Filter(flow=self.flow_filter)
        except FilterError as exc:  # said in the status line; the view stays as it was
            self._note = f"filter: {exc}"
            self._update_status()
            return
        if self.filter_text and self.flow_filter is not None and query.flow != self.flow_filter:
            query = Filter(-2)  # "flow:N" in the query and another flow selected: nothing matches both
        timeline.set_filter(query)
        view.sync()
        position = timeline.nearest_position(keep_row) if keep_row is not None else 0
        view.move_to(position if position is not None else 0)
        view.refresh()
        self._update_status()

    def action_open_filter(self) -> None:
        self._open_input("filter", self.filter_text, FILTER_PLACEHOLDER)

    def action_open_goto(self) -> None:
        self._open_input("goto", "", "go to frame number")

    def _open_input(self, mode: str, value: str, placeholder: str) -> None:
        self._input_mode = mode
        bar = self.query_one("#query", Input)
        bar.placeholder = placeholder
        bar.value = value
        bar.display = True
        # Focus now, not after the queued events (Widget.focus defers): keys typed right after / or g go to the bar.
        self.screen.set_focus(bar)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        bar = event.input
        text = bar.value.strip()
        bar.display = False
        view = self.query_one(TimelineView)
        view.focus()
        if self._input_mode == "goto":
            if text.isdigit():
                position = self.timeline.position_for_frame(int(text))
                if position is None:
                    self._note = f"no row at or after frame {text}"
                else:
                    self._note = ""
                    view.move_to(position)
            else:
                self._note = "a frame number, please"
            self._update_status()
            return
        self.filter_text = text
        self._note = ""
        self.apply_filter()

    async def on_event(self, event: Any) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)):
            self.last_input = time.monotonic()
        await super().on_event(event)

    def on_key(self, event: Any) -> None:
        if event.key != "escape":
            return
        bar = self.query_one("#query", Input)
        if bar.display:
            event.stop()
            bar.display = False
            if self._input_mode == "filter":
                self.filter_text = ""
                self.apply_filter()
            self.query_one(TimelineView).focus()
        elif self.filter_text:
            event.stop()
            self.filter_text = ""
            self.apply_filter()

    # -- jumps -------------------------------------------------------------------------------

    def action_jump(self, what: str, forward: bool) -> None:
        view = self.query_one(TimelineView)
        finder = {"command": self.timeline.next_command, "keyframe": self.timeline.next_keyframe,
                  "warning": self.timeline.next_warning}[what]
        position = finder(view.position, forward)
        if position is None:
            self._note = f"no {'next' if forward else 'previous'} {what}"
        else:
            self._note = ""
            view.focus()
            view.move_to(position)
        self._update_status()

    def action_pair(self) -> None:
        """From a request to its response and back."""
        view = self.query_one(TimelineView)
        position = view.position
        if position is None:
            return
        row = self.timeline.row_at(position)
        request, request_row, response_row = self.timeline.pairing(row)
        other = response_row if row == request_row else request_row
        if request is None or other is None:
            self._note = "no paired request/response"
        else:
            target = self.timeline.position_of(other)
            self._note = ""
            if target is None and self.filter_text:
                # Hidden by the text filter (e.g. cmd:publish, then p for its onStatus): drop the filter.
                self.filter_text = ""
                self.apply_filter()
                target = self.timeline.position_of(other)
                self._note = "filter cleared to show the pair"
            if target is None:
                self._note = "its pair is hidden by the flow selection"
            else:
                view.move_to(target)
        self._update_status()

    # The keys of the main screen do nothing (and are not listed) over the help and stats screens.
    _MAIN_SCREEN_ACTIONS = frozenset({"open_filter", "open_goto", "jump", "pair", "toggle_raw", "stats", "help"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self._MAIN_SCREEN_ACTIONS:
            return len(self.screen_stack) <= 1
        return True

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_stats(self) -> None:
        self.push_screen(StatsScreen(self.timeline, self.flow_filter))

    async def action_quit(self) -> None:
        self._stop.set()
        self.exit(0)

    def on_unmount(self) -> None:
        self._stop.set()

    # -- details and bytes -------------------------------------------------------------------

    def on_timeline_view_cursor_moved(self, event: TimelineView.CursorMoved) -> None:
        self._update_status()
        if self._details_timer is not None:
            self._details_timer.stop()
        # Holding a key down moves the cursor many times a second: decode only where it stops.
        self._details_timer = self.set_timer(0.05, lambda: self.show_details(event.position))

    @unless_gone
    def show_details(self, position: int | None) -> None:
        self._details_timer = None
        tree = self.query_one(DetailsTree)
        hexview = self.query_one(HexView)
        timeline = self.timeline
        if position is None or position >= len(timeline):
            tree.reset_to(Text("no message selected"))
            hexview.show(b"")
            self._details_for = None
            self._bytes_for = None
            return
        row = timeline.row_at(position)
        self._details_for = row
        if timeline.kind[row] == WARNING:
            self._fill_warning(row)
            hexview.show(b"", "(a warning has no bytes)")
            self._bytes_for = (self.raw_mode, row)
            return
        if timeline.kind[row] == HANDSHAKE:
            self._fill_handshake(row)
            return
        wanted = []
        body = timeline._bodies.get(row)
        if body is not None:
            self._fill_message(row, body)
        else:
            self._fill_message(row, None, loading=True)
            wanted.append(("body", row))
        if self.raw_mode and row not in self._raw_cache:
            wanted.append(("raw", row))
        self._show_bytes(row, body, loading=body is None)
        if wanted:
            self._request(wanted)

    def _request(self, wanted: list[tuple[str, int]]) -> None:
        # One re-decode at a time (a thread cannot be cancelled): what the latest row wants is loaded next.
        with self._body_lock:
            self._wanted = wanted
            if self._body_busy:
                return
            self._body_busy = True
        self._load_bodies()

    @work(thread=True, group="body")
    def _load_bodies(self) -> None:
        while True:
            with self._body_lock:
                if not self._wanted:
                    self._body_busy = False
                    return
                what, row = self._wanted.pop(0)
            try:
                result = self.timeline.body(row) if what == "body" else self._load_raw(row)
            except Exception:
                result = None
            if self._stop.is_set():
                return
            self.call_from_thread(self._loaded, what, row, result)

    def _load_raw(self, row: int) -> RawBytes | None:
        timeline = self.timeline
        flow = timeline.flow[row]
        if not 0 <= flow < len(timeline.flows):
            return None
        r = timeline.row(row)
        return load_raw(timeline.flows[flow], r.dir or "", r.index, r.offset, r.end_offset, r.length,
                        self._redecode_pure, self._stop)

    @unless_gone
    def _loaded(self, what: str, row: int, result: Any) -> None:
        if what == "raw":
            self._raw_cache[row] = result
            while len(self._raw_cache) > 16:
                self._raw_cache.popitem(last=False)
        if row != self._details_for:
            return
        if what == "body":
            self._fill_message(row, result, missing=result is None)
            if not self.raw_mode:
                self._show_bytes(row, result)
        elif self.raw_mode:
            self._show_bytes(row, None)

    def action_toggle_raw(self) -> None:
        self.raw_mode = not self.raw_mode
        self.query_one(HexView).border_title = "bytes: raw chunks" if self.raw_mode else "bytes"
        row = self._details_for
        if row is None or self.timeline.kind[row] in (WARNING, HANDSHAKE):
            self._bytes_for = (self.raw_mode, row) if row is not None else None
            return
        body = self.timeline._bodies.get(row)
        if self.raw_mode and row not in self._raw_cache:
            self._show_bytes(row, body, loading=True)
            self._request([("raw", row)])
        elif not self.raw_mode and body is None:
            self._show_bytes(row, None, loading=True)
            self._request([("body", row)])
        else:
            self._show_bytes(row, body)

    def _show_bytes(self, row: int, body: bytes | None, loading: bool = False) -> None:
        """Fill the bytes pane for `row`: the body, or in raw mode the chunks (once loaded)."""
        hexview = self.query_one(HexView)
        if self.raw_mode:
            if row not in self._raw_cache:
                hexview.show(b"", "loading the raw chunks from the capture…")
                self._bytes_for = None
                return
            self._show_raw(row, self._raw_cache[row])
        elif loading:
            hexview.show(b"", "loading…")
            self._bytes_for = None
            return
        elif body is None:
            hexview.show(b"", "body not available")
        else:
            note = f"body: {len(body)} bytes" + (f", first {HEX_LIMIT} shown" if len(body) > HEX_LIMIT else "")
            hexview.show(body[:HEX_LIMIT], note)
        self._bytes_for = (self.raw_mode, row)

    def _show_raw(self, row: int, raw: RawBytes | None) -> None:
        hexview = self.query_one(HexView)
        r = self.timeline.row(row)
        head = f"{r.dir} bytes {r.offset}-{r.end_offset}"
        if raw is None:
            hexview.show(b"", f"{head}: not available (the capture cannot be read again)")
            return
        if raw.missing:
            lost = ", ".join(f"{size} bytes at {offset}" for offset, size in raw.missing)
            hexview.show(b"", [[(f"{head}:", DIM)], [(f"bytes missing from the capture ({lost}):", DIM)],
                               [("not shown rather than shown wrong", DIM)]])
            return
        if not raw.complete:
            hexview.show(b"", f"{head}: the message was not found again at these offsets")
            return
        ours = [c for c in raw.chunks if c.ours]
        others = [c for c in raw.chunks if not c.ours]
        header = sum(c.header for c in ours)
        body = sum(c.size - c.header for c in ours)  # r.length, unless only the first RAW_LIMIT bytes are shown
        spans = []
        for c in raw.chunks:
            at = c.offset - raw.start
            if c.ours and c.header:
                spans.append((at, at + c.header, HEADER_STYLE))
            elif not c.ours:
                spans.append((at, at + c.size, OTHER_STYLE))
        # Narrow at 80 columns: short lines, the counts in the legend.
        carrier = self._carrier_note(r.flow)
        first = f"{head}: {len(ours)} chunk{'s' if len(ours) != 1 else ''}" + (f" ({carrier})" if carrier else "")
        notes: list[NoteLine] = [[(first, DIM)]]
        if raw.truncated:
            notes.append([(f"(the first {RAW_LIMIT} bytes)", DIM)])
        notes.append([(" header ", HEADER_STYLE), (f" {header} + body {body} bytes", DIM)])
        if others:
            notes.append([(f"{len(others)} chunk(s) of other chunk streams", OTHER_STYLE)])
        hexview.show(bytes(raw.data), notes, spans, first_offset=raw.start)

    def _carrier_note(self, flow: int) -> str:
        """What the stream offsets count for a flow that is not plain TCP."""
        if not 0 <= flow < len(self.timeline.flows):
            return ""
        flow_id = getattr(self.timeline.flows[flow].session.tcp_flow, "id", None)
        kind = flow_id[0] if isinstance(flow_id, tuple) and flow_id else None
        notes: dict[str | None, str] = {"tls": "decrypted TLS plaintext", "rtmpt": "RTMPT tunnel bytes, HTTP removed"}
        return notes.get(kind, "")

    @property
    def settled(self) -> bool:
        """Decoding is over, the flows table has its final counts, and the details and bytes panes show the
        row under the cursor with nothing left to load (what tests and scripts wait for)."""
        if not (self.timeline.finished and self._flows_final and self._details_timer is None):
            return False
        height = self.query_one("#flows", DataTable).styles.height
        if height is None or height.value != self._flows_table_height():
            return False
        with self._body_lock:
            if self._body_busy:
                return False
        position = self.query_one(TimelineView).position
        if position is None:
            return self._details_for is None
        row = self.timeline.row_at(position)
        return self._details_for == row and self._bytes_for == (self.raw_mode, row)

    def _fill_handshake(self, row: int) -> None:
        """A handshake part: its fields, the flow's handshake checks, and its bytes (C1/S1/C2/S2, while cached)."""
        timeline = self.timeline
        tree = self.query_one(DetailsTree)
        r = timeline.row(row)
        tree.reset_to(Text(f"handshake {r.name}: {escape(r.summary)}", style="bold"))
        tree.add_fields(tree.root, [("part", r.name), ("dir", r.dir), ("frame", r.frame), ("time", r.time),
                                    ("stream offset", r.offset), ("length", r.length)])
        if 0 <= r.flow < len(timeline.flows):
            session = timeline.flows[r.flow].session
            tree.add_json_value(tree.root, "the flow's handshake", session.handshake.to_json())
        body = timeline.body(row)
        hexview = self.query_one(HexView)
        if r.length == 1:
            hexview.show(b"", "C0/S0: the version byte only")
        elif body is None:
            hexview.show(b"", "handshake bytes no longer kept (they are not decoded again)")
        else:
            hexview.show(body[:HEX_LIMIT], f"{r.name}: {len(body)} bytes")
        self._bytes_for = (self.raw_mode, row)

    def _fill_warning(self, row: int) -> None:
        tree = self.query_one(DetailsTree)
        r = self.timeline.row(row)
        tree.reset_to(Text(f"warning: {escape(r.name)}", style="bold"))
        tree.add_fields(tree.root, [("code", r.name), ("severity", r.severity), ("frame", r.frame),
                                    ("flow", r.flow if r.flow >= 0 else None), ("dir", r.dir),
                                    ("time", r.time), ("message", r.summary)])

    def _fill_message(self, row: int, body: bytes | None, loading: bool = False, missing: bool = False) -> None:
        timeline = self.timeline
        tree = self.query_one(DetailsTree)
        r = timeline.row(row)
        title = Text(f"#{r.flow} message {r.index}: ", style="bold")
        title.append(escape(r.summary))
        tree.reset_to(title)
        request, request_row, response_row = timeline.pairing(row)
        if loading:
            tree.add(tree.root, Text("decoding the body again from the capture…", style="italic"), leaf=True)
        elif body is None:
            tree.add(tree.root, Text("body not available (not kept, and the capture cannot be read again)",
                                     style="italic"), leaf=True)
        else:
            payload = timeline.payload(row, body)
            self._fill_body(tree, payload)
        if request is not None:
            pair = tree.add(tree.root, Text("request / response", style="bold"))
            tree.add_fields(pair, [("request", request.name), ("transaction_id", request.transaction_id),
                                   ("request frame", request.frame), ("response", request.response),
                                   ("response frame", request.response_frame), ("rtt (s)", request.rtt)])
            if request.args:
                tree.add_amf(pair, "request args", request.args)
        header = tree.add(tree.root, Text(f"header: frame {r.frame}, {r.dir}, csid {r.csid}, stream {r.stream_id}, "
                                          f"ts {r.timestamp}, {r.type}, {r.length} bytes", style="bold"),
                          expand=False)
        tree.add_fields(header, [("frame", r.frame), ("time", r.time), ("dir", r.dir), ("csid", r.csid),
                                 ("stream_id", r.stream_id), ("timestamp", r.timestamp), ("type_id", r.type_id),
                                 ("type", r.type), ("length", r.length),
                                 ("stream offset", f"{r.offset}-{r.end_offset}")])
        tree.root.expand()

    def _fill_body(self, tree: DetailsTree, payload: Any) -> None:
        root = tree.root
        if isinstance(payload, AmfPayload):
            node = tree.add(root, Text("command" if payload.is_command else "data", style="bold"))
            tree.add_fields(node, [("name", payload.name)])
            if payload.is_command:
                tree.add_fields(node, [("transaction_id", payload.transaction_id)])
            args = tree.add(node, Text(f"args [{len(payload.args)}]", style="bold"))
            for i, value in enumerate(payload.args):
                tree.add_amf(args, str(i), value)
            if payload.error:
                tree.add(node, json_label("decode error", payload.error), leaf=True)
        elif isinstance(payload, (Control, UserControl, SharedObject)):
            node = tree.add(root, Text("body", style="bold"))
            tree.add_json_value(node, None, payload.to_json())
            if payload.error:
                tree.add(node, json_label("decode error", payload.error), leaf=True)
        elif isinstance(payload, Aggregate):
            node = tree.add(root, Text(f"aggregate: {len(payload.parts)} parts", style="bold"))
            for part in payload.parts[:500]:
                tree.add_json_value(node, None, {"type_id": part.type_id, "timestamp": part.timestamp,
                                           "stream_id": part.stream_id, "length": part.length})
            if payload.error:
                tree.add(node, json_label("decode error", payload.error), leaf=True)
        elif payload is not None and hasattr(payload, "to_json"):
            node = tree.add(root, Text("media", style="bold"))
            try:
                media = payload.to_json()
            except Exception as exc:
                media = {"error": f"{type(exc).__name__}: {exc}"}
            namer = media_namer(codec_name(payload) if isinstance(payload, (AudioInfo, VideoInfo)) else None)
            for key, value in media.items():
                if value is None or value == () or value == []:
                    continue
                tree.add_json_value(node, key, value, namer=namer)
        else:
            tree.add(root, Text("body: not decoded (unknown type)", style="italic"), leaf=True)


FLOW_COLUMNS = (("id", "#"), ("client", "client"), ("server", "server"), ("app", "app"), ("stream", "stream"),
                ("role", "role"), ("outcome", "outcome"), ("messages", "msgs"), ("warnings", "warns"))


def _file_size(path: str) -> int | None:
    try:
        return os.path.getsize(path) if path != "-" else None
    except OSError:
        return None


def run_tui(paths: list[str], options: RunOptions = RunOptions()) -> int:
    """Open the TUI on the captures; returns the exit status (2 if a capture cannot be read)."""
    from ..capture.reader import CaptureError

    for path in paths:
        if path == "-":
            sys.stderr.write("rtmp-inspect: the interactive view cannot read standard input; use --format\n")
            return 2
        try:
            open_reader(path, options).close()
        except CaptureError as exc:
            sys.stderr.write(f"rtmp-inspect: {escape(str(exc))}\n")
            return 2
        except OSError as exc:
            sys.stderr.write(f"rtmp-inspect: {escape(path)}: {exc.strerror or exc}\n")
            return 2
    app = RtmpInspectApp(paths, options)
    result = app.run()
    return result if isinstance(result, int) else 0
