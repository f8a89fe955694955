"""The timeline model the TUI shows: every message and warning of every flow as one row, in a
`Sequence` with filtering, jumps and bodies recomputed on demand.

Built for captures with millions of messages: a row is a position in parallel `array` columns
(about 80 bytes a row with the summary pointer), not an object. The rows a filter selects are an
index array over those columns (as mitmproxy's view does), so the UI only ever asks for the few rows
on screen. Bodies are not kept with the rows: small ones sit in a bounded LRU, and any other one is
recomputed by decoding that flow again from the capture (see `make_body_loader`).

A `Timeline` is a pipeline sink (see analysis/pipeline.py). It may be fed from a worker thread while
the UI reads it: the feeding side only appends to the columns and publishes `total` last; the
reading side (filters, views) only reads rows below `total`.
"""

from __future__ import annotations

import bisect
import math
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from ..display_filter import FilterError, Predicate, compile_filter, fields_used
from ..rtmp.media import VideoInfo, is_keyframe, is_sequence_header
from ..rtmp.messages import AmfPayload, decode_body, type_name
from ..rtmp.vocabulary import COMMANDS, PROTOCOL_CONTROL, MessageType
from ..rtmp.vocabulary import DATA as DATA_TYPES
from .records import HandshakeRecord, MessageRecord, WarningRecord
from .session import FlowSession

# Row kinds (the `kind` column).
CONTROL, USER_CONTROL, COMMAND, DATA, AUDIO, VIDEO, OTHER, WARNING, HANDSHAKE = range(9)
KIND_NAMES = ("control", "user_control", "command", "data", "audio", "video", "other", "warning", "handshake")
_KIND_BY_NAME = {name: k for k, name in enumerate(KIND_NAMES)}
_KIND_ALIASES = {"ctrl": CONTROL, "uc": USER_CONTROL, "user": USER_CONTROL, "cmd": COMMAND,
                 "warn": WARNING, "warnings": WARNING, "commands": COMMAND, "media": -1, "hs": HANDSHAKE}

# The `flags` column.
KEYFRAME = 1
SEQUENCE_HEADER = 2
INFERRED = 4
SEVERITY_SHIFT = 4  # warnings: severity index in bits 4-5
SEVERITIES = ("info", "warning", "error")

DIRS = ("c2s", "s2c")
NO_DIR = 2

BODY_KEEP_LIMIT = 4096  # bodies up to this size are kept (in the LRU) as they are decoded
BODY_CACHE_BYTES = 32 * 1024 * 1024
_ENTRY_OVERHEAD = 200  # what an LRU entry costs besides the body (bytes object, dict node, int key)
_INTERN_LIMIT = 200_000  # distinct strings interned; past this, new strings are stored as they come


def _kind_of(type_id: int) -> int:
    if type_id in PROTOCOL_CONTROL:
        return CONTROL
    if type_id == MessageType.USER_CONTROL:
        return USER_CONTROL
    if type_id in COMMANDS:
        return COMMAND
    if type_id in DATA_TYPES:
        return DATA
    if type_id == MessageType.AUDIO:
        return AUDIO
    if type_id == MessageType.VIDEO:
        return VIDEO
    return OTHER


@dataclass(slots=True)
class FlowInfo:
    """One RTMP flow in the timeline. `id` is global over all captures; `local_id` is the flow's id
    inside its own capture (what the analyzer gives it, and what a re-decode finds again)."""

    id: int
    capture: int
    path: str | None
    local_id: int
    session: FlowSession  # its state holds the commands and their answers
    messages: int = 0
    warnings: int = 0
    finished: bool = False
    rows: array[int] = field(default_factory=lambda: array("I"))  # message index -> row

    @property
    def client(self) -> str:
        return self.session.client

    @property
    def server(self) -> str:
        return self.session.server

    def app(self) -> str | None:
        connect = self.session.state.connect
        app = connect.get("app") if connect else None
        return app if isinstance(app, str) else None

    def streams(self) -> list[tuple[str | None, str | None]]:
        """(role, name) of every message stream with a role."""
        found = []
        for stream in list(self.session.state.streams.values()):
            if stream.role or stream.name:
                found.append((stream.role, stream.name))
        return found

    def outcome(self) -> str:
        try:
            return self.session.outcome()
        except Exception:  # read while the worker thread changes the state: try again later
            return ""


@dataclass(frozen=True, slots=True)
class Row:
    """One row, made on demand from the columns."""

    row: int  # position in the whole timeline (not in the filtered view)
    kind: int
    flow: int  # global flow id, -1 for capture-level warnings
    dir: str | None
    frame: int | None
    time: float | None
    csid: int
    stream_id: int
    timestamp: int
    type_id: int
    length: int
    index: int  # message index within its flow (-1 for warnings)
    offset: int  # stream offset of the first chunk header in this direction
    end_offset: int
    flags: int
    name: str  # command/data name, or the warning's code
    summary: str  # raw capture text: escape before showing

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def type(self) -> str:
        return _row_type_text(self.kind, self.type_id)

    @property
    def severity(self) -> str | None:
        if self.kind != WARNING:
            return None
        return SEVERITIES[(self.flags >> SEVERITY_SHIFT) & 3]

    @property
    def keyframe(self) -> bool:
        return bool(self.flags & KEYFRAME)


@dataclass(frozen=True, slots=True)
class Filter:
    """What the view shows. Every set field must match; `text` is a case-insensitive substring of
    the summary, the name or the type."""

    flow: int | None = None
    kinds: frozenset[int] | None = None
    type_ids: frozenset[int] | None = None
    command: str | None = None  # exact name, case-insensitive
    stream_id: int | None = None
    dir: int | None = None  # 0 c2s, 1 s2c
    text: str | None = None
    expression: Predicate | None = None  # a display filter over ROW_FIELDS (display_filter.py)
    uses: frozenset[str] = frozenset()  # the fields the expression names

    @property
    def empty(self) -> bool:
        return self == Filter()


# What the display filter may name in the TUI: what a row holds (the message JSON's names; `media` has only
# `keyframe` and `sequence_header`), and `kind`, `code`, `severity` for the rows of findings.
ROW_FIELDS = frozenset(("flow", "index", "dir", "frame", "time", "csid", "stream_id", "timestamp", "type_id",
                        "length", "type", "command", "summary", "media", "inferred", "kind", "code", "severity"))
_DISPLAY_FILTER_SIGNS = ("==", "!=", "<", ">", "&&", "||", "!", "(", " and ", " or ", "not ", " in ",
                         " contains ", " matches ", " eq ", " ne ", " lt ", " le ", " gt ", " ge ")


def query_filter(query: str, flow: int | None = None) -> Filter:
    """The filter bar's text as a filter: the display filter language of `-Y` (over what a row holds), or,
    for text without its operators, `key:value` terms and free text (parse_query). FilterError says what is
    wrong, in one line."""
    padded = f" {query} "
    bare = query.strip()
    if any(sign in padded for sign in _DISPLAY_FILTER_SIGNS) or (" " not in bare and bare.split(".")[0] in ROW_FIELDS):
        expression = compile_filter(query, ROW_FIELDS, "fields a timeline row has")
        return Filter(flow=flow, expression=expression,
                      uses=frozenset(fields_used(query, ROW_FIELDS)))
    return parse_query(query, flow)


_TYPE_IDS_BY_NAME = {type_name(t): t for t in (1, 2, 3, 4, 5, 6, 8, 9, 15, 16, 17, 18, 19, 20, 22)}


def parse_query(query: str, flow: int | None = None) -> Filter:
    """A filter from the filter bar's text: `key:value` terms and free text.

    Keys: `kind:`/`k:` (control, user_control, command, data, audio, video, other, warning, media),
    `type:`/`t:` (a type name such as set_chunk_size, or a type id), `cmd:`/`command:` (a command or
    data name), `stream:`/`s:` (message stream id), `dir:`/`d:` (c2s or s2c), `flow:`/`f:` (flow id).
    Everything else is free text. An unknown kind, type or direction is a FilterError (it would match
    nothing), and so is an unknown key (but `rtmp://...` is free text).
    """
    kinds: set[int] | None = None
    type_ids: set[int] | None = None
    command = None
    stream_id = None
    direction = None
    words = []
    for term in query.split():
        key, sep, value = term.partition(":")
        key = key.lower()
        if not sep or not value:
            words.append(term)
            continue
        low = value.lower()
        if key in ("kind", "k"):
            kinds = kinds or set()
            for part in low.split(","):
                if part == "media":
                    kinds |= {AUDIO, VIDEO}
                elif part in _KIND_BY_NAME or part in _KIND_ALIASES:
                    kinds.add(_KIND_BY_NAME.get(part, _KIND_ALIASES.get(part, 99)))
                else:
                    raise FilterError(f"unknown kind {part!r} (kinds: {', '.join(KIND_NAMES)}, media)")
        elif key in ("type", "t"):
            type_ids = type_ids or set()
            for part in low.split(","):
                if part.isdigit():
                    type_ids.add(int(part))
                elif part in _TYPE_IDS_BY_NAME:
                    type_ids.add(_TYPE_IDS_BY_NAME[part])
                else:
                    raise FilterError(f"unknown message type {part!r} (types: {', '.join(sorted(_TYPE_IDS_BY_NAME))})")
        elif key in ("cmd", "command", "c"):
            command = low
        elif key in ("stream", "s"):
            stream_id = int(value) if value.isdigit() else -1
        elif key in ("dir", "d"):
            direction = {"c2s": 0, "c>s": 0, "s2c": 1, "s>c": 1}.get(low, 9)
            if direction == 9:
                raise FilterError(f"unknown direction {value!r} (c2s or s2c)")
        elif key in ("flow", "f"):
            flow = int(value.lstrip("#")) if value.lstrip("#").isdigit() else -2
        elif value.startswith("//"):
            words.append(term)  # a URL, searched as text
        else:
            raise FilterError(f"unknown filter key {key!r} (kind:, type:, cmd:, stream:, dir:, flow:; or the -Y "
                              "language: type == video && stream_id == 1)")
    text = " ".join(words).lower() or None
    return Filter(flow, frozenset(kinds) if kinds is not None else None,
                  frozenset(type_ids) if type_ids is not None else None, command, stream_id, direction, text)


class Timeline(Sequence[Row]):
    """Rows of every flow, in the order the analysis produced them; a `Sequence` over the rows the
    current filter selects (all of them without a filter)."""

    def __init__(self, body_loader: Callable[[FlowInfo, int], bytes | dict[int, bytes] | None] | None = None,
                 body_cache_bytes: int = BODY_CACHE_BYTES) -> None:
        self.frame = array("I")
        self.time = array("d")
        self.flow = array("i")
        self.dir = array("B")
        self.csid = array("I")
        self.stream_id = array("I")
        self.timestamp = array("I")
        self.type_id = array("B")
        self.length = array("I")
        self.kind = array("B")
        self.flags = array("B")
        self.msg_index = array("i")
        self.offset = array("Q")
        self.end_offset = array("Q")
        self.name = array("I")  # into self.names
        self.summary: list[str] = []
        self.names: list[str] = [""]
        self._name_ids: dict[str, int] = {"": 0}
        self._interned: dict[str, str] = {}
        self.total = 0  # rows fully written (published last, so readers never see half a row)
        # Rows of interest, as sorted row numbers, for the jumps.
        self.commands = array("I")
        self.keyframes = array("I")
        self.warnings = array("I")
        self.flows: list[FlowInfo] = []
        self._flow_ids: dict[tuple[int, int], int] = {}
        self._capture = -1
        self._path: str | None = None
        self.paths: list[str] = []
        # Bodies: a bounded LRU by row; the rest is recomputed by `body_loader`.
        self.body_loader = body_loader
        self.body_cache_bytes = body_cache_bytes
        self._bodies: OrderedDict[int, bytes] = OrderedDict()
        self._body_bytes = 0
        self._body_lock = threading.Lock()
        # The view.
        self._filter = Filter()
        self._view: array[int] | None = None  # None: every row
        self._scanned = 0  # rows the view has looked at
        self.finished = False

    # -- the sink ---------------------------------------------------------------------------

    def begin_capture(self, path: str | None) -> None:
        """Call before running each capture through the analysis; flows are numbered across captures."""
        self._capture += 1
        self._path = path
        if path is not None:
            self.paths.append(path)

    def _flow_id(self, session: Any) -> int:
        if self._capture < 0:
            self.begin_capture(None)
        key = (self._capture, session.id)
        found = self._flow_ids.get(key)
        if found is None:
            found = self._flow_ids[key] = len(self.flows)
            self.flows.append(FlowInfo(found, self._capture, self._path, session.id, session))
        return found

    def flow_started(self, session: Any) -> None:
        self._flow_id(session)

    def flow_finished(self, session: Any) -> None:
        self.flows[self._flow_id(session)].finished = True

    def message(self, session: Any, record: MessageRecord) -> None:
        flow_id = self._flow_id(session)
        info = self.flows[flow_id]
        type_id = record.type_id
        kind = _kind_of(type_id)
        flags = INFERRED if record.inferred else 0
        payload = record.payload
        name = ""
        if kind == VIDEO or kind == AUDIO:
            if payload is not None:
                if kind == VIDEO and isinstance(payload, VideoInfo) and is_keyframe(payload):
                    flags |= KEYFRAME
                try:
                    if is_sequence_header(payload):
                        flags |= SEQUENCE_HEADER
                except Exception:
                    pass
        elif isinstance(payload, AmfPayload):
            name = payload.name or ""
        row = self.total
        self._append(record.frame, record.time, flow_id, 0 if record.dir == "c2s" else 1, record.csid,
                     record.stream_id, record.timestamp, type_id, record.length, kind, flags, record.index,
                     record.offset, record.end_offset, name, record.summary)
        if len(info.rows) == record.index:
            info.rows.append(row)
        info.messages += 1
        if kind == COMMAND:
            self.commands.append(row)
        elif flags & KEYFRAME:
            self.keyframes.append(row)
        if record.length <= BODY_KEEP_LIMIT and record.body is not None:
            self._keep_body(row, bytes(record.body))
        self.total = row + 1

    def handshake(self, session: Any, record: HandshakeRecord) -> None:
        """A row per handshake part (C0, C1, S0, S1, S2, C2); its bytes are kept like small bodies."""
        flow_id = self._flow_id(session)
        row = self.total
        self._append(record.frame, record.time, flow_id, 0 if record.dir == "c2s" else 1, 0, 0, 0, 0,
                     record.length, HANDSHAKE, 0, -1, record.offset, record.offset + record.length,
                     record.part, record.summary)
        if record.data:
            self._keep_body(row, bytes(record.data))
        self.total = row + 1

    def warning(self, session: Any, record: WarningRecord) -> None:
        if session is not None:
            flow_id = self._flow_id(session)
            self.flows[flow_id].warnings += 1
        else:
            flow_id = -1
        row = self.total
        severity = SEVERITIES.index(record.severity) if record.severity in SEVERITIES else 1
        direction = 0 if record.dir == "c2s" else 1 if record.dir == "s2c" else NO_DIR
        time = record.time
        if time is None:
            time = math.nan
        self._append(record.frame or 0, time, flow_id, direction, 0, 0, 0, 0, 0, WARNING,
                     severity << SEVERITY_SHIFT, -1, 0, 0, record.code, record.message)
        self.warnings.append(row)
        self.total = row + 1

    def _append(self, frame: int, time: float, flow: int, direction: int, csid: int, stream_id: int,
                timestamp: int, type_id: int, length: int, kind: int, flags: int, index: int, offset: int,
                end_offset: int, name: str, summary: str) -> None:
        self.frame.append(frame & 0xFFFFFFFF)
        self.time.append(time)
        self.flow.append(flow)
        self.dir.append(direction)
        self.csid.append(csid & 0xFFFFFFFF)
        self.stream_id.append(stream_id & 0xFFFFFFFF)
        self.timestamp.append(timestamp & 0xFFFFFFFF)
        self.type_id.append(type_id & 0xFF)
        self.length.append(length & 0xFFFFFFFF)
        self.kind.append(kind)
        self.flags.append(flags)
        self.msg_index.append(index)
        self.offset.append(max(offset, 0))
        self.end_offset.append(max(end_offset, 0))
        name_id = self._name_ids.get(name)
        if name_id is None:
            name_id = len(self.names)
            self.names.append(name)
            self._name_ids[name] = name_id
        self.name.append(name_id)
        # Media and control summaries repeat ("AAC raw", "Acknowledgement 5000000"): keep one copy.
        interned = self._interned.get(summary)
        if interned is None:
            interned = summary
            if len(self._interned) < _INTERN_LIMIT:
                self._interned[summary] = summary
        self.summary.append(interned)

    # -- rows -------------------------------------------------------------------------------

    def row(self, row: int) -> Row:
        """The row at a position in the whole timeline (ignoring the filter)."""
        if not 0 <= row < self.total:
            raise IndexError(row)
        direction = self.dir[row]
        time = self.time[row]
        frame = self.frame[row]
        kind = self.kind[row]
        return Row(
            row, kind, self.flow[row], DIRS[direction] if direction < 2 else None,
            None if (kind == WARNING and frame == 0) else frame, None if math.isnan(time) else time,
            self.csid[row], self.stream_id[row], self.timestamp[row], self.type_id[row], self.length[row],
            self.msg_index[row], self.offset[row], self.end_offset[row], self.flags[row],
            self.names[self.name[row]], self.summary[row],
        )

    def __len__(self) -> int:
        if self._view is None:
            return self.total
        self._catch_up()
        return len(self._view)

    @overload
    def __getitem__(self, pos: int) -> Row: ...

    @overload
    def __getitem__(self, pos: slice) -> list[Row]: ...

    def __getitem__(self, pos: int | slice) -> Row | list[Row]:
        if isinstance(pos, slice):
            return [self[i] for i in range(*pos.indices(len(self)))]
        return self.row(self.row_at(pos))

    def __iter__(self) -> Iterator[Row]:
        for pos in range(len(self)):
            yield self[pos]

    def row_at(self, pos: int) -> int:
        """The timeline row shown at view position `pos`."""
        if self._view is None:
            count = self.total
            if pos < 0:
                pos += count
            if not 0 <= pos < count:
                raise IndexError(pos)
            return pos
        self._catch_up()
        return self._view[pos]

    def position_of(self, row: int) -> int | None:
        """The view position showing timeline row `row`, or None if the filter hides it."""
        if self._view is None:
            return row if 0 <= row < self.total else None
        self._catch_up()
        view = self._view
        at = bisect.bisect_left(view, row)
        return at if at < len(view) and view[at] == row else None

    def nearest_position(self, row: int) -> int | None:
        """The view position of `row` or, if hidden, of the first row shown after it (else before)."""
        if len(self) == 0:
            return None
        if self._view is None:
            return min(max(row, 0), self.total - 1)
        at = bisect.bisect_left(self._view, row)
        return min(at, len(self._view) - 1)

    # -- filtering ----------------------------------------------------------------------------

    @property
    def filter(self) -> Filter:
        return self._filter

    def set_filter(self, new: Filter) -> int:
        """Show only the rows `new` selects; returns how many it selects so far."""
        self._filter = new
        if new.empty:
            self._view = None
        else:
            self._view = array("I")
            self._scanned = 0
            self._catch_up()
        return len(self)

    def _catch_up(self) -> None:
        """Extend the view over rows published since it was last looked at (the decoder may still run)."""
        count = self.total
        if self._view is None or self._scanned >= count:
            return
        start = self._scanned
        self._view.extend(self._select(range(start, count)))
        self._scanned = count

    def _select(self, rows: range) -> Iterable[int]:
        """Rows of `rows` that match the filter: one comprehension per criterion, cheapest first, so a
        million rows filter in a fraction of a second."""
        f = self._filter
        selected: Iterable[int] = rows
        if f.expression is not None:
            test, fields = f.expression, self._row_fields(f.uses)
            selected = [r for r in selected if test(fields(r))]
        if f.flow is not None:
            column, value = self.flow, f.flow
            selected = [r for r in selected if column[r] == value]
        if f.dir is not None:
            column, value = self.dir, f.dir
            selected = [r for r in selected if column[r] == value]
        if f.kinds is not None:
            column, values = self.kind, f.kinds
            selected = [r for r in selected if column[r] in values]
        if f.type_ids is not None:
            column, values = self.type_id, f.type_ids
            kinds = self.kind
            selected = [r for r in selected if column[r] in values and kinds[r] != WARNING]
        if f.stream_id is not None:
            column, value = self.stream_id, f.stream_id
            kinds = self.kind
            selected = [r for r in selected if column[r] == value and kinds[r] != WARNING]
        if f.command is not None:
            wanted = {i for i, name in enumerate(self.names) if name.lower() == f.command}
            kinds = self.kind
            column = self.name
            selected = [r for r in selected if column[r] in wanted and kinds[r] != WARNING]
        if f.text is not None:
            text = f.text
            summaries, name_column, kinds, type_ids = self.summary, self.name, self.kind, self.type_id
            name_hits = {i for i, name in enumerate(self.names) if text in name.lower()}
            selected = [r for r in selected
                        if text in summaries[r].lower() or name_column[r] in name_hits
                        or text in _row_type_text(kinds[r], type_ids[r])]
        return selected

    def _row_fields(self, uses: frozenset[str]) -> Callable[[int], dict[str, Any]]:
        """A function from a row to the dict of the fields a display filter uses (ROW_FIELDS)."""
        kinds, flags, names, dirs = self.kind, self.flags, self.names, self.dir
        getters: list[tuple[str, Callable[[int], Any]]] = []
        plain = {"flow": self.flow, "frame": self.frame, "csid": self.csid, "stream_id": self.stream_id,
                 "timestamp": self.timestamp, "type_id": self.type_id, "length": self.length}
        for name in sorted(uses):
            if name in plain:
                column = plain[name]
                getters.append((name, column.__getitem__))
            elif name == "index":
                getters.append((name, lambda r: self.msg_index[r] if self.msg_index[r] >= 0 else None))
            elif name == "dir":
                getters.append((name, lambda r: DIRS[dirs[r]] if dirs[r] < 2 else None))
            elif name == "time":
                getters.append((name, lambda r: None if math.isnan(self.time[r]) else self.time[r]))
            elif name == "type":
                getters.append((name, lambda r: _row_type_text(kinds[r], self.type_id[r])))
            elif name == "command":
                getters.append((name, lambda r: names[self.name[r]] or None if kinds[r] in (COMMAND, DATA) else None))
            elif name == "code":
                getters.append((name, lambda r: names[self.name[r]] if kinds[r] == WARNING else None))
            elif name == "severity":
                getters.append((name, lambda r: SEVERITIES[(flags[r] >> SEVERITY_SHIFT) & 3]
                                if kinds[r] == WARNING else None))
            elif name == "summary":
                getters.append((name, self.summary.__getitem__))
            elif name == "kind":
                getters.append((name, lambda r: KIND_NAMES[kinds[r]]))
            elif name == "inferred":
                getters.append((name, lambda r: True if flags[r] & INFERRED else None))
            elif name == "media":
                def media(r: int) -> dict[str, bool] | None:
                    if kinds[r] not in (AUDIO, VIDEO):
                        return None
                    found = {}
                    if flags[r] & KEYFRAME:
                        found["keyframe"] = True
                    if flags[r] & SEQUENCE_HEADER:
                        found["sequence_header"] = True
                    return found
                getters.append((name, media))

        def fields(r: int) -> dict[str, Any]:
            out = {}
            for name, get in getters:
                value = get(r)
                if value is not None:
                    out[name] = value
            return out
        return fields

    # -- jumps ----------------------------------------------------------------------------------

    def _next_in(self, rows: array[int], pos: int | None, forward: bool) -> int | None:
        """The view position of the first row of `rows` after (or before) view position `pos`."""
        if len(self) == 0:
            return None
        if pos is None:
            current = -1 if forward else self.total
        else:
            current = self.row_at(pos)
        count = len(rows)
        if forward:
            at = bisect.bisect_right(rows, current)
            candidates: Iterable[int] = range(at, count)
        else:
            at = bisect.bisect_left(rows, current)
            candidates = range(at - 1, -1, -1)
        for i in candidates:
            row = rows[i]
            if row >= self.total:
                break
            found = self.position_of(row)
            if found is not None:
                return found
        return None

    def next_command(self, pos: int | None, forward: bool = True) -> int | None:
        return self._next_in(self.commands, pos, forward)

    def next_keyframe(self, pos: int | None, forward: bool = True) -> int | None:
        return self._next_in(self.keyframes, pos, forward)

    def next_warning(self, pos: int | None, forward: bool = True) -> int | None:
        """The view position of the next (previous) finding in frame order: findings made at a flow's end sit
        at its end in the rows but name an earlier frame, and `w` from the top goes to the earliest frame.
        Findings without a frame come last."""
        if len(self) == 0:
            return None
        frames, kinds = self.frame, self.kind

        def key(row: int) -> tuple[float, int]:
            frame = frames[row]
            return (math.inf if frame == 0 and kinds[row] == WARNING else frame), row

        current = None if pos is None else key(self.row_at(pos))
        best: tuple[tuple[float, int], int] | None = None
        for row in self.warnings:
            if row >= self.total:
                break
            found = key(row)
            if current is not None and (found <= current if forward else found >= current):
                continue
            if best is not None and (found >= best[0] if forward else found <= best[0]):
                continue
            if self.position_of(row) is not None:  # (shown by the filter)
                best = (found, row)
        return None if best is None else self.position_of(best[1])

    def position_for_frame(self, frame: int) -> int | None:
        """The view position of the first row from `frame` (or, if none, of the first row after it)."""
        frames = self.frame
        total = self.total
        start = 0
        while True:  # the first row carrying the frame, found at C speed by array.index
            try:
                row = frames.index(frame, start, total)
            except ValueError:
                break
            if self.kind[row] == WARNING and frame == 0:
                start = row + 1
                continue
            found = self.position_of(row)
            if found is not None:
                return found
            start = row + 1
        # No shown row carries it (a frame without RTMP, such as a bare ACK): the nearest later frame.
        best_frame, best_pos = None, None
        for pos in range(len(self)):
            row = self.row_at(pos)
            value = frames[row]
            if value > frame and (best_frame is None or value < best_frame):
                best_frame, best_pos = value, pos
                if value == frame + 1:
                    break
        return best_pos

    def position_of_message(self, flow: int, index: int) -> int | None:
        """The view position of message `index` of `flow` (None if unknown or hidden)."""
        if not 0 <= flow < len(self.flows):
            return None
        rows = self.flows[flow].rows
        if not 0 <= index < len(rows):
            return None
        return self.position_of(rows[index])

    # -- bodies and details -------------------------------------------------------------------

    def _keep_body(self, row: int, body: bytes) -> None:
        size = len(body) + _ENTRY_OVERHEAD
        if size > self.body_cache_bytes // 4:
            return
        with self._body_lock:
            old = self._bodies.pop(row, None)
            if old is not None:
                self._body_bytes -= len(old) + _ENTRY_OVERHEAD
            self._bodies[row] = body
            self._body_bytes += size
            while self._body_bytes > self.body_cache_bytes and self._bodies:
                _, dropped = self._bodies.popitem(last=False)
                self._body_bytes -= len(dropped) + _ENTRY_OVERHEAD

    def body(self, row: int) -> bytes | None:
        """The body of the message at timeline row `row`: from the LRU, or decoded again from the
        capture (None if that is impossible, e.g. the capture came from standard input)."""
        if self.kind[row] == WARNING:
            return None
        with self._body_lock:
            if self.kind[row] == HANDSHAKE:  # kept while cached; not decoded again
                return self._bodies.get(row)
            body = self._bodies.get(row)
            if body is not None:
                self._bodies.move_to_end(row)
                return body
        flow = self.flow[row]
        if self.body_loader is None or not 0 <= flow < len(self.flows):
            return None
        info = self.flows[flow]
        index = self.msg_index[row]
        loaded = self.body_loader(info, index)
        if not loaded:
            return None
        if isinstance(loaded, (bytes, bytearray)):
            loaded = {index: bytes(loaded)}
        rows = info.rows
        for other, data in loaded.items():
            if other != index and 0 <= other < len(rows):
                self._keep_body(rows[other], data)
        body = loaded.get(index)
        if body is not None:
            self._keep_body(row, body)
        return body

    def payload(self, row: int, body: bytes | None = None) -> Any:
        """The decoded body of the message at `row` (None when the body is not available)."""
        if body is None:
            body = self.body(row)
        if body is None:
            return None
        return decode_body(self.type_id[row], body, self.timestamp[row])

    def pairing(self, row: int) -> tuple[Any, int | None, int | None]:
        """(request, request row, response row) for a command that is a request or answers one."""
        flow = self.flow[row]
        index = self.msg_index[row]
        if self.kind[row] != COMMAND or not 0 <= flow < len(self.flows):
            return None, None, None
        info = self.flows[flow]
        for request in list(info.session.state.requests):
            if request.index == index or request.response_index == index:
                rows = info.rows
                req_row = rows[request.index] if request.index < len(rows) else None
                resp_row = None
                if request.response_index is not None and request.response_index < len(rows):
                    resp_row = rows[request.response_index]
                return request, req_row, resp_row
        return None, None, None

    def memory_per_row(self) -> float:
        """Bytes the columns take per row (without the summary strings themselves)."""
        if self.total == 0:
            return 0.0
        columns = (self.frame, self.time, self.flow, self.dir, self.csid, self.stream_id, self.timestamp,
                   self.type_id, self.length, self.kind, self.flags, self.msg_index, self.offset, self.end_offset,
                   self.name)
        total = sum(c.itemsize * len(c) for c in columns) + 8 * len(self.summary)
        return total / self.total


def _row_type_text(kind: int, type_id: int) -> str:
    if kind == WARNING or kind == HANDSHAKE:
        return KIND_NAMES[kind]
    return type_name(type_id)


class _Found(Exception):
    def __init__(self, bodies: dict[int, bytes]) -> None:
        self.bodies = bodies


NEIGHBOURS = 64  # a re-decode also keeps this many messages each side (moving the cursor on is then instant)
NEIGHBOUR_BYTES = 8 * 1024 * 1024


class _StopAtMessage:
    """A sink that collects the bodies of one message of one flow (`is_flow(session)`) and of its neighbours,
    then stops the run by raising `_Found`."""

    def __init__(self, is_flow: Callable[[Any], bool], index: int, stop: Any = None) -> None:
        self.is_flow = is_flow
        self.index = index
        self.stop = stop  # a threading.Event: set, the run ends early with what it has
        self.bodies: dict[int, bytes] = {}
        self.size = 0

    def flow_started(self, session: Any) -> None:
        pass

    def message(self, session: Any, record: MessageRecord) -> None:
        if self.stop is not None and self.stop.is_set():
            raise _Found(self.bodies)
        if not self.is_flow(session):
            return
        distance = record.index - self.index
        if -NEIGHBOURS <= distance <= NEIGHBOURS and (distance == 0 or self.size < NEIGHBOUR_BYTES):
            self.bodies[record.index] = bytes(record.body)
            self.size += record.length
        if distance >= NEIGHBOURS or (distance >= 0 and self.size >= NEIGHBOUR_BYTES):
            raise _Found(self.bodies)

    def warning(self, session: Any, record: WarningRecord) -> None:
        pass

    def flow_finished(self, session: Any) -> None:
        if self.is_flow(session):
            raise _Found(self.bodies)


def make_body_loader(redecode: Callable[..., Any], stop: Any = None
                     ) -> Callable[[FlowInfo, int], dict[int, bytes] | None]:
    """A body loader that decodes the flow's capture again with `redecode(path, sink, stop, connection)`
    (runner.redecode with the run's options; only the packets of the flow's connection where it has one,
    see refetch.py) and stops just after the wanted message; it returns the bodies of that message and of its
    neighbours, by message index. Exact, and it needs no memory beforehand; the Timeline's LRU keeps what was
    loaded. `stop` (a threading.Event) ends a run early, e.g. when the program quits."""
    from .refetch import session_matcher

    def load(flow: FlowInfo, index: int) -> dict[int, bytes] | None:
        if flow.path is None or flow.path == "-":
            return None
        is_flow, connection = session_matcher(flow.session, flow.local_id)
        sink = _StopAtMessage(is_flow, index, stop)
        try:
            redecode(flow.path, sink, stop, connection)
        except _Found as found:
            return found.bodies
        except Exception:
            return None
        return sink.bodies

    return load
