//! The chunk stream (RTMP 1.0 section 5.3): basic headers of 1-3 bytes, message headers of fmt 0-3,
//! extended timestamps, messages assembled from chunks, and the protocol control messages that change the
//! chunk layer itself (Set Chunk Size, Abort). `_next_chunk` and what it calls in chunks.py, rule for rule:
//! the order in which state changes and events happen is the Python's, including the changes made before a
//! chunk is known to be complete (they are made once, whichever way the bytes arrive).

use crate::decoder::{ChunkDecoder, MAX_CHUNK_STREAMS, MAX_PENDING_BYTES};
use crate::events::{Event, Message};
use crate::resync::be24;
use crate::streams::ChunkStream;

/// Message header size by fmt.
const MESSAGE_HEADER_SIZE: [usize; 4] = [11, 7, 3, 0];

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Append one chunk's payload to a message body. The body's capacity is grown to what has arrived (this
/// payload plus the bytes buffered after it, at least doubling), never beyond the message length: a length
/// from the wire is never allocated before its bytes are here, and a body whose bytes are all buffered is
/// allocated once, exactly.
fn append(body: &mut Vec<u8>, payload: &[u8], length: u32, buffered_after: usize) {
    let needed = body.len() + payload.len();
    if needed > body.capacity() {
        let target = needed
            .max(body.len() * 2)
            .max(needed.saturating_add(buffered_after))
            .min(length as usize);
        body.reserve_exact(target.max(needed) - body.len());
    }
    body.extend_from_slice(payload);
}

/// The chunk basic header at the start of `bytes`: (fmt, chunk stream id, its size of 1-3 bytes), or None
/// if it is not all there. Ids 0 and 1 in the first byte announce a 2-byte (64-319) or 3-byte (64-65599) id.
pub(crate) fn basic_header(bytes: &[u8]) -> Option<(u8, u32, usize)> {
    let b0 = *bytes.first()?;
    let fmt = b0 >> 6;
    Some(match b0 & 0x3F {
        0 => (fmt, 64 + u32::from(*bytes.get(1)?), 2),
        1 => (
            fmt,
            64 + u32::from(*bytes.get(1)?) + (u32::from(*bytes.get(2)?) << 8),
            3,
        ),
        c => (fmt, u32::from(c), 1),
    })
}

impl ChunkDecoder {
    /// Decode one whole chunk if it is buffered. False when more bytes are needed.
    pub(crate) fn next_chunk(&mut self, out: &mut Vec<Event>) -> bool {
        let pos = self.pos;
        let avail = (self.buf.len() - pos) as u64;
        let Some(&b0) = self.buf.get(pos) else {
            return false;
        };
        if b0 > 0xC1 {
            // fmt 3 with a one-byte chunk stream id: most likely the next piece of a message.
            if let Some(stream) = self.streams.get(&u32::from(b0 & 0x3F)) {
                if stream.body.is_some() && !stream.extended {
                    return self.continuations(b0, out);
                }
            }
        }
        let Some((fmt, csid, head)) = basic_header(&self.buf[pos..]) else {
            return false;
        };
        let mut need = head + MESSAGE_HEADER_SIZE[usize::from(fmt)];
        if avail < need as u64 {
            return false;
        }
        let offset = self.base + pos as u64;
        if !self.streams.contains_key(&csid) {
            if let Some(progressed) = self.open_stream(fmt, csid, need, avail, offset, out) {
                return progressed;
            }
        }
        let chunk_size = self.chunk_size;
        let Some(stream) = self.streams.get_mut(&csid) else {
            return false; // open_stream made it; not reached
        };
        let buf = &self.buf;
        let h = pos + head;
        let mut extended = false;
        let new_message;
        let ts_field;
        if fmt == 3 {
            new_message = stream.body.is_none();
            ts_field = stream.ts_field;
            if stream.extended {
                // Peers differ on whether fmt 3 chunks repeat the extended timestamp: peek and compare.
                if avail < need as u64 + 4 {
                    return false;
                }
                if be32(&buf[pos + need..pos + need + 4]) == ts_field {
                    need += 4;
                    extended = true;
                }
                note_extended_convention(
                    &mut self.repeats_extended_timestamp,
                    extended,
                    offset,
                    out,
                );
            }
        } else {
            let mut field = be24(&buf[h..h + 3]);
            if field == 0xFF_FFFF {
                if avail < need as u64 + 4 {
                    return false;
                }
                field = be32(&buf[pos + need..pos + need + 4]);
                need += 4;
                extended = true;
            }
            ts_field = field;
            if let Some(body) = stream.body.take() {
                let length = stream.length.map_or(-1, i64::from);
                let lost = length - i64::from(stream.remaining);
                out.push(Event::violation(
                    "chunk.header-mid-message",
                    "error",
                    offset,
                    format!(
                        "fmt {fmt} header on chunk stream {csid} while a message was incomplete \
                         ({lost} of {length} bytes); the partial message is dropped"
                    ),
                ));
                self.pending_bytes -= body.len() as i64;
            }
            new_message = true;
            if fmt <= 1 {
                let length = be24(&buf[h + 3..h + 6]);
                let type_id = buf[h + 6];
                if fmt == 0 {
                    stream.stream_id =
                        u32::from_le_bytes([buf[h + 7], buf[h + 8], buf[h + 9], buf[h + 10]]);
                    stream.inferred = false;
                }
                stream.length = Some(length);
                stream.type_id = type_id;
            }
        }
        let payload = if new_message {
            let Some(length) = stream.length else {
                out.push(Event::violation(
                    "chunk.unknown-length",
                    "error",
                    offset,
                    format!("fmt {fmt} chunk on chunk stream {csid} with no known message length"),
                ));
                self.lose_sync();
                return true;
            };
            length.min(chunk_size)
        } else {
            stream.remaining.min(chunk_size)
        };
        if avail < need as u64 + u64::from(payload) {
            self.wait = offset + need as u64 + u64::from(payload);
            return false;
        }
        // The whole chunk is here: commit.
        let payload = payload as usize;
        if new_message {
            stream.timestamp = if fmt == 0 {
                ts_field
            } else {
                stream.timestamp.wrapping_add(ts_field)
            };
            stream.ts_field = ts_field;
            stream.extended = extended;
            stream.body = Some(Vec::new());
            stream.remaining = stream.length.unwrap_or(0);
            stream.msg_offset = offset;
            stream.chunks = 0;
            stream.first_fmt = fmt;
            stream.msg_extended = extended;
        }
        let start = pos + need;
        let end = start + payload;
        let length = stream.length.unwrap_or(0);
        let body = stream.body.get_or_insert_with(Vec::new);
        append(body, &buf[start..end], length, buf.len() - end);
        let body_len = body.len();
        stream.remaining -= payload as u32;
        stream.chunks += 1;
        self.pos = end;
        if stream.remaining == 0 {
            self.pending_bytes -= (body_len - payload) as i64;
            self.complete(csid, out);
        } else {
            self.pending_bytes += payload as i64;
            if self.pending_bytes > MAX_PENDING_BYTES {
                self.pending_limit(offset, out);
            }
        }
        true
    }

    /// The first header seen on chunk stream `csid`. Opens its state for fmt 0 and 1 (None: go on decoding
    /// the chunk); fmt 2 and 3 chunks cannot be delimited without it: skips the chunk or loses sync
    /// (Some(true)), or waits for more bytes (Some(false)).
    fn open_stream(
        &mut self,
        fmt: u8,
        csid: u32,
        need: usize,
        avail: u64,
        offset: u64,
        out: &mut Vec<Event>,
    ) -> Option<bool> {
        if fmt >= 2 {
            if self.unknown_streams_expected {
                // Joined mid-message (after a gap or a mid-session start): the message began before the
                // bytes we have. Assume a full chunk, skip it, and pick the stream up at its next header.
                if avail < need as u64 + u64::from(self.chunk_size) {
                    return Some(false);
                }
                self.pos += need + self.chunk_size as usize;
                out.push(Event::violation(
                    "chunk.skipped-unknown",
                    "info",
                    offset,
                    format!(
                        "skipped a fmt {fmt} chunk on chunk stream {csid}: its message began before the decodable bytes"
                    ),
                ));
                return Some(true);
            }
            // Without a fmt 0/1 header we know neither length nor type: the chunk cannot be delimited.
            out.push(Event::violation(
                "chunk.unknown-stream",
                "error",
                offset,
                format!("fmt {fmt} chunk on chunk stream {csid} that never had a full header; lost chunk boundaries"),
            ));
            self.lose_sync();
            return Some(true);
        }
        if self.streams.len() >= MAX_CHUNK_STREAMS {
            self.forget_chunk_streams(offset, out);
        }
        let mut stream = ChunkStream::default();
        let first_not_fmt0 = fmt == 1;
        if first_not_fmt0 {
            stream.inferred = true;
            if let Some(&(stream_id, timestamp)) = self.hints.get(&csid) {
                // Seen before a gap: the message stream id carries over; the timestamp base is the last one
                // known, short by the deltas of whatever the gap swallowed.
                stream.stream_id = stream_id;
                stream.timestamp = timestamp;
            }
        }
        self.streams.insert(csid, stream);
        if first_not_fmt0 && !self.unknown_streams_expected {
            out.push(Event::violation(
                "chunk.first-not-fmt0",
                "warning",
                offset,
                format!(
                    "first chunk on chunk stream {csid} has fmt 1, not 0; message stream id and timestamp base unknown"
                ),
            ));
        }
        None
    }

    /// Fast path of `next_chunk` for fmt 3 continuation chunks (one-byte header, no extended timestamp) of
    /// the message in progress on one chunk stream: decodes as many as are buffered back to back, with
    /// exactly the effects the general path would have chunk by chunk.
    fn continuations(&mut self, b0: u8, out: &mut Vec<Event>) -> bool {
        let csid = u32::from(b0 & 0x3F);
        let size = self.chunk_size;
        let Some(stream) = self.streams.get_mut(&csid) else {
            return false;
        };
        let length = stream.length.unwrap_or(0);
        let Some(body) = stream.body.as_mut() else {
            return false;
        };
        let buf = &self.buf;
        let buf_end = buf.len();
        let mut pos = self.pos;
        let mut remaining = stream.remaining;
        let mut chunks = stream.chunks;
        let mut done = false;
        loop {
            let payload = remaining.min(size);
            let end = pos as u64 + 1 + u64::from(payload);
            if end > buf_end as u64 {
                self.wait = self.base + end;
                break;
            }
            let end = end as usize;
            append(body, &buf[pos + 1..end], length, buf_end - end);
            remaining -= payload;
            chunks += 1;
            let offset = pos;
            pos = end;
            done = true;
            if remaining == 0 {
                let body_len = body.len();
                stream.remaining = 0;
                stream.chunks = chunks;
                self.pos = pos;
                self.pending_bytes -= (body_len - payload as usize) as i64;
                self.complete(csid, out);
                return true;
            }
            self.pending_bytes += i64::from(payload);
            if self.pending_bytes > MAX_PENDING_BYTES {
                stream.remaining = remaining;
                stream.chunks = chunks;
                self.pos = pos;
                self.pending_limit(self.base + offset as u64, out);
                return true;
            }
            if pos >= buf_end || buf[pos] != b0 {
                break;
            }
        }
        stream.remaining = remaining;
        stream.chunks = chunks;
        self.pos = pos;
        done
    }

    fn pending_limit(&mut self, offset: u64, out: &mut Vec<Event>) {
        let dropped = self.drop_partial_messages();
        out.push(Event::violation(
            "limit.pending-bytes",
            "error",
            offset,
            format!(
                "more than {MAX_PENDING_BYTES} bytes in incomplete messages; dropped {dropped}"
            ),
        ));
    }

    /// The message on `csid` has all its bytes: hand it out, then act on it if it controls the chunk layer.
    fn complete(&mut self, csid: u32, out: &mut Vec<Event>) {
        let end_offset = self.offset();
        let Some(stream) = self.streams.get_mut(&csid) else {
            return;
        };
        let body = stream.body.take().unwrap_or_default();
        let control = body.get(0..4).map(be32);
        let (type_id, msg_offset) = (stream.type_id, stream.msg_offset);
        out.push(Event::Message(Message {
            csid,
            stream_id: stream.stream_id,
            timestamp: stream.timestamp,
            type_id,
            body,
            offset: msg_offset,
            end_offset,
            chunks: stream.chunks,
            first_fmt: stream.first_fmt,
            extended_timestamp: stream.msg_extended,
            inferred: stream.inferred,
        }));
        self.messages += 1;
        match (type_id, control) {
            (1, _) => self.set_chunk_size(control, msg_offset, out),
            (2, Some(target)) => self.abort(target, msg_offset, out),
            _ => {}
        }
    }

    /// Set Chunk Size (type 1): `raw` is the body's first 4 bytes (None: fewer).
    fn set_chunk_size(&mut self, raw: Option<u32>, offset: u64, out: &mut Vec<Event>) {
        let Some(raw) = raw else {
            out.push(Event::violation(
                "control.short",
                "error",
                offset,
                "Set Chunk Size with fewer than 4 bytes".to_string(),
            ));
            return;
        };
        let size = raw & 0x7FFF_FFFF;
        if raw & 0x8000_0000 != 0 {
            out.push(Event::violation(
                "control.chunk-size-top-bit",
                "error",
                offset,
                format!("Set Chunk Size {raw:#010x} has the top bit set; using {size}"),
            ));
        }
        if size == 0 {
            out.push(Event::violation(
                "control.chunk-size-zero",
                "error",
                offset,
                "Set Chunk Size 0 is invalid; chunk size unchanged".to_string(),
            ));
            return;
        }
        self.chunk_size = size;
        self.chunk_size_inferred = false;
        out.push(Event::ChunkSizeChanged { size, offset });
    }

    /// Abort Message (type 2): drop the partial message of chunk stream `csid`.
    fn abort(&mut self, csid: u32, offset: u64, out: &mut Vec<Event>) {
        let partial = self.streams.get_mut(&csid).and_then(|stream| {
            stream.remaining = if stream.body.is_some() {
                0
            } else {
                stream.remaining
            };
            stream.body.take()
        });
        if let Some(body) = partial {
            self.pending_bytes -= body.len() as i64;
            out.push(Event::violation(
                "control.abort",
                "info",
                offset,
                format!(
                    "Abort: dropped {} bytes of a message on chunk stream {csid}",
                    body.len()
                ),
            ));
        } else {
            out.push(Event::violation(
                "control.abort-idle",
                "warning",
                offset,
                format!("Abort for chunk stream {csid}, which had no message in progress"),
            ));
        }
    }

    /// Too many chunk streams: forget the idle ones, and the partial messages too if none is idle.
    fn forget_chunk_streams(&mut self, offset: u64, out: &mut Vec<Event>) {
        let before = self.streams.len();
        self.streams.retain(|_, stream| stream.body.is_some());
        let idle = before - self.streams.len();
        let detail = if idle != 0 {
            format!("forgot the state of {idle} idle ones")
        } else {
            let dropped = self.drop_partial_messages();
            self.streams.clear();
            format!("dropped {dropped} incomplete messages")
        };
        self.hints.clear();
        out.push(Event::violation(
            "limit.chunk-streams",
            "error",
            offset,
            format!("more than {MAX_CHUNK_STREAMS} chunk streams in use; {detail}"),
        ));
    }
}

/// Record whether this fmt 3 chunk repeated the extended timestamp; a change of convention is a warning.
fn note_extended_convention(
    known: &mut Option<bool>,
    repeated: bool,
    offset: u64,
    out: &mut Vec<Event>,
) {
    match *known {
        None => *known = Some(repeated),
        Some(was) if was != repeated => {
            *known = Some(repeated);
            out.push(Event::violation(
                "chunk.extended-timestamp-inconsistent",
                "warning",
                offset,
                "this peer both repeats and omits the extended timestamp on fmt 3 chunks"
                    .to_string(),
            ));
        }
        Some(_) => {}
    }
}
