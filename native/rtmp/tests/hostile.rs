//! Limits and hostile inputs: bounded state, no allocation ahead of the bytes, no panics, and whole feeding
//! equal to split feeding on thousands of seeded random and mutated inputs.

mod common;

use common::*;
use rtmp_inspect_rtmp::{ChunkDecoder, Event, MAX_CHUNK_STREAMS, MAX_OFFSET, MAX_PENDING_BYTES};

#[test]
fn message_length_0xffffff_with_few_bytes_allocates_nothing_for_it() {
    let mut decoder = ChunkDecoder::new(false, Some(128), true);
    let mut events = Vec::new();
    decoder.receive_data(
        &cat(&[
            &chunk_header(0, 6, 0, 0xFF_FFFF, 9, 1),
            &[0; 128],
            &[0xC6; 10],
        ]),
        &mut events,
    );
    assert!(events.is_empty());
    assert!(decoder.held_bytes() < 4096, "{}", decoder.held_bytes());
    // And a body whose bytes all arrived at once is allocated once, exactly.
    let body = vec![7u8; 100_000];
    let mut decoder = ChunkDecoder::new(false, Some(128), true);
    decoder.receive_data(&Msg::new(6, 9, &body).bytes(), &mut events);
    let msgs = messages(&events);
    assert_eq!(msgs[0].body, body);
    assert_eq!(msgs[0].body.capacity(), body.len());
}

#[test]
fn body_capacity_follows_what_arrived_when_fed_in_small_pieces() {
    let body = vec![7u8; 1 << 20];
    let data = Msg::new(6, 9, &body).size(4096).bytes();
    let mut decoder = ChunkDecoder::new(false, Some(4096), true);
    let mut events = Vec::new();
    let mut fed = 0;
    for piece in data.chunks(1448) {
        decoder.receive_data(piece, &mut events);
        fed += piece.len();
        // Proportional to what arrived (the input buffer doubles as it grows), never to the 1 MB declared.
        assert!(
            decoder.held_bytes() <= 4 * fed + 65536,
            "{} held after {fed}",
            decoder.held_bytes()
        );
    }
    assert_eq!(messages(&events)[0].body, body);
}

#[test]
fn every_chunk_stream_id_opened_stays_bounded() {
    let idle: Vec<u8> = (0..3000u32)
        .flat_map(|i| cat(&[&chunk_header(0, 64 + i, i, 3, 8, 1), b"abc"]))
        .collect();
    let events = both_ways(&idle, &CHUNKS);
    let limits: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Violation {
                code: "limit.chunk-streams",
                reason,
                ..
            } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(limits.len(), 2);
    assert_eq!(limits[0], format!("more than {MAX_CHUNK_STREAMS} chunk streams in use; forgot the state of 1024 idle ones"));
    assert_eq!(messages(&events).len(), 3000);
    let busy: Vec<u8> = (0..1100u32)
        .flat_map(|i| cat(&[&chunk_header(0, 64 + i, i, 300, 9, 1), &[0; 128]]))
        .collect();
    let events = decode(&busy, &CHUNKS);
    assert!(events.iter().any(
        |e| matches!(e, Event::Violation { code: "limit.chunk-streams", reason, .. }
        if reason.ends_with("dropped 1024 incomplete messages"))
    ));
}

#[test]
fn pending_bytes_are_bounded() {
    for base in [3u32, 64] {
        let mut data = Msg::new(2, 1, &set_chunk_size(65536)).bytes();
        let piece: Vec<u8> = (0..65536u32).map(|i| i as u8).collect();
        for i in 0..5 {
            data.extend(chunk_header(0, base + i, 0, 0xFF_FFFF, 9, 1));
            data.extend(&piece);
        }
        for _ in 0..205 {
            for i in 0..5 {
                data.extend(basic_header(3, base + i));
                data.extend(&piece);
            }
        }
        let events = decode(&data, &CHUNKS);
        let limit: Vec<_> = events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Violation {
                        code: "limit.pending-bytes",
                        ..
                    }
                )
            })
            .collect();
        assert_eq!(limit.len(), 1);
        assert!(matches!(limit[0], Event::Violation { reason, .. }
            if *reason == format!("more than {MAX_PENDING_BYTES} bytes in incomplete messages; dropped 5")));
    }
}

#[test]
fn huge_gaps_are_clamped_not_overflowed() {
    let mut decoder = ChunkDecoder::new(true, None, false);
    let mut events = Vec::new();
    decoder.receive_data(b"\x03abc", &mut events);
    decoder.receive_gap(u64::MAX, &mut events);
    decoder.receive_gap(u64::MAX, &mut events);
    decoder.receive_data(&[0xC3; 20000], &mut events);
    decoder.finish(&mut events);
    assert!(decoder.offset() <= MAX_OFFSET + 20000);
    assert!(events.iter().any(
        |e| matches!(e, Event::Violation { code: "tcp.gap", reason, .. }
        if reason == "18446744073709551615 bytes missing from the capture")
    ));
}

#[test]
fn largest_chunk_size_then_a_gap_waits_but_does_not_panic() {
    let mut decoder = ChunkDecoder::new(false, Some(128), true);
    let mut events = Vec::new();
    decoder.receive_data(
        &Msg::new(2, 1, &0x7FFF_FFFFu32.to_be_bytes()).bytes(),
        &mut events,
    );
    decoder.receive_gap(10, &mut events);
    let after: Vec<u8> = (0..20u8)
        .flat_map(|i| cat(&[&chunk_header(0, 4, 40, 50, 8, 1), &[i; 50]]))
        .collect();
    decoder.receive_data(&cat(&[&[0xC7; 5], &after]), &mut events);
    decoder.finish(&mut events);
    assert!(events.contains(&Event::ChunkSizeChanged {
        size: 0x7FFF_FFFF,
        offset: 0
    }));
}

/// Seeded random and mutated inputs in every mode: no panic, and whole == split == (for small ones) bytewise.
#[test]
fn seeded_random_and_mutated_inputs_never_panic_and_split_equals_whole() {
    let mut rng = Rng::new(42);
    let bases = [
        any_stream(&mut rng, true),
        any_stream(&mut rng, false),
        any_stream(&mut rng, true),
    ];
    for round in 0..3000 {
        let mut data = if round % 5 == 0 {
            let n = rng.below(3000);
            rng.bytes(n)
        } else {
            bases[round % 3].clone()
        };
        for _ in 0..rng.below(8) {
            let at = rng.below(data.len() + 1);
            match rng.below(5) {
                0 if at < data.len() => data[at] ^= 1 << rng.below(8),
                1 if at < data.len() => data[at] = rng.next() as u8,
                2 => {
                    let n = 1 + rng.below(20);
                    let extra = rng.bytes(n);
                    data.splice(at..at, extra);
                }
                3 => {
                    let end = (at + 1 + rng.below(200)).min(data.len());
                    data.drain(at..end);
                }
                _ => data.truncate(at),
            }
        }
        let modes = [
            (true, None, false),
            (false, None, false),
            (false, Some(128), true),
            (false, Some(4096), false),
        ];
        let (handshake, size, boundary) = modes[round % modes.len()];
        // Feed in pieces cut at `cuts`; after the pieces ending at a position in `gaps`, a gap.
        let run = |cuts: &[usize], gaps: &[usize]| {
            let mut decoder = ChunkDecoder::new(handshake, size, boundary);
            let mut events = Vec::new();
            let mut points: Vec<usize> = cuts
                .iter()
                .chain(gaps)
                .copied()
                .chain([data.len()])
                .collect();
            points.sort_unstable();
            points.dedup();
            let mut last = 0;
            for cut in points {
                decoder.receive_data(&data[last..cut], &mut events);
                if gaps.contains(&cut) {
                    decoder.receive_gap(1 + cut as u64 % 700, &mut events);
                }
                last = cut;
            }
            decoder.finish(&mut events);
            events
        };
        let cuts: Vec<usize> = (0..rng.below(30))
            .map(|_| rng.below(data.len() + 1))
            .collect();
        let whole = run(&[], &[]);
        assert_eq!(run(&cuts, &[]), whole, "round {round}");
        if data.len() < 4000 {
            let bytewise: Vec<usize> = (1..data.len()).collect();
            assert_eq!(run(&bytewise, &[]), whole, "round {round}");
        }
        // With gaps: the same events whatever the splitting between them.
        let gaps: Vec<usize> = (0..rng.below(4))
            .map(|_| rng.below(data.len() + 1))
            .collect();
        assert_eq!(
            run(&cuts, &gaps),
            run(&[], &gaps),
            "round {round} with gaps"
        );
    }
}

/// A random but mostly well-formed stream: handshake or not, Set Chunk Size, interleaved media, extended timestamps.
fn any_stream(rng: &mut Rng, handshake: bool) -> Vec<u8> {
    let mut data = Vec::new();
    if handshake {
        let (c0, c1) = handshake_part(3, 5, 1);
        data = cat(&[&c0, &c1, &echo(&handshake_part(3, 0, 2).1, 0)]);
    }
    let size = [128u32, 300, 4096, 1][rng.below(4)];
    data.extend(Msg::new(2, 1, &set_chunk_size(size)).bytes());
    for i in 0..40u32 {
        let len = [0, 1, 100, 129, 1000, 5000][rng.below(6)];
        let ts = [33 * i, 0xFF_FFFF + i, 0x1234_5678][rng.below(3)];
        let csid = [3u32, 4, 6, 70, 400][rng.below(5)];
        let body = rng.bytes(len);
        data.extend(
            Msg::new(csid, [8, 9, 18, 20][rng.below(4)], &body)
                .ts(ts)
                .sid(1)
                .size(size as usize)
                .repeat(i % 7 != 0)
                .bytes(),
        );
    }
    data
}
