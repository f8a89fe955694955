//! Builders of RTMP chunk bytes for the tests, written from the spec (as tests/support/rtmp_builder.py),
//! independent of the decoder's code; and helpers that decode whole, split and byte by byte.

#![allow(dead_code)]

use rtmp_inspect_rtmp::{ChunkDecoder, Event, Message};

pub fn basic_header(fmt: u8, csid: u32) -> Vec<u8> {
    if csid < 64 {
        vec![(fmt << 6) | csid as u8]
    } else if csid < 320 {
        vec![fmt << 6, (csid - 64) as u8]
    } else {
        let id = (csid - 64) as u16;
        let [lo, hi] = id.to_le_bytes();
        vec![(fmt << 6) | 1, lo, hi]
    }
}

/// fmt 0: timestamp absolute; fmt 1/2: the delta; fmt 3: only the extended field if the timestamp needs it.
pub fn chunk_header(
    fmt: u8,
    csid: u32,
    timestamp: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
) -> Vec<u8> {
    let mut out = basic_header(fmt, csid);
    let extended = timestamp >= 0xFF_FFFF;
    let field = if extended { 0xFF_FFFF } else { timestamp };
    if fmt <= 2 {
        out.extend_from_slice(&field.to_be_bytes()[1..]);
    }
    if fmt <= 1 {
        out.extend_from_slice(&length.to_be_bytes()[1..]);
        out.push(type_id);
    }
    if fmt == 0 {
        out.extend_from_slice(&stream_id.to_le_bytes());
    }
    if extended {
        out.extend_from_slice(&timestamp.to_be_bytes());
    }
    out
}

pub struct Msg<'a> {
    pub csid: u32,
    pub type_id: u8,
    pub body: &'a [u8],
    pub timestamp: u32,
    pub stream_id: u32,
    pub chunk_size: usize,
    pub fmt: u8,
    pub repeat_extended: bool,
}

impl<'a> Msg<'a> {
    pub fn new(csid: u32, type_id: u8, body: &'a [u8]) -> Self {
        Msg {
            csid,
            type_id,
            body,
            timestamp: 0,
            stream_id: 0,
            chunk_size: 128,
            fmt: 0,
            repeat_extended: true,
        }
    }
    pub fn ts(mut self, timestamp: u32) -> Self {
        self.timestamp = timestamp;
        self
    }
    pub fn sid(mut self, stream_id: u32) -> Self {
        self.stream_id = stream_id;
        self
    }
    pub fn size(mut self, chunk_size: usize) -> Self {
        self.chunk_size = chunk_size;
        self
    }
    pub fn fmt(mut self, fmt: u8) -> Self {
        self.fmt = fmt;
        self
    }
    pub fn repeat(mut self, repeat_extended: bool) -> Self {
        self.repeat_extended = repeat_extended;
        self
    }
    /// The whole message: a first chunk of `fmt`, then fmt 3 continuations.
    pub fn bytes(&self) -> Vec<u8> {
        let extended = self.timestamp >= 0xFF_FFFF;
        let mut out = chunk_header(
            self.fmt,
            self.csid,
            self.timestamp,
            self.body.len() as u32,
            self.type_id,
            self.stream_id,
        );
        let mut pieces = self.body.chunks(self.chunk_size);
        out.extend_from_slice(pieces.next().unwrap_or(&[]));
        for piece in pieces {
            out.extend(basic_header(3, self.csid));
            if extended && self.repeat_extended {
                out.extend_from_slice(&self.timestamp.to_be_bytes());
            }
            out.extend_from_slice(piece);
        }
        out
    }
}

/// (C0 or S0, C1 or S1) of the simple scheme.
pub fn handshake_part(version: u8, time: u32, fill: u8) -> (Vec<u8>, Vec<u8>) {
    let mut c1 = time.to_be_bytes().to_vec();
    c1.extend_from_slice(&[0; 4]);
    c1.extend((0..1528u32).map(|i| (u32::from(fill) + i * 7) as u8));
    (vec![version], c1)
}

pub fn echo(peer_random: &[u8], time2: u32) -> Vec<u8> {
    let mut out = peer_random[..4].to_vec();
    out.extend_from_slice(&time2.to_be_bytes());
    out.extend_from_slice(&peer_random[8..]);
    out
}

pub fn set_chunk_size(size: u32) -> Vec<u8> {
    size.to_be_bytes().to_vec()
}

pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// -- decoding ------------------------------------------------------------------------------------------------

pub struct Mode {
    pub handshake: bool,
    pub chunk_size: Option<u32>,
    pub finish: bool,
}

pub const CHUNKS: Mode = Mode {
    handshake: false,
    chunk_size: Some(128),
    finish: false,
};
pub const HANDSHAKE: Mode = Mode {
    handshake: true,
    chunk_size: None,
    finish: false,
};
pub const HANDSHAKE_FINISH: Mode = Mode {
    handshake: true,
    chunk_size: None,
    finish: true,
};

/// As test_chunks.decode: a decoder at a chunk boundary with the chunk size (or mid-session without one),
/// or one expecting the handshake; fed in pieces cut at `splits`.
pub fn decode_split(data: &[u8], mode: &Mode, splits: &[usize]) -> Vec<Event> {
    let mut decoder = if mode.handshake {
        ChunkDecoder::new(true, None, false)
    } else {
        ChunkDecoder::new(false, mode.chunk_size, mode.chunk_size.is_some())
    };
    let mut events = Vec::new();
    let mut cuts: Vec<usize> = splits.iter().map(|&c| c.min(data.len())).collect();
    cuts.sort_unstable();
    cuts.push(data.len());
    let mut last = 0;
    for cut in cuts {
        decoder.receive_data(&data[last..cut], &mut events);
        last = cut;
    }
    if mode.finish {
        decoder.finish(&mut events);
    }
    events
}

pub fn decode(data: &[u8], mode: &Mode) -> Vec<Event> {
    decode_split(data, mode, &[])
}

pub fn decode_bytewise(data: &[u8], mode: &Mode) -> Vec<Event> {
    let cuts: Vec<usize> = (1..data.len()).collect();
    decode_split(data, mode, &cuts)
}

/// Decoded whole; asserts that byte by byte gives the same.
pub fn both_ways(data: &[u8], mode: &Mode) -> Vec<Event> {
    let whole = decode(data, mode);
    assert_eq!(decode_bytewise(data, mode), whole);
    whole
}

pub fn messages(events: &[Event]) -> Vec<&Message> {
    events
        .iter()
        .filter_map(|e| {
            if let Event::Message(m) = e {
                Some(m)
            } else {
                None
            }
        })
        .collect()
}

pub fn codes(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .filter_map(|e| {
            if let Event::Violation { code, .. } = e {
                Some(*code)
            } else {
                None
            }
        })
        .collect()
}

/// A seeded xorshift generator (no dependencies).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}
