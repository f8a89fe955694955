//! Reassembly of one direction of a TCP connection into a byte stream (port of `flows/reassembly.py`;
//! its module documentation has the rules).
//!
//! Offsets are `i64` stream offsets (Python ints): a sequence number is read as the offset nearest to the
//! next expected one, `next + (((seq - next_seq + HALF) & MASK) - HALF)`, which can be negative for a
//! segment from before the stream's start, as in Python. Held pieces are a map by start offset (Python's
//! sorted list plus dict); a piece without bytes is a "known lost" marker (snap length).

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::events::{FlowEvent, StreamSummary};
use crate::history::History;
use crate::segment::{FIN, RST, SYN};

pub(crate) const MASK: i64 = 0xFFFF_FFFF;
pub(crate) const HALF: i64 = 0x8000_0000;

/// Out-of-order bytes held per direction.
pub const DEFAULT_MAX_BUFFER: u64 = 32 * 1024 * 1024;
/// Out-of-order pieces held per direction.
pub const DEFAULT_MAX_PIECES: usize = 65536;
/// Delivered bytes kept to check retransmissions.
pub const DEFAULT_HISTORY: u64 = 256 * 1024;

/// Signed distance from `b` to `a` in sequence space, in [-2**31, 2**31).
#[inline]
fn seq_diff(a: u32, b: u32) -> i64 {
    ((a as i64 - b as i64 + HALF) & MASK) - HALF
}

struct Piece {
    end: i64,
    data: Option<Vec<u8>>, // None: known lost
}

/// One direction of a TCP flow. `feed` takes one segment of this direction, `ack` an ACK number sent by
/// the peer, `finish` ends the stream; each appends events to `out`.
pub struct StreamReassembler {
    flow: u64,
    direction: u8,
    max_buffer: i64,
    max_pieces: usize,
    // sequence space
    isn: Option<u32>,
    syn_seen: bool,
    fin_offset: Option<i64>,
    base: Option<u32>,
    next: i64,
    next_seq: Option<u32>,
    // evidence of bytes sent / received beyond what the capture delivered
    high: i64,
    hint: i64,
    acked: i64,
    pieces: BTreeMap<i64, Piece>,
    pending_bytes: i64,
    hist: History,
    finished: bool,
    retransmissions: u64,
    gaps: u64,
    gap_bytes: u64,
    mismatches: u64,
    mismatch_bytes: u64,
    keepalives: u64,
    segments: u64,
    /// Where the last implausible segment ended (see `feed_slow`).
    suspect_end: Option<i64>,
    /// Segments far beyond anything the connection allows, and ACKs of bytes far beyond anything the sender
    /// was seen sending: corrupted numbers, not used.
    implausible: u64,
    implausible_acks: u64,
}

/// Data or an ACK this far beyond anything the connection showed is a corrupted number (Python's MAX_AHEAD).
pub const MAX_AHEAD: i64 = 1 << 24;

impl StreamReassembler {
    /// `flow` and `direction` are only copied into the events.
    pub fn new(flow: u64, direction: u8, max_buffer: u64, max_pieces: usize, history: u64) -> Self {
        StreamReassembler {
            flow,
            direction,
            max_buffer: max_buffer.min(i64::MAX as u64) as i64,
            max_pieces,
            isn: None,
            syn_seen: false,
            fin_offset: None,
            base: None,
            next: 0,
            next_seq: None,
            high: 0,
            hint: 0,
            acked: 0,
            pieces: BTreeMap::new(),
            pending_bytes: 0,
            hist: History::new(history),
            finished: false,
            retransmissions: 0,
            gaps: 0,
            gap_bytes: 0,
            mismatches: 0,
            mismatch_bytes: 0,
            keepalives: 0,
            segments: 0,
            suspect_end: None,
            implausible: 0,
            implausible_acks: 0,
        }
    }

    // ------------------------------------------------------------------ state

    pub fn started(&self) -> bool {
        self.base.is_some()
    }

    /// Sequence number of stream offset 0 (ISN+1, or first seen seq).
    pub fn base_seq(&self) -> Option<u32> {
        self.base
    }

    pub fn next_seq(&self) -> Option<u32> {
        self.next_seq
    }

    pub fn next_offset(&self) -> i64 {
        self.next
    }

    pub fn isn(&self) -> Option<u32> {
        self.isn
    }

    pub fn syn_seen(&self) -> bool {
        self.syn_seen
    }

    pub fn fin_offset(&self) -> Option<i64> {
        self.fin_offset
    }

    pub fn pending_bytes(&self) -> i64 {
        self.pending_bytes
    }

    pub fn pending_pieces(&self) -> usize {
        self.pieces.len()
    }

    /// FIN seen and every byte before it delivered or declared a gap.
    pub fn complete(&self) -> bool {
        matches!(self.fin_offset, Some(fin) if self.next >= fin)
    }

    pub fn summary(&self) -> StreamSummary {
        StreamSummary {
            segments: self.segments,
            retransmissions: self.retransmissions,
            gaps: self.gaps,
            gap_bytes: self.gap_bytes,
            mismatches: self.mismatches,
            mismatch_bytes: self.mismatch_bytes,
            keepalives: self.keepalives,
            syn_seen: self.syn_seen,
            isn: self.isn,
            base_seq: self.base,
            fin_offset: self.fin_offset,
            next_offset: self.next,
            next_seq: self.next_seq,
            high: self.high,
            hint: self.hint,
            acked: self.acked,
            pending_bytes: self.pending_bytes,
            pending_pieces: self.pieces.len() as u64,
            finished: self.finished,
            implausible: self.implausible,
            implausible_acks: self.implausible_acks,
        }
    }

    // ------------------------------------------------------------------ segments

    /// One segment of this direction.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn feed<'a>(
        &mut self,
        seq: u32,
        flags: u8,
        payload: &'a [u8],
        missing: u64,
        frame: u64,
        time: f64,
        out: &mut Vec<FlowEvent<'a>>,
    ) {
        self.segments += 1;
        // In-order fast path: no copy, no buffering, one event.
        if Some(seq) == self.next_seq && flags & 0x07 == 0 && missing == 0 && self.pieces.is_empty() {
            if !payload.is_empty() {
                let nxt = self.next;
                let n = payload.len() as i64;
                out.push(FlowEvent::Data {
                    flow: self.flow,
                    direction: self.direction,
                    frame,
                    time,
                    data: Cow::Borrowed(payload),
                    offset: nxt as u64,
                });
                self.next = nxt + n;
                self.next_seq = Some(((seq as i64 + n) & MASK) as u32);
                self.hist.push(nxt, payload);
            }
            return;
        }
        self.feed_slow(seq, flags, payload, missing as i64, frame, time, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn feed_slow<'a>(
        &mut self,
        seq: u32,
        flags: u8,
        payload: &'a [u8],
        missing: i64,
        frame: u64,
        time: f64,
        out: &mut Vec<FlowEvent<'a>>,
    ) {
        let next_seq = match self.next_seq {
            Some(s) => s,
            None => {
                // First segment of this direction: it defines offset 0.
                let base = if flags & SYN != 0 { seq.wrapping_add(1) } else { seq };
                self.base = Some(base);
                self.next_seq = Some(base);
                base
            }
        };
        let nxt = self.next;
        let mut off = nxt + seq_diff(seq, next_seq);
        let n = payload.len() as i64;
        let mut dup = false;
        if flags & SYN != 0 {
            if off == -1 {
                if self.syn_seen {
                    dup = true; // retransmitted SYN
                } else {
                    self.syn_seen = true;
                    self.isn = Some(seq);
                }
            }
            off += 1;
        } else if n <= 1 && off == nxt - 1 && off >= 0 && self.high <= nxt && missing == 0 && flags & (FIN | RST) == 0 {
            // Keep-alive: one sequence number below everything the sender has sent (all of it delivered),
            // carrying zero or one garbage byte. Not data; an old byte that is not compared either.
            self.keepalives += 1;
            return;
        }
        if (n > 0 || missing > 0 || flags & FIN != 0) && off > self.high.max(self.acked).max(nxt) + MAX_AHEAD {
            // Far beyond anything the connection showed: a corrupted sequence number, not a gap, unless the
            // next such segment continues this one (the capture really lost that much).
            if self.suspect_end != Some(off) {
                self.suspect_end = Some(off + n + missing);
                self.implausible += 1;
                return;
            }
        }
        let mut end = off + n;
        if n > 0 && self.insert(off, payload, frame, time, out) {
            dup = true;
        }
        if missing > 0 {
            self.mark_lost(end, missing, frame, time, out);
            end += missing;
        }
        if n > 0 || missing > 0 {
            if end > self.high {
                self.high = end;
            }
        } else if flags & RST == 0 && off > self.hint {
            // An empty segment: the sender had sent everything before `off` (or before `off - 1` and a FIN).
            self.hint = off;
        }
        if flags & FIN != 0 {
            match self.fin_offset {
                None if end < self.next => {
                    dup = true; // a FIN behind delivered bytes is an old copy (or a flipped bit): not the end
                }
                None => {
                    self.fin_offset = Some(end);
                    if end > self.high {
                        self.high = end;
                    }
                }
                Some(fin) => {
                    if fin == end && n == 0 {
                        dup = true; // retransmitted FIN
                    }
                }
            }
        }
        if dup {
            self.retransmissions += 1;
        }
        if !self.pieces.is_empty() {
            if self.first_start() == Some(self.next) {
                self.drain(frame, time, out);
            }
            let lim = self.acked.min(self.high);
            if lim > self.next {
                self.resolve(lim, frame, time, out);
            }
            if self.pending_bytes > self.max_buffer || self.pieces.len() > self.max_pieces {
                self.enforce_bound(frame, time, out);
            }
        } else {
            let lim = self.acked.min(self.high);
            if lim > self.next {
                self.resolve(lim, frame, time, out);
            }
        }
    }

    /// The peer acknowledged everything before sequence number `ackno`.
    pub fn ack<'a>(&mut self, ackno: u32, frame: u64, time: f64, out: &mut Vec<FlowEvent<'a>>) {
        let next_seq = match self.next_seq {
            Some(s) => s,
            None => return,
        };
        let a = seq_diff(ackno, next_seq);
        if a <= 0 {
            return;
        }
        let acked = self.next + a;
        if acked > self.high.max(self.next) + MAX_AHEAD {
            self.implausible_acks += 1; // far beyond anything the sender was seen sending: a corrupted number
            return;
        }
        if acked > self.acked {
            self.acked = acked;
            let lim = acked.min(self.high);
            if lim > self.next {
                self.resolve(lim, frame, time, out);
            }
        }
    }

    /// End of this stream: every remaining hole becomes a gap.
    pub fn finish<'a>(&mut self, frame: u64, time: f64, out: &mut Vec<FlowEvent<'a>>) {
        if self.finished {
            return;
        }
        while let Some(first) = self.first_start() {
            if first > self.next {
                self.gap(first - self.next, frame, time, out);
            }
            self.drain(frame, time, out);
        }
        if self.base.is_some() {
            let hint = self.hint.max(self.acked);
            let limit = match self.fin_offset {
                Some(fin) => self.high.max(hint).min(fin),
                None => self.high.max(hint - 1),
            };
            if limit > self.next {
                self.gap(limit - self.next, frame, time, out);
            }
        }
        self.finished = true;
        self.hist.clear();
    }

    pub fn finished(&self) -> bool {
        self.finished
    }

    // ------------------------------------------------------------------ internals

    #[inline]
    fn first_start(&self) -> Option<i64> {
        self.pieces.first_key_value().map(|(&k, _)| k)
    }

    fn set_next(&mut self, nxt: i64) {
        self.next = nxt;
        let base = self.base.unwrap_or(0) as i64;
        self.next_seq = Some(((base + nxt) & MASK) as u32);
    }

    fn emit_data<'a>(&mut self, data: Cow<'a, [u8]>, frame: u64, time: f64, out: &mut Vec<FlowEvent<'a>>) {
        let nxt = self.next;
        let n = data.len() as i64;
        self.hist.push(nxt, &data);
        out.push(FlowEvent::Data { flow: self.flow, direction: self.direction, frame, time, data, offset: nxt as u64 });
        self.set_next(nxt + n);
    }

    fn gap<'a>(&mut self, size: i64, frame: u64, time: f64, out: &mut Vec<FlowEvent<'a>>) {
        let nxt = self.next;
        out.push(FlowEvent::Gap {
            flow: self.flow,
            direction: self.direction,
            frame,
            time,
            offset: nxt as u64,
            size: size as u64,
        });
        self.gaps += 1;
        self.gap_bytes += size as u64;
        self.set_next(nxt + size);
    }

    /// Data at `off`; true if any of it was already captured.
    fn insert<'a>(&mut self, mut off: i64, payload: &'a [u8], frame: u64, time: f64, out: &mut Vec<FlowEvent<'a>>) -> bool {
        let nxt = self.next;
        let end = off + payload.len() as i64;
        let mut dup = false;
        let mut data = payload;
        if off < nxt {
            dup = true;
            self.check_history(off, data, end.min(nxt), frame, out);
            if end <= nxt {
                return true;
            }
            data = &data[(nxt - off) as usize..];
            off = nxt;
        }
        if off == nxt && self.pieces.is_empty() {
            self.emit_data(Cow::Borrowed(data), frame, time, out);
            return dup;
        }
        self.store(off, end, Some(data), frame, out) || dup
    }

    /// Bytes [off, off+size) are known lost (snap length).
    fn mark_lost<'a>(&mut self, mut off: i64, size: i64, frame: u64, time: f64, out: &mut Vec<FlowEvent<'a>>) {
        let end = off + size;
        let nxt = self.next;
        if end <= nxt {
            return;
        }
        if off < nxt {
            off = nxt;
        }
        if off == nxt && self.pieces.is_empty() {
            self.gap(end - off, frame, time, out);
            return;
        }
        self.store(off, end, None, frame, out);
    }

    /// Hold [off, end) (data, or None = known lost); off >= next. Existing data wins over anything new;
    /// new data replaces lost markers. Returns true if new data overlapped held data.
    fn store<'a>(&mut self, off: i64, end: i64, data: Option<&[u8]>, frame: u64, out: &mut Vec<FlowEvent<'a>>) -> bool {
        // Python: i = bisect_right(starts, off), stepping back onto a piece that covers `off`.
        let from = match self.pieces.range(..=off).next_back() {
            Some((&ps, p)) if p.end > off => ps,
            _ => off.saturating_add(1),
        };
        let slice = |lo: i64, hi: i64| data.map(|d| &d[(lo - off) as usize..(hi - off) as usize]);
        let mut adds: Vec<(i64, i64, Option<&[u8]>)> = Vec::new();
        let mut removes: Vec<i64> = Vec::new();
        let mut mis: Vec<(i64, i64)> = Vec::new();
        let mut dup = false;
        let mut cur = off;
        if from < end {
            for (&ps, piece) in self.pieces.range(from..end) {
                let pe = piece.end;
                if ps > cur {
                    adds.push((cur, ps, slice(cur, ps)));
                    cur = ps;
                }
                let hi = pe.min(end);
                match (&piece.data, data) {
                    (None, Some(_)) => {
                        removes.push(ps);
                        if ps < cur {
                            adds.push((ps, cur, None));
                        }
                        adds.push((cur, hi, slice(cur, hi)));
                        if hi < pe {
                            adds.push((hi, pe, None));
                        }
                    }
                    (Some(pd), Some(d)) => {
                        dup = true;
                        let held = &pd[(cur - ps) as usize..(hi - ps) as usize];
                        let new = &d[(cur - off) as usize..(hi - off) as usize];
                        if held != new {
                            match mis.last_mut() {
                                Some(last) if last.1 == cur => last.1 = hi,
                                _ => mis.push((cur, hi)),
                            }
                        }
                    }
                    (_, None) => {}
                }
                cur = hi;
            }
        }
        if cur < end {
            adds.push((cur, end, slice(cur, end)));
        }
        for ps in removes {
            self.pieces.remove(&ps);
        }
        let mut added = 0;
        for (s, e, d) in adds {
            if d.is_some() {
                added += e - s;
            }
            self.pieces.insert(s, Piece { end: e, data: d.map(|b| b.to_vec()) });
        }
        self.pending_bytes += added;
        for (lo, hi) in mis {
            self.mismatch(lo, hi - lo, frame, out);
        }
        dup
    }

    /// Compare a new copy of delivered bytes [off, end) with the first copy.
    fn check_history<'a>(&mut self, off: i64, data: &[u8], end: i64, frame: u64, out: &mut Vec<FlowEvent<'a>>) {
        for (lo, hi) in self.hist.mismatches(off, data, end) {
            self.mismatch(lo, hi - lo, frame, out);
        }
    }

    fn mismatch<'a>(&mut self, offset: i64, size: i64, frame: u64, out: &mut Vec<FlowEvent<'a>>) {
        self.mismatches += 1;
        self.mismatch_bytes += size as u64;
        out.push(FlowEvent::Mismatch {
            flow: self.flow,
            direction: self.direction,
            frame,
            offset: offset as u64,
            size: size as u64,
        });
    }

    /// Deliver held pieces contiguous with the next offset.
    fn drain<'a>(&mut self, frame: u64, time: f64, out: &mut Vec<FlowEvent<'a>>) {
        let mut nxt = self.next;
        let mut run: Vec<Vec<u8>> = Vec::new();
        while let Some(entry) = self.pieces.first_entry() {
            if *entry.key() != nxt {
                break;
            }
            let piece = entry.remove();
            match piece.data {
                None => {
                    if !run.is_empty() {
                        self.emit_run(std::mem::take(&mut run), frame, time, out);
                    }
                    self.gap(piece.end - nxt, frame, time, out);
                }
                Some(d) => run.push(d),
            }
            nxt = piece.end;
        }
        if !run.is_empty() {
            self.emit_run(run, frame, time, out);
        }
    }

    fn emit_run<'a>(&mut self, mut run: Vec<Vec<u8>>, frame: u64, time: f64, out: &mut Vec<FlowEvent<'a>>) {
        let data = if run.len() == 1 { run.pop().unwrap_or_default() } else { run.concat() };
        self.pending_bytes -= data.len() as i64;
        self.emit_data(Cow::Owned(data), frame, time, out);
    }

    /// Bytes before `limit` are certainly lost where the capture lacks them.
    fn resolve<'a>(&mut self, limit: i64, frame: u64, time: f64, out: &mut Vec<FlowEvent<'a>>) {
        while self.next < limit {
            let hole_end = match self.first_start() {
                Some(first) if first == self.next => {
                    self.drain(frame, time, out);
                    continue;
                }
                Some(first) => first.min(limit),
                None => limit,
            };
            self.gap(hole_end - self.next, frame, time, out);
        }
        if self.first_start() == Some(self.next) {
            self.drain(frame, time, out);
        }
    }

    fn enforce_bound<'a>(&mut self, frame: u64, time: f64, out: &mut Vec<FlowEvent<'a>>) {
        while let Some(first) = self.first_start() {
            if !(self.pending_bytes > self.max_buffer || self.pieces.len() > self.max_pieces) {
                break;
            }
            if first > self.next {
                self.gap(first - self.next, frame, time, out);
            }
            self.drain(frame, time, out);
        }
    }
}
