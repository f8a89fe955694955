//! The decoder of one direction: its state, the public API, gaps, the end, and losing and finding sync
//! (`ChunkDecoder` in `rtmp_inspect/rtmp/chunks.py`; the handshake is in handshake.rs, chunks in chunks.rs).
//!
//! Bytes in (`receive_data`), events out, sans-IO. A chunk is decoded only once all of its bytes are
//! buffered, so feeding a stream whole or one byte at a time gives the same events.

use crate::events::Event;
use crate::resync::find_chunk_boundary;
use crate::streams::{ChunkStream, CsidMap};

pub const HANDSHAKE_SIZE: usize = 1536;
pub const DEFAULT_CHUNK_SIZE: u32 = 128;
pub const MAX_CHUNK_SIZE: u32 = 0x7FFF_FFFF;
/// Bytes held in incomplete messages per direction before they are dropped with an error.
pub const MAX_PENDING_BYTES: i64 = 64 * 1024 * 1024;
/// Chunk streams tracked per direction; past this many, the idle ones are forgotten.
pub const MAX_CHUNK_STREAMS: usize = 1024;
/// Finding chunk boundaries again: windows of 8 KB, 16 KB, ... 64 KB from the search position.
pub const RESYNC_FIRST_TRY: usize = 8 * 1024;
pub const RESYNC_WINDOW: usize = 64 * 1024;
/// Clean headers that convince when the chunk size is known (after a gap); unknown sizes need more.
pub const RESYNC_KNOWN_SIZE_HEADERS: u64 = 4;
/// Cut the consumed prefix of the buffer off once it is this large and at least half the buffer
/// (amortised O(1) per byte; where it happens does not change any output).
const COMPACT_THRESHOLD: usize = 64 * 1024;
/// Offsets a gap can push the stream to (see `receive_gap`).
pub const MAX_OFFSET: u64 = 1 << 62;
/// A dropped buffer larger than this gives its memory back.
const KEEP_CAPACITY: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Hs0,
    Hs1,
    Hs2,
    Chunks,
    Resync,
    Encrypted,
}

/// Decodes one direction of an RTMP connection.
///
/// `expect_handshake == false`: the capture began mid-session; the decoder first searches for chunk
/// boundaries (and infers the chunk size unless given). With `at_chunk_boundary` too: the bytes start
/// exactly at a chunk header with fresh chunk-stream state.
#[derive(Debug)]
pub struct ChunkDecoder {
    pub(crate) buf: Vec<u8>,
    /// Read position in `buf`.
    pub(crate) pos: usize,
    /// Stream offset of `buf[0]`.
    pub(crate) base: u64,
    pub(crate) streams: CsidMap<ChunkStream>,
    /// (message stream id, timestamp) per chunk stream from before a resynchronisation, used as hints.
    pub(crate) hints: CsidMap<(u32, u32)>,
    /// Window (bytes from the search position) to search next while resynchronising; 0: the first.
    pub(crate) next_resync_try: usize,
    /// Bytes held in incomplete messages (never negative; signed as in the Python).
    pub(crate) pending_bytes: i64,
    /// Stream offset the buffer must reach before the chunk at the read position can be complete (0: unknown).
    pub(crate) wait: u64,
    pub(crate) chunk_size: u32,
    pub(crate) chunk_size_inferred: bool,
    pub(crate) version: Option<u8>,
    /// Whether this peer repeats the extended timestamp on fmt 3 continuation chunks; None until seen.
    pub(crate) repeats_extended_timestamp: Option<bool>,
    pub(crate) messages: u64,
    /// Chunk streams may continue messages the decoder never saw begin (after it had to find its place).
    pub(crate) unknown_streams_expected: bool,
    pub(crate) phase: Phase,
}

impl ChunkDecoder {
    /// As the Python constructor: `chunk_size` None or 0 means the default 128 (and, mid-session without a
    /// chunk boundary, that the size is to be inferred only when None).
    pub fn new(expect_handshake: bool, chunk_size: Option<u32>, at_chunk_boundary: bool) -> Self {
        let mut decoder = ChunkDecoder {
            buf: Vec::new(),
            pos: 0,
            base: 0,
            streams: CsidMap::default(),
            hints: CsidMap::default(),
            next_resync_try: 0,
            pending_bytes: 0,
            wait: 0,
            chunk_size: chunk_size.filter(|&s| s != 0).unwrap_or(DEFAULT_CHUNK_SIZE),
            chunk_size_inferred: false,
            version: None,
            repeats_extended_timestamp: None,
            messages: 0,
            unknown_streams_expected: !expect_handshake,
            phase: Phase::Hs0,
        };
        if expect_handshake {
            decoder.phase = Phase::Hs0;
        } else if at_chunk_boundary {
            decoder.phase = Phase::Chunks;
            decoder.unknown_streams_expected = false;
        } else {
            decoder.phase = Phase::Resync;
            decoder.chunk_size_inferred = chunk_size.is_none();
        }
        decoder
    }

    // -- public API ---------------------------------------------------------------------------

    /// Stream offset of the next byte to decode.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Stream offset just past the last byte received (decoded or still buffered).
    pub fn received_offset(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    pub fn in_handshake(&self) -> bool {
        matches!(self.phase, Phase::Hs0 | Phase::Hs1 | Phase::Hs2)
    }

    pub fn encrypted(&self) -> bool {
        self.phase == Phase::Encrypted
    }

    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    pub fn chunk_size_inferred(&self) -> bool {
        self.chunk_size_inferred
    }

    pub fn version(&self) -> Option<u8> {
        self.version
    }

    pub fn repeats_extended_timestamp(&self) -> Option<bool> {
        self.repeats_extended_timestamp
    }

    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Bytes of memory held for this direction: the input buffer and the bodies of incomplete messages
    /// (their capacities), for memory accounting and the tests of allocation bounds.
    pub fn held_bytes(&self) -> usize {
        let bodies: usize = self
            .streams
            .values()
            .filter_map(|s| s.body.as_ref())
            .map(Vec::capacity)
            .sum();
        self.buf.capacity() + bodies
    }

    pub fn receive_data(&mut self, data: &[u8], out: &mut Vec<Event>) {
        if self.phase == Phase::Encrypted {
            return;
        }
        if self.pos >= COMPACT_THRESHOLD && self.pos * 2 >= self.buf.len() {
            self.compact();
        }
        self.buf.extend_from_slice(data);
        // The chunk at the read position is still incomplete: nothing to do until it can be.
        if self.wait != 0 && self.received_offset() < self.wait && self.phase == Phase::Chunks {
            return;
        }
        loop {
            let progressed = match self.phase {
                Phase::Chunks => self.next_chunk(out),
                Phase::Resync => self.resync(out, false),
                Phase::Encrypted => false,
                Phase::Hs0 | Phase::Hs1 | Phase::Hs2 => self.handshake_step(out),
            };
            if !progressed {
                break;
            }
        }
    }

    /// `size` bytes of this direction are missing from the capture: drop what they cut and resynchronise.
    pub fn receive_gap(&mut self, size: u64, out: &mut Vec<Event>) {
        if self.phase == Phase::Encrypted {
            return;
        }
        if self.phase == Phase::Resync && self.buf.len() > self.pos {
            // Still searching when the gap came: decode what can be found in the bytes before it.
            self.resync(out, true);
            self.decode_chunks(out);
        }
        let lost_at = self.offset();
        self.wait = 0;
        self.next_resync_try = 0;
        // Whatever is buffered but undecoded sits before the gap and can never complete.
        self.drop_buffer();
        // Offsets are exact up to MAX_OFFSET (2**62 bytes, which no stream reaches); a gap past it is clamped so
        // that no offset arithmetic can overflow.
        self.base = self
            .base
            .saturating_add(size)
            .min(MAX_OFFSET.max(self.base));
        let dropped = self.drop_partial_messages();
        let mut reason = format!("{size} bytes missing from the capture");
        if dropped != 0 {
            reason.push_str(&format!("; {dropped} incomplete message(s) dropped"));
        }
        out.push(Event::violation("tcp.gap", "warning", lost_at, reason));
        if matches!(
            self.phase,
            Phase::Hs0 | Phase::Hs1 | Phase::Hs2 | Phase::Chunks
        ) {
            // A cut handshake: what follows is the chunk stream at an unknown position.
            self.phase = Phase::Resync;
        }
    }

    /// End of the capture: try the buffered tail once more, then report what stays incomplete.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        if self.phase == Phase::Resync {
            self.resync(out, true);
            self.decode_chunks(out);
        }
        let left = self.buf.len() - self.pos;
        let incomplete = self.streams.values().filter(|s| s.body.is_some()).count();
        if self.phase != Phase::Encrypted && (left != 0 || incomplete != 0) {
            out.push(Event::violation(
                "stream.truncated",
                "info",
                self.offset(),
                format!("capture ends inside a message: {left} undecoded bytes, {incomplete} incomplete message(s)"),
            ));
        }
        // Let go of the decoded bytes: finished sessions stay in memory until the end of the capture.
        self.compact();
        self.buf.shrink_to_fit();
    }

    // -- buffer ------------------------------------------------------------------------------

    fn compact(&mut self) {
        if self.pos != 0 {
            self.buf.drain(..self.pos);
            self.base += self.pos as u64;
            self.pos = 0;
        }
    }

    /// Decode chunks while in sync (after a final resynchronisation).
    fn decode_chunks(&mut self, out: &mut Vec<Event>) {
        while self.phase == Phase::Chunks && self.next_chunk(out) {}
    }

    pub(crate) fn drop_buffer(&mut self) {
        self.wait = 0;
        self.base += self.buf.len() as u64;
        self.buf.clear();
        if self.buf.capacity() > KEEP_CAPACITY || self.phase == Phase::Encrypted {
            self.buf = Vec::new();
        }
        self.pos = 0;
    }

    // -- losing and finding sync -------------------------------------------------------------

    pub(crate) fn drop_partial_messages(&mut self) -> usize {
        let mut dropped = 0;
        for stream in self.streams.values_mut() {
            if stream.body.is_some() {
                stream.body = None;
                stream.remaining = 0;
                dropped += 1;
            }
        }
        self.pending_bytes = 0;
        dropped
    }

    pub(crate) fn lose_sync(&mut self) {
        self.wait = 0;
        self.drop_partial_messages();
        self.pos += 1; // search from the next byte on (the caller saw a byte there)
        self.phase = Phase::Resync;
    }

    /// Look for chunk boundaries in the buffered bytes. True when the chunk stream was found again.
    ///
    /// Windows of fixed sizes from the search position (8 KB, 16 KB, ... 64 KB) are searched as soon as
    /// they are buffered, each exactly, so where sync is found depends only on the bytes, not on how they
    /// arrived. `final_` (at a gap, at the end): everything buffered is searched once.
    fn resync(&mut self, out: &mut Vec<Event>, final_: bool) -> bool {
        let known_size = if self.chunk_size_inferred {
            None
        } else {
            Some(self.chunk_size)
        };
        // With the chunk size known (after a gap) fewer clean headers are convincing.
        let min_headers = if known_size.is_some() && !final_ {
            Some(RESYNC_KNOWN_SIZE_HEADERS)
        } else {
            None
        };
        let (start, chunk_size, inferred) = loop {
            let window = self.next_resync_try.max(RESYNC_FIRST_TRY);
            if !final_ && self.buf.len() - self.pos < window {
                return false;
            }
            let end = if final_ {
                self.buf.len()
            } else {
                self.pos + window
            };
            if let Some(found) =
                find_chunk_boundary(&self.buf[..end], self.pos, known_size, final_, min_headers)
            {
                break found;
            }
            if final_ {
                return false;
            }
            if window < RESYNC_WINDOW {
                self.next_resync_try = window + RESYNC_FIRST_TRY; // try again when more has arrived
            } else {
                // Nothing plausible in the whole window: skip most of it and keep looking.
                self.pos += window - 16;
                self.next_resync_try = 0;
            }
        };
        self.wait = 0;
        self.next_resync_try = 0;
        let skipped = (start - self.pos) as u64;
        self.pos = start;
        for (&csid, stream) in &self.streams {
            if stream.length.is_some() {
                self.hints
                    .insert(csid, (stream.stream_id, stream.timestamp));
            }
        }
        self.streams.clear();
        self.unknown_streams_expected = true;
        self.chunk_size = chunk_size;
        self.chunk_size_inferred = inferred;
        self.phase = Phase::Chunks;
        out.push(Event::Resynchronised {
            offset: self.base + start as u64,
            skipped,
            chunk_size,
            chunk_size_inferred: inferred,
        });
        true
    }
}
