//! The recently delivered bytes of one direction, to compare retransmitted copies against.
//!
//! Python keeps a deque of (offset, payload) references and drops whole payloads from the front while
//! more than `limit` bytes are kept. The payloads here are borrowed from the capture buffer only for the
//! duration of one call, so the bytes are copied into a ring; the entry list is Python's deque exactly
//! (same entries kept, same ones dropped). Kept entries are always the last bytes written, so a ring of at
//! least the kept size holds them all; it grows with what is kept, up to the limit.

use std::collections::VecDeque;

#[derive(Clone, Copy)]
struct Entry {
    offset: i64,
    pos: u64, // absolute position of its first byte in the ring's write log
    len: u64,
}

pub(crate) struct History {
    limit: u64,
    entries: VecDeque<Entry>,
    kept: u64,
    ring: Vec<u8>, // length a power of two (or 0)
    written: u64,
}

impl History {
    pub(crate) fn new(limit: u64) -> History {
        History { limit, entries: VecDeque::new(), kept: 0, ring: Vec::new(), written: 0 }
    }

    /// Bytes `data` were delivered at `offset`.
    #[inline]
    pub(crate) fn push(&mut self, offset: i64, data: &[u8]) {
        if self.limit == 0 {
            return;
        }
        let n = data.len() as u64;
        self.entries.push_back(Entry { offset, pos: self.written, len: n });
        self.kept += n;
        while self.kept > self.limit {
            match self.entries.pop_front() {
                Some(e) => self.kept -= e.len,
                None => break,
            }
        }
        if self.entries.is_empty() {
            return; // the new payload alone is over the limit: nothing is kept (as in Python)
        }
        if self.kept > self.ring.len() as u64 {
            self.grow(self.kept - n);
        }
        self.write(data);
    }

    /// A bigger ring, keeping the `old` bytes written last.
    fn grow(&mut self, old: u64) {
        let size = (self.kept.next_power_of_two()).max(4096) as usize;
        let mut ring = vec![0u8; size];
        let mask = size as u64 - 1;
        for abs in self.written - old..self.written {
            ring[(abs & mask) as usize] = self.ring[(abs & (self.ring.len() as u64 - 1)) as usize];
        }
        self.ring = ring;
    }

    fn write(&mut self, data: &[u8]) {
        let size = self.ring.len();
        let at = (self.written & (size as u64 - 1)) as usize;
        let first = data.len().min(size - at);
        self.ring[at..at + first].copy_from_slice(&data[..first]);
        self.ring[..data.len() - first].copy_from_slice(&data[first..]);
        self.written += data.len() as u64;
    }

    /// Whether the kept bytes at absolute position `pos` equal `other`.
    fn equals(&self, pos: u64, other: &[u8]) -> bool {
        let size = self.ring.len();
        let at = (pos & (size as u64 - 1)) as usize;
        let first = other.len().min(size - at);
        self.ring[at..at + first] == other[..first] && self.ring[..other.len() - first] == other[first..]
    }

    /// Ranges [lo, hi) of delivered bytes in [off, end) that `data` (at `off`) does not repeat exactly,
    /// in Python's order: newest entry first, adjacent differing entries merged, then reversed.
    pub(crate) fn mismatches(&self, off: i64, data: &[u8], end: i64) -> Vec<(i64, i64)> {
        let mut mis: Vec<(i64, i64)> = Vec::new();
        for e in self.entries.iter().rev() {
            let ho = e.offset;
            let he = ho + e.len as i64;
            if he <= off {
                break;
            }
            if ho >= end {
                continue;
            }
            let lo = ho.max(off);
            let hi = he.min(end);
            let theirs = &data[(lo - off) as usize..(hi - off) as usize];
            if !self.equals(e.pos + (lo - ho) as u64, theirs) {
                match mis.last_mut() {
                    Some(last) if last.0 == hi => last.0 = lo,
                    _ => mis.push((lo, hi)),
                }
            }
        }
        mis.reverse();
        mis
    }

    pub(crate) fn clear(&mut self) {
        self.entries = VecDeque::new();
        self.kept = 0;
        self.ring = Vec::new();
    }
}
