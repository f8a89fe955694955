//! `chunks`: bytes -> ChunkDecoder (with the handshake, mid-session with the chunk size inferred or known,
//! at a chunk boundary), fed whole, in pieces and byte by byte, without and with gaps, then finish().
//!
//! Input: byte 0 = mode (bits 0..1: 0 handshake, 1 mid-session inferring the chunk size, 2 at a chunk
//! boundary, 3 mid-session with a known chunk size; bits 2..3: that chunk size, 128 / 4096 / 1 / 65536;
//! bit 4: Some(0) instead, which means the default); byte 1 = how many cut positions (bits 0..4) and gaps
//! (bits 5..7) follow; the cuts as u16 LE, the gaps as (u16 LE position, u16 LE size; 0xFFFF: a gap of
//! 2**64-1 bytes, to reach the clamp); then the stream. Positions are taken modulo the stream's length + 1.
//!
//! Findings: a panic (overflow checks on); without gaps, events that differ between feeding whole, in the
//! pieces and (streams up to 3000 bytes) byte by byte; with the gaps, events that differ between feeding
//! whole between the gaps and in the pieces between them (the decoder's documented property: a chunk is
//! decoded only once complete, and resynchronisation searches fixed windows from the search position).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtmp_inspect_rtmp::{ChunkDecoder, Event};

struct Mode {
    handshake: bool,
    chunk_size: Option<u32>,
    at_boundary: bool,
}

fn run(mode: &Mode, data: &[u8], cuts: &[usize], gaps: &[(usize, u64)]) -> Vec<Event> {
    let mut decoder = ChunkDecoder::new(mode.handshake, mode.chunk_size, mode.at_boundary);
    let mut events = Vec::new();
    let mut points: Vec<usize> = cuts.iter().copied().chain(gaps.iter().map(|g| g.0)).chain([data.len()]).collect();
    points.sort_unstable();
    points.dedup();
    let mut last = 0;
    for cut in points {
        decoder.receive_data(&data[last..cut], &mut events);
        for &(_, size) in gaps.iter().filter(|g| g.0 == cut) {
            decoder.receive_gap(size, &mut events);
        }
        last = cut;
    }
    decoder.finish(&mut events);
    events
}

fn u16_at(b: &[u8], i: usize) -> usize {
    u16::from_le_bytes([b[i], b[i + 1]]) as usize
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 2 {
        return;
    }
    let (m, counts) = (input[0], input[1]);
    let (ncuts, ngaps) = ((counts & 31) as usize, (counts >> 5) as usize);
    let head = 2 + 2 * ncuts + 4 * ngaps;
    if input.len() < head {
        return;
    }
    let data = &input[head..];
    let at = |v: usize| v % (data.len() + 1);
    let size = if m & 16 != 0 { 0 } else { [128, 4096, 1, 65536][((m >> 2) & 3) as usize] };
    let mode = match m & 3 {
        0 => Mode { handshake: true, chunk_size: None, at_boundary: false },
        1 => Mode { handshake: false, chunk_size: None, at_boundary: false },
        2 => Mode { handshake: false, chunk_size: Some(size), at_boundary: true },
        _ => Mode { handshake: false, chunk_size: Some(size), at_boundary: false },
    };
    let cuts: Vec<usize> = (0..ncuts).map(|i| at(u16_at(input, 2 + 2 * i))).collect();
    let gaps: Vec<(usize, u64)> = (0..ngaps)
        .map(|i| {
            let p = 2 + 2 * ncuts + 4 * i;
            let size = match u16_at(input, p + 2) {
                0xFFFF => u64::MAX,
                s => s as u64 + 1,
            };
            (at(u16_at(input, p)), size)
        })
        .collect();

    let whole = run(&mode, data, &[], &[]);
    assert_eq!(run(&mode, data, &cuts, &[]), whole, "whole vs cut at {cuts:?}");
    if data.len() <= 3000 {
        let bytewise: Vec<usize> = (1..data.len()).collect();
        assert_eq!(run(&mode, data, &bytewise, &[]), whole, "whole vs byte by byte");
    }
    if !gaps.is_empty() {
        let between = run(&mode, data, &[], &gaps);
        assert_eq!(run(&mode, data, &cuts, &gaps), between, "with gaps {gaps:?}: whole between them vs cut at {cuts:?}");
    }
});
