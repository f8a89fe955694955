//! What the decoder reports for one direction of a connection (the Rust side of `rtmp_inspect/rtmp/events.py`).
//!
//! Offsets are byte offsets in that direction's TCP stream, counted from the first byte the decoder was given
//! (gaps count as the bytes they stand for).

/// One complete RTMP message, assembled from its chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub csid: u32,
    pub stream_id: u32,
    /// Absolute, ms, after deltas and extended timestamps (mod 2**32).
    pub timestamp: u32,
    pub type_id: u8,
    pub body: Vec<u8>,
    /// Stream offset of the message's first chunk header.
    pub offset: u64,
    /// Stream offset just past its last byte.
    pub end_offset: u64,
    /// How many chunks carried it.
    pub chunks: u32,
    /// The fmt of its first chunk.
    pub first_fmt: u8,
    pub extended_timestamp: bool,
    /// Decoded after a resynchronisation (or a first fmt 1 header): header state was guessed.
    pub inferred: bool,
}

impl Message {
    pub fn length(&self) -> usize {
        self.body.len()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// C0 or S0: the one-byte protocol version (3 is plain RTMP; 6, 8 and 9 are RTMPE).
    HandshakeVersion {
        version: u8,
        offset: u64,
    },
    /// C1 or S1: time, a field that is zero (simple) or a version (digest scheme), and all 1536 bytes.
    HandshakeRandom {
        time: u32,
        version_field: u32,
        data: Vec<u8>,
        offset: u64,
    },
    /// C2 or S2: should echo the peer's C1/S1 (simple) or carry a digest of it (digest scheme).
    HandshakeEcho {
        time: u32,
        time2: u32,
        data: Vec<u8>,
        offset: u64,
    },
    Message(Message),
    /// Bytes that break the protocol; the decoder recovers where it can. `reason` is the Python text, byte for byte.
    Violation {
        code: &'static str,
        severity: &'static str,
        offset: u64,
        reason: String,
    },
    /// A Set Chunk Size from this direction took effect (from its next chunk on).
    ChunkSizeChanged {
        size: u32,
        offset: u64,
    },
    /// After a gap or a start mid-session, the decoder found chunk boundaries again.
    Resynchronised {
        offset: u64,
        skipped: u64,
        chunk_size: u32,
        chunk_size_inferred: bool,
    },
    /// RTMPE: the handshake was seen, the rest of this direction is encrypted and not decoded.
    Encrypted {
        version: u8,
        offset: u64,
    },
}

impl Event {
    pub(crate) fn violation(
        code: &'static str,
        severity: &'static str,
        offset: u64,
        reason: String,
    ) -> Event {
        Event::Violation {
            code,
            severity,
            offset,
            reason,
        }
    }
}
