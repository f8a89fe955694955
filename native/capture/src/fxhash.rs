//! A fast keyed hasher for the flow table's 4-tuple keys.
//!
//! SipHash (std's default) costs more than the rest of the per-segment work; an unkeyed FxHash would let
//! a crafted capture collide every flow into one bucket. This folds each 64-bit word with a 128-bit
//! multiply (wyhash-style) under per-table random seeds: a few nanoseconds per key, and the seeds are
//! unknown to whoever made the capture. Hash order is never observable (nothing iterates the maps).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

#[derive(Clone)]
pub(crate) struct SeededState {
    seeds: [u64; 2],
}

impl SeededState {
    pub(crate) fn new() -> Self {
        let state = RandomState::new();
        let mut seeds = [0u64; 2];
        for (i, s) in seeds.iter_mut().enumerate() {
            let mut h = state.build_hasher();
            h.write_u64(i as u64);
            *s = h.finish() | 1;
        }
        SeededState { seeds }
    }
}

impl BuildHasher for SeededState {
    type Hasher = SeededHasher;

    #[inline]
    fn build_hasher(&self) -> SeededHasher {
        SeededHasher { h: self.seeds[0], k: self.seeds[1] }
    }
}

pub(crate) struct SeededHasher {
    h: u64,
    k: u64,
}

impl Hasher for SeededHasher {
    #[inline]
    fn write_u64(&mut self, w: u64) {
        self.h = fold(self.h ^ w, self.k ^ 0xa076_1d64_78bd_642f);
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
        self.write_u64(bytes.len() as u64);
    }

    #[inline]
    fn write_u32(&mut self, w: u32) {
        self.write_u64(w as u64);
    }

    #[inline]
    fn write_u16(&mut self, w: u16) {
        self.write_u64(w as u64);
    }

    #[inline]
    fn write_u8(&mut self, w: u8) {
        self.write_u64(w as u64);
    }

    #[inline]
    fn write_usize(&mut self, w: usize) {
        self.write_u64(w as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        fold(self.h, self.k ^ 0xe703_7ed1_a0b4_28db)
    }
}
