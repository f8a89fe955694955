"""AMF0 decoding (Adobe AMF 0 specification), with the AVM+ switch to AMF3.

Decodes every AMF0 marker, 0x00-0x11: number, boolean, string, object,
movieclip, null, undefined, reference, ECMA array, strict array, date, long
string, unsupported, recordset, XMLDocument, typed object and the AVM+ marker.
See :mod:`rtmp_inspect.rtmp.amf_values` for the value mapping.

AVM+ switch (0x11): only the *next* value is AMF3; decoding returns to AMF0
right after it.  All switched values of one message share one set of AMF3
reference tables (strings, objects, traits), so a later switched value may
refer to strings/objects/traits of an earlier one.  This follows Red5, whose
AMF3 reference store is kept "through the whole body, across several Input
objects", and PyAMF, which keeps one AMF3 context per AMF0 decoding context.
(RocketAMF starts fresh tables for each switched value; Wireshark does not
resolve references at all.)  The two readings give the same values unless a
later switched value uses a reference.  AMF3 values never enter the AMF0
reference table, and AMF0 values never enter the AMF3 tables.

AMF0 references (0x07) index the complex values decoded so far in the
message, in the order they started: anonymous objects, typed objects, ECMA
arrays and strict arrays.
"""

from __future__ import annotations

from typing import Any

from .amf3 import Amf3Decoder
from .amf_values import (
    DEFAULT_LIMITS,
    RECORDSET,
    UNDEFINED,
    UNSUPPORTED,
    AmfDate,
    AmfError,
    AmfLimits,
    AmfMovieClip,
    AmfResult,
    AmfXml,
    DecodeError,
    DecodeState,
    TypedObject,
    run_decoder,
)

__all__ = ["decode_amf0_values", "Amf0Decoder"]

NUMBER_MARKER = 0x00
BOOLEAN_MARKER = 0x01
STRING_MARKER = 0x02
OBJECT_MARKER = 0x03
MOVIECLIP_MARKER = 0x04
NULL_MARKER = 0x05
UNDEFINED_MARKER = 0x06
REFERENCE_MARKER = 0x07
ECMA_ARRAY_MARKER = 0x08
OBJECT_END_MARKER = 0x09
STRICT_ARRAY_MARKER = 0x0A
DATE_MARKER = 0x0B
LONG_STRING_MARKER = 0x0C
UNSUPPORTED_MARKER = 0x0D
RECORDSET_MARKER = 0x0E
XML_DOCUMENT_MARKER = 0x0F
TYPED_OBJECT_MARKER = 0x10
AVMPLUS_MARKER = 0x11


class Amf0Decoder:
    """Reads AMF0 values from a :class:`DecodeState`, keeping the reference table."""

    def __init__(self, state: DecodeState) -> None:
        self.state = state
        self.references: list[Any] = []
        self._amf3: Amf3Decoder | None = None

    def read_value(self) -> Any:
        state = self.state
        at = state.pos
        marker = state.u8("AMF0 type marker")
        state.count(at=at)
        reader = _DISPATCH.get(marker)
        if reader is None:
            if marker == OBJECT_END_MARKER:
                raise DecodeError(at, "unexpected-marker", "object-end marker (0x09) outside an object")
            raise DecodeError(at, "unknown-marker", f"unknown AMF0 type marker 0x{marker:02x}")
        return reader(self, at)

    # -- scalars ---------------------------------------------------------------

    def _read_number(self, at: int) -> float:
        return self.state.f64("number")

    def _read_boolean(self, at: int) -> bool:
        return self.state.u8("boolean") != 0

    def _read_string(self, at: int) -> str:
        state = self.state
        return state.text(state.u16("string length"), "string")

    def _read_long_string(self, at: int) -> str:
        state = self.state
        return state.text(state.u32("long string length"), "long string")

    def _read_xml(self, at: int) -> AmfXml:
        state = self.state
        return AmfXml(state.text(state.u32("XML length"), "XML document"), document=True)

    def _read_movieclip(self, at: int) -> AmfMovieClip:
        state = self.state
        return AmfMovieClip(state.text(state.u16("movieclip path length"), "movieclip path"))

    def _read_date(self, at: int) -> AmfDate:
        state = self.state
        ms = state.f64("date")
        return AmfDate(ms, state.s16("date time zone"))

    def _read_reference(self, at: int) -> Any:
        index = self.state.u16("reference index")
        if index >= len(self.references):
            raise DecodeError(
                at, "bad-reference", f"reference {index} out of range ({len(self.references)} complex values)"
            )
        return self.references[index]

    def _read_avmplus(self, at: int) -> Any:
        if self._amf3 is None:
            self._amf3 = Amf3Decoder(self.state)
        return self._amf3.read_value()

    # -- containers ------------------------------------------------------------

    def _read_properties(self, obj: dict[str, Any], at: int, ecma_count: int | None = None) -> None:
        """Read ``name: value`` pairs up to the empty name + object-end marker.

        An empty name that is *not* followed by 0x09 is read as a property
        named "" (as librtmp does).  For an ECMA array only, a body that ends
        exactly where the next name would start, once at least the declared
        number of entries were read, is accepted with a warning (some
        encoders drop the terminator after the last metadata entry).
        """
        state = self.state
        data = state.data
        while True:
            if ecma_count is not None and state.pos == state.end and len(obj) >= ecma_count:
                state.warnings.append(
                    AmfError(state.pos, "missing-end-marker", "ECMA array ends with the body, without an end marker")
                )
                return
            name_len = state.u16("property name length")
            if name_len == 0:
                if state.pos < state.end and data[state.pos] == OBJECT_END_MARKER:
                    state.pos += 1
                    return
                if state.pos >= state.end:
                    raise DecodeError(state.pos, "truncated", "truncated object: missing end marker")
                name = ""
            else:
                name = state.text(name_len, "property name")
            obj[name] = self.read_value()

    def _read_object(self, at: int) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        self.references.append(obj)
        self.state.enter(at, obj)
        self._read_properties(obj, at)
        self.state.leave()
        return obj

    def _read_typed_object(self, at: int) -> TypedObject:
        state = self.state
        class_name = state.text(state.u16("class name length"), "class name")
        obj = TypedObject(class_name)
        self.references.append(obj)
        state.enter(at, obj)
        self._read_properties(obj, at)
        state.leave()
        return obj

    def _read_ecma_array(self, at: int) -> dict[str, Any]:
        state = self.state
        count = state.u32("ECMA array count")  # a hint only; never trusted for allocation
        obj: dict[str, Any] = {}
        self.references.append(obj)
        state.enter(at, obj)
        self._read_properties(obj, at, ecma_count=count)
        state.leave()
        return obj

    def _read_strict_array(self, at: int) -> list[Any]:
        state = self.state
        count = state.u32("strict array count")
        state.check_count(count, 1, "strict array", at)
        items: list[Any] = []
        self.references.append(items)
        state.enter(at, items)
        for _ in range(count):
            items.append(self.read_value())
        state.leave()
        return items


# Type marker -> reader, built once (not per message: a per-instance table of bound methods cost more
# than decoding a short command body).
_DISPATCH = {
    NUMBER_MARKER: Amf0Decoder._read_number,
    BOOLEAN_MARKER: Amf0Decoder._read_boolean,
    STRING_MARKER: Amf0Decoder._read_string,
    OBJECT_MARKER: Amf0Decoder._read_object,
    MOVIECLIP_MARKER: Amf0Decoder._read_movieclip,
    NULL_MARKER: lambda self, at: None,
    UNDEFINED_MARKER: lambda self, at: UNDEFINED,
    REFERENCE_MARKER: Amf0Decoder._read_reference,
    ECMA_ARRAY_MARKER: Amf0Decoder._read_ecma_array,
    STRICT_ARRAY_MARKER: Amf0Decoder._read_strict_array,
    DATE_MARKER: Amf0Decoder._read_date,
    LONG_STRING_MARKER: Amf0Decoder._read_long_string,
    UNSUPPORTED_MARKER: lambda self, at: UNSUPPORTED,
    RECORDSET_MARKER: lambda self, at: RECORDSET,
    XML_DOCUMENT_MARKER: Amf0Decoder._read_xml,
    TYPED_OBJECT_MARKER: Amf0Decoder._read_typed_object,
    AVMPLUS_MARKER: Amf0Decoder._read_avmplus,
}


def decode_amf0_values(
    body: bytes | bytearray | memoryview,
    offset: int = 0,
    limits: AmfLimits = DEFAULT_LIMITS,
) -> AmfResult:
    """Decode AMF0 values one after another from ``body[offset:]`` until it ends.

    A value preceded by the AVM+ marker (0x11) is decoded as AMF3; the AMF3
    reference tables are shared by all switched values of this body.  Never
    raises: a problem stops decoding and is reported in
    :attr:`AmfResult.error`, with the values decoded before it kept.
    """
    return run_decoder(body, offset, limits, lambda state: Amf0Decoder(state).read_value)
