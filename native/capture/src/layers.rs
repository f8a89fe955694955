//! Decode one captured packet down to its TCP segment or UDP datagram (port of `capture/layers.py`).
//!
//! Decoders take the buffer and `start..end`, the packet as captured; the buffer may hold other packets
//! around it and nothing past `end` is ever read. They return positions, not slices, so that the parser
//! can hand out a borrow of its buffer only for the packet it returns.
//!
//! Positions are `i64` so that every `end - off < N` test has Python's signed meaning (an enclosing
//! length can clip `end` below `off`). Where Python calls its UDP hook (a datagram that is not GTP-U),
//! a UDP packet is returned instead; UDP at tunnel depth 2 is dropped unseen, as in Python.

use crate::segment::{Address, Packet, TcpSegment, UdpDatagram, CHECKSUM_BAD, CHECKSUM_GOOD, CHECKSUM_UNVERIFIED};

const NO_LIMIT: i64 = 1 << 62; // "no enclosing layer bounds this packet"
const ETH_IPV4: u32 = 0x0800;
const ETH_IPV6: u32 = 0x86DD;
const PPPOE_SESSION: u32 = 0x8864;
const AF_INET: u32 = 2;
const GTPU_PORT: u16 = 2152;
const MAX_TUNNEL_DEPTH: u32 = 2; // GTP inside GTP inside GTP is not a thing; stop recursion bombs
const MAX_EXT_HEADERS: usize = 16;

/// A link layer we can decode (`LINKTYPE_*` numbers).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Link {
    BsdNull,
    Ethernet,
    IpAny,
    OpenBsdLoop,
    LinuxSll,
    RawIpv4,
    RawIpv6,
    LinuxSll2,
}

/// The decoder for a link type (the upper 16 bits, FCS information in pcap headers, are ignored).
pub(crate) fn link_for(link_type: u32) -> Option<Link> {
    Some(match link_type & 0xFFFF {
        0 => Link::BsdNull,
        1 => Link::Ethernet,
        12 | 14 | 101 => Link::IpAny,
        108 => Link::OpenBsdLoop,
        113 => Link::LinuxSll,
        228 => Link::RawIpv4,
        229 => Link::RawIpv6,
        276 => Link::LinuxSll2,
        _ => return None,
    })
}

/// Whether packets of this link type are decoded (Python: `decoder_for(link_type) is not None`).
pub fn is_supported_link_type(link_type: u32) -> bool {
    link_for(link_type).is_some()
}

/// A decoded packet, by position in the buffer it was decoded from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Decoded {
    udp: bool,
    src: Address,
    sport: u16,
    dst: Address,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    lo: usize,
    hi: usize,
    missing: u64,
    checksum: u8,
    ip_checksum: u8,
}

impl Decoded {
    pub(crate) fn packet<'a>(&self, data: &'a [u8], frame: u64, time: f64) -> Packet<'a> {
        let payload = &data[self.lo..self.hi];
        if self.udp {
            Packet::Udp(UdpDatagram {
                src: self.src,
                sport: self.sport,
                dst: self.dst,
                dport: self.dport,
                payload,
                frame,
                time,
            })
        } else {
            Packet::Tcp(TcpSegment {
                frame,
                time,
                src: self.src,
                sport: self.sport,
                dst: self.dst,
                dport: self.dport,
                seq: self.seq,
                ack: self.ack,
                flags: self.flags,
                window: self.window,
                payload,
                missing: self.missing,
                checksum: self.checksum,
                ip_checksum: self.ip_checksum,
            })
        }
    }
}

/// Decode one whole captured packet (Python's `layers.decode_packet`, plus UDP datagrams); None if it is
/// neither TCP nor non-GTP UDP, or the link type is unknown.
pub fn decode_packet(link_type: u32, data: &[u8], frame: u64, time: f64) -> Option<Packet<'_>> {
    let link = link_for(link_type)?;
    decode(link, data, 0, data.len()).map(|d| d.packet(data, frame, time))
}

/// Decode `data[start..end]` (`end <= data.len()`).
pub(crate) fn decode(link: Link, data: &[u8], start: usize, end: usize) -> Option<Decoded> {
    if start > end || end > data.len() {
        return None;
    }
    let (s, e) = (start as i64, end as i64);
    match link {
        Link::BsdNull => bsd_null(data, s, e),
        Link::Ethernet => ethernet(data, s, e),
        Link::IpAny => ip_any(data, s, e),
        Link::OpenBsdLoop => openbsd_loop(data, s, e),
        Link::LinuxSll => linux_sll(data, s, e),
        Link::RawIpv4 => ipv4(data, s, e, NO_LIMIT, 0),
        Link::RawIpv6 => ipv6(data, s, e, NO_LIMIT, 0),
        Link::LinuxSll2 => linux_sll2(data, s, e),
    }
}

// ------------------------------------------------------------------------------------------- reading

#[inline]
fn u8_at(d: &[u8], p: i64) -> u32 {
    d[p as usize] as u32
}

#[inline]
fn be16(d: &[u8], p: i64) -> u32 {
    let p = p as usize;
    u16::from_be_bytes([d[p], d[p + 1]]) as u32
}

#[inline]
fn be32(d: &[u8], p: i64) -> u32 {
    let p = p as usize;
    u32::from_be_bytes([d[p], d[p + 1], d[p + 2], d[p + 3]])
}

#[inline]
fn le32(d: &[u8], p: i64) -> u32 {
    let p = p as usize;
    u32::from_le_bytes([d[p], d[p + 1], d[p + 2], d[p + 3]])
}

#[inline]
fn v4(d: &[u8], p: i64) -> Address {
    let p = p as usize;
    Address::V4([d[p], d[p + 1], d[p + 2], d[p + 3]])
}

#[inline]
fn v6(d: &[u8], p: i64) -> Address {
    let p = p as usize;
    let mut a = [0u8; 16];
    a.copy_from_slice(&d[p..p + 16]);
    Address::V6(a)
}

// ------------------------------------------------------------------------------------------- TCP

/// A TCP segment in a 1500-byte IPv4 packet: longer ones are GRO/TSO merges (Python's constant).
const MAX_CHECKED_TCP_LENGTH: u64 = 1480;

/// CHECKSUM_GOOD or CHECKSUM_BAD for the TCP segment at `d[off..ip_end]` (whole in the capture: `end` is
/// `ip_end`) between `src` and `dst`; CHECKSUM_UNVERIFIED when it cannot be checked (cut by the snap length,
/// a checksum field of zero: never computed; a wrong one on a segment longer than MAX_CHECKED_TCP_LENGTH). A
/// correct checksum makes the ones' complement sum of the
/// 16-bit words 0xFFFF, i.e. the plain sum 0 modulo 0xFFFF (as Python computes it, on one big number).
fn tcp_checksum(d: &[u8], off: i64, end: i64, ip_end: i64, src: &Address, dst: &Address) -> u8 {
    if end < ip_end || ip_end - off < 20 || be16(d, off + 16) == 0 {
        return CHECKSUM_UNVERIFIED;
    }
    let segment = &d[off as usize..ip_end as usize];
    let length = segment.len() as u64;
    let mut sum: u64 = 0;
    for pair in src.bytes().chunks_exact(2).chain(dst.bytes().chunks_exact(2)) {
        sum += (pair[0] as u64) << 8 | pair[1] as u64;
    }
    sum += 6 + (length & 0xFFFF) + (length >> 16); // protocol; the length (16 bits for IPv4, 32 for IPv6)
    let mut words = segment.chunks_exact(2);
    for pair in &mut words {
        sum += (pair[0] as u64) << 8 | pair[1] as u64;
    }
    if let [last] = words.remainder() {
        sum += (*last as u64) << 8; // an odd length is padded with a zero byte
    }
    if sum.is_multiple_of(0xFFFF) {
        CHECKSUM_GOOD
    } else if length <= MAX_CHECKED_TCP_LENGTH {
        CHECKSUM_BAD
    } else {
        // Longer than one Ethernet frame can carry: merged by the receiving host (GRO/LRO) or not yet split
        // by the sending NIC (TSO), so the checksum field is not the one the wire carried.
        CHECKSUM_UNVERIFIED
    }
}

/// TCP header at `off`; `end` = captured end, `ip_end` = declared end (>= end). `verifiable`: false when the
/// IP header leaves the checksum's pseudo-header unknown (IPv6 extension headers, a TSO length).
/// CHECKSUM_GOOD or CHECKSUM_BAD for the IPv4 header at `off` (`ihl` bytes, all captured); UNVERIFIED for a
/// checksum field of zero (never computed).
fn ipv4_header_checksum(d: &[u8], off: i64, ihl: i64) -> u8 {
    if be16(d, off + 10) == 0 {
        return CHECKSUM_UNVERIFIED;
    }
    let header = &d[off as usize..(off + ihl) as usize];
    let sum: u64 = header.chunks_exact(2).map(|pair| (pair[0] as u64) << 8 | pair[1] as u64).sum();
    if sum.is_multiple_of(0xFFFF) {
        CHECKSUM_GOOD
    } else {
        CHECKSUM_BAD
    }
}

#[allow(clippy::too_many_arguments)] // the header's place, the IP layer's lengths, addresses and verdicts
fn tcp(d: &[u8], off: i64, end: i64, ip_end: i64, src: Address, dst: Address, verifiable: bool, ip_checksum: u8) -> Option<Decoded> {
    if end - off < 20 {
        return None;
    }
    let offflags = be16(d, off + 12);
    let hlen = ((offflags >> 10) & 0x3C) as i64; // data offset * 4
    if hlen < 20 {
        return None;
    }
    let p = off + hlen;
    if p > ip_end {
        return None;
    }
    let (lo, hi, missing) = if p < end {
        (p, end, ip_end - end)
    } else {
        (end, end, ip_end - p) // options (or everything after them) cut by the snap length
    };
    let checksum = if verifiable { tcp_checksum(d, off, end, ip_end, &src, &dst) } else { CHECKSUM_UNVERIFIED };
    Some(Decoded {
        udp: false,
        src,
        sport: be16(d, off) as u16,
        dst,
        dport: be16(d, off + 2) as u16,
        seq: be32(d, off + 4),
        ack: be32(d, off + 8),
        flags: (offflags & 0xFF) as u8,
        window: be16(d, off + 14) as u16,
        lo: lo as usize,
        hi: hi as usize,
        missing: missing as u64,
        checksum,
        ip_checksum,
    })
}

// ------------------------------------------------------------------------------------------- UDP / GTP-U

/// GTPv1-U G-PDU at `off` (UDP payload): decode the tunnelled IP packet.
fn gtpu(d: &[u8], off: i64, mut end: i64, mut lim: i64, depth: u32) -> Option<Decoded> {
    if end - off < 8 {
        return None;
    }
    let flags = u8_at(d, off);
    if flags & 0xF0 != 0x30 || u8_at(d, off + 1) != 0xFF {
        return None; // version 1, PT=GTP; G-PDU only
    }
    let gend = off + 8 + be16(d, off + 2) as i64;
    if gend < lim {
        lim = gend;
    }
    let mut p = off + 8;
    if flags & 0x07 != 0 {
        // E, S or PN: sequence(2) N-PDU(1) next-extension-type(1)
        p += 4;
        if p > end {
            return None;
        }
        if flags & 0x04 != 0 {
            let mut nxt = u8_at(d, p - 1);
            let mut ended = false; // Python's for/else: 16 rounds without meeting type 0 is a failure
            for _ in 0..MAX_EXT_HEADERS {
                if nxt == 0 {
                    ended = true;
                    break;
                }
                if p >= end {
                    return None;
                }
                let elen = u8_at(d, p) as i64 * 4;
                if elen == 0 {
                    return None;
                }
                p += elen;
                if p > end {
                    return None;
                }
                nxt = u8_at(d, p - 1);
            }
            if !ended {
                return None;
            }
        }
    }
    if end > lim {
        end = lim;
    }
    if p >= end {
        return None;
    }
    match u8_at(d, p) >> 4 {
        4 => ipv4(d, p, end, lim, depth + 1),
        6 => ipv6(d, p, end, lim, depth + 1),
        _ => None,
    }
}

fn udp(d: &[u8], off: i64, end: i64, mut lim: i64, depth: u32, src: Address, dst: Address) -> Option<Decoded> {
    if depth >= MAX_TUNNEL_DEPTH || end - off < 8 {
        return None;
    }
    let sport = be16(d, off) as u16;
    let dport = be16(d, off + 2) as u16;
    let ulen = be16(d, off + 4) as i64;
    if sport != GTPU_PORT && dport != GTPU_PORT {
        // Python hands this to its UDP hook: payload data[off + 8 : stop]
        let stop = if ulen >= 8 { end.min(lim).min(off + ulen) } else { end.min(lim) };
        let lo = off + 8;
        let hi = if stop > lo { stop } else { lo };
        return Some(Decoded {
            udp: true,
            src,
            sport,
            dst,
            dport,
            seq: 0,
            ack: 0,
            flags: 0,
            window: 0,
            lo: lo as usize,
            hi: hi as usize,
            missing: 0,
            checksum: CHECKSUM_UNVERIFIED,
            ip_checksum: CHECKSUM_UNVERIFIED,
        });
    }
    if ulen >= 8 && off + ulen < lim {
        lim = off + ulen;
    }
    gtpu(d, off + 8, end, lim, depth)
}

// ------------------------------------------------------------------------------------------- IP

fn ipv4(d: &[u8], off: i64, mut end: i64, lim: i64, depth: u32) -> Option<Decoded> {
    if end - off < 20 {
        return None;
    }
    let vihl = u8_at(d, off);
    let total = be16(d, off + 2) as i64;
    let frag = be16(d, off + 6);
    let proto = u8_at(d, off + 9);
    let ihl = ((vihl & 0x0F) << 2) as i64;
    if vihl >> 4 != 4 || ihl < 20 || end - off < ihl {
        return None;
    }
    if frag & 0x1FFF != 0 {
        return None; // not the first fragment: no transport header here
    }
    let ip_end;
    if total != 0 {
        if total < ihl {
            return None;
        }
        ip_end = (off + total).min(lim);
        if end > ip_end {
            end = ip_end; // link-layer padding / FCS after the IP packet
        }
    } else {
        // TSO/GSO capture: length left for the NIC to fill in
        if end > lim {
            end = lim;
        }
        ip_end = end;
    }
    match proto {
        6 => tcp(d, off + ihl, end, ip_end, v4(d, off + 12), v4(d, off + 16), total != 0, ipv4_header_checksum(d, off, ihl)),
        17 => udp(d, off + ihl, end, ip_end, depth, v4(d, off + 12), v4(d, off + 16)),
        _ => None,
    }
}

fn ipv6(d: &[u8], off: i64, mut end: i64, lim: i64, depth: u32) -> Option<Decoded> {
    if end - off < 40 {
        return None;
    }
    let plen = be16(d, off + 4) as i64;
    let mut nxt = u8_at(d, off + 6);
    if u8_at(d, off) >> 4 != 6 {
        return None;
    }
    let mut p = off + 40;
    let ip_end;
    if plen != 0 {
        ip_end = (p + plen).min(lim);
        if end > ip_end {
            end = ip_end;
        }
    } else {
        // jumbogram or TSO capture
        if end > lim {
            end = lim;
        }
        ip_end = end;
    }
    for _ in 0..MAX_EXT_HEADERS {
        if nxt == 6 {
            // (after extension headers, the pseudo-header's destination may be a routing header's)
            return tcp(d, p, end, ip_end, v6(d, off + 8), v6(d, off + 24), plen != 0 && p == off + 40, CHECKSUM_UNVERIFIED);
        }
        if nxt == 17 {
            return udp(d, p, end, ip_end, depth, v6(d, off + 8), v6(d, off + 24));
        }
        if end - p < 8 {
            return None;
        }
        let hlen = match nxt {
            0 | 43 | 60 | 135 => ((u8_at(d, p + 1) + 1) << 3) as i64, // 8-octet units, excluding the first 8
            44 => {
                if be16(d, p + 2) & 0xFFF8 != 0 {
                    return None; // not the first fragment
                }
                8
            }
            51 => ((u8_at(d, p + 1) + 2) << 2) as i64, // AH: 4-octet units, minus 2
            _ => return None,                           // 59 no next header, ESP (encrypted), or unknown
        };
        nxt = u8_at(d, p);
        p += hlen;
    }
    None
}

fn ip_any(d: &[u8], off: i64, end: i64) -> Option<Decoded> {
    if off >= end {
        return None;
    }
    match u8_at(d, off) >> 4 {
        4 => ipv4(d, off, end, NO_LIMIT, 0),
        6 => ipv6(d, off, end, NO_LIMIT, 0),
        _ => None,
    }
}

// ------------------------------------------------------------------------------------------- link layers

/// Dispatch on an EtherType, peeling VLAN tags, MPLS labels and PPPoE.
fn ethertype(mut etype: u32, d: &[u8], mut off: i64, end: i64) -> Option<Decoded> {
    for _ in 0..8 {
        match etype {
            ETH_IPV4 => return ipv4(d, off, end, NO_LIMIT, 0),
            ETH_IPV6 => return ipv6(d, off, end, NO_LIMIT, 0),
            0x8100 | 0x88A8 | 0x9100 | 0x9200 => {
                if end - off < 4 {
                    return None;
                }
                etype = be16(d, off + 2);
                off += 4;
            }
            0x8847 | 0x8848 => {
                for _ in 0..16 {
                    if end - off < 4 {
                        return None;
                    }
                    let bottom = u8_at(d, off + 2) & 0x01;
                    off += 4;
                    if bottom != 0 {
                        return ip_any(d, off, end);
                    }
                }
                return None;
            }
            PPPOE_SESSION => {
                if end - off < 8 {
                    return None;
                }
                let proto = be16(d, off + 6);
                off += 8;
                return match proto {
                    0x0021 => ipv4(d, off, end, NO_LIMIT, 0),
                    0x0057 => ipv6(d, off, end, NO_LIMIT, 0),
                    _ => None,
                };
            }
            _ => return None,
        }
    }
    None
}

fn ethernet(d: &[u8], start: i64, end: i64) -> Option<Decoded> {
    if end - start < 14 {
        return None;
    }
    // Python's IPv4/TCP fast path gives the same result as the general path, which is all we keep.
    ethertype(be16(d, start + 12), d, start + 14, end)
}

fn linux_sll(d: &[u8], start: i64, end: i64) -> Option<Decoded> {
    if end - start < 16 {
        return None;
    }
    ethertype(be16(d, start + 14), d, start + 16, end)
}

fn linux_sll2(d: &[u8], start: i64, end: i64) -> Option<Decoded> {
    if end - start < 20 {
        return None;
    }
    ethertype(be16(d, start), d, start + 20, end)
}

fn family(fam: u32, d: &[u8], off: i64, end: i64) -> Option<Decoded> {
    match fam {
        AF_INET => ipv4(d, off, end, NO_LIMIT, 0),
        10 | 24 | 28 | 30 => ipv6(d, off, end, NO_LIMIT, 0),
        _ => None,
    }
}

/// DLT_NULL: the family is in the capturing host's byte order.
fn bsd_null(d: &[u8], start: i64, end: i64) -> Option<Decoded> {
    if end - start < 4 {
        return None;
    }
    let mut fam = le32(d, start);
    if fam & 0xFFFF_0000 != 0 {
        fam = be32(d, start);
    }
    family(fam, d, start + 4, end)
}

fn openbsd_loop(d: &[u8], start: i64, end: i64) -> Option<Decoded> {
    if end - start < 4 {
        return None;
    }
    family(be32(d, start), d, start + 4, end)
}
