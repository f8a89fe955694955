//! Per chunk stream state (`_ChunkStream` in chunks.py) and the map that holds it, keyed by chunk stream id.
//!
//! No output depends on the map's iteration order (only counts and per-key values are taken from it), so a
//! hash map is used, with a cheap hasher for small integer keys (the keys come from the wire, but at most
//! MAX_CHUNK_STREAMS are held and the ids are at most 65,599, so collisions stay bounded).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Multiplicative hashing of one integer key; the high bits are folded down for the table index.
#[derive(Default, Clone, Copy)]
pub struct CsidHasher(u64);

impl Hasher for CsidHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

pub type CsidMap<T> = HashMap<u32, T, BuildHasherDefault<CsidHasher>>;

/// What the previous chunk headers on one chunk stream id left behind (RTMP spec 5.3.1.2).
#[derive(Debug, Default)]
pub struct ChunkStream {
    /// Absolute timestamp of the current (or last) message.
    pub timestamp: u32,
    /// The last timestamp field: absolute after fmt 0, else the delta.
    pub ts_field: u32,
    /// None: unknown (a stream whose first header has not been parsed to the end).
    pub length: Option<u32>,
    pub type_id: u8,
    pub stream_id: u32,
    /// The last header carried an extended timestamp.
    pub extended: bool,
    /// The message in progress.
    pub body: Option<Vec<u8>>,
    pub remaining: u32,
    pub msg_offset: u64,
    pub chunks: u32,
    pub first_fmt: u8,
    pub msg_extended: bool,
    pub inferred: bool,
}
