"""The chunk-stream decoder, on crafted bytes: every rule of RTMP 1.0 section 5.3, fed whole and byte by byte."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from rtmp_inspect.rtmp.chunks import ChunkDecoder
from rtmp_inspect.rtmp.events import (
    ChunkSizeChanged,
    Encrypted,
    HandshakeEcho,
    HandshakeRandom,
    HandshakeVersion,
    Message,
    Resynchronised,
    Violation,
)
from tests.support.rtmp_builder import (
    basic_header,
    chunk_header,
    command,
    echo,
    handshake_part,
    message_chunks,
    set_chunk_size,
)


def decode(data: bytes, handshake: bool = False, splits: list[int] | None = None, finish: bool = False,
           chunk_size: int | None = 128) -> list:
    decoder = ChunkDecoder(expect_handshake=handshake, chunk_size=chunk_size if not handshake else None,
                           at_chunk_boundary=not handshake and chunk_size is not None)
    events = []
    if splits is None:
        events += decoder.receive_data(data)
    else:
        last = 0
        for cut in sorted(splits) + [len(data)]:
            events += decoder.receive_data(data[last:cut])
            last = cut
    if finish:
        events += decoder.finish()
    return events


def decode_bytewise(data: bytes, **kw) -> list:
    return decode(data, splits=list(range(1, len(data))), **kw)


def messages(events: list) -> list[Message]:
    return [e for e in events if isinstance(e, Message)]


def both_ways(data: bytes, **kw) -> list:
    whole = decode(data, **kw)
    assert decode_bytewise(data, **kw) == whole
    return whole


def test_handshake_then_chunks_fed_whole_and_bytewise():
    c0, c1 = handshake_part(3, time=1000)
    _, s1 = handshake_part(3, fill=1)
    connect = command("connect", 1, {"app": "live"})
    data = c0 + c1 + echo(s1) + message_chunks(3, 20, connect, chunk_size=128)
    events = both_ways(data, handshake=True)
    assert isinstance(events[0], HandshakeVersion) and events[0].version == 3
    assert isinstance(events[1], HandshakeRandom) and events[1].time == 1000 and events[1].data == c1
    assert isinstance(events[2], HandshakeEcho) and events[2].data[8:] == s1[8:]
    [msg] = messages(events)
    assert (msg.csid, msg.type_id, msg.body, msg.offset) == (3, 20, connect, 3073)


def test_basic_header_one_two_and_three_bytes():
    data = b""
    for csid in (2, 63, 64, 319, 320, 65599):
        data += message_chunks(csid, 18, b"x" * 10, timestamp=csid)
    got = [(m.csid, m.timestamp) for m in messages(both_ways(data))]
    assert got == [(c, c) for c in (2, 63, 64, 319, 320, 65599)]


def test_fmt1_fmt2_fmt3_timestamp_deltas_accumulate():
    data = (
        chunk_header(0, 4, 1000, 3, 9, 1) + b"abc"
        + chunk_header(1, 4, 40, 2, 8) + b"de"  # delta 40, new length/type
        + chunk_header(2, 4, 20) + b"fg"  # delta 20, same length/type
        + basic_header(3, 4) + b"hi"  # fmt 3 new message: the same delta again
    )
    got = [(m.timestamp, m.type_id, m.stream_id, m.body) for m in messages(both_ways(data))]
    assert got == [(1000, 9, 1, b"abc"), (1040, 8, 1, b"de"), (1060, 8, 1, b"fg"), (1080, 8, 1, b"hi")]


def test_fmt3_right_after_fmt0_adds_the_fmt0_timestamp_as_delta():
    # RTMP 1.0, 5.3.1.2.4: "a chunk of Type 3 could immediately follow the chunk of Type 0 as there is
    # no need for a chunk of Type 2 to register the delta" when the delta equals the first timestamp.
    data = chunk_header(0, 5, 33, 1, 8, 1) + b"a" + basic_header(3, 5) + b"b"
    assert [m.timestamp for m in messages(both_ways(data))] == [33, 66]


def test_message_split_across_chunks_and_interleaved_chunk_streams():
    big = bytes(range(256)) * 2  # 512 bytes: 4 chunks of 128
    audio = b"\xaf\x01" + b"A" * 200
    data = (
        chunk_header(0, 6, 0, len(big), 9, 1) + big[:128]
        + chunk_header(0, 4, 0, len(audio), 8, 1) + audio[:128]
        + basic_header(3, 6) + big[128:256]
        + basic_header(3, 4) + audio[128:]
        + basic_header(3, 6) + big[256:384]
        + basic_header(3, 6) + big[384:]
    )
    msgs = messages(both_ways(data))
    assert [(m.csid, m.body, m.chunks) for m in msgs] == [(4, audio, 2), (6, big, 4)]


def test_set_chunk_size_applies_from_the_next_chunk_of_that_direction():
    body = b"v" * 5000
    data = message_chunks(2, 1, set_chunk_size(4096), chunk_size=128) + message_chunks(6, 9, body, chunk_size=4096)
    events = both_ways(data)
    assert ChunkSizeChanged(4096, 0) in events
    [_, video] = messages(events)
    assert video.body == body and video.chunks == 2


def test_chunk_size_above_32768_as_srs_uses():
    body = bytes(i & 0xFF for i in range(150000))
    data = message_chunks(2, 1, set_chunk_size(60000)) + message_chunks(6, 9, body, chunk_size=60000)
    [_, video] = messages(both_ways(data))
    assert video.body == body and video.chunks == 3


def test_set_chunk_size_top_bit_is_a_violation_and_the_value_is_masked():
    data = message_chunks(2, 1, struct.pack(">I", 0x80001000))
    events = decode(data)
    assert any(isinstance(e, Violation) and e.code == "control.chunk-size-top-bit" for e in events)
    assert ChunkSizeChanged(0x1000, 0) in events


def test_set_chunk_size_zero_is_ignored_with_an_error():
    decoder_events = decode(message_chunks(2, 1, set_chunk_size(0)) + message_chunks(6, 9, b"z" * 200))
    assert any(isinstance(e, Violation) and e.code == "control.chunk-size-zero" for e in decoder_events)
    assert messages(decoder_events)[-1].chunks == 2  # still 128-byte chunks


def test_extended_timestamp_repeated_on_continuation_chunks():
    body = b"q" * 300
    data = message_chunks(6, 9, body, timestamp=0x1000000, repeat_extended=True) + message_chunks(
        6, 9, b"r", timestamp=0x1000010)
    decoder = ChunkDecoder(expect_handshake=False, chunk_size=128, at_chunk_boundary=True)
    msgs = messages(decoder.receive_data(data))
    assert [(m.timestamp, m.body, m.extended_timestamp) for m in msgs] == [
        (0x1000000, body, True), (0x1000010, b"r", True)]
    assert decoder.repeats_extended_timestamp is True


def test_extended_timestamp_not_repeated_on_continuation_chunks():
    body = b"q" * 300
    data = message_chunks(6, 9, body, timestamp=0x1000000, repeat_extended=False) + chunk_header(
        0, 5, 1, 1, 8, 1) + b"s"
    decoder = ChunkDecoder(expect_handshake=False, chunk_size=128, at_chunk_boundary=True)
    msgs = messages(decoder.receive_data(data))
    assert [(m.timestamp, m.body) for m in msgs] == [(0x1000000, body), (1, b"s")]
    assert decoder.repeats_extended_timestamp is False
    assert decode_bytewise(data) == decode(data)


def test_timestamp_wraps_at_32_bits():
    data = chunk_header(0, 4, 0xFFFFFFF0, 1, 8, 1) + b"a" + chunk_header(2, 4, 0x20) + b"b"
    assert [m.timestamp for m in messages(both_ways(data))] == [0xFFFFFFF0, 0x10]


def test_abort_drops_the_partial_message():
    data = (
        chunk_header(0, 6, 0, 300, 9, 1) + b"x" * 128
        + message_chunks(2, 2, struct.pack(">I", 6))
        + chunk_header(0, 6, 5, 2, 9, 1) + b"ok"
    )
    events = both_ways(data)
    assert [m.body for m in messages(events) if m.type_id == 9] == [b"ok"]
    assert any(isinstance(e, Violation) and e.code == "control.abort" for e in events)


def test_new_header_in_the_middle_of_a_message_is_an_error():
    data = chunk_header(0, 6, 0, 300, 9, 1) + b"x" * 128 + chunk_header(0, 6, 0, 2, 9, 1) + b"ok"
    events = both_ways(data)
    assert any(isinstance(e, Violation) and e.code == "chunk.header-mid-message" for e in events)
    assert [m.body for m in messages(events)] == [b"ok"]


def test_first_chunk_fmt1_warns_and_still_decodes():
    events = both_ways(chunk_header(1, 5, 10, 2, 8) + b"hi")
    assert any(isinstance(e, Violation) and e.code == "chunk.first-not-fmt0" for e in events)
    [msg] = messages(events)
    assert msg.body == b"hi" and msg.inferred


def test_zero_length_message():
    [msg] = messages(both_ways(chunk_header(0, 3, 7, 0, 20, 0)))
    assert msg.body == b"" and msg.timestamp == 7


def test_rtmpe_handshake_stops_decoding():
    c0, c1 = handshake_part(6)
    _, s1 = handshake_part(6, fill=3)
    events = decode(c0 + c1 + echo(s1) + b"\x99" * 100, handshake=True)
    assert isinstance(events[-1], Encrypted) and events[-1].version == 6
    assert not messages(events)


def test_gap_drops_partial_messages_and_resynchronises_with_the_known_chunk_size():
    decoder = ChunkDecoder(expect_handshake=False, chunk_size=128, at_chunk_boundary=True)
    before = chunk_header(0, 6, 0, 300, 9, 1) + b"x" * 128
    events = decoder.receive_data(before)
    events += decoder.receive_gap(172 + 1)
    after = b"".join(
        chunk_header(0, 4, 40 * i, 50, 8, 1) + bytes([i]) * 50 for i in range(20)
    )
    events += decoder.receive_data(after) + decoder.finish()
    assert any(isinstance(e, Violation) and e.code == "tcp.gap" for e in events)
    assert any(isinstance(e, Resynchronised) for e in events)
    assert [m.body[0] for m in messages(events)] == list(range(20))


def test_mid_session_start_infers_the_chunk_size():
    body = b"V" * 9000
    stream = b"".join(
        message_chunks(6, 9, bytes([i]) + body, timestamp=40 * i, stream_id=1, chunk_size=4096, fmt=0)
        + message_chunks(4, 8, bytes([i]) * 300, timestamp=40 * i, stream_id=1, chunk_size=4096, fmt=0)
        for i in range(12)
    )
    cut = stream[1000:]  # start in the middle of a chunk, without any context
    decoder = ChunkDecoder(expect_handshake=False)
    events = decoder.receive_data(cut) + decoder.finish()
    [resync] = [e for e in events if isinstance(e, Resynchronised)]
    assert resync.chunk_size == 4096 and resync.chunk_size_inferred
    video = [m for m in messages(events) if m.type_id == 9]
    assert [m.body[0] for m in video] == list(range(1, 12))
    assert all(m.body[1:] == body for m in video)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=4000), max_size=12))
def test_any_split_gives_the_same_events(cuts):
    c0, c1 = handshake_part(3, time=5)
    _, s1 = handshake_part(3, fill=9)
    data = c0 + c1 + echo(s1) + message_chunks(2, 1, set_chunk_size(1000))
    for i in range(6):
        data += message_chunks(6, 9, bytes([i]) * (700 * i + 1), timestamp=33 * i, stream_id=1, chunk_size=1000)
    whole = decode(data, handshake=True, finish=True)
    split = decode(data, handshake=True, splits=[c % len(data) for c in cuts], finish=True)
    assert split == whole


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.booleans())
def test_random_bytes_never_raise(data, handshake):
    decoder = ChunkDecoder(expect_handshake=handshake)
    decoder.receive_data(data)
    decoder.receive_gap(10)
    decoder.receive_data(data[::-1])
    decoder.finish()


def test_chunk_size_one_decodes_in_linear_time():
    body = b"m" * 200_000
    data = message_chunks(2, 1, set_chunk_size(1)) + message_chunks(6, 9, body, chunk_size=1)
    [_, video] = messages(decode(data))
    assert video.body == body and video.chunks == 200_000


def test_after_a_gap_fmt1_headers_keep_the_message_stream_id_and_timestamp_base():
    decoder = ChunkDecoder(expect_handshake=False, chunk_size=128, at_chunk_boundary=True)
    events = decoder.receive_data(chunk_header(0, 6, 5000, 10, 9, 7) + b"k" * 10)
    events += decoder.receive_gap(500)
    after = b"".join(chunk_header(1, 6, 40, 20, 9) + bytes([i]) * 20 for i in range(30))
    events += decoder.receive_data(after) + decoder.finish()
    video = messages(events)[1:]
    assert len(video) >= 25
    assert all(m.stream_id == 7 and m.inferred for m in video)
    stamps = [m.timestamp for m in video]
    assert stamps == list(range(stamps[0], stamps[0] + 40 * len(stamps), 40)) and stamps[0] > 5000


def _mixed_stream() -> bytes:
    """Handshake, Set Chunk Size, then video and audio messages interleaved on two chunk streams."""
    c0, c1 = handshake_part(3, time=5)
    _, s1 = handshake_part(3, fill=9)
    data = c0 + c1 + echo(s1) + message_chunks(2, 1, set_chunk_size(300))
    for i in range(8):
        data += message_chunks(6, 9, bytes([i]) * (250 * i + 1), timestamp=33 * i, stream_id=1, chunk_size=300)
        data += message_chunks(4, 8, bytes([0xAF, i]) * 90, timestamp=33 * i, stream_id=1, chunk_size=300)
    return data


MIXED = _mixed_stream()


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(MIXED) - 1), st.integers(0, 7)), min_size=1, max_size=8),
       st.lists(st.integers(min_value=1, max_value=len(MIXED) - 1), max_size=6))
def test_bit_flips_never_raise_and_any_split_agrees_with_whole_feeding(flips, cuts):
    data = bytearray(MIXED)
    for pos, bit in flips:
        data[pos] ^= 1 << bit
    data = bytes(data)
    whole = decode(data, handshake=True, finish=True)
    split = decode(data, handshake=True, splits=cuts, finish=True)
    # Also after sync is lost: where it is found again depends only on the bytes.
    assert whole == split
    assert split == decode_bytewise(data, handshake=True, finish=True)
    ends = [m.end_offset for m in messages(whole)]
    assert ends == sorted(ends) and all(end <= len(data) for end in ends)


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=0, max_value=len(MIXED)))
def test_a_truncated_stream_decodes_exactly_the_messages_that_ended_before_the_cut(n):
    whole = messages(decode(MIXED, handshake=True, finish=True))
    part = messages(decode(MIXED[:n], handshake=True, finish=True))
    assert part == [m for m in whole if m.end_offset <= n]
