"""AMF0 decoder tests (rtmp_inspect.rtmp.amf0) and amf_to_json."""

from __future__ import annotations

import json
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtmp_inspect.rtmp.amf0 import decode_amf0_values
from rtmp_inspect.rtmp.amf_values import (
    RECORDSET,
    UNDEFINED,
    UNSUPPORTED,
    AmfByteArray,
    AmfDate,
    AmfDictionary,
    AmfError,
    AmfLimits,
    AmfMovieClip,
    AmfResult,
    AmfVector,
    AmfXml,
    TypedObject,
    amf_to_json,
)

# ---------------------------------------------------------------------------
# A tiny hand encoder (test-only)
# ---------------------------------------------------------------------------


def utf(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack(">H", len(raw)) + raw


def num(value: float) -> bytes:
    return b"\x00" + struct.pack(">d", value)


def boolean(value: bool) -> bytes:
    return b"\x01" + (b"\x01" if value else b"\x00")


def string(text: str) -> bytes:
    return b"\x02" + utf(text)


def long_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"\x0c" + struct.pack(">I", len(raw)) + raw


def props(pairs: list[tuple[str, bytes]]) -> bytes:
    return b"".join(utf(k) + v for k, v in pairs) + b"\x00\x00\x09"


def obj(*pairs: tuple[str, bytes]) -> bytes:
    return b"\x03" + props(list(pairs))


def ecma(*pairs: tuple[str, bytes], count: int | None = None) -> bytes:
    return b"\x08" + struct.pack(">I", len(pairs) if count is None else count) + props(list(pairs))


def strict(*items: bytes, count: int | None = None) -> bytes:
    return b"\x0a" + struct.pack(">I", len(items) if count is None else count) + b"".join(items)


def typed(class_name: str, *pairs: tuple[str, bytes]) -> bytes:
    return b"\x10" + utf(class_name) + props(list(pairs))


def ref(index: int) -> bytes:
    return b"\x07" + struct.pack(">H", index)


def date(ms: float, tz: int = 0) -> bytes:
    return b"\x0b" + struct.pack(">dh", ms, tz)


def xml(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"\x0f" + struct.pack(">I", len(raw)) + raw


NULL = b"\x05"
UNDEF = b"\x06"


def decode(body: bytes, **kw) -> AmfResult:
    return decode_amf0_values(body, **kw)


def decode_ok(body: bytes, **kw) -> list:
    result = decode(body, **kw)
    assert result.error is None, result.error
    return result.values


# ---------------------------------------------------------------------------
# Real message bodies, de-chunked from the captures in samples/public.
# wireshark_rtmp_sample.cap: from wader/fq format/rtmp/testdata (MIT licence),
#   originally the Wireshark wiki RTMP sample.
# twinx_*.pcap: from krisnova/twinx (Apache-2.0 licence).
# ---------------------------------------------------------------------------

# connect('StreamPlayer/') from wireshark_rtmp_sample.cap
CONNECT_BODY = bytes.fromhex(
    "020007636f6e6e656374003ff000000000000003000361707002000d53747265616d506c61796572"
    "2f0008666c61736856657202000c57494e20392c302c34372c30000673776655726c02000766696c"
    "653a2f2f0005746355726c02002a72746d703a2f2f66633433322e73747265616d656469612e696e"
    "666f2f53747265616d506c617965722f0004667061640100000b617564696f436f64656373004083"
    "380000000000000b766964656f436f6465637300405f000000000000000d766964656f46756e6374"
    "696f6e003ff000000000000000077061676555726c06000009"
)

# onStatus NetStream.Play.Failed from wireshark_rtmp_sample.cap
ONSTATUS_BODY = bytes.fromhex(
    "0200086f6e537461747573000000000000000000050300056c6576656c0200056572726f72000463"
    "6f64650200154e657453747265616d2e506c61792e4661696c6564000b6465736372697074696f6e"
    "02002a496e76616c69642074696e63616e206f626a656374206e616d65202873747265616d204944"
    "3a2031292e0008636c69656e74696400419fa4d2c0000000000009"
)

# _result of connect from twinx_ingest_publish.pcap (FMS/3,5,7,7009): its
# "data" member is an ECMA array whose declared count (0) is wrong.
RESULT_BODY = bytes.fromhex(
    "0200075f726573756c74003ff0000000000000030006666d7356657202000e464d532f332c352c37"
    "2c37303039000c6361706162696c697469657300403f00000000000000046d6f6465003ff0000000"
    "0000000000090300056c6576656c0200067374617475730004636f646502001d4e6574436f6e6e65"
    "6374696f6e2e436f6e6e6563742e53756363657373000b6465736372697074696f6e020015436f6e"
    "6e656374696f6e207375636365656465642e0004646174610800000000000776657273696f6e0200"
    "0a332c352c372c373030390000090008636c69656e7469640041c54c3f7c800000000e6f626a6563"
    "74456e636f64696e67000000000000000000000009"
)

# @setDataFrame / onMetaData (OBS) from twinx_short_publish.pcap
METADATA_BODY = bytes.fromhex(
    "02000d40736574446174614672616d6502000a6f6e4d657461446174610800000014000864757261"
    "74696f6e000000000000000000000866696c6553697a650000000000000000000005776964746800"
    "40940000000000000006686569676874004086800000000000000c766964656f636f646563696400"
    "401c000000000000000d766964656f64617461726174650040a388000000000000096672616d6572"
    "61746500403e000000000000000c617564696f636f6465636964004024000000000000000d617564"
    "696f6461746172617465004064000000000000000f617564696f73616d706c65726174650040e770"
    "0000000000000f617564696f73616d706c6573697a65004030000000000000000d617564696f6368"
    "616e6e656c73004000000000000000000673746572656f01010003322e3101000003332e31010000"
    "03342e3001000003342e3101000003352e3101000003372e3101000007656e636f64657202002b6f"
    "62732d6f7574707574206d6f64756c6520286c69626f62732076657273696f6e2032372e302e312d"
    "3329000009"
)

REAL_BODIES = [CONNECT_BODY, ONSTATUS_BODY, RESULT_BODY, METADATA_BODY]


def test_real_connect():
    values = decode_ok(CONNECT_BODY)
    assert values == [
        "connect",
        1.0,
        {
            "app": "StreamPlayer/",
            "flashVer": "WIN 9,0,47,0",
            "swfUrl": "file://",
            "tcUrl": "rtmp://fc432.streamedia.info/StreamPlayer/",
            "fpad": False,
            "audioCodecs": 615.0,
            "videoCodecs": 124.0,
            "videoFunction": 1.0,
            "pageUrl": UNDEFINED,
        },
    ]
    assert list(values[2]) == [
        "app",
        "flashVer",
        "swfUrl",
        "tcUrl",
        "fpad",
        "audioCodecs",
        "videoCodecs",
        "videoFunction",
        "pageUrl",
    ]
    assert isinstance(values[1], float)
    assert amf_to_json(values[2])["pageUrl"] == {"$undefined": True}


def test_real_onstatus():
    values = decode_ok(ONSTATUS_BODY)
    assert values[:3] == ["onStatus", 0.0, None]
    assert values[3]["code"] == "NetStream.Play.Failed"
    assert values[3]["clientid"] == 132723888.0


def test_real_result_with_ecma_array_count_hint():
    values = decode_ok(RESULT_BODY)
    assert values[0] == "_result"
    assert values[2] == {"fmsVer": "FMS/3,5,7,7009", "capabilities": 31.0, "mode": 1.0}
    info = values[3]
    assert info["data"] == {"version": "3,5,7,7009"}  # declared count 0, one entry
    assert info["objectEncoding"] == 0.0
    assert list(info) == ["level", "code", "description", "data", "clientid", "objectEncoding"]


def test_real_metadata():
    result = decode(METADATA_BODY)
    assert result.error is None and result.warnings == []
    name, event, meta = result.values
    assert (name, event) == ("@setDataFrame", "onMetaData")
    assert len(meta) == 20
    assert meta["width"] == 1280.0 and meta["height"] == 720.0
    assert meta["stereo"] is True and meta["7.1"] is False
    assert meta["encoder"] == "obs-output module (libobs version 27.0.1-3)"
    assert result.spans[-1][1] == len(METADATA_BODY) == result.end_offset
    json.dumps([amf_to_json(v) for v in result.values], allow_nan=False)


# ---------------------------------------------------------------------------
# Every type
# ---------------------------------------------------------------------------


def test_scalars():
    body = num(1.5) + num(-0.0) + boolean(True) + boolean(False) + b"\x01\x02" + string("héllo") + NULL + UNDEF
    values = decode_ok(body)
    assert values == [1.5, -0.0, True, False, True, "héllo", None, UNDEFINED]
    assert values[6] is None and values[7] is UNDEFINED


def test_number_nan_and_infinity():
    values = decode_ok(num(float("nan")) + num(float("inf")) + num(float("-inf")))
    assert math.isnan(values[0]) and values[1] == math.inf and values[2] == -math.inf
    assert amf_to_json(values) == [{"$number": "NaN"}, {"$number": "Infinity"}, {"$number": "-Infinity"}]


def test_strings_empty_long_and_invalid_utf8():
    body = string("") + long_string("x" * 70000) + b"\x02\x00\x02\xff\xfe"
    values = decode_ok(body)
    assert values[0] == "" and values[1] == "x" * 70000
    assert values[2] == "\ufffd\ufffd"


def test_object_and_nested():
    body = obj(("a", num(1)), ("b", obj(("c", strict(num(2), string("x"), obj())))), ("", NULL))
    (value,) = decode_ok(body)
    assert value == {"a": 1.0, "b": {"c": [2.0, "x", {}]}, "": None}
    assert type(value) is dict


def test_duplicate_keys_last_wins_first_position_kept():
    (value,) = decode_ok(obj(("a", num(1)), ("b", num(2)), ("a", num(3))))
    assert list(value.items()) == [("a", 3.0), ("b", 2.0)]


def test_ecma_array():
    (value,) = decode_ok(ecma(("0", string("zero")), ("length", num(1))))
    assert value == {"0": "zero", "length": 1.0}


@pytest.mark.parametrize("count", [0, 1, 7, 0xFFFFFFFF])
def test_ecma_array_count_is_only_a_hint(count):
    (value,) = decode_ok(ecma(("a", num(1)), ("b", num(2)), count=count))
    assert value == {"a": 1.0, "b": 2.0}


def test_ecma_array_missing_end_marker_at_body_end():
    body = b"\x08" + struct.pack(">I", 2) + utf("a") + num(1) + utf("b") + num(2)
    result = decode(body)
    assert result.error is None
    assert result.values == [{"a": 1.0, "b": 2.0}]
    assert [w.kind for w in result.warnings] == ["missing-end-marker"]
    # fewer entries than declared: that is a truncation, not a quirk
    body = b"\x08" + struct.pack(">I", 3) + utf("a") + num(1) + utf("b") + num(2)
    result = decode(body)
    assert result.error is not None and result.error.kind == "truncated"
    assert result.partial == {"a": 1.0, "b": 2.0}


def test_object_without_end_marker_is_truncated():
    body = b"\x03" + utf("a") + num(1)
    result = decode(body)
    assert result.error.kind == "truncated"
    assert result.values == [] and result.partial == {"a": 1.0}


def test_empty_key_not_followed_by_end_marker_is_a_property():
    body = b"\x03" + utf("") + num(5) + b"\x00\x00\x09"
    assert decode_ok(body) == [{"": 5.0}]


def test_strict_array():
    assert decode_ok(strict()) == [[]]
    assert decode_ok(strict(num(1), NULL, strict(boolean(True)))) == [[1.0, None, [True]]]


def test_date():
    (value,) = decode_ok(date(1.7e12))
    assert value == AmfDate(1.7e12, 0)
    assert value.to_json() == {"$date": 1.7e12}
    (value,) = decode_ok(date(-5.0, tz=-120))
    assert value.ms == -5.0 and value.timezone == -120
    assert value.to_json() == {"$date": -5.0, "timezone": -120}


def test_xml_document():
    (value,) = decode_ok(xml("<a>é</a>"))
    assert value == AmfXml("<a>é</a>", document=True)
    assert value.to_json() == {"$xml": "<a>é</a>"}


def test_typed_object():
    (value,) = decode_ok(typed("com.example.Point", ("x", num(1)), ("y", num(2))))
    assert isinstance(value, TypedObject) and isinstance(value, dict)
    assert value.class_name == "com.example.Point"
    assert dict(value) == {"x": 1.0, "y": 2.0}
    assert amf_to_json(value) == {"$class": "com.example.Point", "x": 1.0, "y": 2.0}


def test_reserved_markers():
    body = b"\x04" + utf("_level0.clip") + b"\x0d" + b"\x0e" + num(3)
    values = decode_ok(body)
    assert values == [AmfMovieClip("_level0.clip"), UNSUPPORTED, RECORDSET, 3.0]
    assert [amf_to_json(v) for v in values[:3]] == [
        {"$movieclip": "_level0.clip"},
        {"$unsupported": True},
        {"$recordset": True},
    ]


# ---------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------


def test_reference_returns_same_object():
    inner = obj(("k", string("v")))
    body = strict(inner, ref(1), ref(1)) + ref(0)
    outer, again = decode_ok(body)
    assert outer[0] is outer[1] is outer[2]
    assert again is outer


def test_reference_numbering_covers_all_complex_types():
    # 0: object, 1: ecma, 2: strict, 3: typed
    body = obj() + ecma() + strict() + typed("T") + ref(0) + ref(1) + ref(2) + ref(3)
    values = decode_ok(body)
    for i in range(4):
        assert values[4 + i] is values[i]


def test_self_reference_cycle():
    body = obj(("name", string("me")), ("self", ref(0)))
    (value,) = decode_ok(body)
    assert value["self"] is value
    assert amf_to_json(value) == {"name": "me", "self": {"$ref": 0}}


def test_reference_out_of_range():
    result = decode(string("a") + obj() + ref(1))
    assert result.values == ["a", {}]
    assert result.error.kind == "bad-reference"
    assert result.error.offset == len(string("a") + obj())


# ---------------------------------------------------------------------------
# AVM+ switch
# ---------------------------------------------------------------------------


def u29(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return bytes([0x80 | (n >> 7), n & 0x7F])
    if n < 0x200000:
        return bytes([0x80 | (n >> 14), 0x80 | ((n >> 7) & 0x7F), n & 0x7F])
    return bytes([0x80 | (n >> 22), 0x80 | ((n >> 15) & 0x7F), 0x80 | ((n >> 8) & 0x7F), n & 0xFF])


def s3(text: str) -> bytes:
    raw = text.encode()
    return u29(len(raw) << 1 | 1) + raw


def test_avmplus_switch_then_back_to_amf0():
    amf3_obj = b"\x0a" + u29(0b1011) + s3("") + s3("count") + b"\x04" + u29(5) + s3("")
    body = string("sendData") + num(2) + NULL + b"\x11" + amf3_obj + string("after") + num(7)
    result = decode(body)
    assert result.error is None
    assert result.values == ["sendData", 2.0, None, {"count": 5}, "after", 7.0]
    assert isinstance(result.values[3]["count"], int)
    start = len(string("sendData") + num(2) + NULL)
    assert result.spans[3] == (start, start + 1 + len(amf3_obj))


def test_avmplus_switch_inside_amf0_object():
    body = obj(("a", b"\x11\x06" + s3("three")), ("b", num(0)))
    assert decode_ok(body) == [{"a": "three", "b": 0.0}]


def test_amf3_tables_shared_across_switches_in_one_message():
    first = b"\x11" + b"\x0a" + u29(0b10011) + s3("com.example.T") + s3("name") + b"\x06" + s3("shared")
    # second switched value: object with traits reference 0, whose member is a
    # string reference to "shared" (string table: com.example.T=0, name=1, shared=2)
    second = b"\x11" + b"\x0a" + u29(0b0001) + b"\x06" + u29(2 << 1)
    third = b"\x11" + b"\x09" + u29(0 << 1)  # object reference 0: the first object
    body = string("cmd") + first + num(1) + second + third
    values = decode_ok(body)
    a, b = values[1], values[3]
    assert values[2] == 1.0
    assert isinstance(b, TypedObject) and b.class_name == "com.example.T"
    assert a == {"name": "shared"} and b == {"name": "shared"}
    assert values[4] is a
    # AMF3 objects do not enter the AMF0 reference table
    result = decode(first + ref(0))
    assert result.error.kind == "bad-reference"


def test_avmplus_at_end_is_truncated():
    result = decode(string("x") + b"\x11")
    assert result.values == ["x"]
    assert result.error.kind == "truncated" and result.error.offset == len(string("x")) + 1


# ---------------------------------------------------------------------------
# Errors and limits
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("marker", [0x12, 0x22, 0x7F, 0xFF])
def test_unknown_marker(marker):
    result = decode(num(1) + bytes([marker]) + num(2))
    assert result.values == [1.0]
    assert result.error == AmfError(9, "unknown-marker", f"unknown AMF0 type marker 0x{marker:02x}")
    assert result.end_offset == 9


def test_object_end_marker_at_top_level():
    result = decode(b"\x09")
    assert result.error.kind == "unexpected-marker" and result.error.offset == 0


def test_huge_strict_array_count_does_not_allocate():
    result = decode(string("a") + b"\x0a\xff\xff\xff\xff" + NULL)
    assert result.values == ["a"]
    assert result.error.kind == "count-exceeds-body"
    assert result.error.offset == len(string("a"))


def test_huge_long_string_length_is_truncated():
    result = decode(b"\x0c\xff\xff\xff\xff" + b"abc")
    assert result.error.kind == "truncated" and result.error.offset == 5


def test_huge_ecma_count_with_no_entries():
    assert decode_ok(b"\x08\xff\xff\xff\xff\x00\x00\x09") == [{}]


def nested_arrays(depth: int) -> bytes:
    return b"\x0a\x00\x00\x00\x01" * depth + NULL + b""


def test_depth_limit():
    assert decode(nested_arrays(64)).error is None
    result = decode(nested_arrays(65))
    assert result.error.kind == "limit-depth"
    assert result.error.offset == 64 * 5
    result = decode(nested_arrays(10), limits=AmfLimits(max_depth=5))
    assert result.error.kind == "limit-depth"
    assert isinstance(result.partial, list)


def test_deep_nesting_far_beyond_limit_is_fast_and_safe():
    result = decode(nested_arrays(100_000))
    assert result.error.kind == "limit-depth"


def test_element_limit():
    result = decode(num(1) * 20, limits=AmfLimits(max_elements=10))
    assert result.values == [1.0] * 10
    assert result.error.kind == "limit-elements" and result.error.offset == 90


def test_offset_argument_and_memoryview():
    body = b"\xde\xad" + string("x") + num(2)
    result = decode_amf0_values(memoryview(body), offset=2)
    assert result.values == ["x", 2.0]
    assert result.spans == [(2, 6), (6, 15)]
    assert decode_amf0_values(bytearray(body), 2).values == ["x", 2.0]
    assert decode_amf0_values(body, offset=len(body)).values == []


@pytest.mark.parametrize("bad", [-1, 99, "1", None, 1.0])
def test_bad_offset_is_an_error_not_an_exception(bad):
    result = decode_amf0_values(b"\x05", offset=bad)
    assert result.error.kind == "bad-input" and result.values == []


def test_non_bytes_body_is_an_error_not_an_exception():
    result = decode_amf0_values(12.5)  # type: ignore[arg-type]
    assert result.error.kind == "bad-input"


def test_empty_body():
    result = decode(b"")
    assert result.values == [] and result.error is None and result.end_offset == 0


def test_result_to_json():
    result = decode(string("a") + b"\xff")
    assert result.to_json() == {
        "values": ["a"],
        "error": {"offset": 4, "kind": "unknown-marker", "reason": "unknown AMF0 type marker 0xff"},
    }
    assert "0xff" in str(result.error) and "4" in str(result.error)


# ---------------------------------------------------------------------------
# Truncation at every byte position
# ---------------------------------------------------------------------------

SYNTHETIC_BODY = (
    string("call")
    + num(3)
    + obj(("t", typed("T", ("d", date(1e12, 60)), ("x", xml("<x/>")))), ("u", UNDEF), ("l", long_string("ll")))
    + ecma(("a", strict(num(1), ref(1))))
    + b"\x11"
    + b"\x09"
    + u29(2 << 1 | 1)
    + s3("")
    + b"\x06"
    + s3("z")
    + b"\x06"
    + u29(0)
    + string("end")
)


@pytest.mark.parametrize(
    "body", REAL_BODIES + [SYNTHETIC_BODY], ids=["connect", "onStatus", "result", "metadata", "synthetic"]
)
def test_truncated_at_every_position(body):
    full = decode(body)
    assert full.error is None
    boundaries = {start for start, _ in full.spans} | {len(body)}
    for cut in range(len(body)):
        result = decode(body[:cut])
        n = len(result.values)
        assert json.dumps(amf_to_json(result.values[: n])) == json.dumps(amf_to_json(full.values[:n]))
        if cut in boundaries:
            assert result.error is None and result.spans == full.spans[:n]
            continue
        if result.error is None:
            # only the tolerated ECMA-array-without-terminator quirk may end cleanly
            assert [w.kind for w in result.warnings] == ["missing-end-marker"]
            continue
        # a cut inside an array shows up either as a short read or as a
        # declared count the remaining bytes cannot hold
        assert result.error.kind in ("truncated", "count-exceeds-body"), (cut, result.error)
        assert result.end_offset <= result.error.offset <= cut
        assert result.spans == full.spans[:n]
        assert n == sum(1 for _, end in full.spans if end <= cut)


# ---------------------------------------------------------------------------
# Random input never raises
# ---------------------------------------------------------------------------


def _check_result(result: AmfResult, size: int) -> None:
    assert isinstance(result, AmfResult)
    assert len(result.values) == len(result.spans)
    if result.error is not None:
        assert isinstance(result.error, AmfError)
        assert 0 <= result.error.offset <= size
        assert result.error.kind != "internal", result.error
    json.dumps(result.to_json(), allow_nan=False)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data):
    _check_result(decode(data), len(data))


_fragments = st.sampled_from(
    [
        b"\x00", b"\x01", b"\x02", b"\x03", b"\x05", b"\x06", b"\x07", b"\x08", b"\x09", b"\x0a",
        b"\x0b", b"\x0c", b"\x0d", b"\x0e", b"\x0f", b"\x10", b"\x11", b"\x00\x00\x09", b"\x00\x01a",
        b"\x00\x00", b"\x00\x00\x00\x02", b"\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x00\x00",
        b"\x0a\x0b\x01", b"\x09\x05\x01", b"\x04", b"\x06\x05a", b"\x0d\x03", b"\x11\x00\x03",
    ]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_fragments, max_size=60))
def test_structured_random_bodies_never_raise(fragments):
    data = b"".join(fragments)
    _check_result(decode(data), len(data))
    _check_result(decode(data, limits=AmfLimits(max_depth=3, max_elements=20)), len(data))


# ---------------------------------------------------------------------------
# amf_to_json
# ---------------------------------------------------------------------------


def test_amf_to_json_every_marker():
    assert amf_to_json(UNDEFINED) == {"$undefined": True}
    assert amf_to_json(UNSUPPORTED) == {"$unsupported": True}
    assert amf_to_json(RECORDSET) == {"$recordset": True}
    assert amf_to_json(AmfMovieClip("m")) == {"$movieclip": "m"}
    assert amf_to_json(AmfDate(1.7e12)) == {"$date": 1.7e12}
    assert amf_to_json(AmfDate(1.0, 0)) == {"$date": 1.0}
    assert amf_to_json(AmfDate(float("nan"))) == {"$date": {"$number": "NaN"}}
    assert amf_to_json(AmfXml("<a/>", document=False)) == {"$xml": "<a/>"}
    assert amf_to_json(AmfByteArray(b"\x00\xffA")) == {"$bytes": "00ff41"}
    assert amf_to_json(AmfDictionary([(1, "one"), ({"k": 1}, [UNDEFINED])], weak_keys=True)) == {
        "$dictionary": [[1, "one"], [{"k": 1}, [{"$undefined": True}]]]
    }
    assert amf_to_json(TypedObject("C", {"a": 1})) == {"$class": "C", "a": 1}
    assert amf_to_json(AmfVector([1, 2], kind="int", fixed=True)) == [1, 2]
    assert amf_to_json([None, True, 1, 1.5, "s"]) == [None, True, 1, 1.5, "s"]
    for marker in (UNDEFINED, UNSUPPORTED, RECORDSET, AmfMovieClip("m"), AmfDate(1.0), AmfXml("x"), AmfByteArray(b"")):
        assert marker.to_json() == amf_to_json(marker)
        json.dumps(marker.to_json(), allow_nan=False)


def test_amf_to_json_shared_but_acyclic_is_expanded():
    shared = {"v": 1}
    value = [shared, {"again": shared}]
    assert amf_to_json(value) == [{"v": 1}, {"again": {"v": 1}}]


def test_amf_to_json_cycles():
    a: dict = {"name": "a"}
    b = [a]
    a["child"] = b
    assert amf_to_json(a) == {"name": "a", "child": [{"$ref": 0}]}
    d = AmfDictionary([])
    d.pairs.append((d, "self"))
    assert amf_to_json(d) == {"$dictionary": [[{"$ref": 0}, "self"]]}
    t = TypedObject("Node")
    t["next"] = TypedObject("Node", {"back": t})
    assert amf_to_json(t) == {"$class": "Node", "next": {"$class": "Node", "back": {"$ref": 0}}}


def test_amf_to_json_exponential_dag_is_bounded():
    node: list = [1]
    for _ in range(60):
        node = [node, node]  # 2**60 leaves when fully expanded
    out = amf_to_json(node, max_nodes=10_000)
    text = json.dumps(out)
    assert '"$truncated": true' in text
    assert len(text) < 1_000_000


def test_amf_to_json_deep_chain_is_bounded_and_iterative():
    value: list = []
    for _ in range(100_000):
        value = [value]
    out = amf_to_json(value, max_depth=50)
    depth = 0
    while isinstance(out, list) and out:
        out = out[0]
        depth += 1
    assert out == {"$truncated": True}
    assert depth == 50
    json.dumps(amf_to_json(value))  # default depth is json.dumps-safe


def test_amf_to_json_from_decoded_reference_chain():
    # AMF3 body where each array holds a reference to the previous one: the
    # path gets long through references although nesting stays shallow.
    from rtmp_inspect.rtmp.amf3 import decode_amf3_values

    body = b"\x09\x01\x01"  # object 0: empty array
    for i in range(2000):
        body += b"\x09\x03\x01\x09" + u29(i << 1)
    result = decode_amf3_values(body)
    assert result.error is None
    json.dumps(amf_to_json(result.values[-1]))
