//! The chunk-stream decoder on crafted bytes: every rule of RTMP 1.0 section 5.3, fed whole and byte by byte
//! (the cases of tests/test_chunks.py, and the limits of tests/test_hostile.py).

mod common;

use common::*;
use rtmp_inspect_rtmp::{ChunkDecoder, Event};

fn violation_codes(events: &[Event]) -> Vec<&'static str> {
    codes(events)
}

#[test]
fn handshake_then_chunks_fed_whole_and_bytewise() {
    let (c0, c1) = handshake_part(3, 1000, 0x5A);
    let (_, s1) = handshake_part(3, 0, 1);
    let connect = b"\x02\x00\x07connect\x00\x3f\xf0\x00\x00\x00\x00\x00\x00\x03\x00\x03app\x02\x00\x04live\x00\x00\x09";
    let data = cat(&[&c0, &c1, &echo(&s1, 0), &Msg::new(3, 20, connect).bytes()]);
    let events = both_ways(&data, &HANDSHAKE);
    assert_eq!(
        events[0],
        Event::HandshakeVersion {
            version: 3,
            offset: 0
        }
    );
    assert!(
        matches!(&events[1], Event::HandshakeRandom { time: 1000, data, offset: 1, .. } if *data == c1)
    );
    assert!(
        matches!(&events[2], Event::HandshakeEcho { data, offset: 1537, .. } if data[8..] == s1[8..])
    );
    let msgs = messages(&events);
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        (
            msgs[0].csid,
            msgs[0].type_id,
            &msgs[0].body[..],
            msgs[0].offset
        ),
        (3, 20, &connect[..], 3073)
    );
    assert_eq!(msgs[0].end_offset, data.len() as u64);
}

#[test]
fn basic_header_one_two_and_three_bytes() {
    let ids = [2u32, 63, 64, 319, 320, 65599];
    let data: Vec<u8> = ids
        .iter()
        .flat_map(|&c| Msg::new(c, 18, &[b'x'; 10]).ts(c).bytes())
        .collect();
    let got: Vec<(u32, u32)> = messages(&both_ways(&data, &CHUNKS))
        .iter()
        .map(|m| (m.csid, m.timestamp))
        .collect();
    assert_eq!(got, ids.iter().map(|&c| (c, c)).collect::<Vec<_>>());
}

#[test]
fn fmt1_fmt2_fmt3_timestamp_deltas_accumulate() {
    let data = cat(&[
        &chunk_header(0, 4, 1000, 3, 9, 1),
        b"abc",
        &chunk_header(1, 4, 40, 2, 8, 0),
        b"de",
        &chunk_header(2, 4, 20, 0, 0, 0),
        b"fg",
        &basic_header(3, 4),
        b"hi",
    ]);
    let events = both_ways(&data, &CHUNKS);
    let got: Vec<_> = messages(&events)
        .iter()
        .map(|m| (m.timestamp, m.type_id, m.stream_id, m.body.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1000, 9, 1, b"abc".to_vec()),
            (1040, 8, 1, b"de".to_vec()),
            (1060, 8, 1, b"fg".to_vec()),
            (1080, 8, 1, b"hi".to_vec())
        ]
    );
    let fmts: Vec<u8> = messages(&events).iter().map(|m| m.first_fmt).collect();
    assert_eq!(fmts, [0, 1, 2, 3]);
}

#[test]
fn fmt3_right_after_fmt0_adds_the_fmt0_timestamp_as_delta() {
    let data = cat(&[
        &chunk_header(0, 5, 33, 1, 8, 1),
        b"a",
        &basic_header(3, 5),
        b"b",
    ]);
    let stamps: Vec<u32> = messages(&both_ways(&data, &CHUNKS))
        .iter()
        .map(|m| m.timestamp)
        .collect();
    assert_eq!(stamps, [33, 66]);
}

#[test]
fn message_split_across_chunks_and_interleaved_chunk_streams() {
    let big: Vec<u8> = (0..512).map(|i| i as u8).collect();
    let mut audio = vec![0xAF, 0x01];
    audio.extend_from_slice(&[b'A'; 200]);
    let data = cat(&[
        &chunk_header(0, 6, 0, 512, 9, 1),
        &big[..128],
        &chunk_header(0, 4, 0, audio.len() as u32, 8, 1),
        &audio[..128],
        &basic_header(3, 6),
        &big[128..256],
        &basic_header(3, 4),
        &audio[128..],
        &basic_header(3, 6),
        &big[256..384],
        &basic_header(3, 6),
        &big[384..],
    ]);
    let events = both_ways(&data, &CHUNKS);
    let got: Vec<_> = messages(&events)
        .iter()
        .map(|m| (m.csid, m.body.clone(), m.chunks))
        .collect();
    assert_eq!(got, vec![(4, audio, 2), (6, big, 4)]);
}

#[test]
fn set_chunk_size_applies_from_the_next_chunk_of_that_direction() {
    let body = vec![b'v'; 5000];
    let data = cat(&[
        &Msg::new(2, 1, &set_chunk_size(4096)).bytes(),
        &Msg::new(6, 9, &body).size(4096).bytes(),
    ]);
    let events = both_ways(&data, &CHUNKS);
    assert!(events.contains(&Event::ChunkSizeChanged {
        size: 4096,
        offset: 0
    }));
    let msgs = messages(&events);
    assert_eq!((&msgs[1].body, msgs[1].chunks), (&body, 2));
}

#[test]
fn chunk_size_above_32768_as_srs_uses() {
    let body: Vec<u8> = (0..150_000u32).map(|i| i as u8).collect();
    let data = cat(&[
        &Msg::new(2, 1, &set_chunk_size(60000)).bytes(),
        &Msg::new(6, 9, &body).size(60000).bytes(),
    ]);
    let events = both_ways(&data, &CHUNKS);
    let msgs = messages(&events);
    assert_eq!((&msgs[1].body, msgs[1].chunks), (&body, 3));
}

#[test]
fn set_chunk_size_top_bit_is_a_violation_and_the_value_is_masked() {
    let events = decode(
        &Msg::new(2, 1, &0x8000_1000u32.to_be_bytes()).bytes(),
        &CHUNKS,
    );
    assert_eq!(violation_codes(&events), ["control.chunk-size-top-bit"]);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Violation { reason, .. }
        if reason == "Set Chunk Size 0x80001000 has the top bit set; using 4096")));
    assert!(events.contains(&Event::ChunkSizeChanged {
        size: 0x1000,
        offset: 0
    }));
}

#[test]
fn set_chunk_size_zero_is_ignored_with_an_error() {
    let data = cat(&[
        &Msg::new(2, 1, &set_chunk_size(0)).bytes(),
        &Msg::new(6, 9, &[b'z'; 200]).bytes(),
    ]);
    let events = decode(&data, &CHUNKS);
    assert_eq!(violation_codes(&events), ["control.chunk-size-zero"]);
    assert_eq!(messages(&events).last().map(|m| m.chunks), Some(2));
}

#[test]
fn set_chunk_size_short_is_an_error() {
    let events = both_ways(&Msg::new(2, 1, &[0, 0x10]).bytes(), &CHUNKS);
    assert!(events.contains(&Event::Violation {
        code: "control.short",
        severity: "error",
        offset: 0,
        reason: "Set Chunk Size with fewer than 4 bytes".into()
    }));
}

#[test]
fn extended_timestamp_repeated_on_continuation_chunks() {
    let body = vec![b'q'; 300];
    let data = cat(&[
        &Msg::new(6, 9, &body).ts(0x100_0000).bytes(),
        &Msg::new(6, 9, b"r").ts(0x100_0010).bytes(),
    ]);
    let mut decoder = ChunkDecoder::new(false, Some(128), true);
    let mut events = Vec::new();
    decoder.receive_data(&data, &mut events);
    let got: Vec<_> = messages(&events)
        .iter()
        .map(|m| (m.timestamp, m.body.clone(), m.extended_timestamp))
        .collect();
    assert_eq!(
        got,
        vec![(0x100_0000, body, true), (0x100_0010, b"r".to_vec(), true)]
    );
    assert_eq!(decoder.repeats_extended_timestamp(), Some(true));
    assert_eq!(decode_bytewise(&data, &CHUNKS), events);
}

#[test]
fn extended_timestamp_not_repeated_on_continuation_chunks() {
    let body = vec![b'q'; 300];
    let data = cat(&[
        &Msg::new(6, 9, &body).ts(0x100_0000).repeat(false).bytes(),
        &chunk_header(0, 5, 1, 1, 8, 1),
        b"s",
    ]);
    let mut decoder = ChunkDecoder::new(false, Some(128), true);
    let mut events = Vec::new();
    decoder.receive_data(&data, &mut events);
    let got: Vec<_> = messages(&events)
        .iter()
        .map(|m| (m.timestamp, m.body.clone()))
        .collect();
    assert_eq!(got, vec![(0x100_0000, body), (1, b"s".to_vec())]);
    assert_eq!(decoder.repeats_extended_timestamp(), Some(false));
    assert_eq!(decode_bytewise(&data, &CHUNKS), decode(&data, &CHUNKS));
}

#[test]
fn extended_timestamp_convention_changing_is_a_warning() {
    let body = vec![b'q'; 300];
    let data = cat(&[
        &Msg::new(6, 9, &body).ts(0x100_0000).bytes(),
        &Msg::new(6, 9, &body).ts(0x100_0000).repeat(false).bytes(),
    ]);
    let events = both_ways(&data, &CHUNKS);
    assert_eq!(
        violation_codes(&events),
        ["chunk.extended-timestamp-inconsistent"]
    );
    assert_eq!(messages(&events).len(), 2);
}

#[test]
fn timestamp_wraps_at_32_bits() {
    let data = cat(&[
        &chunk_header(0, 4, 0xFFFF_FFF0, 1, 8, 1),
        b"a",
        &chunk_header(2, 4, 0x20, 0, 0, 0),
        b"b",
    ]);
    let stamps: Vec<u32> = messages(&both_ways(&data, &CHUNKS))
        .iter()
        .map(|m| m.timestamp)
        .collect();
    assert_eq!(stamps, [0xFFFF_FFF0, 0x10]);
}

#[test]
fn abort_drops_the_partial_message() {
    let data = cat(&[
        &chunk_header(0, 6, 0, 300, 9, 1),
        &[b'x'; 128],
        &Msg::new(2, 2, &6u32.to_be_bytes()).bytes(),
        &chunk_header(0, 6, 5, 2, 9, 1),
        b"ok",
    ]);
    let events = both_ways(&data, &CHUNKS);
    let video: Vec<_> = messages(&events)
        .iter()
        .filter(|m| m.type_id == 9)
        .map(|m| m.body.clone())
        .collect();
    assert_eq!(video, [b"ok".to_vec()]);
    assert!(events.iter().any(
        |e| matches!(e, Event::Violation { code: "control.abort", reason, .. }
        if reason == "Abort: dropped 128 bytes of a message on chunk stream 6")
    ));
    let idle = decode(&Msg::new(2, 2, &9u32.to_be_bytes()).bytes(), &CHUNKS);
    assert_eq!(violation_codes(&idle), ["control.abort-idle"]);
}

#[test]
fn new_header_in_the_middle_of_a_message_is_an_error() {
    let data = cat(&[
        &chunk_header(0, 6, 0, 300, 9, 1),
        &[b'x'; 128],
        &chunk_header(0, 6, 0, 2, 9, 1),
        b"ok",
    ]);
    let events = both_ways(&data, &CHUNKS);
    assert!(events.iter().any(|e| matches!(e, Event::Violation { code: "chunk.header-mid-message", reason, offset: 140, .. }
        if reason == "fmt 0 header on chunk stream 6 while a message was incomplete (128 of 300 bytes); the partial message is dropped")));
    let bodies: Vec<_> = messages(&events).iter().map(|m| m.body.clone()).collect();
    assert_eq!(bodies, [b"ok".to_vec()]);
}

#[test]
fn first_chunk_fmt1_warns_and_still_decodes() {
    let events = both_ways(&cat(&[&chunk_header(1, 5, 10, 2, 8, 0), b"hi"]), &CHUNKS);
    assert_eq!(violation_codes(&events), ["chunk.first-not-fmt0"]);
    let msgs = messages(&events);
    assert!(msgs[0].body == b"hi" && msgs[0].inferred);
}

#[test]
fn fmt2_and_fmt3_on_an_unknown_stream_lose_sync() {
    let events = both_ways(&cat(&[&chunk_header(2, 5, 10, 0, 0, 0), b"hi"]), &CHUNKS);
    assert_eq!(violation_codes(&events), ["chunk.unknown-stream"]);
}

#[test]
fn zero_length_message() {
    let events = both_ways(&chunk_header(0, 3, 7, 0, 20, 0), &CHUNKS);
    let msgs = messages(&events);
    assert!(msgs[0].body.is_empty() && msgs[0].timestamp == 7 && msgs[0].chunks == 1);
}

#[test]
fn rtmpe_handshake_stops_decoding() {
    let (c0, c1) = handshake_part(6, 0, 0x5A);
    let (_, s1) = handshake_part(6, 0, 3);
    let data = cat(&[&c0, &c1, &echo(&s1, 0), &[0x99; 100]]);
    let mut decoder = ChunkDecoder::new(true, None, false);
    let mut events = Vec::new();
    decoder.receive_data(&data, &mut events);
    assert_eq!(
        events.last(),
        Some(&Event::Encrypted {
            version: 6,
            offset: 3073
        })
    );
    assert!(messages(&events).is_empty() && decoder.encrypted());
    // Nothing more is taken: the buffer was dropped, later bytes and gaps are ignored.
    assert_eq!((decoder.offset(), decoder.received_offset()), (3173, 3173));
    decoder.receive_data(b"more", &mut events);
    decoder.receive_gap(10, &mut events);
    decoder.finish(&mut events);
    assert_eq!(decoder.received_offset(), 3173);
    assert_eq!(
        events.last(),
        Some(&Event::Encrypted {
            version: 6,
            offset: 3073
        })
    );
}

#[test]
fn other_handshake_versions_warn_and_decode_as_plain_rtmp() {
    let (c0, c1) = handshake_part(31, 0, 0x5A);
    let data = cat(&[&c0, &c1, &echo(&c1, 0), &Msg::new(3, 20, b"x").bytes()]);
    let events = both_ways(&data, &HANDSHAKE);
    assert!(events.contains(&Event::Violation {
        code: "handshake.version",
        severity: "warning",
        offset: 0,
        reason: "handshake version 31 is not 3; decoding as plain RTMP".into()
    }));
    assert_eq!(messages(&events).len(), 1);
}

#[test]
fn gap_drops_partial_messages_and_resynchronises_with_the_known_chunk_size() {
    let mut decoder = ChunkDecoder::new(false, Some(128), true);
    let mut events = Vec::new();
    decoder.receive_data(
        &cat(&[&chunk_header(0, 6, 0, 300, 9, 1), &[b'x'; 128]]),
        &mut events,
    );
    decoder.receive_gap(173, &mut events);
    let after: Vec<u8> = (0..20u8)
        .flat_map(|i| cat(&[&chunk_header(0, 4, 40 * u32::from(i), 50, 8, 1), &[i; 50]]))
        .collect();
    decoder.receive_data(&after, &mut events);
    decoder.finish(&mut events);
    assert!(events.contains(&Event::Violation {
        code: "tcp.gap",
        severity: "warning",
        offset: 140,
        reason: "173 bytes missing from the capture; 1 incomplete message(s) dropped".into()
    }));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Resynchronised {
            chunk_size: 128,
            chunk_size_inferred: false,
            ..
        }
    )));
    let firsts: Vec<u8> = messages(&events).iter().map(|m| m.body[0]).collect();
    assert_eq!(firsts, (0..20).collect::<Vec<u8>>());
}

#[test]
fn mid_session_start_infers_the_chunk_size() {
    let body = vec![b'V'; 9000];
    let mut stream = Vec::new();
    for i in 0..12u8 {
        let video = cat(&[&[i], &body]);
        stream.extend(
            Msg::new(6, 9, &video)
                .ts(40 * u32::from(i))
                .sid(1)
                .size(4096)
                .bytes(),
        );
        stream.extend(
            Msg::new(4, 8, &[i; 300])
                .ts(40 * u32::from(i))
                .sid(1)
                .size(4096)
                .bytes(),
        );
    }
    let cut = &stream[1000..];
    let mut decoder = ChunkDecoder::new(false, None, false);
    let mut events = Vec::new();
    decoder.receive_data(cut, &mut events);
    decoder.finish(&mut events);
    let resyncs: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Event::Resynchronised { .. }))
        .collect();
    assert_eq!(resyncs.len(), 1);
    assert!(matches!(
        resyncs[0],
        Event::Resynchronised {
            chunk_size: 4096,
            chunk_size_inferred: true,
            ..
        }
    ));
    let video: Vec<_> = messages(&events)
        .into_iter()
        .filter(|m| m.type_id == 9)
        .collect();
    assert_eq!(
        video.iter().map(|m| m.body[0]).collect::<Vec<_>>(),
        (1..12).collect::<Vec<u8>>()
    );
    assert!(video.iter().all(|m| m.body[1..] == body[..]));
}

fn any_split_stream() -> Vec<u8> {
    let (c0, c1) = handshake_part(3, 5, 0x5A);
    let (_, s1) = handshake_part(3, 0, 9);
    let mut data = cat(&[
        &c0,
        &c1,
        &echo(&s1, 0),
        &Msg::new(2, 1, &set_chunk_size(1000)).bytes(),
    ]);
    for i in 0..6u8 {
        let body = vec![i; 700 * usize::from(i) + 1];
        data.extend(
            Msg::new(6, 9, &body)
                .ts(33 * u32::from(i))
                .sid(1)
                .size(1000)
                .bytes(),
        );
    }
    data
}

#[test]
fn any_split_gives_the_same_events() {
    let data = any_split_stream();
    let whole = decode(&data, &HANDSHAKE_FINISH);
    let mut rng = Rng::new(1);
    for _ in 0..60 {
        let cuts: Vec<usize> = (0..rng.below(13))
            .map(|_| (1 + rng.below(4000)) % data.len())
            .collect();
        assert_eq!(decode_split(&data, &HANDSHAKE_FINISH, &cuts), whole);
    }
}

#[test]
fn chunk_size_one_decodes_in_linear_time() {
    let body = vec![b'm'; 200_000];
    let data = cat(&[
        &Msg::new(2, 1, &set_chunk_size(1)).bytes(),
        &Msg::new(6, 9, &body).size(1).bytes(),
    ]);
    let events = decode(&data, &CHUNKS);
    let msgs = messages(&events);
    assert_eq!((&msgs[1].body, msgs[1].chunks), (&body, 200_000));
}

#[test]
fn after_a_gap_fmt1_headers_keep_the_message_stream_id_and_timestamp_base() {
    let mut decoder = ChunkDecoder::new(false, Some(128), true);
    let mut events = Vec::new();
    decoder.receive_data(
        &cat(&[&chunk_header(0, 6, 5000, 10, 9, 7), &[b'k'; 10]]),
        &mut events,
    );
    decoder.receive_gap(500, &mut events);
    let after: Vec<u8> = (0..30u8)
        .flat_map(|i| cat(&[&chunk_header(1, 6, 40, 20, 9, 0), &[i; 20]]))
        .collect();
    decoder.receive_data(&after, &mut events);
    decoder.finish(&mut events);
    let msgs = messages(&events);
    let video = &msgs[1..];
    assert!(video.len() >= 25);
    assert!(video.iter().all(|m| m.stream_id == 7 && m.inferred));
    let stamps: Vec<u32> = video.iter().map(|m| m.timestamp).collect();
    assert!(stamps[0] > 5000);
    assert_eq!(
        stamps,
        (0..stamps.len() as u32)
            .map(|k| stamps[0] + 40 * k)
            .collect::<Vec<_>>()
    );
}

fn mixed_stream() -> Vec<u8> {
    let (c0, c1) = handshake_part(3, 5, 0x5A);
    let (_, s1) = handshake_part(3, 0, 9);
    let mut data = cat(&[
        &c0,
        &c1,
        &echo(&s1, 0),
        &Msg::new(2, 1, &set_chunk_size(300)).bytes(),
    ]);
    for i in 0..8u8 {
        let ts = 33 * u32::from(i);
        data.extend(
            Msg::new(6, 9, &vec![i; 250 * usize::from(i) + 1])
                .ts(ts)
                .sid(1)
                .size(300)
                .bytes(),
        );
        let audio: Vec<u8> = [0xAF, i].repeat(90);
        data.extend(Msg::new(4, 8, &audio).ts(ts).sid(1).size(300).bytes());
    }
    data
}

#[test]
fn bit_flips_never_panic_and_any_split_agrees_with_whole_feeding() {
    let mixed = mixed_stream();
    let mut rng = Rng::new(2);
    for _ in 0..80 {
        let mut data = mixed.clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(data.len());
            data[at] ^= 1 << rng.below(8);
        }
        let cuts: Vec<usize> = (0..rng.below(7))
            .map(|_| 1 + rng.below(data.len() - 1))
            .collect();
        let whole = decode(&data, &HANDSHAKE_FINISH);
        let split = decode_split(&data, &HANDSHAKE_FINISH, &cuts);
        assert_eq!(whole, split);
        assert_eq!(split, decode_bytewise(&data, &HANDSHAKE_FINISH));
        let ends: Vec<u64> = messages(&whole).iter().map(|m| m.end_offset).collect();
        assert!(
            ends.windows(2).all(|w| w[0] <= w[1]) && ends.iter().all(|&e| e <= data.len() as u64)
        );
    }
}

#[test]
fn a_truncated_stream_decodes_exactly_the_messages_that_ended_before_the_cut() {
    let mixed = mixed_stream();
    let whole = decode(&mixed, &HANDSHAKE_FINISH);
    let whole = messages(&whole);
    for n in (0..=mixed.len()).step_by(97).chain([mixed.len()]) {
        let part = decode(&mixed[..n], &HANDSHAKE_FINISH);
        let expected: Vec<_> = whole
            .iter()
            .filter(|m| m.end_offset <= n as u64)
            .copied()
            .collect();
        assert_eq!(messages(&part), expected);
    }
}

#[test]
fn finish_reports_what_stays_incomplete() {
    let mut decoder = ChunkDecoder::new(false, Some(128), true);
    let mut events = Vec::new();
    decoder.receive_data(
        &cat(&[&chunk_header(0, 6, 0, 300, 9, 1), &[0; 128], &[0xC6, 1, 2]]),
        &mut events,
    );
    decoder.finish(&mut events);
    assert_eq!(
        events,
        [Event::Violation {
            code: "stream.truncated",
            severity: "info",
            offset: 140,
            reason: "capture ends inside a message: 3 undecoded bytes, 1 incomplete message(s)"
                .into()
        }]
    );
    assert_eq!((decoder.offset(), decoder.received_offset()), (140, 143));
}

#[test]
fn constructor_modes_as_the_python() {
    let d = ChunkDecoder::new(true, None, false);
    assert!(
        d.in_handshake() && !d.encrypted() && d.chunk_size() == 128 && !d.chunk_size_inferred()
    );
    let d = ChunkDecoder::new(false, None, false);
    assert!(!d.in_handshake() && d.chunk_size() == 128 && d.chunk_size_inferred());
    let d = ChunkDecoder::new(false, Some(0), false); // `chunk_size or 128`, and given (not None): not inferred
    assert!(d.chunk_size() == 128 && !d.chunk_size_inferred());
    let d = ChunkDecoder::new(false, Some(4096), true);
    assert!(
        d.chunk_size() == 4096
            && !d.chunk_size_inferred()
            && d.version().is_none()
            && d.messages() == 0
    );
}
