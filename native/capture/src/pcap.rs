//! Classic pcap records (both byte orders, micro- and nanosecond magics, Kuznetzov's modified format).

use crate::layers::{link_for, Link};
use crate::parser::{Input, Log, Record, Step, MAX_PACKET};
use crate::timestamp::div_round;

/// Reading the records of a pcap file whose header was parsed.
pub(crate) struct PcapReader {
    big: bool,
    units: u64,
    hlen: usize,
    link: Option<Link>,
    frame: u64,
}

impl PcapReader {
    /// The reader for a file starting with `magic`, if it is a pcap magic number.
    pub(crate) fn for_magic(magic: &[u8]) -> Option<PcapReader> {
        // first four bytes: (big-endian, fraction units per second, record header length)
        let (big, units, hlen) = match magic {
            [0xd4, 0xc3, 0xb2, 0xa1] => (false, 1_000_000, 16),
            [0xa1, 0xb2, 0xc3, 0xd4] => (true, 1_000_000, 16),
            [0x4d, 0x3c, 0xb2, 0xa1] => (false, 1_000_000_000, 16),
            [0xa1, 0xb2, 0x3c, 0x4d] => (true, 1_000_000_000, 16),
            [0x34, 0xcd, 0xb2, 0xa1] => (false, 1_000_000, 24), // modified pcap: 8 more bytes per record
            [0xa1, 0xb2, 0xcd, 0x34] => (true, 1_000_000, 24),
            _ => return None,
        };
        Some(PcapReader { big, units, hlen, link: None, frame: 0 })
    }

    /// Take the 24-byte file header (`head` holds at least 24 bytes).
    pub(crate) fn with_header(mut self, head: &[u8], log: &mut Log) -> PcapReader {
        let network = self.u32_at(head, 20);
        let link_type = network & 0xFFFF; // the upper bits may carry an FCS length
        log.link_types.push(link_type);
        self.link = link_for(link_type);
        if self.link.is_none() {
            log.warn_link_type(link_type, "pcap file");
        }
        self
    }

    #[inline]
    fn u32_at(&self, b: &[u8], p: usize) -> u32 {
        let v = [b[p], b[p + 1], b[p + 2], b[p + 3]];
        if self.big {
            u32::from_be_bytes(v)
        } else {
            u32::from_le_bytes(v)
        }
    }

    /// The next record whose link type can be decoded.
    pub(crate) fn step(&mut self, input: &mut Input, log: &mut Log) -> Step {
        loop {
            let avail = input.avail();
            let hlen = self.hlen;
            if avail < hlen {
                if !input.ended {
                    return Step::NeedMore;
                }
                if avail > 0 {
                    log.truncated(self.frame + 1);
                }
                return Step::Done;
            }
            let p = input.pos;
            let (sec, frac, caplen) = {
                let b = &input.buf;
                (self.u32_at(b, p), self.u32_at(b, p + 4), self.u32_at(b, p + 8))
            };
            if caplen > MAX_PACKET {
                let what = format!("packet {} claims {caplen} captured bytes (more than {MAX_PACKET})", self.frame + 1);
                log.corrupt(&what);
                return Step::Done;
            }
            if avail < hlen + caplen as usize {
                if !input.ended {
                    return Step::NeedMore;
                }
                log.truncated(self.frame + 1);
                return Step::Done;
            }
            let start = p + hlen;
            let end = start + caplen as usize;
            input.pos = end;
            self.frame += 1;
            log.packets = self.frame;
            let time = div_round(sec as u128 * self.units as u128 + frac as u128, self.units as u128);
            if self.frame == 1 {
                log.start = Some(time);
            }
            if let Some(link) = self.link {
                return Step::Record(Record { start, end, frame: self.frame, time, link });
            }
        }
    }
}
