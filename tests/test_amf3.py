"""AMF3 decoder tests (rtmp_inspect.rtmp.amf3)."""

from __future__ import annotations

import json
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtmp_inspect.rtmp.amf3 import decode_amf3_values
from rtmp_inspect.rtmp.amf_values import (
    UNDEFINED,
    AmfByteArray,
    AmfDate,
    AmfDictionary,
    AmfError,
    AmfLimits,
    AmfResult,
    AmfVector,
    AmfXml,
    TypedObject,
    amf_to_json,
)

# ---------------------------------------------------------------------------
# A tiny hand encoder (test-only)
# ---------------------------------------------------------------------------


def u29(n: int) -> bytes:
    assert 0 <= n < 1 << 29
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return bytes([0x80 | (n >> 7), n & 0x7F])
    if n < 0x200000:
        return bytes([0x80 | (n >> 14), 0x80 | ((n >> 7) & 0x7F), n & 0x7F])
    return bytes([0x80 | (n >> 22), 0x80 | ((n >> 15) & 0x7F), 0x80 | ((n >> 8) & 0x7F), n & 0xFF])


def vr(text: str) -> bytes:
    """UTF-8-vr, inline."""
    raw = text.encode("utf-8")
    return u29(len(raw) << 1 | 1) + raw


def sref(index: int) -> bytes:
    return u29(index << 1)


def oref(marker: int, index: int) -> bytes:
    return bytes([marker]) + u29(index << 1)


def integer(n: int) -> bytes:
    return b"\x04" + u29(n & 0x1FFFFFFF)


def double(x: float) -> bytes:
    return b"\x05" + struct.pack(">d", x)


def string(text: str) -> bytes:
    return b"\x06" + vr(text)


def dense(*items: bytes) -> bytes:
    return b"\x09" + u29(len(items) << 1 | 1) + b"\x01" + b"".join(items)


def anon(*pairs: tuple[str, bytes]) -> bytes:
    """Anonymous dynamic object with inline traits."""
    return b"\x0a\x0b\x01" + b"".join(vr(k) + v for k, v in pairs) + b"\x01"


def sealed(class_name: str, names: list[str], values: list[bytes], dynamic: bytes | None = None) -> bytes:
    header = u29(len(names) << 4 | (0b1000 if dynamic is not None else 0) | 0b011)
    out = b"\x0a" + header + vr(class_name) + b"".join(vr(n) for n in names) + b"".join(values)
    if dynamic is not None:
        out += dynamic + b"\x01"
    return out


UNDEF, NULL, FALSE, TRUE = b"\x00", b"\x01", b"\x02", b"\x03"


def decode(body: bytes, **kw) -> AmfResult:
    return decode_amf3_values(body, **kw)


def decode_ok(body: bytes, **kw) -> list:
    result = decode(body, **kw)
    assert result.error is None, result.error
    return result.values


# ---------------------------------------------------------------------------
# Scalars
# ---------------------------------------------------------------------------


def test_simple_markers():
    assert decode_ok(UNDEF + NULL + FALSE + TRUE) == [UNDEFINED, None, False, True]


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"\x00", 0),
        (b"\x7f", 127),
        (b"\x81\x00", 128),
        (b"\xff\x7f", 16383),
        (b"\x81\x80\x00", 16384),
        (b"\xff\xff\x7f", 2**21 - 1),
        (b"\x80\xc0\x80\x00", 2**21),
        (b"\xbf\xff\xff\xff", 2**28 - 1),  # largest positive
        (b"\xff\xff\xff\xff", -1),
        (b"\xff\xff\xff\xfe", -2),
        (b"\xc0\x80\x80\x00", -(2**28)),  # most negative
    ],
)
def test_integer_u29_signed(raw, expected):
    (value,) = decode_ok(b"\x04" + raw)
    assert value == expected and type(value) is int


@pytest.mark.parametrize("n", [0, 1, 127, 128, 16383, 16384, 2**21 - 1, 2**21, 2**28 - 1, -1, -200, -(2**28)])
def test_integer_roundtrip_helper(n):
    assert decode_ok(integer(n)) == [n]


def test_double():
    values = decode_ok(double(3.25) + double(-1e300) + double(float("nan")))
    assert values[:2] == [3.25, -1e300] and type(values[0]) is float
    assert math.isnan(values[2])


def test_strings_and_string_references():
    body = string("alpha") + string("") + string("beta") + b"\x06" + sref(0) + b"\x06" + sref(1) + string("ünï")
    values = decode_ok(body)
    assert values == ["alpha", "", "beta", "alpha", "beta", "ünï"]


def test_empty_string_never_enters_table():
    result = decode(string("") + b"\x06" + sref(0))
    assert result.values == [""]
    assert result.error.kind == "bad-reference"


def test_string_reference_out_of_range():
    result = decode(string("a") + b"\x06" + sref(5))
    assert result.values == ["a"]
    assert result.error.kind == "bad-reference" and result.error.offset == 3 + 1


def test_invalid_utf8_is_replaced():
    assert decode_ok(b"\x06\x05\xc3\x28") == ["\ufffd("]


# ---------------------------------------------------------------------------
# Object-table types
# ---------------------------------------------------------------------------


def test_xml_types():
    values = decode_ok(b"\x07" + vr("<doc/>") + b"\x0b" + vr("<e4x/>") + oref(0x0B, 0))
    assert values[0] == AmfXml("<doc/>", document=True)
    assert values[1] == AmfXml("<e4x/>", document=False)
    assert values[2] is values[0]
    assert amf_to_json(values[1]) == {"$xml": "<e4x/>"}


def test_date_and_reference():
    body = b"\x08\x01" + struct.pack(">d", 1.7e12) + oref(0x08, 0)
    values = decode_ok(body)
    assert values[0] == AmfDate(1.7e12) and values[0].timezone is None
    assert values[1] is values[0]
    assert amf_to_json(values[0]) == {"$date": 1.7e12}


def test_byte_array_and_reference():
    values = decode_ok(b"\x0c" + u29(3 << 1 | 1) + b"\x00\x01\xff" + oref(0x0C, 0))
    assert values[0] == AmfByteArray(b"\x00\x01\xff")
    assert values[1] is values[0]
    assert amf_to_json(values[0]) == {"$bytes": "0001ff"}


def test_dense_array():
    (value,) = decode_ok(dense(integer(1), string("two"), dense(), NULL))
    assert value == [1, "two", [], None] and type(value) is list


def test_associative_array():
    body = b"\x09\x01" + vr("a") + integer(1) + vr("b") + TRUE + b"\x01"
    (value,) = decode_ok(body)
    assert value == {"a": 1, "b": True}


def test_mixed_array():
    body = b"\x09" + u29(2 << 1 | 1) + vr("name") + string("n") + b"\x01" + integer(10) + integer(20)
    (value,) = decode_ok(body)
    assert value == {"name": "n", "0": 10, "1": 20}
    assert list(value) == ["name", "0", "1"]


def test_array_self_reference():
    (value,) = decode_ok(dense(integer(1), oref(0x09, 0)))
    assert value[1] is value
    assert amf_to_json(value) == [1, {"$ref": 0}]


def test_anonymous_dynamic_object():
    (value,) = decode_ok(anon(("a", integer(1)), ("b", anon(("c", string("x"))))))
    assert value == {"a": 1, "b": {"c": "x"}}
    assert type(value) is dict


def test_typed_sealed_object_and_traits_reference():
    first = sealed("com.example.Point", ["x", "y"], [integer(1), integer(2)])
    second = b"\x0a" + u29(0 << 2 | 0b01) + integer(3) + integer(4)  # traits ref 0
    values = decode_ok(dense(first, second))
    p1, p2 = values[0]
    assert isinstance(p1, TypedObject) and isinstance(p2, TypedObject)
    assert p1.class_name == p2.class_name == "com.example.Point"
    assert dict(p1) == {"x": 1, "y": 2} and dict(p2) == {"x": 3, "y": 4}
    assert amf_to_json(p2) == {"$class": "com.example.Point", "x": 3, "y": 4}


def test_sealed_plus_dynamic_members():
    body = sealed("T", ["s"], [string("sealed")], dynamic=vr("d") + integer(-5))
    (value,) = decode_ok(body)
    assert value.class_name == "T" and dict(value) == {"s": "sealed", "d": -5}


def test_anonymous_sealed_object_is_plain_dict():
    (value,) = decode_ok(sealed("", ["k"], [NULL]))
    assert value == {"k": None} and type(value) is dict


def test_object_reference_and_cycle():
    # {self: <ref 0>, other: {back: <ref 0>}}
    body = anon(("self", oref(0x0A, 0)), ("other", anon(("back", oref(0x0A, 0)))))
    (value,) = decode_ok(body)
    assert value["self"] is value
    assert value["other"]["back"] is value
    assert amf_to_json(value) == {"self": {"$ref": 0}, "other": {"back": {"$ref": 0}}}


def test_object_reference_across_top_level_values():
    values = decode_ok(anon(("k", integer(1))) + oref(0x0A, 0))
    assert values[1] is values[0]


def test_reference_and_traits_out_of_range():
    result = decode(anon() + oref(0x0A, 1))
    assert result.values == [{}] and result.error.kind == "bad-reference"
    result = decode(b"\x0a" + u29(3 << 2 | 0b01))
    assert result.error.kind == "bad-reference" and "traits" in result.error.reason


def test_string_table_shared_by_keys_class_names_and_values():
    # "k" enters the string table as a key, then is used as a value by reference
    body = anon(("k", b"\x06" + sref(0)))
    assert decode_ok(body) == [{"k": "k"}]


def test_externalizable_array_collection():
    body = b"\x0a\x07" + vr("flex.messaging.io.ArrayCollection") + dense(integer(1), integer(2))
    (value,) = decode_ok(body)
    assert isinstance(value, TypedObject) and value.externalizable
    assert value.class_name == "flex.messaging.io.ArrayCollection"
    assert value == {"source": [1, 2]}
    assert amf_to_json(value) == {"$class": "flex.messaging.io.ArrayCollection", "source": [1, 2]}


def test_externalizable_object_proxy_and_traits_reference():
    proxy = b"\x0a\x07" + vr("flex.messaging.io.ObjectProxy") + anon(("a", TRUE))
    again = b"\x0a\x01" + anon(("b", FALSE))  # traits ref 0 -> ObjectProxy again
    values = decode_ok(proxy + again)
    assert values[0] == {"object": {"a": True}} and values[1] == {"object": {"b": False}}
    assert values[1].class_name == "flex.messaging.io.ObjectProxy" and values[1].externalizable


def test_unknown_externalizable_is_an_error():
    body = string("before") + b"\x0a\x07" + vr("DSK") + b"\x01\x02\x03"
    result = decode(body)
    assert result.values == ["before"]
    assert result.error.kind == "unsupported-externalizable"
    assert "DSK" in result.error.reason and result.error.offset == len(string("before"))


def test_vectors():
    body = (
        b"\x0d" + u29(3 << 1 | 1) + b"\x00" + struct.pack(">3i", -1, 0, 2**31 - 1)
        + b"\x0e" + u29(2 << 1 | 1) + b"\x01" + struct.pack(">2I", 0, 2**32 - 1)
        + b"\x0f" + u29(2 << 1 | 1) + b"\x00" + struct.pack(">2d", 0.5, -2.0)
        + b"\x10" + u29(2 << 1 | 1) + b"\x01" + vr("com.example.Item") + string("a") + NULL
        + b"\x10" + u29(0 << 1 | 1) + b"\x00" + b"\x01"
        + oref(0x0D, 0)
    )
    vi, vu, vd, vo, empty, again = decode_ok(body)
    assert vi == [-1, 0, 2**31 - 1] and vi.kind == "int" and not vi.fixed
    assert vu == [0, 2**32 - 1] and vu.kind == "uint" and vu.fixed
    assert vd == [0.5, -2.0] and vd.kind == "double"
    assert vo == ["a", None] and vo.kind == "object" and vo.type_name == "com.example.Item" and vo.fixed
    assert empty == [] and empty.type_name == ""
    assert all(isinstance(v, AmfVector) for v in (vi, vu, vd, vo, empty))
    assert again is vi
    assert amf_to_json(vo) == ["a", None]


def test_vector_object_self_reference():
    body = b"\x10" + u29(1 << 1 | 1) + b"\x00" + b"\x01" + oref(0x10, 0)
    (value,) = decode_ok(body)
    assert value[0] is value


def test_dictionary():
    key_obj = anon(("id", integer(7)))
    body = (
        b"\x11" + u29(3 << 1 | 1) + b"\x01"
        + integer(1) + string("one")
        + key_obj + TRUE
        + string("self") + oref(0x11, 0)
    )
    (value,) = decode_ok(body)
    assert isinstance(value, AmfDictionary) and value.weak_keys
    assert value.pairs[0] == (1, "one")
    assert value.pairs[1] == ({"id": 7}, True)
    assert value.pairs[2][1] is value
    assert amf_to_json(value) == {"$dictionary": [[1, "one"], [{"id": 7}, True], ["self", {"$ref": 0}]]}
    json.dumps(value.to_json())


def test_unknown_marker():
    result = decode(integer(1) + b"\x12")
    assert result.values == [1]
    assert result.error == AmfError(2, "unknown-marker", "unknown AMF3 type marker 0x12")


# ---------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------

MAX_U29 = (1 << 29) - 1


@pytest.mark.parametrize(
    "body, kind",
    [
        (b"\x09" + u29(MAX_U29) + b"\x01" + b"\x01", "count-exceeds-body"),
        (b"\x09" + u29(MAX_U29) + b"\x03a\x01\x01", "count-exceeds-body"),
        (b"\x0d" + u29(MAX_U29) + b"\x00" + b"\x00" * 16, "count-exceeds-body"),
        (b"\x0f" + u29(MAX_U29) + b"\x00" + b"\x00" * 16, "count-exceeds-body"),
        (b"\x10" + u29(MAX_U29) + b"\x00\x01" + b"\x01" * 16, "count-exceeds-body"),
        (b"\x11" + u29(MAX_U29) + b"\x00" + b"\x01" * 16, "count-exceeds-body"),
        (b"\x0a" + u29((MAX_U29 >> 4) << 4 | 0b011) + b"\x01" + b"\x01" * 16, "count-exceeds-body"),
        (b"\x06" + u29(MAX_U29) + b"abc", "truncated"),
        (b"\x0c" + u29(MAX_U29) + b"abc", "truncated"),
        (b"\x07" + u29(MAX_U29) + b"abc", "truncated"),
    ],
)
def test_huge_declared_counts(body, kind):
    result = decode(body)
    assert result.error is not None and result.error.kind == kind
    assert result.values == []


def test_vector_element_count_limit():
    body = b"\x0d" + u29(100 << 1 | 1) + b"\x00" + b"\x00" * 400
    assert decode(body, limits=AmfLimits(max_elements=50)).error.kind == "limit-elements"
    assert len(decode_ok(body)[0]) == 100


def nested(depth: int) -> bytes:
    return b"\x09\x03\x01" * depth + NULL


def test_depth_limit():
    assert decode(nested(64)).error is None
    result = decode(nested(65))
    assert result.error.kind == "limit-depth" and result.error.offset == 64 * 3
    assert isinstance(result.partial, list)
    assert decode(nested(100_000)).error.kind == "limit-depth"
    assert decode(nested(5), limits=AmfLimits(max_depth=4)).error.kind == "limit-depth"


def test_element_limit():
    result = decode(TRUE * 30, limits=AmfLimits(max_elements=25))
    assert len(result.values) == 25 and result.error.kind == "limit-elements"


def test_many_references_stay_linear():
    # 50k references to one big object: must not copy it
    big = dense(*[integer(i) for i in range(1000)])
    body = big + oref(0x09, 0) * 50_000
    values = decode_ok(body)
    assert len(values) == 50_001 and all(v is values[0] for v in values)


# ---------------------------------------------------------------------------
# Truncation and random input
# ---------------------------------------------------------------------------

COMPOSITE = (
    anon(
        ("i", integer(-3)),
        ("d", double(2.5)),
        ("s", string("text")),
        ("r", b"\x06" + sref(0)),
        ("x", b"\x0b" + vr("<x/>")),
        ("t", b"\x08\x01" + struct.pack(">d", 0.0)),
        ("b", b"\x0c\x05ab"),
        ("a", b"\x09\x05" + vr("k") + TRUE + b"\x01" + NULL + UNDEF),
        ("o", sealed("C", ["m"], [FALSE], dynamic=vr("dyn") + oref(0x0A, 0))),
        ("v", b"\x0d\x05\x00" + struct.pack(">2i", 1, -1)),
        ("vo", b"\x10\x03\x00\x01" + integer(9)),
        ("dict", b"\x11\x03\x00" + integer(1) + integer(2)),
        ("ext", b"\x0a\x07" + vr("mx.collections.ArrayCollection") + dense(TRUE)),
    )
    + string("tail")
    + b"\x0a\x01"  # traits ref 0 (anonymous dynamic), empty
    + b"\x01"
)


def test_composite_decodes():
    values = decode_ok(COMPOSITE)
    top = values[0]
    assert top["r"] == "i"  # first string in the table is the first key
    assert top["o"]["dyn"] is top
    assert top["a"] == {"k": True, "0": None, "1": UNDEFINED}
    assert values[1] == "tail" and values[2] == {}
    json.dumps([amf_to_json(v) for v in values], allow_nan=False)


def test_truncated_at_every_position():
    full = decode(COMPOSITE)
    assert full.error is None
    boundaries = {s for s, _ in full.spans} | {len(COMPOSITE)}
    for cut in range(len(COMPOSITE)):
        result = decode(COMPOSITE[:cut])
        n = len(result.values)
        assert result.spans == full.spans[:n]
        if cut in boundaries:
            assert result.error is None
            continue
        assert result.error is not None, cut
        assert result.error.kind in ("truncated", "count-exceeds-body"), (cut, result.error)
        assert result.end_offset <= result.error.offset <= cut
        json.dumps(result.to_json(), allow_nan=False)
        if result.partial is not None:
            amf_to_json(result.partial)


def _check(result: AmfResult, size: int) -> None:
    assert isinstance(result, AmfResult)
    if result.error is not None:
        assert 0 <= result.error.offset <= size
        assert result.error.kind != "internal", result.error
    json.dumps(result.to_json(), allow_nan=False)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data):
    _check(decode(data), len(data))


_fragments = st.sampled_from(
    [bytes([m]) for m in range(0x13)]
    + [b"\x00", b"\x01", b"\x03", b"\x05", b"\x07", b"\x0b", b"\x0f", b"\x13", b"\x1b", b"\xff\xff\xff\xff",
       b"\x02", b"\x04", b"\x06", b"\x03a", b"\x05ab", b"\x80\x80\x80\x80", b"\xc0\x80\x80\x00"]
)


@settings(max_examples=800, deadline=None)
@given(st.lists(_fragments, max_size=80))
def test_structured_random_bodies_never_raise(fragments):
    data = b"".join(fragments)
    _check(decode(data), len(data))
    _check(decode(data, limits=AmfLimits(max_depth=2, max_elements=10)), len(data))
