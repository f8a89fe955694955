//! The sans-IO capture parser: bytes in (any chunking), packets out (port of `CaptureReader`).
//!
//! The caller feeds the capture's bytes (already gunzipped; file I/O and gzip stay in Python) and says when
//! the input ended. `next_packet` parses as far as the bytes allow and returns the next packet that decodes
//! to TCP or non-GTP UDP, as a slice of the parser's buffer. Every record is only acted on once it is
//! complete, so the result does not depend on how the input was cut into chunks.
//!
//! Input unusable from the start is a [`CaptureError`] (Python's `open_capture` raises it); damage later
//! ends the reading with a warning, keeping every packet before it.

use crate::layers::{self, Link};
use crate::pcap::PcapReader;
use crate::pcapng::PcapngReader;
use crate::segment::Packet;

/// Largest captured length accepted for one packet (as Wireshark).
pub const MAX_PACKET: u32 = 262144;
/// Largest pcapng block kept in memory (as Wireshark).
pub const MAX_BLOCK: u32 = 16 << 20;

/// The input cannot be read as a capture at all: the one-line message, as Python's `str(CaptureError)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CaptureError(pub String);

impl std::fmt::Display for CaptureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CaptureError {}

/// Bytes fed and not yet consumed, plus how many bytes still to come are to be dropped unseen
/// (the body of a pcapng block we have no use for).
pub(crate) struct Input {
    pub(crate) buf: Vec<u8>,
    pub(crate) pos: usize,
    pub(crate) ended: bool,
    pub(crate) skip: u64,
}

impl Input {
    #[inline]
    pub(crate) fn avail(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Drop up to `count` available bytes; returns how many were dropped.
    pub(crate) fn discard(&mut self, count: u64) -> u64 {
        let n = (self.avail() as u64).min(count);
        self.pos += n as usize;
        n
    }

    fn feed(&mut self, mut data: &[u8]) {
        if self.skip > 0 {
            // Only ever set with nothing left in `buf`: these bytes are streamed past, never held.
            let n = (data.len() as u64).min(self.skip);
            self.skip -= n;
            data = &data[n as usize..];
        }
        if data.is_empty() {
            return;
        }
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 0 && self.pos >= self.buf.len() - self.pos {
            // Compact once the consumed prefix outweighs what is left (amortised linear).
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }
}

/// What the reader has found so far: counters and warnings (Python's reader attributes).
pub(crate) struct Log {
    pub(crate) packets: u64,
    pub(crate) start: Option<f64>,
    pub(crate) warnings: Vec<String>,
    pub(crate) link_types: Vec<u32>,
    unsupported: Vec<u32>,
}

fn plural(n: u64) -> &'static str {
    if n != 1 {
        "s"
    } else {
        ""
    }
}

impl Log {
    pub(crate) fn warn_link_type(&mut self, link_type: u32, place: &str) {
        if !self.unsupported.contains(&link_type) {
            self.unsupported.push(link_type);
            self.warnings
                .push(format!("link type {link_type} ({place}) is not supported: its packets are skipped"));
        }
    }

    pub(crate) fn truncated(&mut self, frame: u64) {
        let done = frame - 1;
        self.warnings.push(format!(
            "capture truncated in the middle of packet {frame}: decoded the {done} packet{} before it",
            plural(done)
        ));
    }

    pub(crate) fn corrupt(&mut self, what: &str) {
        let done = self.packets;
        self.warnings.push(format!(
            "{what}: the capture is corrupt from there; decoded the {done} packet{} before it",
            plural(done)
        ));
    }

    pub(crate) fn truncated_block(&mut self, frame: u64) {
        self.warnings.push(format!(
            "capture truncated in the middle of a pcapng block after packet {frame}: decoded the {frame} packet{} before it",
            plural(frame)
        ));
    }

    pub(crate) fn bad_interface(&mut self, ifid: u32, frame: u64, warned: &mut Vec<u32>) {
        if !warned.contains(&ifid) {
            warned.push(ifid);
            self.warnings.push(format!(
                "packet {frame} refers to interface {ifid}, which the capture does not describe: such packets are skipped"
            ));
        }
    }
}

/// One record ready to decode: `buf[start..end]` of the input.
pub(crate) struct Record {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) frame: u64,
    pub(crate) time: f64,
    pub(crate) link: Link,
}

/// The outcome of one step of a record reader.
pub(crate) enum Step {
    Record(Record),
    NeedMore,
    Done,
}

enum State {
    Opening,
    Pcap(PcapReader),
    Pcapng(PcapngReader),
    Done,
    Failed(CaptureError),
}

enum Opened {
    NeedMore,
    Ok(State),
}

/// A capture being parsed. See the module documentation.
pub struct CaptureParser {
    name: String,
    gunzipped: bool,
    input: Input,
    state: State,
    log: Log,
    format: &'static str,
    opened: bool,
}

const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// "an FLV file" or "an MP4 file" for the media files people hand over instead of a capture (Python's
/// `_media_file_kind`).
fn media_file_kind(data: &[u8]) -> Option<&'static str> {
    if data.len() >= 4 && &data[..3] == b"FLV" && data[3] == 1 {
        return Some("an FLV file");
    }
    if data.len() >= 8 && &data[4..8] == b"ftyp" {
        return Some("an MP4 file");
    }
    None
}

fn looks_like_text(sample: &[u8]) -> bool {
    !sample.is_empty() && sample.iter().all(|&b| b == b'\t' || b == b'\n' || b == b'\r' || (32..127).contains(&b))
}

impl CaptureParser {
    /// `name` as Python's `reader.name` (the path, or "stdin"): it prefixes every CaptureError message.
    pub fn new(name: &str) -> Self {
        CaptureParser {
            name: name.to_string(),
            gunzipped: false,
            input: Input { buf: Vec::new(), pos: 0, ended: false, skip: 0 },
            state: State::Opening,
            log: Log { packets: 0, start: None, warnings: Vec::new(), link_types: Vec::new(), unsupported: Vec::new() },
            format: "",
            opened: false,
        }
    }

    /// The bytes fed are the output of gunzip (only changes the empty-input message, as in Python).
    pub fn set_gunzipped(&mut self, gunzipped: bool) {
        self.gunzipped = gunzipped;
    }

    /// More bytes of the capture.
    pub fn feed(&mut self, data: &[u8]) {
        if self.input.ended {
            return;
        }
        self.input.feed(data);
    }

    /// No more bytes will come.
    pub fn end_of_input(&mut self) {
        self.input.ended = true;
    }

    /// A warning from the byte source (read error, gzip damage), in order with the parser's own: push it
    /// when the source reports it, after draining the packets of the bytes fed before.
    pub fn push_warning(&mut self, text: &str) {
        self.log.warnings.push(text.to_string());
    }

    /// "pcap" or "pcapng" ("" until the magic number was seen).
    pub fn format(&self) -> &str {
        self.format
    }

    /// Packets read so far, TCP or not.
    pub fn packets(&self) -> u64 {
        self.log.packets
    }

    /// Epoch seconds of the first packet.
    pub fn start(&self) -> Option<f64> {
        self.log.start
    }

    pub fn warnings(&self) -> &[String] {
        &self.log.warnings
    }

    /// Link type of each interface met, in order.
    pub fn link_types(&self) -> &[u32] {
        &self.log.link_types
    }

    /// The file header was parsed (the capture is usable).
    pub fn is_open(&self) -> bool {
        self.opened
    }

    /// Parse the file header if it has not been yet: Ok(true) once the capture is open, Ok(false) while more
    /// input is needed, Err for input unusable from the start (as `next_packet`, without taking a packet).
    pub fn try_open(&mut self) -> Result<bool, CaptureError> {
        match &self.state {
            State::Opening => match self.open() {
                Ok(Opened::NeedMore) => Ok(false),
                Ok(Opened::Ok(state)) => {
                    self.state = state;
                    self.opened = true;
                    Ok(true)
                }
                Err(err) => {
                    self.state = State::Failed(err.clone());
                    Err(err)
                }
            },
            State::Failed(err) => Err(err.clone()),
            _ => Ok(true),
        }
    }

    /// Whether the capture is over (end of input reached, or reading stopped at damage).
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done | State::Failed(_))
    }

    /// Bytes fed and not consumed yet (what the parser holds).
    pub fn buffered(&self) -> usize {
        self.input.avail()
    }

    /// The next packet that decodes to TCP or (non-GTP) UDP. `Ok(None)`: more input is needed (or, after
    /// `end_of_input`, the capture is over). `Err` only for input unusable from the start.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        loop {
            let step = match &mut self.state {
                State::Opening => match self.open() {
                    Ok(Opened::NeedMore) => return Ok(None),
                    Ok(Opened::Ok(state)) => {
                        self.state = state;
                        self.opened = true;
                        continue;
                    }
                    Err(err) => {
                        self.state = State::Failed(err.clone());
                        return Err(err);
                    }
                },
                State::Pcap(reader) => reader.step(&mut self.input, &mut self.log),
                State::Pcapng(reader) => reader.step(&mut self.input, &mut self.log),
                State::Done => return Ok(None),
                State::Failed(err) => return Err(err.clone()),
            };
            match step {
                Step::NeedMore => return Ok(None),
                Step::Done => {
                    self.state = State::Done;
                    return Ok(None);
                }
                Step::Record(r) => {
                    if let Some(d) = layers::decode(r.link, &self.input.buf, r.start, r.end) {
                        return Ok(Some(d.packet(&self.input.buf, r.frame, r.time)));
                    }
                }
            }
        }
    }

    fn error(&self, what: &str) -> CaptureError {
        CaptureError(format!("{}: {}", self.name, what))
    }

    fn open(&mut self) -> Result<Opened, CaptureError> {
        let avail = self.input.avail();
        let ended = self.input.ended;
        if avail < 4 && !ended {
            return Ok(Opened::NeedMore);
        }
        if avail == 0 {
            return Err(self.error(if self.gunzipped { "empty file (after gunzip)" } else { "empty file" }));
        }
        let head = &self.input.buf[self.input.pos..];
        let magic = &head[..avail.min(4)];
        if let Some(reader) = PcapReader::for_magic(magic) {
            self.format = "pcap";
            if avail < 24 {
                if !ended {
                    return Ok(Opened::NeedMore);
                }
                return Err(self.error(&format!("pcap file header is truncated ({avail} of 24 bytes)")));
            }
            let reader = reader.with_header(head, &mut self.log);
            self.input.pos += 24;
            return Ok(Opened::Ok(State::Pcap(reader)));
        }
        if magic == PCAPNG_MAGIC {
            self.format = "pcapng";
            if avail < 12 && !ended {
                return Ok(Opened::NeedMore);
            }
            let (big, blen) = crate::pcapng::check_shb(head).map_err(|e| self.error(&e))?;
            if avail < blen as usize {
                if !ended {
                    return Ok(Opened::NeedMore);
                }
                return Err(self.error("pcapng section header block is truncated"));
            }
            let tail = crate::pcapng::read_u32(head, blen as usize - 4, big);
            if tail != blen {
                return Err(self.error("pcapng section header block is corrupt (length fields differ)"));
            }
            self.input.pos += blen as usize;
            return Ok(Opened::Ok(State::Pcapng(PcapngReader::new(big))));
        }
        // Not a capture. Python looks at the first 512 bytes of its first 1 MiB read: wait for as many.
        if avail < 512 && !ended {
            return Ok(Opened::NeedMore);
        }
        if looks_like_text(&head[..avail.min(512)]) {
            return Err(self.error("not a pcap or pcapng capture (it looks like a text file)"));
        }
        if let Some(kind) = media_file_kind(&head[..avail]) {
            return Err(self.error(&format!(
                "this is {kind}, not a capture: rtmp-inspect reads the pcap or pcapng files of tcpdump, Wireshark and tshark"
            )));
        }
        let hex: String = magic.iter().map(|b| format!("{b:02x}")).collect();
        Err(self.error(&format!("not a pcap or pcapng capture (unknown magic number 0x{hex})")))
    }
}
