//! `reassembly`: bytes -> a sequence of synthetic TCP segments -> FlowTable with small limits, then flush.
//!
//! Input (read from the front; zeros once it runs out): byte 0 = setup (bit 0: truthful mode; bits 1..2:
//! max_flows 0..3; bit 3: max_ended given, then bits 4..5 are it, 0..3; bits 6..7 with byte 1: max_buffer,
//! max_pieces, history), two ISNs, then per segment an op byte and its fields:
//!
//! * truthful: one 4-tuple, every payload a slice of one known pseudo-random stream per direction (random
//!   offsets, sizes, order, duplicates, snap-length cuts, ACKs up to a little past what was sent);
//! * free: three 4-tuples (two IPv4, one IPv6), arbitrary sequence numbers (near the ISN or anywhere), flags
//!   (SYN/FIN/RST/ACK...), payloads, snap-length cuts, ACKs, zero windows.
//!
//! Findings: a panic; Data/Gap offsets not contiguous from 0 per (flow, direction), or of size 0; flow ids
//! not 0, 1, 2... at Started; an event before Started or after Ended; an Ended summary whose next_offset is
//! not where the events got to; held bytes/pieces over max_buffer/max_pieces after a segment; more open
//! flows than max_flows or remembered ended flows than max_ended; a flow open after flush; in truthful mode
//! delivered bytes that differ from what was sent, or a Mismatch.
#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rtmp_inspect_capture::{Address, FlowEvent, FlowTable, TcpSegment};

const TRUTH_LEN: usize = 1 << 17;

fn truth() -> &'static [Vec<u8>; 2] {
    static TRUTH: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    TRUTH.get_or_init(|| {
        let gen = |mut x: u64| {
            (0..TRUTH_LEN)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect::<Vec<u8>>()
        };
        [gen(0x9E37_79B9_7F4A_7C15), gen(0xD1B5_4A32_D192_ED03)]
    })
}

struct Bytes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// An integer in [low, high] from as few bytes as the range needs (zeros past the end).
    fn int(&mut self, low: i64, high: i64) -> i64 {
        let span = (high - low) as u64;
        if span == 0 {
            return low;
        }
        let size = ((64 - span.leading_zeros()) as usize).div_ceil(8);
        let mut v: u64 = 0;
        for i in 0..size {
            v = v << 8 | *self.data.get(self.pos + i).unwrap_or(&0) as u64;
        }
        self.pos += size;
        low + (v % (span + 1)) as i64
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        let end = (self.pos + n).min(self.data.len());
        self.pos += n;
        &self.data[start..end]
    }
}

const V4A: Address = Address::V4([10, 0, 0, 1]);
const V4B: Address = Address::V4([10, 0, 0, 2]);
const V6A: Address = Address::V6([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const V6B: Address = Address::V6([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
const ADDRS: [(Address, u16, Address, u16); 3] = [(V4A, 40000, V4B, 1935), (V4A, 40001, V4B, 1935), (V6A, 40002, V6B, 1935)];

#[derive(Default)]
struct Checker {
    truthful: bool,
    next_id: u64,
    /// (flow, direction) -> next stream offset the events must continue at.
    next: HashMap<(u64, u8), u64>,
    ended: HashMap<u64, bool>,
    /// truthful: which truth direction is the flow's direction 0, and the truth offset of stream offset 0.
    dir0: HashMap<u64, usize>,
    base: HashMap<(u64, u8), u32>,
    /// Flows that may still be in the table.
    alive: Vec<u64>,
}

impl Checker {
    fn events(&mut self, table: &FlowTable, events: &[FlowEvent<'_>], sender: usize, isn: &[u32; 2]) {
        // Sequence bases first (a flow may be gone already, then its Ended summary has them).
        for ev in events {
            if let FlowEvent::Ended { flow, summary, .. } = ev {
                for d in 0..2u8 {
                    if let Some(b) = summary.streams[d as usize].base_seq {
                        self.base.insert((*flow, d), b);
                    }
                }
            }
        }
        for ev in events {
            let id = ev.flow();
            if let FlowEvent::Started { flow } = ev {
                assert_eq!(*flow, self.next_id, "flow ids out of order");
                self.next_id += 1;
                self.ended.insert(*flow, false);
                self.dir0.insert(*flow, sender);
                self.alive.push(*flow);
                continue;
            }
            match self.ended.get(&id) {
                None => panic!("event before Started: {ev:?}"),
                Some(true) => panic!("event after Ended: {ev:?}"),
                Some(false) => {}
            }
            match ev {
                FlowEvent::Data { direction, data, offset, .. } => {
                    self.advance(id, *direction, *offset, data.len() as u64);
                    if self.truthful {
                        let t = self.dir0[&id] ^ *direction as usize;
                        let b = self
                            .base
                            .get(&(id, *direction))
                            .copied()
                            .or_else(|| table.flow(id).and_then(|f| f.streams[*direction as usize].base_seq()))
                            .expect("data from a stream without a base");
                        let start = b.wrapping_sub(isn[t]) as usize + *offset as usize;
                        let want = truth()[t].get(start..start + data.len());
                        assert!(want == Some(&data[..]), "delivered bytes at {offset} (truth {start}) differ");
                    }
                }
                FlowEvent::Gap { direction, offset, size, .. } => self.advance(id, *direction, *offset, *size),
                FlowEvent::Mismatch { size, .. } => {
                    assert!(*size > 0, "empty mismatch");
                    assert!(!self.truthful, "mismatch although every copy was identical: {ev:?}");
                }
                FlowEvent::Ended { summary, .. } => {
                    self.ended.insert(id, true);
                    assert!(summary.ended);
                    for d in 0..2u8 {
                        let s = &summary.streams[d as usize];
                        let at = self.next.get(&(id, d)).copied().unwrap_or(0);
                        assert!(s.finished, "stream {d} of ended flow {id} not finished");
                        assert_eq!(s.next_offset, at as i64, "flow {id} dir {d}: summary vs events");
                        assert_eq!(s.pending_pieces, 0, "flow {id} dir {d} ended holding pieces");
                    }
                }
                FlowEvent::Started { .. } => unreachable!(),
            }
        }
    }

    fn advance(&mut self, id: u64, d: u8, offset: u64, size: u64) {
        let at = self.next.entry((id, d)).or_insert(0);
        assert_eq!(offset, *at, "flow {id} dir {d}: offset {offset}, expected {at}");
        assert!(size > 0, "flow {id} dir {d}: empty data/gap at {offset}");
        *at += size;
    }

    fn bounds(&mut self, table: &FlowTable, limits: &Limits) {
        assert!(table.open_flows() <= limits.max_flows, "{} open flows", table.open_flows());
        assert_eq!(table.flows_started(), self.next_id);
        let mut remembered_ended = 0;
        self.alive.retain(|&id| {
            let Some(flow) = table.flow(id) else {
                return false;
            };
            assert_eq!(flow.ended, self.ended[&id], "flow {id}: ended state vs events");
            if flow.ended {
                remembered_ended += 1;
            }
            for s in &flow.streams {
                assert!(s.pending_bytes() >= 0 && s.pending_bytes() as u64 <= limits.max_buffer, "{} bytes held", s.pending_bytes());
                assert!(s.pending_pieces() <= limits.max_pieces, "{} pieces held", s.pending_pieces());
            }
            true
        });
        assert!(remembered_ended <= table.max_ended(), "{remembered_ended} ended flows remembered");
    }
}

struct Limits {
    max_flows: usize,
    max_buffer: u64,
    max_pieces: usize,
}

fuzz_target!(|data: &[u8]| {
    let mut fdp = Bytes { data, pos: 0 };
    let setup = fdp.int(0, 255) as u8;
    let more = fdp.int(0, 255) as u8;
    let truthful = setup & 1 != 0;
    let max_flows = ((setup >> 1) & 3) as usize;
    let max_ended = if setup & 8 != 0 { Some(((setup >> 4) & 3) as usize) } else { None };
    let max_buffer = match (setup >> 6) & 3 {
        0 => 0,
        k => 1u64 << (4 + k as u64 * 2 + (more & 3) as u64), // 64 B .. 32 KB
    };
    let max_pieces = ((more >> 2) & 7) as usize; // 0..7
    let history = if more & 0x20 != 0 { 0 } else { 1u64 << ((more >> 6) * 4 + 4) }; // 0, 16 B .. 256 KB
    let limits = Limits { max_flows, max_buffer, max_pieces };
    let mut table = FlowTable::with_limits(max_flows, max_ended, max_buffer, max_pieces, history);
    let isn = [fdp.int(0, 0xFFFF_FFFF) as u32, fdp.int(0, 0xFFFF_FFFF) as u32];
    let mut checker = Checker { truthful, ..Default::default() };
    let mut sent_max = [0i64; 2];
    let mut frame = 0u64;
    while fdp.remaining() > 0 && frame < 3000 {
        frame += 1;
        let op = fdp.int(0, 255) as u8;
        let d = (op & 1) as usize;
        let (mut src, mut sport, mut dst, mut dport) = if truthful { ADDRS[0] } else { ADDRS[((op >> 1) % 3) as usize] };
        if d == 1 {
            (src, sport, dst, dport) = (dst, dport, src, sport);
        }
        let (seq, ack, flags, payload, missing, window);
        if truthful {
            let off = if op & 0x80 != 0 {
                fdp.int(0, TRUTH_LEN as i64 - 1)
            } else {
                (sent_max[d] + fdp.int(-3000, 3000)).clamp(0, TRUTH_LEN as i64 - 1)
            };
            let size = fdp.int(0, 3000).min(TRUTH_LEN as i64 - off);
            let whole = &truth()[d][off as usize..(off + size) as usize];
            let cut = if op & 0x40 != 0 && size > 0 { fdp.int(0, size) } else { size };
            payload = &whole[..cut as usize];
            missing = (size - cut) as u64;
            seq = isn[d].wrapping_add(off as u32);
            flags = if op & 0x20 != 0 { 0x18 } else { 0x08 };
            ack = isn[1 - d].wrapping_add(fdp.int(0, sent_max[1 - d] + 100) as u32);
            window = 65535;
            sent_max[d] = sent_max[d].max(off + size);
        } else {
            seq = match (op >> 3) & 3 {
                0 => fdp.int(0, 0xFFFF_FFFF) as u32,
                _ => isn[d].wrapping_add((sent_max[d] + fdp.int(-70000, 70000)) as u32),
            };
            flags = fdp.int(0, 255) as u8;
            let n = fdp.int(0, 1500) as usize;
            payload = fdp.take(n);
            missing = if op & 0x20 != 0 { fdp.int(0, 3000) as u64 } else { 0 };
            ack = fdp.int(0, 0xFFFF_FFFF) as u32;
            window = if op & 0x40 != 0 { 0 } else { 65535 };
            sent_max[d] = sent_max[d].max(seq.wrapping_sub(isn[d]) as i64 & 0xFFFF);
        }
        let seg = TcpSegment {
            frame,
            time: 1.7e9 + frame as f64 / 1000.0,
            src,
            sport,
            dst,
            dport,
            seq,
            ack,
            flags,
            window,
            payload,
            missing,
            checksum: fdp.int(0, 2) as u8,
            ip_checksum: fdp.int(0, 2) as u8,
        };
        let mut out = Vec::new();
        table.add(&seg, &mut out);
        checker.events(&table, &out, d, &isn);
        checker.bounds(&table, &limits);
    }
    let mut out = Vec::new();
    table.flush(&mut out);
    checker.events(&table, &out, 0, &isn);
    assert_eq!(table.open_flows(), 0);
    for (&id, &ended) in &checker.ended {
        assert!(ended, "flow {id} not ended by flush");
        assert!(table.flow(id).is_none(), "flow {id} still held after flush");
    }
});
