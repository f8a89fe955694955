//! Finding chunk boundaries without context: captures that start mid-session, and after TCP gaps
//! (`rtmp_inspect/rtmp/resync.py`, rule for rule).
//!
//! Chunk headers carry no marker, so a boundary is found by trying candidate positions and chunk sizes and
//! keeping the one whose following headers look most like RTMP (known type ids, sane lengths, small message
//! stream ids, no new header in the middle of a message). Pure functions of the bytes given.

use crate::chunks::basic_header;
use crate::streams::CsidMap;

/// Type ids a plausible header may carry: 1-6, 8, 9, 15-20, 22 (a bit mask over ids below 32).
const PLAUSIBLE_TYPES: u32 = (1 << 1)
    | (1 << 2)
    | (1 << 3)
    | (1 << 4)
    | (1 << 5)
    | (1 << 6)
    | (1 << 8)
    | (1 << 9)
    | (1 << 15)
    | (1 << 16)
    | (1 << 17)
    | (1 << 18)
    | (1 << 19)
    | (1 << 20)
    | (1 << 22);
/// Chunk sizes seen in the wild, most common first: nginx-rtmp / librtmp 4096, the default 128, SRS 60000.
pub const COMMON_CHUNK_SIZES: [u32; 14] = [
    4096, 128, 60000, 65536, 1024, 2048, 8192, 16384, 32768, 256, 512, 1400, 1460, 4000,
];
pub const MAX_PLAUSIBLE_LENGTH: u32 = 8 * 1024 * 1024;
pub const MAX_PLAUSIBLE_STREAM_ID: u32 = 0xFFFF;
/// How many chunks a candidate must parse cleanly to be believed, and how many start positions to try.
pub const CONFIDENT_HEADERS: u64 = 12;
pub const MAX_START_CANDIDATES: u32 = 400;
const HEADER: [u64; 4] = [11, 7, 3, 0];

fn plausible_type(type_id: u8) -> bool {
    type_id < 32 && PLAUSIBLE_TYPES & (1 << type_id) != 0
}

/// Return (position, chunk size, size inferred?) of the most plausible chunk start in `buf[start..]`; only
/// those bytes are looked at (the caller cuts `buf` at the end of its window).
/// `min_headers`: clean headers needed to believe a candidate (default: 12, or 2 when `final_`).
pub fn find_chunk_boundary(
    buf: &[u8],
    start: usize,
    chunk_size: Option<u32>,
    final_: bool,
    min_headers: Option<u64>,
) -> Option<(usize, u32, bool)> {
    let given;
    let sizes: &[u32] = match chunk_size {
        Some(size) if size != 0 => {
            given = [size];
            &given
        }
        _ => &COMMON_CHUNK_SIZES,
    };
    let mut trial = Trial::default();
    let mut tried = 0u32;
    let mut best: Option<(u64, usize, u32)> = None; // (ranked score, position, size)
    for p in start..buf.len().saturating_sub(12) {
        if !plausible_start(buf, p) {
            continue;
        }
        tried += 1;
        for &size in sizes {
            let (score, exercised) = trial.run(buf, p, size);
            if score == 0 {
                continue;
            }
            // Prefer a size the bytes actually exercised (a message longer than the chunk size was split there).
            let ranked = score * 2 + u64::from(exercised);
            if best.is_none_or(|(b, _, _)| ranked > b) {
                best = Some((ranked, p, size));
            }
        }
        if best.is_some_and(|(b, _, _)| b >= CONFIDENT_HEADERS * 2) || tried >= MAX_START_CANDIDATES
        {
            break;
        }
    }
    let (ranked, position, size) = best?;
    let needed = match min_headers {
        Some(n) if n != 0 => n,
        _ if final_ => 2,
        _ => CONFIDENT_HEADERS,
    };
    if ranked / 2 < needed {
        return None;
    }
    Some((position, size, chunk_size.is_none()))
}

/// The header at `p` if it is a fmt 0 or 1 header with a known type and a sane length, wholly inside `buf`.
fn plausible_start(buf: &[u8], p: usize) -> bool {
    let b0 = buf[p];
    let fmt = usize::from(b0 >> 6);
    if fmt > 1 {
        return false;
    }
    let h = p + match b0 & 0x3F {
        0 => 2,
        1 => 3,
        _ => 1,
    };
    if h as u64 + HEADER[fmt] > buf.len() as u64 {
        return false;
    }
    if !plausible_type(buf[h + 6]) {
        return false;
    }
    if be24(&buf[h + 3..h + 6]) > MAX_PLAUSIBLE_LENGTH {
        return false;
    }
    if fmt == 0
        && u32::from_le_bytes([buf[h + 7], buf[h + 8], buf[h + 9], buf[h + 10]])
            > MAX_PLAUSIBLE_STREAM_ID
    {
        return false;
    }
    true
}

/// Per chunk stream during one trial: bytes left in its message (0: between messages) and the last header's length.
#[derive(Clone, Copy, Default)]
struct TrialStream {
    remaining: Option<u64>,
    length: Option<u64>,
}

/// Scratch state of `_trial`, kept across trials of one search so that its maps are allocated once.
#[derive(Default)]
struct Trial {
    streams: CsidMap<TrialStream>,
}

impl Trial {
    /// Parse chunks from p with chunk size `size`. Score: clean headers seen; 0 if anything is implausible.
    fn run(&mut self, buf: &[u8], p: usize, size: u32) -> (u64, bool) {
        self.streams.clear();
        let end = buf.len() as u64;
        let size = u64::from(size);
        let mut p = p as u64;
        let mut headers = 0u64;
        let mut exercised = false;
        while p < end {
            let i = p as usize;
            let Some((fmt, csid, head)) = basic_header(&buf[i..]) else {
                break;
            };
            let (fmt, head) = (usize::from(fmt), head as u64);
            let h = p + head;
            if h + HEADER[fmt] > end {
                break;
            }
            let hi = h as usize;
            let stream = self.streams.entry(csid).or_default();
            let left = if fmt <= 1 {
                if stream.remaining.is_some_and(|left| left != 0) {
                    return (0, false); // a new header in the middle of a message
                }
                if !plausible_start(buf, i) {
                    return (0, false);
                }
                let length = u64::from(be24(&buf[hi + 3..hi + 6]));
                stream.length = Some(length);
                headers += 1;
                length
            } else {
                match (stream.remaining, stream.length) {
                    // A continuation of a message that began before the window: assume a full chunk.
                    (None, _) | (Some(0), None) => size,
                    // A new message with the previous header's length.
                    (Some(0), Some(length)) => {
                        headers += 1;
                        length
                    }
                    (Some(left), _) => left,
                }
            };
            let payload = left.min(size);
            if left > size {
                exercised = true;
            }
            stream.remaining = Some(left - payload);
            let extra = if fmt < 3 && buf[hi..hi + 3] == [0xFF, 0xFF, 0xFF] {
                4
            } else {
                0
            };
            p = h + HEADER[fmt] + extra + payload;
        }
        (headers, exercised)
    }
}

pub(crate) fn be24(b: &[u8]) -> u32 {
    (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2])
}
