//! Byte-level builders for packets and pcap / pcapng files (the Rust twin of the Python tests' capture
//! builders), and helpers to run a capture through the parser and the flow table.
#![allow(dead_code)]

use std::borrow::Cow;

use rtmp_inspect_capture::{
    decode_packet, Address, CaptureError, CaptureParser, EndReason, FlowEvent, FlowSummary, FlowTable, Packet, TcpSegment,
};

pub fn ip4(s: &str) -> [u8; 4] {
    let v: Vec<u8> = s.split('.').map(|x| x.parse().unwrap()).collect();
    [v[0], v[1], v[2], v[3]]
}

pub fn ip6(s: &str) -> [u8; 16] {
    let a: std::net::Ipv6Addr = s.parse().unwrap();
    a.octets()
}

pub struct Tcp<'a> {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub payload: &'a [u8],
    pub options: &'a [u8],
    pub doff: Option<u8>,
}

impl Default for Tcp<'_> {
    fn default() -> Self {
        Tcp { sport: 1935, dport: 50000, seq: 1000, ack: 2000, flags: 0x18, window: 512, payload: b"", options: b"", doff: None }
    }
}

pub fn tcp(t: &Tcp) -> Vec<u8> {
    assert_eq!(t.options.len() % 4, 0);
    let doff = t.doff.unwrap_or(((20 + t.options.len()) / 4) as u8);
    let mut v = Vec::new();
    v.extend_from_slice(&t.sport.to_be_bytes());
    v.extend_from_slice(&t.dport.to_be_bytes());
    v.extend_from_slice(&t.seq.to_be_bytes());
    v.extend_from_slice(&t.ack.to_be_bytes());
    v.push(doff << 4);
    v.push(t.flags);
    v.extend_from_slice(&t.window.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    v.extend_from_slice(t.options);
    v.extend_from_slice(t.payload);
    v
}

pub fn tcp_payload(payload: &[u8]) -> Vec<u8> {
    tcp(&Tcp { payload, ..Default::default() })
}

pub fn udp(sport: u16, dport: u16, payload: &[u8], length: Option<u16>) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&length.unwrap_or(8 + payload.len() as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

pub struct V4<'a> {
    pub src: &'a str,
    pub dst: &'a str,
    pub proto: u8,
    pub options: &'a [u8],
    pub total: Option<u16>,
    pub frag: u16,
    pub ihl: Option<u8>,
}

impl Default for V4<'_> {
    fn default() -> Self {
        V4 { src: "10.0.0.1", dst: "10.0.0.2", proto: 6, options: b"", total: None, frag: 0, ihl: None }
    }
}

pub fn ipv4_with(o: &V4, payload: &[u8]) -> Vec<u8> {
    let ihl = o.ihl.unwrap_or(5 + (o.options.len() / 4) as u8);
    let total = o.total.unwrap_or((20 + o.options.len() + payload.len()) as u16);
    let mut v = vec![0x40 | ihl, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&o.frag.to_be_bytes());
    v.push(64);
    v.push(o.proto);
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&ip4(o.src));
    v.extend_from_slice(&ip4(o.dst));
    v.extend_from_slice(o.options);
    v.extend_from_slice(payload);
    v
}

pub fn ipv4(payload: &[u8]) -> Vec<u8> {
    ipv4_with(&V4::default(), payload)
}

/// `ext`: (header type, header bytes after its next-header byte).
pub fn ipv6_with(src: &str, dst: &str, nh: u8, payload: &[u8], ext: &[(u8, Vec<u8>)], plen: Option<u16>) -> Vec<u8> {
    let mut types: Vec<u8> = ext.iter().map(|(t, _)| *t).collect();
    types.push(nh);
    let mut body = Vec::new();
    for (i, (_, data)) in ext.iter().enumerate() {
        body.push(types[i + 1]);
        body.extend_from_slice(data);
    }
    body.extend_from_slice(payload);
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&plen.unwrap_or(body.len() as u16).to_be_bytes());
    v.push(types[0]);
    v.push(64);
    v.extend_from_slice(&ip6(src));
    v.extend_from_slice(&ip6(dst));
    v.extend_from_slice(&body);
    v
}

pub fn ipv6(payload: &[u8]) -> Vec<u8> {
    ipv6_with("2001:db8::1", "2001:db8::2", 6, payload, &[], None)
}

pub fn ext_opts(units: u8) -> Vec<u8> {
    let size = (units as usize + 1) * 8;
    let mut v = vec![units, 1, (size - 4) as u8];
    v.extend(std::iter::repeat_n(0, size - 4));
    v
}

pub fn ext_fragment(offset: u16, more: bool) -> Vec<u8> {
    let mut v = vec![0];
    v.extend_from_slice(&((offset << 3) | more as u16).to_be_bytes());
    v.extend_from_slice(&7u32.to_be_bytes());
    v
}

pub fn ext_ah(units: u8) -> Vec<u8> {
    let size = (units as usize + 2) * 4;
    let mut v = vec![units];
    v.extend(std::iter::repeat_n(0, size - 2));
    v
}

/// `vlans`: (tpid, vid), outermost first.
pub fn ether_vlan(etype: u16, payload: &[u8], vlans: &[(u16, u16)]) -> Vec<u8> {
    let mut v = vec![2u8; 6];
    v.extend_from_slice(&[4u8; 6]);
    for (tpid, vid) in vlans {
        v.extend_from_slice(&tpid.to_be_bytes());
        v.extend_from_slice(&vid.to_be_bytes());
    }
    v.extend_from_slice(&etype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

pub fn ether(etype: u16, payload: &[u8]) -> Vec<u8> {
    ether_vlan(etype, payload, &[])
}

pub fn tcp_eth(payload: &[u8]) -> Vec<u8> {
    ether(0x0800, &ipv4(&tcp_payload(payload)))
}

pub fn tcp_eth_seq(payload: &[u8], seq: u32) -> Vec<u8> {
    ether(0x0800, &ipv4(&tcp(&Tcp { payload, seq, ..Default::default() })))
}

/// `exts`: (type, content) extension headers, content padded to 4n-2 bytes.
pub fn gtpu(inner: &[u8], seq: Option<u16>, exts: &[(u8, &[u8])], msg_type: u8) -> Vec<u8> {
    let mut flags = 0x30u8;
    let mut opt = Vec::new();
    if seq.is_some() || !exts.is_empty() {
        if seq.is_some() {
            flags |= 0x02;
        }
        if !exts.is_empty() {
            flags |= 0x04;
        }
        opt.extend_from_slice(&seq.unwrap_or(0).to_be_bytes());
        opt.push(0);
        opt.push(exts.first().map(|e| e.0).unwrap_or(0));
        for (i, (_, content)) in exts.iter().enumerate() {
            let nxt = exts.get(i + 1).map(|e| e.0).unwrap_or(0);
            let units = (content.len() + 2).div_ceil(4);
            let mut c = content.to_vec();
            c.resize(units * 4 - 2, 0);
            opt.push(units as u8);
            opt.extend_from_slice(&c);
            opt.push(nxt);
        }
    }
    let mut body = opt;
    body.extend_from_slice(inner);
    let mut v = vec![flags, msg_type];
    v.extend_from_slice(&(body.len() as u16).to_be_bytes());
    v.extend_from_slice(&0x1234u32.to_be_bytes());
    v.extend_from_slice(&body);
    v
}

pub fn sll(proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 1, 0, 6, 2, 2, 2, 2, 2, 2, 0, 0];
    v.extend_from_slice(&proto.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

pub fn sll2(proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = proto.to_be_bytes().to_vec();
    v.extend_from_slice(&[0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 2, 2, 2, 2, 2, 0, 0]);
    v.extend_from_slice(payload);
    v
}

// ------------------------------------------------------------------------------------------ files

fn put32(v: &mut Vec<u8>, x: u32, big: bool) {
    v.extend_from_slice(&if big { x.to_be_bytes() } else { x.to_le_bytes() });
}

fn put16(v: &mut Vec<u8>, x: u16, big: bool) {
    v.extend_from_slice(&if big { x.to_be_bytes() } else { x.to_le_bytes() });
}

pub struct PcapOpts {
    pub linktype: u32,
    pub big: bool,
    pub ns: bool,
    pub modified: bool,
}

impl Default for PcapOpts {
    fn default() -> Self {
        PcapOpts { linktype: 1, big: false, ns: false, modified: false }
    }
}

/// Records: (sec, frac, data, origlen).
pub fn pcap_with(o: &PcapOpts, packets: &[(u32, u32, Vec<u8>, Option<u32>)]) -> Vec<u8> {
    let magic: u32 = if o.modified { 0xA1B2CD34 } else if o.ns { 0xA1B23C4D } else { 0xA1B2C3D4 };
    let mut v = Vec::new();
    put32(&mut v, magic, o.big);
    put16(&mut v, 2, o.big);
    put16(&mut v, 4, o.big);
    put32(&mut v, 0, o.big);
    put32(&mut v, 0, o.big);
    put32(&mut v, 65535, o.big);
    put32(&mut v, o.linktype, o.big);
    for (sec, frac, data, orig) in packets {
        put32(&mut v, *sec, o.big);
        put32(&mut v, *frac, o.big);
        put32(&mut v, data.len() as u32, o.big);
        put32(&mut v, orig.unwrap_or(data.len() as u32), o.big);
        if o.modified {
            put32(&mut v, 1, o.big);
            put16(&mut v, 0x0800, o.big);
            v.extend_from_slice(&[0, 0]);
        }
        v.extend_from_slice(data);
    }
    v
}

pub fn pcap(packets: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let p: Vec<_> = packets.iter().map(|(a, b, c)| (*a, *b, c.clone(), None)).collect();
    pcap_with(&PcapOpts::default(), &p)
}

fn pad4(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
    v
}

pub fn block_with(btype: u32, body: &[u8], big: bool, trailer: Option<u32>) -> Vec<u8> {
    let body = pad4(body);
    let blen = 12 + body.len() as u32;
    let mut v = Vec::new();
    put32(&mut v, btype, big);
    put32(&mut v, blen, big);
    v.extend_from_slice(&body);
    put32(&mut v, trailer.unwrap_or(blen), big);
    v
}

pub fn block(btype: u32, body: &[u8]) -> Vec<u8> {
    block_with(btype, body, false, None)
}

pub fn shb(big: bool) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, 0x1A2B3C4D, big);
    put16(&mut body, 1, big);
    put16(&mut body, 0, big);
    body.extend_from_slice(&if big { (-1i64).to_be_bytes() } else { (-1i64).to_le_bytes() });
    block_with(0x0A0D0D0A, &body, big, None)
}

pub fn option(code: u16, value: &[u8], big: bool) -> Vec<u8> {
    let mut v = Vec::new();
    put16(&mut v, code, big);
    put16(&mut v, value.len() as u16, big);
    v.extend_from_slice(&pad4(value));
    v
}

pub fn idb(linktype: u16, tsresol: Option<u8>, tsoffset: Option<i64>, big: bool) -> Vec<u8> {
    let mut opts = Vec::new();
    if let Some(r) = tsresol {
        opts.extend(option(9, &[r], big));
    }
    if let Some(o) = tsoffset {
        opts.extend(option(14, &if big { o.to_be_bytes() } else { o.to_le_bytes() }, big));
    }
    if !opts.is_empty() {
        opts.extend_from_slice(&[0, 0, 0, 0]);
    }
    let mut body = Vec::new();
    put16(&mut body, linktype, big);
    put16(&mut body, 0, big);
    put32(&mut body, 0, big);
    body.extend(opts);
    block_with(1, &body, big, None)
}

pub fn epb_with(ifid: u32, ts: u64, data: &[u8], origlen: Option<u32>, big: bool) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, ifid, big);
    put32(&mut body, (ts >> 32) as u32, big);
    put32(&mut body, ts as u32, big);
    put32(&mut body, data.len() as u32, big);
    put32(&mut body, origlen.unwrap_or(data.len() as u32), big);
    body.extend_from_slice(data);
    block_with(6, &body, big, None)
}

pub fn epb(ifid: u32, ts: u64, data: &[u8]) -> Vec<u8> {
    epb_with(ifid, ts, data, None, false)
}

/// Obsolete packet block (type 2): 16-bit interface id and drops count, then as an EPB.
pub fn pb(ifid: u16, ts: u64, data: &[u8], big: bool) -> Vec<u8> {
    let mut body = Vec::new();
    put16(&mut body, ifid, big);
    put16(&mut body, 0, big);
    put32(&mut body, (ts >> 32) as u32, big);
    put32(&mut body, ts as u32, big);
    put32(&mut body, data.len() as u32, big);
    put32(&mut body, data.len() as u32, big);
    body.extend_from_slice(data);
    block_with(2, &body, big, None)
}

pub fn spb(data: &[u8], big: bool) -> Vec<u8> {
    let mut body = Vec::new();
    put32(&mut body, data.len() as u32, big);
    body.extend_from_slice(data);
    block_with(3, &body, big, None)
}

// ------------------------------------------------------------------------------------------ running

/// What a whole read gave: per packet (kind, frame, time bits, payload, missing, seq), and the totals.
#[derive(Debug, PartialEq, Clone)]
pub struct Read {
    pub packets: Vec<(char, u64, u64, Vec<u8>, u64, u32)>,
    /// Every field of every packet handed out, in order.
    pub segs: Vec<Seg>,
    pub error: Option<String>,
    pub format: String,
    pub count: u64,
    pub start: Option<u64>,
    pub warnings: Vec<String>,
    pub link_types: Vec<u32>,
}

impl Read {
    pub fn payloads(&self) -> Vec<Vec<u8>> {
        self.packets.iter().filter(|p| p.0 == 't').map(|p| p.3.clone()).collect()
    }

    pub fn frames(&self) -> Vec<u64> {
        self.packets.iter().filter(|p| p.0 == 't').map(|p| p.1).collect()
    }

    pub fn times(&self) -> Vec<f64> {
        self.packets.iter().filter(|p| p.0 == 't').map(|p| f64::from_bits(p.2)).collect()
    }
}

/// Feed `data` in pieces of the sizes `cuts` gives (cycled; 0 = all at once) and read everything.
pub fn read_chunked(data: &[u8], mut cut: impl FnMut() -> usize) -> Read {
    let mut parser = CaptureParser::new("c.pcap");
    let mut r = Read { packets: vec![], segs: vec![], error: None, format: String::new(), count: 0, start: None, warnings: vec![], link_types: vec![] };
    let mut fed = 0;
    loop {
        if fed < data.len() {
            let n = match cut() {
                0 => data.len() - fed,
                n => n.min(data.len() - fed),
            };
            parser.feed(&data[fed..fed + n]);
            fed += n;
        }
        if fed == data.len() {
            parser.end_of_input();
        }
        loop {
            match parser.next_packet() {
                Ok(Some(p)) => {
                    let seg = Seg::of(&p);
                    r.packets.push((if seg.udp { 'u' } else { 't' }, seg.frame, seg.time.to_bits(), seg.payload.clone(), seg.missing, seg.seq));
                    r.segs.push(seg);
                }
                Ok(None) => break,
                Err(CaptureError(e)) => {
                    r.error = Some(e);
                    break;
                }
            }
        }
        if parser.is_done() || r.error.is_some() {
            break;
        }
        assert!(fed < data.len(), "parser wants more after end of input");
    }
    r.format = parser.format().to_string();
    r.count = parser.packets();
    r.start = parser.start().map(f64::to_bits);
    r.warnings = parser.warnings().to_vec();
    r.link_types = parser.link_types().to_vec();
    r
}

pub fn read_all(data: &[u8]) -> Read {
    read_chunked(data, || 0)
}

/// Read `data` whole, one byte at a time, in 7-byte pieces and in pieces of varying sizes, check that all
/// four give exactly the same result (the project's rule for every decoder), and return it.
pub fn read_checked(data: &[u8]) -> Read {
    let whole = read_all(data);
    let bytewise = read_chunked(data, || 1);
    assert_eq!(whole, bytewise, "fed one byte at a time, the result differs");
    let sevens = read_chunked(data, || 7);
    assert_eq!(whole, sevens, "fed 7 bytes at a time, the result differs");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ data.len() as u64);
    let random = read_chunked(data, move || 1 + rng.below(300) as usize);
    assert_eq!(whole, random, "fed in random pieces, the result differs");
    whole
}

/// The one-line error for input unusable from the start (checked whole and one byte at a time).
pub fn read_error(data: &[u8]) -> String {
    let r = read_checked(data);
    assert!(r.packets.is_empty());
    r.error.expect("expected a CaptureError")
}

/// One packet as the parser handed it out, owned.
#[derive(Debug, PartialEq, Clone)]
pub struct Seg {
    pub udp: bool,
    pub frame: u64,
    pub time: f64,
    pub src: Address,
    pub sport: u16,
    pub dst: Address,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub payload: Vec<u8>,
    pub missing: u64,
}

impl Seg {
    pub fn of(p: &Packet<'_>) -> Seg {
        match p {
            Packet::Tcp(s) => Seg {
                udp: false,
                frame: s.frame,
                time: s.time,
                src: s.src,
                sport: s.sport,
                dst: s.dst,
                dport: s.dport,
                seq: s.seq,
                ack: s.ack,
                flags: s.flags,
                window: s.window,
                payload: s.payload.to_vec(),
                missing: s.missing,
            },
            Packet::Udp(u) => Seg {
                udp: true,
                frame: u.frame,
                time: u.time,
                src: u.src,
                sport: u.sport,
                dst: u.dst,
                dport: u.dport,
                seq: 0,
                ack: 0,
                flags: 0,
                window: 0,
                payload: u.payload.to_vec(),
                missing: 0,
            },
        }
    }
}

/// Decode one packet of `link_type` both with `decode_packet` and as the only record of a pcap file (read
/// whole and one byte at a time); both must agree. None: not TCP / non-GTP UDP.
pub fn decode(link_type: u32, frame: &[u8]) -> Option<Seg> {
    let direct = decode_packet(link_type, frame, 1, 5.0).map(|p| Seg::of(&p));
    let file = pcap_with(&PcapOpts { linktype: link_type, ..Default::default() }, &[(5, 0, frame.to_vec(), None)]);
    let r = read_checked(&file);
    assert_eq!(r.count, 1);
    assert!(r.segs.len() <= 1);
    assert_eq!(r.segs.first(), direct.as_ref(), "decode_packet and the parser disagree");
    direct
}

/// The TCP payload of a decoded packet (panics if it is not TCP).
pub fn tcp_of(link_type: u32, frame: &[u8]) -> Vec<u8> {
    let s = decode(link_type, frame).expect("expected a TCP segment");
    assert!(!s.udp);
    s.payload
}

pub fn v4a(s: &str) -> Address {
    Address::V4(ip4(s))
}

pub fn v6a(s: &str) -> Address {
    Address::V6(ip6(s))
}

/// A small deterministic generator (xorshift) for the randomised tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

// ------------------------------------------------------------------------------------------ flows

pub const MASK: i64 = 0xFFFF_FFFF;

/// The f64 nearest 1700000000.123456789 (Python prints it as 1700000000.1234567): a nanosecond
/// timestamp divided once, as CPython's int / int.
pub const NS_TIME: f64 = 1_700_000_000.123_456_7;

/// A TCP segment with its payload owned (the table borrows it as a `TcpSegment`).
#[derive(Clone, Debug)]
pub struct OwnedSeg {
    pub frame: u64,
    pub time: f64,
    pub src: Address,
    pub sport: u16,
    pub dst: Address,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub payload: Vec<u8>,
    pub missing: u64,
    pub checksum: u8,
    pub ip_checksum: u8,
}

impl OwnedSeg {
    pub fn view(&self) -> TcpSegment<'_> {
        TcpSegment {
            frame: self.frame,
            time: self.time,
            src: self.src,
            sport: self.sport,
            dst: self.dst,
            dport: self.dport,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            payload: &self.payload,
            missing: self.missing,
            checksum: self.checksum,
            ip_checksum: self.ip_checksum,
        }
    }

    /// As captured with only `keep` payload bytes (snap length): the rest is `missing`.
    pub fn cut(mut self, keep: usize) -> OwnedSeg {
        self.missing += (self.payload.len() - keep) as u64;
        self.payload.truncate(keep);
        self
    }
}

/// The segments of one connection (the Python tests' `Cap`): `seg(d, rel, ...)` is sent in direction d
/// with sequence number ISN + 1 + rel; `ack` is relative to the peer's ISN + 1, sent only with ACK set.
pub struct Cap {
    pub isn: [u32; 2],
    pub ends: [(Address, u16); 2],
    pub frame: u64,
}

pub const C_ADDR: &str = "10.0.0.1";
pub const S_ADDR: &str = "10.0.0.2";

impl Default for Cap {
    fn default() -> Self {
        Cap::new([1000, 5000])
    }
}

impl Cap {
    pub fn new(isn: [u32; 2]) -> Cap {
        Cap { isn, ends: [(v4a(C_ADDR), 40000), (v4a(S_ADDR), 1935)], frame: 0 }
    }

    pub fn time_of(frame: u64) -> f64 {
        1000.0 + frame as f64 / 1000.0
    }

    pub fn seg_full(&mut self, d: usize, rel: i64, data: &[u8], flags: u8, ack: i64, window: u16) -> OwnedSeg {
        self.frame += 1;
        let (src, dst) = (self.ends[d], self.ends[1 - d]);
        let seq = ((self.isn[d] as i64 + 1 + rel) & MASK) as u32;
        let acknum = if flags & rtmp_inspect_capture::ACK != 0 { ((self.isn[1 - d] as i64 + 1 + ack) & MASK) as u32 } else { 0 };
        OwnedSeg {
            frame: self.frame,
            time: Cap::time_of(self.frame),
            src: src.0,
            sport: src.1,
            dst: dst.0,
            dport: dst.1,
            seq,
            ack: acknum,
            flags,
            window,
            payload: data.to_vec(),
            missing: 0,
            checksum: 0,
            ip_checksum: 0,
        }
    }

    pub fn seg(&mut self, d: usize, rel: i64, data: &[u8], flags: u8) -> OwnedSeg {
        self.seg_full(d, rel, data, flags, 0, 65535)
    }

    pub fn ack(&mut self, d: usize, rel: i64, flags: u8, ack: i64) -> OwnedSeg {
        self.seg_full(d, rel, b"", flags, ack, 65535)
    }

    pub fn handshake(&mut self) -> Vec<OwnedSeg> {
        use rtmp_inspect_capture::{ACK, SYN};
        vec![self.seg(0, -1, b"", SYN), self.seg(1, -1, b"", SYN | ACK), self.seg(0, 0, b"", ACK)]
    }
}

/// A flow event, owned and without its time (times are checked separately where they matter).
#[derive(Clone, PartialEq, Debug)]
pub enum Ev {
    Started(u64),
    Data { flow: u64, dir: u8, frame: u64, offset: u64, data: Vec<u8> },
    Gap { flow: u64, dir: u8, frame: u64, offset: u64, size: u64 },
    Mismatch { flow: u64, dir: u8, frame: u64, offset: u64, size: u64 },
    Ended { flow: u64, frame: u64, reason: EndReason },
}

pub fn data(flow: u64, dir: u8, frame: u64, offset: u64, bytes: &[u8]) -> Ev {
    Ev::Data { flow, dir, frame, offset, data: bytes.to_vec() }
}

pub fn gap(flow: u64, dir: u8, frame: u64, offset: u64, size: u64) -> Ev {
    Ev::Gap { flow, dir, frame, offset, size }
}

pub fn mismatch(flow: u64, dir: u8, frame: u64, offset: u64, size: u64) -> Ev {
    Ev::Mismatch { flow, dir, frame, offset, size }
}

pub fn ended(flow: u64, frame: u64, reason: EndReason) -> Ev {
    Ev::Ended { flow, frame, reason }
}

/// A flow table and what it said: owned events, and the summary carried by every `Ended`.
pub struct Runner {
    pub table: FlowTable,
    pub summaries: Vec<FlowSummary>,
    /// (frame, time) of every Data / Gap / Ended event, to check times against their segment.
    pub times: Vec<(u64, f64)>,
    /// How many Data events borrowed the segment's payload (the in-order path copies nothing).
    pub borrowed: usize,
}

impl Default for Runner {
    fn default() -> Self {
        Runner::new(FlowTable::new())
    }
}

impl Runner {
    pub fn new(table: FlowTable) -> Runner {
        Runner { table, summaries: vec![], times: vec![], borrowed: 0 }
    }

    fn own(&mut self, events: Vec<FlowEvent<'_>>) -> Vec<Ev> {
        events
            .into_iter()
            .map(|e| match e {
                FlowEvent::Started { flow } => Ev::Started(flow),
                FlowEvent::Data { flow, direction, frame, time, data, offset } => {
                    assert!(!data.is_empty(), "empty Data event");
                    if matches!(data, Cow::Borrowed(_)) {
                        self.borrowed += 1;
                    }
                    self.times.push((frame, time));
                    Ev::Data { flow, dir: direction, frame, offset, data: data.into_owned() }
                }
                FlowEvent::Gap { flow, direction, frame, time, offset, size } => {
                    assert!(size > 0, "empty Gap event");
                    self.times.push((frame, time));
                    Ev::Gap { flow, dir: direction, frame, offset, size }
                }
                FlowEvent::Mismatch { flow, direction, frame, offset, size } => Ev::Mismatch { flow, dir: direction, frame, offset, size },
                FlowEvent::Ended { flow, frame, time, reason, summary } => {
                    assert_eq!(summary.id, flow);
                    assert_eq!(summary.end_reason, Some(reason));
                    self.times.push((frame, time));
                    self.summaries.push(*summary);
                    Ev::Ended { flow, frame, reason }
                }
            })
            .collect()
    }

    pub fn add(&mut self, seg: &OwnedSeg) -> Vec<Ev> {
        let mut out = Vec::new();
        self.table.add(&seg.view(), &mut out);
        self.own(out)
    }

    pub fn flush(&mut self) -> Vec<Ev> {
        let mut out = Vec::new();
        self.table.flush(&mut out);
        self.own(out)
    }

    /// Events of each segment, in order.
    pub fn each(&mut self, segs: &[OwnedSeg]) -> Vec<Vec<Ev>> {
        segs.iter().map(|s| self.add(s)).collect()
    }

    /// All events of the segments, then of the flush.
    pub fn run(&mut self, segs: &[OwnedSeg]) -> Vec<Ev> {
        let mut all: Vec<Ev> = self.each(segs).into_iter().flatten().collect();
        all.extend(self.flush());
        all
    }

    /// The summary of flow `id` when it ended (the last one, if several).
    pub fn summary(&self, id: u64) -> &FlowSummary {
        self.summaries.iter().rev().find(|s| s.id == id).expect("flow never ended")
    }
}

/// Events of the segments with a default table, flushed.
pub fn run(segs: &[OwnedSeg]) -> (Vec<Ev>, Runner) {
    let mut r = Runner::default();
    let events = r.run(segs);
    (events, r)
}

/// One direction's stream: ("data", offset, bytes) / ("gap", offset, size as bytes.len() == 0), with
/// adjacent data merged; each event must start where the previous one ended.
#[derive(Clone, PartialEq, Debug)]
pub enum Piece {
    Data(u64, Vec<u8>),
    Gap(u64, u64),
}

pub fn layout(events: &[Ev], flow: u64, dir: u8) -> Vec<Piece> {
    let mut items: Vec<Piece> = Vec::new();
    let mut expect = 0u64;
    for e in events {
        match e {
            Ev::Data { flow: f, dir: d, offset, data, .. } if *f == flow && *d == dir => {
                assert_eq!(*offset, expect, "data not contiguous: {e:?}");
                expect += data.len() as u64;
                match items.last_mut() {
                    Some(Piece::Data(_, held)) => held.extend_from_slice(data),
                    _ => items.push(Piece::Data(*offset, data.clone())),
                }
            }
            Ev::Gap { flow: f, dir: d, offset, size, .. } if *f == flow && *d == dir => {
                assert_eq!(*offset, expect, "gap not contiguous: {e:?}");
                expect += size;
                items.push(Piece::Gap(*offset, *size));
            }
            _ => {}
        }
    }
    items
}

pub fn count(events: &[Ev], pred: impl Fn(&Ev) -> bool) -> usize {
    events.iter().filter(|e| pred(e)).count()
}

pub fn is_gap(e: &Ev) -> bool {
    matches!(e, Ev::Gap { .. })
}

pub fn is_mismatch(e: &Ev) -> bool {
    matches!(e, Ev::Mismatch { .. })
}

pub fn is_started(e: &Ev) -> bool {
    matches!(e, Ev::Started(_))
}

/// Deterministic pseudo-random bytes (stand-in for Python's `pattern`; only equality matters).
pub fn pattern(n: usize, seed: u64) -> Vec<u8> {
    Rng(0x2545_F491_4F6C_DD1D ^ (seed.wrapping_mul(0x9E37_79B9) + 1)).bytes(n)
}
