"""Value types shared by the AMF0 and AMF3 decoders, and their JSON form.

Decoded AMF values map onto plain Python values wherever a natural mapping
exists; everything else becomes a small marker object defined here.

======================  ==============================================
AMF                     Python
======================  ==============================================
number / double         ``float``
AMF3 integer            ``int`` (29-bit, sign-extended)
boolean                 ``bool``
string / long string    ``str`` (UTF-8, invalid bytes -> U+FFFD)
null                    ``None``
undefined               :data:`UNDEFINED` (an :class:`AmfUndefined`)
object / ECMA array     ``dict`` (str keys, insertion order kept)
typed object            :class:`TypedObject` (a ``dict`` with ``class_name``)
strict / dense array    ``list``
AMF3 mixed array        ``dict`` (associative keys, then ``"0"``, ``"1"``...)
AMF3 vector             :class:`AmfVector` (a ``list`` with ``kind``...)
date                    :class:`AmfDate`
XML / XMLDocument       :class:`AmfXml`
byte array              :class:`AmfByteArray`
dictionary              :class:`AmfDictionary`
unsupported             :data:`UNSUPPORTED`
recordset               :data:`RECORDSET`
movieclip               :class:`AmfMovieClip`
reference               the referenced value itself (same object)
======================  ==============================================

:func:`amf_to_json` turns a decoded value tree into JSON-ready data (see its
docstring for the contract form of every marker).

This module also holds the machinery both decoders share: the limits, the
error/result types and the byte reader.  Nothing in here raises past the
public ``decode_*`` functions: those catch every internal exception and turn
it into :attr:`AmfResult.error`.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AmfUndefined",
    "AmfUnsupported",
    "AmfRecordset",
    "AmfMovieClip",
    "AmfDate",
    "AmfXml",
    "AmfByteArray",
    "AmfDictionary",
    "TypedObject",
    "AmfVector",
    "UNDEFINED",
    "UNSUPPORTED",
    "RECORDSET",
    "AmfLimits",
    "DEFAULT_LIMITS",
    "AmfError",
    "AmfResult",
    "amf_to_json",
    "DEFAULT_JSON_MAX_DEPTH",
    "DEFAULT_JSON_MAX_NODES",
]


# ---------------------------------------------------------------------------
# Markers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AmfUndefined:
    """ActionScript ``undefined`` (AMF0 0x06, AMF3 0x00)."""

    def to_json(self) -> dict[str, Any]:
        return {"$undefined": True}

    def __repr__(self) -> str:
        return "UNDEFINED"


@dataclass(frozen=True)
class AmfUnsupported:
    """AMF0 ``unsupported`` marker (0x0D): the sender could not serialize a value."""

    def to_json(self) -> dict[str, Any]:
        return {"$unsupported": True}

    def __repr__(self) -> str:
        return "UNSUPPORTED"


@dataclass(frozen=True)
class AmfRecordset:
    """AMF0 ``recordset`` marker (0x0E); reserved, carries no payload."""

    def to_json(self) -> dict[str, Any]:
        return {"$recordset": True}

    def __repr__(self) -> str:
        return "RECORDSET"


UNDEFINED = AmfUndefined()
UNSUPPORTED = AmfUnsupported()
RECORDSET = AmfRecordset()


@dataclass(frozen=True)
class AmfMovieClip:
    """AMF0 ``movieclip`` marker (0x04).

    Reserved by the AMF0 specification; old Flash players serialized a movie
    clip as its target path, a UTF-8 string with a 16-bit length, which is how
    this decoder reads it.
    """

    path: str

    def to_json(self) -> dict[str, Any]:
        return {"$movieclip": self.path}


@dataclass(frozen=True)
class AmfDate:
    """A date: milliseconds since the Unix epoch (UTC), as a float.

    ``timezone`` is the AMF0 16-bit time-zone field (minutes; the spec says it
    is reserved and should be 0); it is ``None`` for AMF3 dates, which have no
    such field.
    """

    ms: float
    timezone: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"$date": _json_float(self.ms)}
        if self.timezone:
            out["timezone"] = self.timezone
        return out


@dataclass(frozen=True)
class AmfXml:
    """XML text: AMF0 XMLDocument (0x0F), AMF3 XMLDocument (0x07) or E4X XML (0x0B).

    ``document`` is True for the legacy XMLDocument types, False for AMF3 XML.
    """

    text: str
    document: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"$xml": self.text}


@dataclass(frozen=True)
class AmfByteArray:
    """AMF3 ByteArray (0x0C)."""

    data: bytes

    def to_json(self) -> dict[str, Any]:
        return {"$bytes": self.data.hex()}


@dataclass(frozen=True)
class AmfDictionary:
    """AMF3 Dictionary (0x11): key/value pairs whose keys may be any value.

    ``pairs`` is a list of ``(key, value)`` tuples in wire order (it is filled
    while decoding, so an entry may refer back to the dictionary itself).
    """

    pairs: list[tuple[Any, Any]] = field(default_factory=list)
    weak_keys: bool = False

    def to_json(self) -> dict[str, Any]:
        converted: dict[str, Any] = amf_to_json(self)  # a container converts to a container of its kind
        return converted


class TypedObject(dict[str, Any]):
    """An object with a class name (AMF0 typed object, AMF3 object with traits).

    Behaves as a ``dict`` of its fields.  ``externalizable`` is True for AMF3
    externalizable objects whose wrapped value was decoded (for example
    ``flex.messaging.io.ArrayCollection``: its single field is ``source``).
    """

    __slots__ = ("class_name", "externalizable")

    def __init__(self, class_name: str = "", *args: Any, externalizable: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.class_name = class_name
        self.externalizable = externalizable

    def __repr__(self) -> str:
        return f"TypedObject({self.class_name!r}, {dict.__repr__(self)})"

    def to_json(self) -> dict[str, Any]:
        converted: dict[str, Any] = amf_to_json(self)
        return converted


class AmfVector(list[Any]):
    """AMF3 Vector (0x0D-0x10): a ``list`` that remembers what kind of vector it was.

    ``kind`` is ``"int"``, ``"uint"``, ``"double"`` or ``"object"``; ``fixed`` is
    the fixed-length flag; ``type_name`` is the element class name of an
    object vector (``""`` for ``Vector.<*>``/``Object``), ``None`` otherwise.
    """

    __slots__ = ("kind", "fixed", "type_name")

    def __init__(
        self, items: Any = (), kind: str = "object", fixed: bool = False, type_name: str | None = None
    ) -> None:
        super().__init__(items)
        self.kind = kind
        self.fixed = fixed
        self.type_name = type_name

    def __repr__(self) -> str:
        extra = f", type_name={self.type_name!r}" if self.type_name is not None else ""
        return f"AmfVector({list.__repr__(self)}, kind={self.kind!r}, fixed={self.fixed!r}{extra})"

    def to_json(self) -> list[Any]:
        converted: list[Any] = amf_to_json(self)
        return converted


# ---------------------------------------------------------------------------
# JSON conversion
# ---------------------------------------------------------------------------

DEFAULT_JSON_MAX_DEPTH = 200
DEFAULT_JSON_MAX_NODES = 2_000_000

_CONTAINER = object()


def _json_float(value: float) -> Any:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return {"$number": "NaN"}
    return {"$number": "Infinity" if value > 0 else "-Infinity"}


def _leaf_json(value: Any) -> Any:
    """JSON form of a non-container value, or ``_CONTAINER``."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return _json_float(value)
    if isinstance(value, (dict, list, tuple, AmfDictionary)):
        return _CONTAINER
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": bytes(value).hex()}
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    return str(value)


def _open_container(value: Any) -> tuple[Any, Any]:
    """Create the output container for ``value`` and an iterator of its children.

    The iterator yields ``(target, key, child)``: the converted child goes to
    ``target[key]``, or is appended to ``target`` when ``key`` is None.
    """
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        items: Any = value.items()
        if isinstance(value, TypedObject):
            # "$class" always carries the class name; a field of that name is dropped
            out["$class"] = value.class_name
            items = ((k, v) for k, v in items if k != "$class")
        return out, ((out, k if isinstance(k, str) else str(k), v) for k, v in items)
    if isinstance(value, AmfDictionary):
        pairs: list[list[Any]] = []
        out = {"$dictionary": pairs}

        def dict_children() -> Any:
            for pair in value.pairs:
                pair_out: list[Any] = []
                pairs.append(pair_out)
                for item in pair:
                    yield pair_out, None, item

        return out, dict_children()
    lst: list[Any] = []
    return lst, ((lst, None, v) for v in value)


def _mark_truncated(out: Any) -> None:
    if isinstance(out, dict):
        out["$truncated"] = True
    else:
        out.append({"$truncated": True})


def amf_to_json(
    value: Any,
    *,
    max_depth: int = DEFAULT_JSON_MAX_DEPTH,
    max_nodes: int = DEFAULT_JSON_MAX_NODES,
    budget: list[int] | None = None,
) -> Any:
    """Convert a decoded AMF value tree into JSON-ready data (dict/list/str/...).

    Contract form:

    * scalars stay as they are; a non-finite float becomes
      ``{"$number": "NaN" | "Infinity" | "-Infinity"}``;
    * ``dict`` -> object, ``list``/:class:`AmfVector` -> array;
    * :class:`TypedObject` -> ``{"$class": name, ...fields}``;
    * :data:`UNDEFINED` -> ``{"$undefined": true}``;
    * :class:`AmfDate` -> ``{"$date": ms}`` (plus ``"timezone": minutes`` when
      an AMF0 date carries a non-zero time zone);
    * :class:`AmfXml` -> ``{"$xml": text}``;
    * :class:`AmfByteArray` -> ``{"$bytes": "hex"}``;
    * :data:`UNSUPPORTED` -> ``{"$unsupported": true}``;
    * :data:`RECORDSET` -> ``{"$recordset": true}``;
    * :class:`AmfMovieClip` -> ``{"$movieclip": path}``;
    * :class:`AmfDictionary` -> ``{"$dictionary": [[key, value], ...]}``.

    References make the decoded tree a graph.  A container met again while it
    is still open on the current path (a cycle) becomes ``{"$ref": i}``, where
    ``i`` is its depth on that path (0 = the value passed in).  Containers that
    are merely shared are written out at each occurrence.

    Output stays bounded whatever the input graph: a container deeper than
    ``max_depth`` becomes ``{"$truncated": true}``, and once ``max_nodes``
    values have been written every container still open is closed with a
    ``"$truncated": true`` key (objects) or a ``{"$truncated": true}`` item
    (arrays).  Works iteratively: no recursion, whatever the depth.

    ``budget``, a one-item list, bounds several calls together (the values of
    one message): each call spends at most ``budget[0]`` units and takes off
    what it spent; a unit is one value or 16 characters of a string, key or
    marker.  References (AMF0 objects, AMF3 strings and objects) let a few
    bytes name a value many times over, so only a budget in proportion to the
    message keeps the output in proportion to the capture.
    """
    leaf = _leaf_json(value)
    if leaf is not _CONTAINER:
        if budget is not None:
            if budget[0] <= 0:
                return {"$truncated": True}
            budget[0] -= 1 + _cost(leaf)
        return leaf
    if budget is not None:
        max_nodes = min(max_nodes, budget[0])
    root, children = _open_container(value)
    path: dict[int, int] = {id(value): 0}
    stack: list[tuple[Any, Any, Any]] = [(value, root, children)]
    nodes = 1
    while stack:
        if nodes >= max_nodes:
            for _src, out, _it in stack:
                _mark_truncated(out)
            break
        src, _out, it = stack[-1]
        try:
            target, key, child = next(it)
        except StopIteration:
            stack.pop()
            path.pop(id(src), None)
            continue
        nodes += 1
        converted = _leaf_json(child)
        if budget is not None:
            if type(key) is str:
                nodes += len(key) >> 4
            if converted is not _CONTAINER:
                nodes += _cost(converted)
        if converted is _CONTAINER:
            depth = len(stack)
            child_id = id(child)
            if child_id in path:
                converted = {"$ref": path[child_id]}
            elif depth >= max_depth:
                converted = {"$truncated": True}
            else:
                converted, child_it = _open_container(child)
                path[child_id] = depth
                stack.append((child, converted, child_it))
        if key is None:
            target.append(converted)
        else:
            target[key] = converted
    if budget is not None:
        budget[0] -= nodes
    return root


def _cost(leaf: Any) -> int:
    """Budget units of a converted leaf beyond the one it counts as: its characters / 16."""
    if type(leaf) is str:
        return len(leaf) >> 4
    if type(leaf) is dict:
        return sum(len(v) for v in leaf.values() if type(v) is str) >> 4
    return 0


# ---------------------------------------------------------------------------
# Limits, errors, results
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AmfLimits:
    """Resource limits for decoding one message body.

    ``max_depth``: containers nested deeper than this stop decoding.
    ``max_elements``: total values decoded in one body (vector items count).
    Declared counts and lengths are also checked against the bytes left in
    the body before anything is allocated, whatever these limits say.
    """

    max_depth: int = 64
    max_elements: int = 1_000_000


DEFAULT_LIMITS = AmfLimits()


@dataclass(frozen=True)
class AmfError:
    """Why decoding stopped early.

    ``offset`` is a byte offset into the body passed in (not relative to the
    ``offset`` argument).  ``kind`` is one of ``"truncated"``,
    ``"unknown-marker"``, ``"unexpected-marker"``, ``"bad-reference"``,
    ``"count-exceeds-body"``, ``"limit-depth"``, ``"limit-elements"``,
    ``"unsupported-externalizable"``, ``"bad-input"``, ``"internal"``.
    The same type is used for non-fatal :attr:`AmfResult.warnings`
    (kind ``"missing-end-marker"``).
    """

    offset: int
    kind: str
    reason: str

    def __str__(self) -> str:
        return f"{self.reason} (at byte {self.offset})"

    def to_json(self) -> dict[str, Any]:
        return {"offset": self.offset, "kind": self.kind, "reason": self.reason}


@dataclass
class AmfResult:
    """Outcome of decoding one body.

    ``values``: the values decoded completely, in order.
    ``spans``: ``(start, end)`` byte offsets of each value in the body.
    ``error``: None, or why decoding stopped before the end of the body.
    ``partial``: when ``error`` is set and the value being decoded was a
    container, that container as far as it got (else None); it is not in
    ``values``.
    ``end_offset``: where the last complete value ended (the start offset if
    none did).
    ``warnings``: non-fatal oddities (e.g. an ECMA array missing its end marker
    at the very end of the body).
    """

    values: list[Any] = field(default_factory=list)
    error: AmfError | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)
    end_offset: int = 0
    partial: Any = None
    warnings: list[AmfError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"values": [amf_to_json(v) for v in self.values]}
        if self.error is not None:
            out["error"] = self.error.to_json()
        if self.warnings:
            out["warnings"] = [w.to_json() for w in self.warnings]
        return out


# ---------------------------------------------------------------------------
# Shared decoding machinery (internal)
# ---------------------------------------------------------------------------


class DecodeError(Exception):
    """Internal: raised inside the decoders, turned into :class:`AmfError`."""

    def __init__(self, offset: int, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.kind = kind
        self.reason = reason


_U16 = struct.Struct(">H")
_S16 = struct.Struct(">h")
_U32 = struct.Struct(">I")
_F64 = struct.Struct(">d")


class DecodeState:
    """Cursor over one body plus the per-message counters both decoders share."""

    __slots__ = ("data", "pos", "end", "limits", "elements", "depth", "warnings", "partial_root")

    def __init__(self, data: bytes, pos: int, limits: AmfLimits) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data)
        self.limits = limits
        self.elements = 0
        self.depth = 0
        self.warnings: list[AmfError] = []
        self.partial_root: Any = None

    # -- bounds -------------------------------------------------------------

    def remaining(self) -> int:
        return self.end - self.pos

    def need(self, n: int, what: str) -> None:
        if self.end - self.pos < n:
            raise DecodeError(
                self.pos, "truncated", f"truncated {what}: needs {n} bytes, {self.end - self.pos} left"
            )

    def check_count(self, count: int, min_size: int, what: str, at: int) -> None:
        """Reject a declared count the remaining bytes cannot possibly hold."""
        if count * min_size > self.end - self.pos:
            raise DecodeError(
                at,
                "count-exceeds-body",
                f"{what} declares {count} entries but only {self.end - self.pos} bytes are left",
            )

    # -- primitive reads ------------------------------------------------------

    def u8(self, what: str = "marker") -> int:
        pos = self.pos
        if pos >= self.end:
            raise DecodeError(pos, "truncated", f"truncated {what}: needs 1 byte, 0 left")
        self.pos = pos + 1
        return self.data[pos]

    def u16(self, what: str) -> int:
        v: int
        self.need(2, what)
        (v,) = _U16.unpack_from(self.data, self.pos)
        self.pos += 2
        return v

    def s16(self, what: str) -> int:
        v: int
        self.need(2, what)
        (v,) = _S16.unpack_from(self.data, self.pos)
        self.pos += 2
        return v

    def u32(self, what: str) -> int:
        v: int
        self.need(4, what)
        (v,) = _U32.unpack_from(self.data, self.pos)
        self.pos += 4
        return v

    def f64(self, what: str) -> float:
        v: float
        self.need(8, what)
        (v,) = _F64.unpack_from(self.data, self.pos)
        self.pos += 8
        return v

    def raw(self, n: int, what: str) -> bytes:
        self.need(n, what)
        pos = self.pos
        self.pos = pos + n
        return self.data[pos : pos + n]

    def text(self, n: int, what: str) -> str:
        return self.raw(n, what).decode("utf-8", errors="replace")

    # -- accounting ------------------------------------------------------------

    def count(self, n: int = 1, at: int | None = None) -> None:
        self.elements += n
        if self.elements > self.limits.max_elements:
            raise DecodeError(
                self.pos if at is None else at,
                "limit-elements",
                f"more than {self.limits.max_elements} values in one body",
            )

    def enter(self, at: int, container: Any) -> None:
        """Open a container (already registered for references)."""
        if self.partial_root is None:
            self.partial_root = container
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise DecodeError(at, "limit-depth", f"containers nested deeper than {self.limits.max_depth}")

    def leave(self) -> None:
        self.depth -= 1


def run_decoder(
    body: Any,
    offset: int,
    limits: AmfLimits,
    make_reader: Callable[[DecodeState], Callable[[], Any]],
) -> AmfResult:
    """Decode values until the body ends; never raises."""
    result = AmfResult()
    try:
        if isinstance(body, (int, str)):
            raise TypeError(type(body).__name__)
        data = bytes(body)
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0 or offset > len(data):
            result.error = AmfError(0, "bad-input", f"offset {offset!r} outside a body of {len(data)} bytes")
            return result
        if not isinstance(limits, AmfLimits):
            limits = DEFAULT_LIMITS
    except Exception as exc:  # not bytes-like
        result.error = AmfError(0, "bad-input", f"body is not bytes-like: {type(exc).__name__}")
        return result

    state = DecodeState(data, offset, limits)
    result.end_offset = offset
    try:
        read_value = make_reader(state)
        while state.pos < state.end:
            start = state.pos
            state.partial_root = None
            state.depth = 0
            value = read_value()
            result.values.append(value)
            result.spans.append((start, state.pos))
            result.end_offset = state.pos
    except DecodeError as exc:
        result.error = AmfError(exc.offset, exc.kind, exc.reason)
        result.partial = state.partial_root
    except RecursionError:
        result.error = AmfError(state.pos, "limit-depth", "nesting too deep for the interpreter")
        result.partial = state.partial_root
    except Exception as exc:  # defensive: a decoder bug must not escape
        result.error = AmfError(state.pos, "internal", f"internal decoder error: {type(exc).__name__}: {exc}")
        result.partial = state.partial_root
    result.warnings = state.warnings
    return result
