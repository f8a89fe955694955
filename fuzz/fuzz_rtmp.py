"""Fuzz the sans-IO RTMP decoder: chunk stream (with and without handshake), message bodies of every type id,
AMF0/AMF3, audio/video tag parsing.

First byte: the mode (low 2 bits) and options; the rest is the input.

* 0: ChunkDecoder() with handshake; 1: ChunkDecoder(expect_handshake=False) (resynchronisation, chunk size
  inferred); 2: ChunkDecoder(expect_handshake=False, at_chunk_boundary=True, chunk_size from the second byte).
  The input is fed in pieces whose sizes come from the option bits, optionally with gaps; every Message body
  is decoded with decode_body() and turned into JSON. Without gaps, the events must equal those of feeding
  the input whole (the decoder's documented property; resynchronisation searches fixed windows, so it holds
  after a lost sync too).
* 3: the rest is one message body: decode_body() for every type id 1..22 (and the one the second byte names),
  decode_amf0_values / decode_amf3_values at offsets 0 and 1, parse_audio / parse_video, amf_to_json of all.

A raised exception, an AMF "internal" error, or a whole/split disagreement is a finding.
"""

from __future__ import annotations

import json

import _common
from _common import Finding, check_amf_result

with _common.instrument():
    from rtmp_inspect.export.message_json import JSON_BUDGET_BASE, JSON_BUDGET_PER_BYTE
    from rtmp_inspect.rtmp.amf0 import decode_amf0_values
    from rtmp_inspect.rtmp.amf3 import decode_amf3_values
    from rtmp_inspect.rtmp.amf_values import amf_to_json
    from rtmp_inspect.rtmp.chunks import ChunkDecoder
    from rtmp_inspect.rtmp.events import Message
    from rtmp_inspect.rtmp.media import (
        AudioInfo,
        VideoInfo,
        codec_name,
        is_keyframe,
        is_sequence_header,
        parse_audio,
        parse_video,
    )
    from rtmp_inspect.rtmp.messages import AmfPayload, decode_body

SPLITS = (1, 7, 128, 1000, 4096)


def _json_of(decoded, length: int | None = None) -> None:
    """Everything a sink would do with a decoded body: summary, to_json, AMF values to JSON, serialise."""
    if decoded is None:
        return
    _common.check_error_text(decoded)
    summary = getattr(decoded, "summary", None)
    if callable(summary):
        text = summary()
        if not isinstance(text, str):
            raise Finding("summary() is not a string")
    to_json = getattr(decoded, "to_json", None)
    if callable(to_json):
        json.dumps(to_json(), allow_nan=False)
    if isinstance(decoded, AmfPayload):
        decoded.name, decoded.transaction_id  # noqa: B018 (properties run code)
        budget = [JSON_BUDGET_BASE + JSON_BUDGET_PER_BYTE * (length or 0)]  # as export/message_json.py does
        text = json.dumps([amf_to_json(v, budget=budget) for v in decoded.args], allow_nan=False)
        if length is not None and len(text) > 400 * length + 200_000:
            raise Finding(f"{len(text)} bytes of JSON from a {length}-byte body")
    if isinstance(decoded, (AudioInfo, VideoInfo)):
        is_keyframe(decoded), is_sequence_header(decoded), codec_name(decoded)


def _body(type_id: int, body: bytes, timestamp: int = 0) -> None:
    _json_of(decode_body(type_id, body, timestamp), len(body))


def _chunks(mode: int, options: int, data: bytes) -> None:
    if mode == 0:
        make = lambda: ChunkDecoder()  # noqa: E731
    elif mode == 1:
        make = lambda: ChunkDecoder(expect_handshake=False)  # noqa: E731
    else:
        size = (data[0] if data else 1) or 1
        size = size * 997 if options & 0x20 else size
        data = data[1:]
        make = lambda: ChunkDecoder(expect_handshake=False, chunk_size=size, at_chunk_boundary=True)  # noqa: E731
    step = SPLITS[(options >> 2) % len(SPLITS)]
    if len(data) > 4096 and step < 128:  # byte-at-a-time over long inputs costs executions, not coverage
        step = 128
    gaps = bool(options & 0x40)
    decoder = make()
    events: list = []
    view = memoryview(data)
    pos = 0
    n = 0
    while pos < len(data):
        piece = step if not options & 0x80 else 1 + (data[pos] * 13 + n) % (2 * step)
        n += 1
        events += decoder.receive_data(view[pos : pos + piece])
        pos += piece
        if gaps and n % 5 == 3:
            events += decoder.receive_gap(1 + data[min(pos, len(data)) - 1] * 3)
    events += decoder.finish()
    for ev in events:
        if type(ev) is Message:
            if ev.type_id in (8, 9, 15, 16, 17, 18, 19, 20, 22) or ev.type_id <= 6:
                _body(ev.type_id, ev.body, ev.timestamp)
            if not 0 <= ev.timestamp <= 0xFFFFFFFF:
                raise Finding(f"timestamp out of 32-bit range: {ev.timestamp}")
    if not gaps:
        whole_decoder = make()
        whole = whole_decoder.receive_data(bytes(data)) + whole_decoder.finish()
        # Resynchronisation searches fixed windows, so also after a lost sync both must agree.
        if whole != events:
            first = next((i for i, (a, b) in enumerate(zip(whole, events)) if a != b), min(len(whole), len(events)))
            raise Finding(f"whole vs split ({step}) differ at event {first}: "
                          f"{whole[first:first + 1]!r} vs {events[first:first + 1]!r}")


def _bodies(options: int, body: bytes) -> None:
    for type_id in range(1, 23):
        _body(type_id, body)
    _body(options, body)
    for offset in (0, 1):
        for decode in (decode_amf0_values, decode_amf3_values):
            result = decode(body, min(offset, len(body)))
            check_amf_result(result)
            budget = [JSON_BUDGET_BASE + JSON_BUDGET_PER_BYTE * len(body)]
            json.dumps([amf_to_json(v, budget=budget) for v in result.values], allow_nan=False)
    _json_of(parse_audio(body))
    _json_of(parse_video(body))
    _json_of(parse_video(body, nal_length_size=None))


def test_one_input(data: bytes) -> None:
    if not data:
        return
    head = data[0]
    mode = head & 3
    if mode == 3:
        _bodies(data[1] if len(data) > 1 else 0, data[2:])
    else:
        _chunks(mode, head, data[1:])


def main() -> None:
    _common.fuzz(test_one_input)


if __name__ == "__main__":
    main()
