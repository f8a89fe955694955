//! pcapng blocks: sections (either byte order, several per file), interfaces with their own link type,
//! `if_tsresol` and `if_tsoffset`, enhanced / simple / obsolete packet blocks. Blocks we have no use for
//! are streamed past without being held; the others are bounded by `MAX_BLOCK`.

use crate::layers::{link_for, Link};
use crate::parser::{Input, Log, Record, Step, MAX_BLOCK, MAX_PACKET};
use crate::timestamp::div_round;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const PB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;

#[inline]
pub(crate) fn read_u32(b: &[u8], p: usize, big: bool) -> u32 {
    let v = [b[p], b[p + 1], b[p + 2], b[p + 3]];
    if big {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    }
}

#[inline]
fn read_u16(b: &[u8], p: usize, big: bool) -> u16 {
    let v = [b[p], b[p + 1]];
    if big {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    }
}

/// Validate a section header block's start (`b` from its first byte): (big-endian, block length).
pub(crate) fn check_shb(b: &[u8]) -> Result<(bool, u32), String> {
    if b.len() < 12 {
        return Err("pcapng section header block is truncated".to_string());
    }
    let big = match b[8..12] {
        [0x4d, 0x3c, 0x2b, 0x1a] => false,
        [0x1a, 0x2b, 0x3c, 0x4d] => true,
        _ => return Err("pcapng section header has an invalid byte-order magic".to_string()),
    };
    let blen = read_u32(b, 4, big);
    if blen < 28 || blen & 3 != 0 || blen > MAX_BLOCK {
        return Err(format!("pcapng section header block has an impossible length {blen}"));
    }
    Ok((big, blen))
}

struct Interface {
    link_type: u32,
    link: Option<Link>,
    units: u128,
    offset: i64,
}

/// An interface description block (`b` is the whole block, `b.len() == blen >= 20`).
fn parse_idb(b: &[u8], big: bool) -> Interface {
    let link_type = read_u16(b, 8, big) as u32;
    let mut units: u128 = 1_000_000;
    let mut offset: i64 = 0;
    let mut p = 16usize;
    let end = b.len() - 4;
    while p + 4 <= end {
        let code = read_u16(b, p, big);
        let length = read_u16(b, p + 2, big) as usize;
        p += 4;
        if code == 0 || p + length > end {
            break;
        }
        if code == 9 && length >= 1 {
            // if_tsresol
            let v = b[p] as u32;
            units = if v & 0x80 != 0 { 1u128 << (v & 0x7F) } else { 10u128.pow(v.min(30)) };
        } else if code == 14 && length >= 8 {
            // if_tsoffset, seconds
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&b[p..p + 8]);
            offset = if big { i64::from_be_bytes(raw) } else { i64::from_le_bytes(raw) };
        }
        p += (length + 3) & !3;
    }
    Interface { link_type, link: link_for(link_type), units, offset }
}

fn min_block(btype: u32) -> u32 {
    match btype {
        IDB => 20,
        PB | EPB => 32,
        SPB => 16,
        _ => 12,
    }
}

/// Reading the blocks after the first section header.
pub(crate) struct PcapngReader {
    big: bool,
    interfaces: Vec<Interface>,
    bad_iface_warned: Vec<u32>,
    frame: u64,
    last_time: f64,
    /// Streaming past an unused block of this length: its body is being dropped (`Input::skip`), its
    /// trailing length comes next.
    skipping: Option<u32>,
}

impl PcapngReader {
    pub(crate) fn new(big: bool) -> PcapngReader {
        PcapngReader { big, interfaces: Vec::new(), bad_iface_warned: Vec::new(), frame: 0, last_time: 0.0, skipping: None }
    }

    fn time_of(&self, ifid: usize, ts_hi: u32, ts_lo: u32) -> f64 {
        let iface = &self.interfaces[ifid];
        let ticks = ((ts_hi as u128) << 32) | ts_lo as u128;
        let mut time = div_round(ticks, iface.units);
        if iface.offset != 0 {
            time += iface.offset as f64; // Python: float + int
        }
        time
    }

    /// The next packet block whose interface's link type can be decoded.
    pub(crate) fn step(&mut self, input: &mut Input, log: &mut Log) -> Step {
        loop {
            if let Some(blen) = self.skipping {
                if input.skip > 0 || input.avail() < 4 {
                    if !input.ended {
                        return Step::NeedMore;
                    }
                    log.truncated_block(self.frame);
                    return Step::Done;
                }
                let tail = read_u32(&input.buf, input.pos, self.big);
                input.pos += 4;
                self.skipping = None;
                if tail != blen {
                    log.corrupt(&format!("pcapng block after packet {} is corrupt (its length fields differ)", self.frame));
                    return Step::Done;
                }
                continue;
            }
            let avail = input.avail();
            let pos = input.pos;
            let big = self.big;
            if avail < 12 {
                if !input.ended {
                    return Step::NeedMore;
                }
                if avail < 8 {
                    if avail > 0 {
                        log.truncated_block(self.frame);
                    }
                } else if matches!(read_u32(&input.buf, pos, big), EPB | SPB | PB) {
                    log.truncated(self.frame + 1);
                } else {
                    log.truncated_block(self.frame);
                }
                return Step::Done;
            }
            let btype = read_u32(&input.buf, pos, big);
            let mut blen = read_u32(&input.buf, pos + 4, big);
            // A new section's byte order, applied once the block is known to be whole and consistent.
            let mut section_order = big;
            if btype == SHB {
                match check_shb(&input.buf[pos..pos + 12]) {
                    Ok((b, l)) => {
                        section_order = b;
                        blen = l;
                    }
                    Err(err) => {
                        log.corrupt(&format!("{err} after packet {}", self.frame));
                        return Step::Done;
                    }
                }
            } else if blen < 12 || blen & 3 != 0 || blen > MAX_BLOCK || blen < min_block(btype) {
                log.corrupt(&format!("pcapng block after packet {} has an impossible length {blen}", self.frame));
                return Step::Done;
            }
            if !matches!(btype, SHB | IDB | PB | SPB | EPB) {
                // Unused block: drop its body (never holding it), then check its trailing length.
                let body = blen as u64 - 4;
                let dropped = input.discard(body);
                input.skip = body - dropped;
                self.skipping = Some(blen);
                continue;
            }
            let size = blen as usize;
            if avail < size {
                if !input.ended {
                    return Step::NeedMore;
                }
                if matches!(btype, EPB | SPB | PB) {
                    log.truncated(self.frame + 1);
                } else {
                    log.truncated_block(self.frame);
                }
                return Step::Done;
            }
            if read_u32(&input.buf, pos + size - 4, section_order) != blen {
                log.corrupt(&format!("pcapng block after packet {} is corrupt (its length fields differ)", self.frame));
                return Step::Done;
            }
            input.pos = pos + size;
            let b = &input.buf[pos..pos + size];
            match btype {
                EPB | PB => {
                    let first = read_u32(b, 8, big);
                    let ifid = if btype == EPB {
                        first
                    } else if big {
                        first >> 16 // interface id (16 bits), then drops count
                    } else {
                        first & 0xFFFF
                    };
                    let ts_hi = read_u32(b, 12, big);
                    let ts_lo = read_u32(b, 16, big);
                    let caplen = read_u32(b, 20, big);
                    if caplen > MAX_PACKET || caplen > blen - 32 {
                        let what = format!("packet {} claims {caplen} captured bytes in a {blen}-byte block", self.frame + 1);
                        log.corrupt(&what);
                        return Step::Done;
                    }
                    self.frame += 1;
                    log.packets = self.frame;
                    if ifid as usize >= self.interfaces.len() {
                        log.bad_interface(ifid, self.frame, &mut self.bad_iface_warned);
                        continue;
                    }
                    let time = self.time_of(ifid as usize, ts_hi, ts_lo);
                    self.last_time = time;
                    if self.frame == 1 {
                        log.start = Some(time);
                    }
                    if let Some(link) = self.interfaces[ifid as usize].link {
                        let start = pos + 28;
                        return Step::Record(Record { start, end: start + caplen as usize, frame: self.frame, time, link });
                    }
                }
                SPB => {
                    let origlen = read_u32(b, 8, big);
                    let caplen = origlen.min(blen - 16).min(MAX_PACKET);
                    self.frame += 1;
                    log.packets = self.frame;
                    if self.interfaces.is_empty() {
                        log.bad_interface(0, self.frame, &mut self.bad_iface_warned);
                        continue;
                    }
                    if self.frame == 1 {
                        log.start = Some(self.last_time);
                    }
                    // No timestamp in a simple packet block: the last one is reused.
                    if let Some(link) = self.interfaces[0].link {
                        let start = pos + 12;
                        let time = self.last_time;
                        return Step::Record(Record { start, end: start + caplen as usize, frame: self.frame, time, link });
                    }
                }
                IDB => {
                    let iface = parse_idb(b, big);
                    log.link_types.push(iface.link_type);
                    let unsupported = iface.link.is_none();
                    let link_type = iface.link_type;
                    self.interfaces.push(iface);
                    if unsupported {
                        log.warn_link_type(link_type, &format!("interface {}", self.interfaces.len() - 1));
                    }
                }
                _ => {
                    // SHB: byte order and interfaces start afresh
                    self.big = section_order;
                    self.interfaces.clear();
                    self.bad_iface_warned.clear();
                }
            }
        }
    }
}
