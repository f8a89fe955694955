"""AMF3 decoding (Adobe AMF 3 specification, January 2013 edition).

Decodes all AMF3 markers, 0x00-0x11: undefined, null, false, true, integer,
double, string, XMLDocument, date, array, object, XML, ByteArray, the four
Vector types and Dictionary.  See :mod:`rtmp_inspect.rtmp.amf_values` for the
value mapping.

Reference tables (strings, objects, traits) live in one :class:`Amf3Decoder`
and so last for one body: :func:`decode_amf3_values` uses a single decoder for
every value of the body, and the AMF0 decoder uses a single one for all the
values switched to AMF3 (marker 0x11) within one message.

Note on RTMP: message types 15 (AMF3 data) and 17 (AMF3 command) do *not*
carry a pure AMF3 stream; their body is a format byte (0x00) followed by AMF0
values that switch to AMF3 with 0x11.  Decode those with
``decode_amf0_values(body, offset=1)``.  :func:`decode_amf3_values` is for
bodies that are AMF3 from the first byte (ByteArray.writeObject output,
shared-object payloads written in AMF3, tests).
"""

from __future__ import annotations

import struct
from typing import Any

from .amf_values import (
    DEFAULT_LIMITS,
    UNDEFINED,
    AmfByteArray,
    AmfDate,
    AmfDictionary,
    AmfLimits,
    AmfResult,
    AmfVector,
    AmfXml,
    DecodeError,
    DecodeState,
    TypedObject,
    run_decoder,
)

__all__ = ["decode_amf3_values", "Amf3Decoder", "EXTERNALIZABLE_WRAPPERS"]

UNDEFINED_MARKER = 0x00
NULL_MARKER = 0x01
FALSE_MARKER = 0x02
TRUE_MARKER = 0x03
INTEGER_MARKER = 0x04
DOUBLE_MARKER = 0x05
STRING_MARKER = 0x06
XML_DOC_MARKER = 0x07
DATE_MARKER = 0x08
ARRAY_MARKER = 0x09
OBJECT_MARKER = 0x0A
XML_MARKER = 0x0B
BYTE_ARRAY_MARKER = 0x0C
VECTOR_INT_MARKER = 0x0D
VECTOR_UINT_MARKER = 0x0E
VECTOR_DOUBLE_MARKER = 0x0F
VECTOR_OBJECT_MARKER = 0x10
DICTIONARY_MARKER = 0x11

#: Externalizable classes whose external form is just one AMF3 value: the
#: value is decoded and kept as the single field named here, on a
#: :class:`TypedObject` with ``externalizable=True``.  Any other
#: externalizable class stops decoding (its byte layout is private to it).
EXTERNALIZABLE_WRAPPERS: dict[str, str] = {
    "flex.messaging.io.ArrayCollection": "source",
    "flex.messaging.io.ArrayList": "source",
    "mx.collections.ArrayCollection": "source",
    "mx.collections.ArrayList": "source",
    "flex.messaging.io.ObjectProxy": "object",
    "mx.utils.ObjectProxy": "object",
}

_INT_SIGN = 1 << 28
_INT_RANGE = 1 << 29


class _Traits:
    __slots__ = ("class_name", "sealed", "dynamic", "externalizable")

    def __init__(self, class_name: str, sealed: tuple[str, ...], dynamic: bool, externalizable: bool) -> None:
        self.class_name = class_name
        self.sealed = sealed
        self.dynamic = dynamic
        self.externalizable = externalizable


class Amf3Decoder:
    """Reads AMF3 values from a :class:`DecodeState`, keeping the reference tables."""

    def __init__(self, state: DecodeState) -> None:
        self.state = state
        self.strings: list[str] = []
        self.objects: list[Any] = []
        self.traits: list[_Traits] = []

    # -- entry point ---------------------------------------------------------

    def read_value(self) -> Any:
        state = self.state
        at = state.pos
        marker = state.u8("AMF3 type marker")
        state.count(at=at)
        reader = _DISPATCH.get(marker)
        if reader is None:
            raise DecodeError(at, "unknown-marker", f"unknown AMF3 type marker 0x{marker:02x}")
        return reader(self, at)

    # -- primitives ------------------------------------------------------------

    def read_u29(self, what: str = "U29 integer") -> int:
        state = self.state
        data = state.data
        pos = state.pos
        end = state.end
        result = 0
        for _ in range(3):
            if pos >= end:
                raise DecodeError(state.pos, "truncated", f"truncated {what}")
            b = data[pos]
            pos += 1
            if b < 0x80:
                state.pos = pos
                return (result << 7) | b
            result = (result << 7) | (b & 0x7F)
        if pos >= end:
            raise DecodeError(state.pos, "truncated", f"truncated {what}")
        state.pos = pos + 1
        return (result << 8) | data[pos]

    def read_string(self, what: str = "string") -> str:
        """UTF-8-vr: an inline string or a string-table reference."""
        state = self.state
        at = state.pos
        header = self.read_u29(f"{what} header")
        if not header & 1:
            index = header >> 1
            if index >= len(self.strings):
                raise DecodeError(
                    at, "bad-reference", f"string reference {index} out of range ({len(self.strings)} strings)"
                )
            return self.strings[index]
        text = state.text(header >> 1, what)
        if text:
            self.strings.append(text)
        return text

    def _object_ref(self, header: int, at: int) -> Any:
        index = header >> 1
        if index >= len(self.objects):
            raise DecodeError(
                at, "bad-reference", f"object reference {index} out of range ({len(self.objects)} objects)"
            )
        return self.objects[index]

    # -- scalar types ------------------------------------------------------------

    def _read_integer(self, at: int) -> int:
        value = self.read_u29("integer")
        if value >= _INT_SIGN:
            value -= _INT_RANGE
        return value

    def _read_double(self, at: int) -> float:
        return self.state.f64("double")

    def _read_string_value(self, at: int) -> str:
        return self.read_string()

    def _read_xml_common(self, at: int, document: bool, what: str) -> Any:
        header = self.read_u29(f"{what} header")
        if not header & 1:
            return self._object_ref(header, at)
        value = AmfXml(self.state.text(header >> 1, what), document=document)
        self.objects.append(value)
        return value

    def _read_xml_doc(self, at: int) -> Any:
        return self._read_xml_common(at, True, "XMLDocument")

    def _read_xml(self, at: int) -> Any:
        return self._read_xml_common(at, False, "XML")

    def _read_date(self, at: int) -> Any:
        header = self.read_u29("date header")
        if not header & 1:
            return self._object_ref(header, at)
        value = AmfDate(self.state.f64("date"))
        self.objects.append(value)
        return value

    def _read_byte_array(self, at: int) -> Any:
        header = self.read_u29("ByteArray header")
        if not header & 1:
            return self._object_ref(header, at)
        value = AmfByteArray(self.state.raw(header >> 1, "ByteArray"))
        self.objects.append(value)
        return value

    # -- containers ----------------------------------------------------------------

    def _read_array(self, at: int) -> Any:
        state = self.state
        header = self.read_u29("array header")
        if not header & 1:
            return self._object_ref(header, at)
        dense_count = header >> 1
        # The first associative key decides the shape; reading it cannot touch
        # the object table, so the container is still registered before any
        # value inside it is decoded.
        key = self.read_string("array key")
        if not key:
            state.check_count(dense_count, 1, "array", at)
            items: list[Any] = []
            self.objects.append(items)
            state.enter(at, items)
            for _ in range(dense_count):
                items.append(self.read_value())
            state.leave()
            return items
        mixed: dict[str, Any] = {}
        self.objects.append(mixed)
        state.enter(at, mixed)
        while key:
            mixed[key] = self.read_value()
            key = self.read_string("array key")
        state.check_count(dense_count, 1, "array", at)
        for index in range(dense_count):
            mixed[str(index)] = self.read_value()
        state.leave()
        return mixed

    def _read_traits(self, header: int, at: int) -> _Traits:
        state = self.state
        if not header & 2:
            index = header >> 2
            if index >= len(self.traits):
                raise DecodeError(
                    at, "bad-reference", f"traits reference {index} out of range ({len(self.traits)} traits)"
                )
            return self.traits[index]
        if header & 4:
            traits = _Traits(self.read_string("class name"), (), False, True)
            self.traits.append(traits)
            return traits
        dynamic = bool(header & 8)
        sealed_count = header >> 4
        class_name = self.read_string("class name")
        # each sealed member needs at least a name byte and a value byte
        state.check_count(sealed_count, 2, "object traits", at)
        sealed = tuple(self.read_string("member name") for _ in range(sealed_count))
        traits = _Traits(class_name, sealed, dynamic, False)
        self.traits.append(traits)
        return traits

    def _read_object(self, at: int) -> Any:
        state = self.state
        header = self.read_u29("object header")
        if not header & 1:
            return self._object_ref(header, at)
        traits = self._read_traits(header, at)
        if traits.externalizable:
            field_name = EXTERNALIZABLE_WRAPPERS.get(traits.class_name)
            if field_name is None:
                raise DecodeError(
                    at,
                    "unsupported-externalizable",
                    f"externalizable class {traits.class_name!r} has a private format that cannot be decoded",
                )
            wrapper = TypedObject(traits.class_name, externalizable=True)
            self.objects.append(wrapper)
            state.enter(at, wrapper)
            wrapper[field_name] = self.read_value()
            state.leave()
            return wrapper
        obj: dict[str, Any] = TypedObject(traits.class_name) if traits.class_name else {}
        self.objects.append(obj)
        state.enter(at, obj)
        for name in traits.sealed:
            obj[name] = self.read_value()
        if traits.dynamic:
            key = self.read_string("member name")
            while key:
                obj[key] = self.read_value()
                key = self.read_string("member name")
        state.leave()
        return obj

    def _read_vector_numbers(self, at: int, kind: str, fmt: str, size: int) -> Any:
        state = self.state
        header = self.read_u29("vector header")
        if not header & 1:
            return self._object_ref(header, at)
        count = header >> 1
        fixed = state.u8("vector fixed flag") != 0
        state.check_count(count, size, f"Vector.<{kind}>", at)
        state.count(count, at)
        items = struct.unpack_from(f">{count}{fmt}", state.data, state.pos)
        state.pos += count * size
        vector = AmfVector(items, kind=kind, fixed=fixed)
        self.objects.append(vector)
        return vector

    def _read_vector_int(self, at: int) -> Any:
        return self._read_vector_numbers(at, "int", "i", 4)

    def _read_vector_uint(self, at: int) -> Any:
        return self._read_vector_numbers(at, "uint", "I", 4)

    def _read_vector_double(self, at: int) -> Any:
        return self._read_vector_numbers(at, "double", "d", 8)

    def _read_vector_object(self, at: int) -> Any:
        state = self.state
        header = self.read_u29("vector header")
        if not header & 1:
            return self._object_ref(header, at)
        count = header >> 1
        fixed = state.u8("vector fixed flag") != 0
        type_name = self.read_string("vector type name")
        state.check_count(count, 1, "Vector.<Object>", at)
        vector = AmfVector(kind="object", fixed=fixed, type_name=type_name)
        self.objects.append(vector)
        state.enter(at, vector)
        for _ in range(count):
            vector.append(self.read_value())
        state.leave()
        return vector

    def _read_dictionary(self, at: int) -> Any:
        state = self.state
        header = self.read_u29("dictionary header")
        if not header & 1:
            return self._object_ref(header, at)
        count = header >> 1
        weak = state.u8("dictionary weak-keys flag") != 0
        state.check_count(count, 2, "Dictionary", at)
        dictionary = AmfDictionary([], weak_keys=weak)
        self.objects.append(dictionary)
        state.enter(at, dictionary)
        pairs = dictionary.pairs
        for _ in range(count):
            key = self.read_value()
            pairs.append((key, self.read_value()))
        state.leave()
        return dictionary


# Type marker -> reader, built once rather than per message.
_DISPATCH = {
    UNDEFINED_MARKER: lambda self, at: UNDEFINED,
    NULL_MARKER: lambda self, at: None,
    FALSE_MARKER: lambda self, at: False,
    TRUE_MARKER: lambda self, at: True,
    INTEGER_MARKER: Amf3Decoder._read_integer,
    DOUBLE_MARKER: Amf3Decoder._read_double,
    STRING_MARKER: Amf3Decoder._read_string_value,
    XML_DOC_MARKER: Amf3Decoder._read_xml_doc,
    DATE_MARKER: Amf3Decoder._read_date,
    ARRAY_MARKER: Amf3Decoder._read_array,
    OBJECT_MARKER: Amf3Decoder._read_object,
    XML_MARKER: Amf3Decoder._read_xml,
    BYTE_ARRAY_MARKER: Amf3Decoder._read_byte_array,
    VECTOR_INT_MARKER: Amf3Decoder._read_vector_int,
    VECTOR_UINT_MARKER: Amf3Decoder._read_vector_uint,
    VECTOR_DOUBLE_MARKER: Amf3Decoder._read_vector_double,
    VECTOR_OBJECT_MARKER: Amf3Decoder._read_vector_object,
    DICTIONARY_MARKER: Amf3Decoder._read_dictionary,
}


def decode_amf3_values(
    body: bytes | bytearray | memoryview,
    offset: int = 0,
    limits: AmfLimits = DEFAULT_LIMITS,
) -> AmfResult:
    """Decode AMF3 values one after another from ``body[offset:]`` until it ends.

    One set of reference tables serves the whole body.  Never raises: a
    problem stops decoding and is reported in :attr:`AmfResult.error`, with the
    values decoded before it kept.
    """
    return run_decoder(body, offset, limits, lambda state: Amf3Decoder(state).read_value)
