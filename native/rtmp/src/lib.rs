//! The RTMP chunk layer of rtmp-inspect: a sans-IO decoder for one direction of a connection (handshake
//! framing, chunk headers, message assembly, protocol control of the chunk layer, resynchronisation after
//! gaps or a start mid-session).
//!
//! A port of `rtmp_inspect/rtmp/chunks.py`, `resync.py` and `events.py` with identical behaviour: the same
//! events, in the same order, with the same offsets and the same violation texts, for any input and any way
//! of splitting it. No I/O, no clocks, no `unsafe`, no panics on any input.
//!
//! Modules: [`events`] (what comes out), `decoder` (state, public API, gaps, end, sync), `handshake`
//! (C0/C1/C2), `chunks` (chunk headers and messages), [`resync`] (finding chunk boundaries), `streams`
//! (per chunk stream state).

mod chunks;
mod decoder;
pub mod events;
mod handshake;
pub mod resync;
mod streams;

pub use decoder::{
    ChunkDecoder, DEFAULT_CHUNK_SIZE, HANDSHAKE_SIZE, MAX_CHUNK_SIZE, MAX_CHUNK_STREAMS,
    MAX_OFFSET, MAX_PENDING_BYTES, RESYNC_FIRST_TRY, RESYNC_KNOWN_SIZE_HEADERS, RESYNC_WINDOW,
};
pub use events::{Event, Message};
