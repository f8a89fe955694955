//! pcapng files: sections in either byte order, interfaces with their own link type, resolution and
//! offset, the three packet blocks (EPB, SPB, obsolete PB), blocks we skip, and damage. Expected values
//! are the Python reference's (tests/test_capture.py, or the reader run on the same bytes). Every input is
//! read through `read_checked`: whole, one byte at a time and in other pieces, with identical results.

mod common;

use common::*;
use rtmp_inspect_capture::CaptureParser;

fn le(x: u32) -> [u8; 4] {
    x.to_le_bytes()
}

/// An EPB body by hand (interface, timestamp high/low, caplen, origlen) followed by `data`.
fn epb_raw(fields: [u32; 5], data: &[u8]) -> Vec<u8> {
    let mut body: Vec<u8> = fields.iter().flat_map(|f| le(*f)).collect();
    body.extend_from_slice(data);
    block(6, &body)
}

fn good() -> Vec<u8> {
    [shb(false), idb(1, None, None, false), epb(0, 0, &tcp_eth(b"a"))].concat()
}

/// The one warning of `good()` followed by `tail`, and that packet 1 survived.
fn warning_after_good(tail: &[u8]) -> String {
    let r = read_checked(&[good(), tail.to_vec()].concat());
    assert_eq!(r.error, None);
    assert_eq!(r.payloads(), vec![b"a".to_vec()]);
    assert_eq!(r.count, 1);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    r.warnings[0].clone()
}

#[test]
fn several_interfaces_with_their_own_link_type_and_resolution() {
    let t: u64 = 1700000000;
    let data = [
        shb(false),
        idb(1, None, None, false),        // Ethernet, default microseconds
        idb(101, Some(9), None, false),   // raw IP, nanoseconds
        idb(113, Some(0x94), None, false), // Linux SLL, 2^-20 s
        idb(147, None, None, false),      // unsupported
        epb(0, t * 1_000_000 + 250_000, &tcp_eth(b"eth")),
        epb(1, t * 1_000_000_000 + 123_456_789, &ipv6(&tcp_payload(b"raw6"))),
        epb(2, (t << 20) + (1 << 19), &sll(0x0800, &ipv4(&tcp_payload(b"sll")))),
        epb(3, t * 1_000_000, &tcp_eth(b"dlt147")),
        epb(0, (t + 1) * 1_000_000, &tcp_eth(b"eth again")),
    ]
    .concat();
    let r = read_checked(&data);
    assert_eq!(r.format, "pcapng");
    assert_eq!(r.link_types, vec![1, 101, 113, 147]);
    assert_eq!(r.frames(), vec![1, 2, 3, 5]);
    assert_eq!(r.payloads(), vec![b"eth".to_vec(), b"raw6".to_vec(), b"sll".to_vec(), b"eth again".to_vec()]);
    assert_eq!(r.times(), vec![1700000000.25, NS_TIME, 1700000000.5, 1700000001.0]);
    assert_eq!(r.start, Some(1700000000.25f64.to_bits()));
    assert_eq!(r.count, 5);
    assert_eq!(r.warnings, vec!["link type 147 (interface 3) is not supported: its packets are skipped"]);
    assert_eq!(r.segs[1].src, v6a("2001:db8::1"));
}

#[test]
fn tsoffset_is_added_in_seconds() {
    let r = read_checked(&[shb(false), idb(1, None, Some(1000), false), epb(0, 5_000_000, &tcp_eth(b"x"))].concat());
    assert_eq!(r.times(), vec![1005.0]);
    let r = read_checked(&[shb(false), idb(1, None, Some(-1000), false), epb(0, 5_000_000, &tcp_eth(b"x"))].concat());
    assert_eq!(r.times(), vec![-995.0]);
}

#[test]
fn extreme_resolutions() {
    // 2^-127, 10^-30 and 10^-40: the decimal exponent is capped at 30 (the Python reference gives 1e-11
    // for 10**19 ticks at both 30 and 40)
    let data = [
        shb(false),
        idb(1, Some(0x7F), None, false),
        idb(1, Some(30), None, false),
        idb(1, Some(40), None, false),
        epb(0, 1 << 63, &tcp_eth(b"a")),
        epb(1, 10u64.pow(19), &tcp_eth(b"b")),
        epb(2, 10u64.pow(19), &tcp_eth(b"c")),
    ]
    .concat();
    let r = read_checked(&data);
    assert_eq!(r.times(), vec![9.223372036854777e-12, 1e-11, 1e-11]);
    // if_tsresol 0: whole seconds
    let r = read_checked(&[shb(false), idb(1, Some(0), None, false), epb(0, 7, &tcp_eth(b"a"))].concat());
    assert_eq!(r.times(), vec![7.0]);
}

#[test]
fn interface_options_are_walked_and_bounded() {
    let head = [1u8, 0, 0, 0, 0, 0, 0, 0]; // link type 1, reserved, snaplen 0
    // if_name, then if_tsresol 3 (milliseconds), then opt_endofopt
    let mut body = head.to_vec();
    body.extend(option(2, b"eth0", false));
    body.extend(option(9, &[3], false));
    body.extend_from_slice(&[0; 4]);
    let r = read_checked(&[shb(false), block(1, &body), epb(0, 5, &tcp_eth(b"o"))].concat());
    assert_eq!(r.times(), vec![0.005]);
    // an option after opt_endofopt is not read
    let mut body = head.to_vec();
    body.extend(option(2, b"eth0", false));
    body.extend_from_slice(&[0; 4]);
    body.extend(option(9, &[9], false));
    let r = read_checked(&[shb(false), block(1, &body), epb(0, 5, &tcp_eth(b"o"))].concat());
    assert_eq!(r.times(), vec![0.000005]);
    // an option claiming more bytes than the block holds ends the walk (microseconds stay)
    let mut body = head.to_vec();
    body.extend_from_slice(&[9, 0, 200, 0, 6, 0, 0, 0]);
    let r = read_checked(&[shb(false), block(1, &body), epb(0, 5, &tcp_eth(b"o"))].concat());
    assert_eq!(r.times(), vec![0.000005]);
    assert!(r.warnings.is_empty());
}

#[test]
fn big_endian_section_with_epb_and_spb() {
    let data = [
        shb(true),
        idb(1, None, None, true),
        epb_with(0, 1_000_000, &tcp_eth(b"be"), None, true),
        spb(&tcp_eth(b"simple"), true),
    ]
    .concat();
    let r = read_checked(&data);
    assert_eq!(r.frames(), vec![1, 2]);
    assert_eq!(r.payloads(), vec![b"be".to_vec(), b"simple".to_vec()]);
    // a simple packet block has no timestamp: the last one is reused
    assert_eq!(r.times(), vec![1.0, 1.0]);
    assert!(r.warnings.is_empty());
}

#[test]
fn simple_packet_blocks() {
    // first packet of the file: time 0.0, which is also the start
    let r = read_checked(&[shb(false), idb(1, None, None, false), spb(&tcp_eth(b"abcdef"), false)].concat());
    assert_eq!((r.payloads(), r.times(), r.start), (vec![b"abcdef".to_vec()], vec![0.0], Some(0.0f64.to_bits())));
    // without an interface: skipped with a warning, and counted (no start from a skipped first packet)
    let data = [shb(false), spb(&tcp_eth(b"a"), false), spb(&tcp_eth(b"b"), false), idb(1, None, None, false), spb(&tcp_eth(b"c"), false)]
        .concat();
    let r = read_checked(&data);
    assert_eq!((r.frames(), r.count, r.start), (vec![3], 3, None));
    assert_eq!(r.warnings, vec!["packet 1 refers to interface 0, which the capture does not describe: such packets are skipped"]);
    // an original length beyond the block: the block's bytes are the packet (padding cut by the IP length)
    let mut body = le(1000).to_vec();
    body.extend(tcp_eth(b"pad"));
    let r = read_checked(&[shb(false), idb(1, None, None, false), epb(0, 3_000_000, &tcp_eth(b"t")), block(3, &body)].concat());
    assert_eq!(r.payloads(), vec![b"t".to_vec(), b"pad".to_vec()]);
    assert_eq!(r.times(), vec![3.0, 3.0]);
    assert_eq!(r.segs[1].missing, 0);
}

#[test]
fn obsolete_packet_block_both_orders() {
    let r = read_checked(&[shb(false), idb(1, None, None, false), pb(0, 2_000_000, &tcp_eth(b"old!"), false)].concat());
    assert_eq!((r.payloads(), r.times()), (vec![b"old!".to_vec()], vec![2.0]));
    // interface id 1 in its 16 bits (the drops count is the other 16), in both byte orders
    for big in [false, true] {
        let data = [shb(big), idb(147, None, None, big), idb(1, None, None, big), pb(1, 3_000_000, &tcp_eth(b"old!"), big)].concat();
        let r = read_checked(&data);
        assert_eq!((r.payloads(), r.times()), (vec![b"old!".to_vec()], vec![3.0]));
        assert_eq!(r.link_types, vec![147, 1]);
        assert_eq!(r.warnings, vec!["link type 147 (interface 0) is not supported: its packets are skipped"]);
    }
    // a non-zero drops count does not change the interface
    let mut body = vec![1, 0, 9, 0];
    for x in [0u32, 3_000_000, 58, 58] {
        body.extend(le(x));
    }
    body.extend(tcp_eth(b"old!"));
    let r = read_checked(&[shb(false), idb(147, None, None, false), idb(1, None, None, false), block(2, &body)].concat());
    assert_eq!(r.payloads(), vec![b"old!".to_vec()]);
}

#[test]
fn unknown_blocks_are_skipped() {
    let mut nrb = vec![1, 0, 8, 0];
    nrb.extend(ip4("1.2.3.4"));
    nrb.extend_from_slice(b"host\0\0\0\0");
    let isb = block(5, &[0; 12]);
    let mut custom = le(32473).to_vec();
    custom.extend(vec![b'x'; 3001]);
    let mut dsb = le(0x544C534B).to_vec();
    dsb.extend(le(4));
    dsb.extend_from_slice(b"keys");
    let data = [
        shb(false),
        block(4, &nrb),
        idb(1, None, None, false),
        block(0xBAD, &custom),
        epb(0, 0, &tcp_eth(b"a")),
        isb,
        block(10, &dsb),
        block(0xBAD, b""), // the smallest block
        epb(0, 0, &tcp_eth(b"b")),
    ]
    .concat();
    let r = read_checked(&data);
    assert_eq!(r.frames(), vec![1, 2]);
    assert_eq!(r.payloads(), vec![b"a".to_vec(), b"b".to_vec()]);
    assert!(r.warnings.is_empty());
}

#[test]
fn large_unknown_block_is_streamed_past_not_held() {
    let mut custom = le(32473).to_vec();
    custom.extend(vec![b'x'; 100_000]);
    let data = [shb(false), idb(1, None, None, false), block(0xBAD, &custom), epb(0, 0, &tcp_eth(b"after"))].concat();
    let mut p = CaptureParser::new("big.pcapng");
    let mut most = 0;
    let mut got = vec![];
    for chunk in data.chunks(4096) {
        p.feed(chunk);
        most = most.max(p.buffered());
        while let Some(pk) = p.next_packet().unwrap() {
            got.push(Seg::of(&pk).payload);
        }
        most = most.max(p.buffered());
    }
    p.end_of_input();
    while let Some(pk) = p.next_packet().unwrap() {
        got.push(Seg::of(&pk).payload);
    }
    assert_eq!(got, vec![b"after".to_vec()]);
    assert!(p.warnings().is_empty());
    assert!(most <= 4096, "held {most} bytes");
    assert_eq!(read_checked(&data).payloads(), vec![b"after".to_vec()]);
}

#[test]
fn several_sections_in_both_byte_orders() {
    let data = [
        shb(false),
        idb(1, None, None, false),
        epb(0, 1_000_000, &tcp_eth(b"s1")),
        shb(true),
        idb(101, Some(3), None, true),
        epb_with(0, 2500, &ipv4(&tcp_payload(b"s2")), None, true),
        shb(false),
        idb(0, None, None, false),
        idb(1, None, None, false),
        epb(1, 3_000_000, &tcp_eth(b"s3")),
    ]
    .concat();
    let r = read_checked(&data);
    assert_eq!(r.frames(), vec![1, 2, 3]);
    assert_eq!(r.payloads(), vec![b"s1".to_vec(), b"s2".to_vec(), b"s3".to_vec()]);
    assert_eq!(r.times(), vec![1.0, 2.5, 3.0]);
    assert_eq!(r.link_types, vec![1, 101, 0, 1]);
    assert!(r.warnings.is_empty());
}

#[test]
fn interfaces_of_a_previous_section_are_gone() {
    let i = || idb(1, None, None, false);
    let data = [shb(false), i(), i(), shb(false), i(), epb(1, 0, &tcp_eth(b"x")), epb(0, 0, &tcp_eth(b"y")), epb(1, 0, &tcp_eth(b"z"))].concat();
    let r = read_checked(&data);
    assert_eq!((r.frames(), r.payloads()), (vec![2], vec![b"y".to_vec()]));
    assert_eq!(r.count, 3);
    // warned once per interface id
    assert_eq!(r.warnings, vec!["packet 1 refers to interface 1, which the capture does not describe: such packets are skipped"]);
    assert_eq!(r.start, None); // packet 1 was skipped
}

#[test]
fn snaplen_in_an_epb() {
    let full = tcp_eth(&[b'Z'; 400]);
    let r = read_checked(&[shb(false), idb(1, None, None, false), epb_with(0, 0, &full[..80], Some(full.len() as u32), false)].concat());
    assert_eq!(r.segs[0].payload, vec![b'Z'; 26]);
    assert_eq!(r.segs[0].missing, 374);
}

// ------------------------------------------------------------------------------------------ damage

#[test]
fn truncated_in_a_packet_block() {
    let data = [good(), epb(0, 0, &tcp_eth(b"b"))].concat();
    let r = read_checked(&data[..data.len() - 7]);
    assert_eq!(r.payloads(), vec![b"a".to_vec()]);
    assert_eq!(r.warnings, vec!["capture truncated in the middle of packet 2: decoded the 1 packet before it"]);
    // cut after 10 bytes of the block (its type is known): still "packet 2"
    assert_eq!(warning_after_good(&epb(0, 0, &tcp_eth(b"b"))[..10]), "capture truncated in the middle of packet 2: decoded the 1 packet before it");
    // cut after 6 bytes (fewer than type + length): a block
    let block_cut = "capture truncated in the middle of a pcapng block after packet 1: decoded the 1 packet before it";
    assert_eq!(warning_after_good(&epb(0, 0, &tcp_eth(b"b"))[..6]), block_cut);
    for n in [6, 10, 15] {
        assert_eq!(warning_after_good(&idb(1, None, None, false)[..n]), block_cut);
    }
    assert_eq!(warning_after_good(&block(0xBAD, &[b'x'; 100])[..50]), block_cut);
    // a later section header cut short
    assert_eq!(warning_after_good(&shb(true)[..20]), block_cut);
    assert_eq!(warning_after_good(&shb(true)[..10]), block_cut);
}

#[test]
fn truncated_at_every_offset() {
    let blocks = [
        shb(false),
        idb(1, None, None, false),
        block(0xBAD, &[b'c'; 30]),
        epb(0, 1, &tcp_eth(b"a")),
        idb(101, Some(9), None, false),
        epb(1, 2, &ipv4(&tcp_payload(b"b"))),
        spb(&tcp_eth(b"c"), false),
        shb(true),
        idb(1, None, None, true),
        epb_with(0, 3, &tcp_eth(b"d"), None, true),
        pb(0, 4, &tcp_eth(b"e"), true),
    ];
    let data = blocks.concat();
    let mut ends = vec![];
    let mut pos = 0;
    for b in &blocks {
        pos += b.len();
        ends.push(pos);
    }
    let full = read_checked(&data);
    assert_eq!(full.payloads(), vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"d".to_vec(), b"e".to_vec()]);
    for cut in blocks[0].len()..data.len() {
        let r = read_checked(&data[..cut]);
        assert_eq!(r.error, None, "cut {cut}");
        assert_eq!(r.packets[..], full.packets[..r.packets.len()], "cut {cut}");
        assert_eq!(r.warnings.is_empty(), ends.contains(&cut), "cut {cut}: {:?}", r.warnings);
        assert!(r.warnings.len() <= 1);
        assert!(r.warnings.iter().all(|w| w.starts_with("capture truncated in the middle of")));
    }
}

#[test]
fn impossible_block_lengths() {
    let tail = |btype: u32, blen: u32| {
        let mut t = le(btype).to_vec();
        t.extend(le(blen));
        t.extend([0u8; 64]);
        warning_after_good(&t)
    };
    // too big, not a multiple of 4, below the 12-byte minimum, below an EPB's 32, zero; SPB's 16, IDB's 20
    for (btype, blen) in [(6, 0xFFFF_FFF0), (6, 13), (6, 8), (6, 28), (6, 0), (3, 12), (1, 16), (0xBAD, 0x0100_0004)] {
        assert_eq!(
            tail(btype, blen),
            format!("pcapng block after packet 1 has an impossible length {blen}: the capture is corrupt from there; decoded the 1 packet before it")
        );
    }
}

#[test]
fn trailing_length_fields_that_differ() {
    let corrupt = "pcapng block after packet 1 is corrupt (its length fields differ): the capture is corrupt from there; decoded the 1 packet before it";
    let mut body: Vec<u8> = [0u32, 0, 0, 4, 4].iter().flat_map(|x| le(*x)).collect();
    body.extend_from_slice(b"abcd");
    assert_eq!(warning_after_good(&block_with(6, &body, false, Some(999))), corrupt);
    // in a skipped block too (checked after streaming past its body)
    assert_eq!(warning_after_good(&block_with(0xBAD, &[b'x'; 10], false, Some(7))), corrupt);
    // a big-endian section header whose trailer differs
    let mut shb_body = 0x1A2B3C4Du32.to_be_bytes().to_vec();
    shb_body.extend_from_slice(&[0, 1, 0, 0]);
    shb_body.extend_from_slice(&(-1i64).to_be_bytes());
    assert_eq!(warning_after_good(&block_with(0x0A0D0D0A, &shb_body, true, Some(5))), corrupt);
}

#[test]
fn captured_length_larger_than_its_block() {
    for caplen in [5000, 262145] {
        let data = [shb(false), idb(1, None, None, false), epb_raw([0, 0, 0, caplen, 5000], b"abcd")].concat();
        let r = read_checked(&data);
        assert!(r.packets.is_empty());
        assert_eq!(r.count, 0);
        assert_eq!(
            r.warnings,
            vec![format!("packet 1 claims {caplen} captured bytes in a 36-byte block: the capture is corrupt from there; decoded the 0 packets before it")]
        );
    }
}

#[test]
fn epb_for_an_unknown_interface() {
    let data = [shb(false), idb(1, None, None, false), epb(5, 0, &tcp_eth(b"a")), epb(5, 0, &tcp_eth(b"b")), epb(0, 0, &tcp_eth(b"c"))].concat();
    let r = read_checked(&data);
    assert_eq!((r.frames(), r.count, r.start), (vec![3], 3, None));
    assert_eq!(r.warnings, vec!["packet 1 refers to interface 5, which the capture does not describe: such packets are skipped"]);
}

#[test]
fn bad_later_section_headers() {
    let mut bad_bom = shb(false);
    bad_bom[8..12].copy_from_slice(&[0; 4]);
    assert_eq!(
        warning_after_good(&bad_bom),
        "pcapng section header has an invalid byte-order magic after packet 1: the capture is corrupt from there; decoded the 1 packet before it"
    );
    let mut short = shb(false);
    short[4..8].copy_from_slice(&le(27));
    assert_eq!(
        warning_after_good(&short),
        "pcapng section header block has an impossible length 27 after packet 1: the capture is corrupt from there; decoded the 1 packet before it"
    );
}

#[test]
fn bad_first_section_header_is_an_error() {
    let mut bad_bom = shb(false);
    bad_bom[8..12].copy_from_slice(&[0; 4]);
    assert_eq!(read_error(&bad_bom), "c.pcap: pcapng section header has an invalid byte-order magic");
    for n in [8, 11, 20] {
        assert_eq!(read_error(&shb(false)[..n]), "c.pcap: pcapng section header block is truncated");
    }
    for blen in [27u32, 0x7FFF_FFF0] {
        let mut s = shb(false);
        s[4..8].copy_from_slice(&le(blen));
        assert_eq!(read_error(&s), format!("c.pcap: pcapng section header block has an impossible length {blen}"));
    }
    let mut body = le(0x1A2B3C4D).to_vec();
    body.extend_from_slice(&[1, 0, 0, 0]);
    body.extend_from_slice(&(-1i64).to_le_bytes());
    assert_eq!(read_error(&block_with(0x0A0D0D0A, &body, false, Some(5))), "c.pcap: pcapng section header block is corrupt (length fields differ)");
}

#[test]
fn section_header_only() {
    let r = read_checked(&shb(true));
    assert_eq!((r.error, r.format.as_str(), r.count, r.start), (None, "pcapng", 0, None));
    assert!(r.link_types.is_empty() && r.warnings.is_empty());
}

#[test]
fn random_corruption_never_panics() {
    let mut rng = Rng(4321);
    let mut base = [shb(false), idb(1, None, None, false), idb(101, Some(9), None, false)].concat();
    for i in 0..15u64 {
        base.extend(epb((i % 2) as u32, i, &tcp_eth_seq(b"payload", i as u32)));
        if i % 5 == 0 {
            base.extend(spb(&tcp_eth(b"spb"), false));
            base.extend(block(0xBAD, &[7; 9]));
        }
    }
    for i in 0..300 {
        let mut buf = base.clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(buf.len() as u64) as usize;
            buf[at] = rng.next() as u8;
        }
        if rng.below(4) == 0 {
            let keep = rng.below(buf.len() as u64) as usize;
            buf.truncate(keep);
        }
        let r = read_checked(&buf);
        if r.error.is_none() {
            assert!(r.packets.len() as u64 <= r.count, "mutation {i}");
        }
    }
}
