//! Classic pcap files: byte orders, timestamp units, the modified format, snap lengths, damage and input
//! that is no capture at all. Expected values are those of the Python reference (tests/test_capture.py,
//! or `rtmp_inspect.capture.reader` run on the same bytes). Every input is read through `read_checked`,
//! which also feeds it one byte at a time (and in other pieces) and requires the same result.

mod common;

use common::*;

/// Frame 1 TCP, 2 UDP (handed out as a datagram), 3 ARP, 4 TCP over IPv6, 5 TCP.
fn sample_packets() -> Vec<(u32, u32, Vec<u8>, Option<u32>)> {
    vec![
        (1700000000, 1, tcp_eth_seq(b"one", 1), None),
        (1700000000, 2, ether(0x0800, &ipv4_with(&V4 { proto: 17, ..Default::default() }, &udp(53, 53, b"q", None))), None),
        (1700000001, 3, ether(0x0806, &[0; 28]), None),
        (1700000002, 999999, ether(0x86DD, &ipv6(&tcp(&Tcp { payload: b"four", seq: 4, ..Default::default() }))), None),
        (1700000003, 0, tcp_eth_seq(b"five", 5), None),
    ]
}

fn sample(o: &PcapOpts) -> Vec<u8> {
    pcap_with(o, &sample_packets())
}

/// Offsets at which a record of a little-endian plain pcap ends (24: after the file header).
fn record_ends(data: &[u8]) -> Vec<usize> {
    let mut ends = vec![24];
    let mut pos = 24;
    while pos + 16 <= data.len() {
        pos += 16 + u32::from_le_bytes(data[pos + 8..pos + 12].try_into().unwrap()) as usize;
        ends.push(pos);
    }
    ends
}

fn check_sample(r: &Read) {
    assert_eq!(r.error, None);
    assert_eq!(r.format, "pcap");
    assert_eq!(r.frames(), vec![1, 4, 5]);
    assert_eq!(r.payloads(), vec![b"one".to_vec(), b"four".to_vec(), b"five".to_vec()]);
    let seqs: Vec<u32> = r.segs.iter().filter(|s| !s.udp).map(|s| s.seq).collect();
    assert_eq!(seqs, vec![1, 4, 5]);
    assert_eq!(r.times(), vec![1700000000.000001, 1700000002.999999, 1700000003.0]);
    // the UDP datagram of frame 2 comes out too, between the TCP segments
    let kinds: Vec<(char, u64)> = r.packets.iter().map(|p| (p.0, p.1)).collect();
    assert_eq!(kinds, vec![('t', 1), ('u', 2), ('t', 4), ('t', 5)]);
    let u = &r.segs[1];
    assert_eq!((u.sport, u.dport, u.payload.as_slice(), u.src), (53, 53, &b"q"[..], v4a("10.0.0.1")));
    assert_eq!(u.time, 1700000000.000002);
    assert_eq!(r.count, 5);
    assert_eq!(r.start, Some(1700000000.000001f64.to_bits()));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.link_types, vec![1]);
}

#[test]
fn little_endian_microseconds() {
    check_sample(&read_checked(&sample(&PcapOpts::default())));
}

#[test]
fn big_endian_microseconds() {
    let data = sample(&PcapOpts { big: true, ..Default::default() });
    assert_eq!(&data[..4], &[0xA1, 0xB2, 0xC3, 0xD4]);
    check_sample(&read_checked(&data));
}

#[test]
fn nanosecond_magic_both_orders() {
    for big in [false, true] {
        let o = PcapOpts { big, ns: true, ..Default::default() };
        let r = read_checked(&pcap_with(&o, &[(1700000000, 123456789, tcp_eth(b"ns"), None)]));
        // CPython's 1700000000123456789 / 10**9, rounded once
        assert_eq!(r.times(), vec![NS_TIME]);
        assert_eq!(r.start, Some(NS_TIME.to_bits()));
        assert_eq!(r.payloads(), vec![b"ns".to_vec()]);
        // the largest seconds with the largest fraction: 4294967295.999999999 rounds to 2**32
        let r = read_checked(&pcap_with(&o, &[(u32::MAX, 999_999_999, tcp_eth(b"ns"), None)]));
        assert_eq!(r.times(), vec![4294967296.0]);
    }
}

#[test]
fn microsecond_fraction_past_one_second_is_added() {
    // Python computes (sec * 10**6 + frac) / 10**6: a fraction of 2.5 s is not rejected
    let r = read_checked(&pcap(&[(10, 2_500_000, tcp_eth(b"f"))]));
    assert_eq!(r.times(), vec![12.5]);
}

#[test]
fn modified_pcap_both_orders() {
    for big in [false, true] {
        let data = sample(&PcapOpts { big, modified: true, ..Default::default() });
        // 24-byte records: the 8 extra bytes (ifindex, protocol, type, pad) are not packet data
        assert_eq!(data.len(), sample(&PcapOpts { big, ..Default::default() }).len() + 5 * 8);
        check_sample(&read_checked(&data));
    }
}

#[test]
fn snaplen_cut_payload_is_missing_not_data() {
    let full = tcp_eth(&[b'A'; 1000]);
    let pkts = vec![(1, 0, full[..100].to_vec(), Some(full.len() as u32)), (2, 0, full.clone(), None)];
    let r = read_checked(&pcap_with(&PcapOpts::default(), &pkts));
    assert_eq!(r.segs[0].payload, vec![b'A'; 46]);
    assert_eq!(r.segs[0].missing, 954);
    assert_eq!(r.segs[1].payload, vec![b'A'; 1000]);
    assert_eq!(r.segs[1].missing, 0);
}

#[test]
fn snaplen_cut_inside_tcp_options() {
    let full = ether(0x0800, &ipv4(&tcp(&Tcp { options: &[1; 12], payload: &[b'B'; 500], ..Default::default() })));
    let r = read_checked(&pcap(&[(1, 0, full[..60].to_vec())]));
    assert_eq!(r.segs.len(), 1);
    assert_eq!(r.segs[0].payload, b"");
    assert_eq!(r.segs[0].missing, 500);
}

#[test]
fn snaplen_cut_inside_tcp_fixed_header_is_no_segment() {
    let full = tcp_eth(&[b'C'; 100]);
    let r = read_checked(&pcap(&[(1, 0, full[..40].to_vec())]));
    assert!(r.segs.is_empty());
    assert_eq!(r.count, 1);
}

#[test]
fn unsupported_link_type_is_a_warning_not_an_error() {
    let r = read_checked(&sample(&PcapOpts { linktype: 147, ..Default::default() }));
    assert!(r.segs.is_empty());
    assert_eq!(r.count, 5);
    assert_eq!(r.start, Some(1700000000.000001f64.to_bits()));
    assert_eq!(r.warnings, vec!["link type 147 (pcap file) is not supported: its packets are skipped"]);
    assert_eq!(r.link_types, vec![147]);
}

#[test]
fn fcs_bits_in_the_link_type_field_are_ignored() {
    let r = read_checked(&pcap_with(&PcapOpts { linktype: 0x1400_0001, ..Default::default() }, &[(1, 0, tcp_eth(b"x"), None)]));
    assert_eq!(r.payloads(), vec![b"x".to_vec()]);
    assert_eq!(r.link_types, vec![1]);
    assert!(r.warnings.is_empty());
}

#[test]
fn header_only() {
    let r = read_checked(&pcap(&[]));
    assert_eq!((r.error.as_deref(), r.format.as_str(), r.count, r.start), (None, "pcap", 0, None));
    assert!(r.segs.is_empty() && r.warnings.is_empty());
}

#[test]
fn bsd_null_link_type_in_a_file() {
    let mut lo6 = 30u32.to_le_bytes().to_vec();
    lo6.extend(ipv6(&tcp_payload(b"lo6")));
    let mut lo4 = vec![2, 0, 0, 0];
    lo4.extend(ipv4(&tcp_payload(b"lo4")));
    let r = read_checked(&pcap_with(&PcapOpts { linktype: 0, ..Default::default() }, &[(1, 0, lo6, None), (1, 1, lo4, None)]));
    assert_eq!(r.payloads(), vec![b"lo6".to_vec(), b"lo4".to_vec()]);
    assert_eq!(r.segs[0].src, v6a("2001:db8::1"));
    assert_eq!(r.times(), vec![1.0, 1.000001]);
}

#[test]
fn zero_length_record_is_a_packet_with_nothing_in_it() {
    let r = read_checked(&pcap(&[(1, 0, vec![]), (2, 0, tcp_eth(b"x"))]));
    assert_eq!(r.count, 2);
    assert_eq!(r.frames(), vec![2]);
    assert_eq!(r.start, Some(1.0f64.to_bits()));
    assert!(r.warnings.is_empty());
}

#[test]
fn captured_length_limit_is_262144() {
    // exactly MAX_PACKET is read (a TSO frame: IP total length 0), one more byte is corruption
    let big = |n: usize| ether(0x0800, &ipv4_with(&V4 { total: Some(0), ..Default::default() }, &tcp_payload(&vec![b'M'; n - 54])));
    let r = read_checked(&pcap(&[(1, 0, big(262144)), (2, 0, tcp_eth(b"x"))]));
    assert_eq!(r.count, 2);
    assert_eq!(r.segs[0].payload.len(), 262090);
    assert_eq!(r.payloads()[1], b"x");
    assert!(r.warnings.is_empty());
    let r = read_checked(&pcap(&[(1, 0, tcp_eth(b"x")), (1, 0, big(262145))]));
    assert_eq!(r.count, 1);
    assert_eq!(
        r.warnings,
        vec!["packet 2 claims 262145 captured bytes (more than 262144): the capture is corrupt from there; decoded the 1 packet before it"]
    );
}

#[test]
fn original_length_below_captured_length_is_ignored() {
    let r = read_checked(&pcap_with(&PcapOpts::default(), &[(1, 0, tcp_eth(b"abc"), Some(5))]));
    assert_eq!(r.payloads(), vec![b"abc".to_vec()]);
    assert_eq!(r.segs[0].missing, 0);
}

// ------------------------------------------------------------------------------------------ damage

#[test]
fn truncated_in_a_record_body() {
    let data = sample(&PcapOpts::default());
    let r = read_checked(&data[..data.len() - 10]);
    assert_eq!(r.frames(), vec![1, 4]);
    assert_eq!(r.count, 4);
    assert_eq!(r.warnings, vec!["capture truncated in the middle of packet 5: decoded the 4 packets before it"]);
}

#[test]
fn truncated_in_a_record_header() {
    let mut data = pcap_with(&PcapOpts::default(), &sample_packets()[..2]);
    data.extend_from_slice(&5u32.to_le_bytes());
    data.extend_from_slice(&6u32.to_le_bytes());
    let r = read_checked(&data);
    assert_eq!((r.count, r.segs.len()), (2, 2)); // TCP frame 1 and UDP frame 2
    assert_eq!(r.warnings, vec!["capture truncated in the middle of packet 3: decoded the 2 packets before it"]);
}

#[test]
fn truncated_after_one_packet_says_packet_singular() {
    let data = pcap_with(&PcapOpts::default(), &sample_packets()[..2]);
    let r = read_checked(&data[..data.len() - 1]);
    assert_eq!(r.warnings, vec!["capture truncated in the middle of packet 2: decoded the 1 packet before it"]);
    let r = read_checked(&data[..24 + 3]);
    assert_eq!(r.warnings, vec!["capture truncated in the middle of packet 1: decoded the 0 packets before it"]);
}

#[test]
fn truncated_at_every_offset() {
    let data = sample(&PcapOpts::default());
    let full = read_checked(&data);
    let ends = record_ends(&data);
    for cut in 24..data.len() {
        let r = read_checked(&data[..cut]);
        assert_eq!(r.error, None);
        assert_eq!(r.packets[..], full.packets[..r.packets.len()], "cut {cut}");
        let whole = ends.iter().filter(|&&e| e <= cut).count() as u64 - 1; // records entirely before the cut
        assert_eq!(r.count, whole, "cut {cut}");
        if ends.contains(&cut) {
            assert!(r.warnings.is_empty(), "cut {cut}: {:?}", r.warnings);
        } else {
            let n = whole + 1;
            let s = if whole == 1 { "" } else { "s" };
            let text = format!("capture truncated in the middle of packet {n}: decoded the {whole} packet{s} before it");
            assert_eq!(r.warnings, vec![text], "cut {cut}");
        }
    }
}

#[test]
fn huge_record_length_is_corruption_not_an_allocation() {
    let mut data = pcap_with(&PcapOpts::default(), &sample_packets()[..3]);
    for x in [1u32, 0, 0xFFFF_FFF0, 0xFFFF_FFF0] {
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.extend_from_slice(&[0; 100]);
    let r = read_checked(&data);
    assert_eq!(r.count, 3);
    assert_eq!(r.frames(), vec![1]);
    assert_eq!(
        r.warnings,
        vec!["packet 4 claims 4294967280 captured bytes (more than 262144): the capture is corrupt from there; decoded the 3 packets before it"]
    );
}

#[test]
fn huge_record_length_before_any_packet() {
    let mut data = pcap(&[]);
    for x in [0u32, 0, 0x8000_0000, 0] {
        data.extend_from_slice(&x.to_le_bytes());
    }
    let r = read_checked(&data);
    assert_eq!((r.count, r.start), (0, None));
    assert_eq!(
        r.warnings,
        vec!["packet 1 claims 2147483648 captured bytes (more than 262144): the capture is corrupt from there; decoded the 0 packets before it"]
    );
}

#[test]
fn random_corruption_never_panics() {
    let mut rng = Rng(1234);
    let base = pcap_with(&PcapOpts::default(), &[sample_packets(), sample_packets(), sample_packets()].concat());
    for i in 0..300 {
        let mut buf = base.clone();
        for _ in 0..1 + rng.below(8) {
            let at = rng.below(buf.len() as u64) as usize;
            buf[at] = rng.next() as u8;
        }
        let r = read_checked(&buf);
        if r.error.is_none() {
            assert!(r.packets.len() as u64 <= r.count, "mutation {i}");
            assert!(r.warnings.len() <= 2, "mutation {i}: {:?}", r.warnings);
        }
    }
}

#[test]
fn random_garbage_after_a_valid_header_never_panics() {
    let mut rng = Rng(77);
    for _ in 0..200 {
        let mut data = pcap(&[]);
        let n = rng.below(400) as usize;
        data.extend(rng.bytes(n));
        let r = read_checked(&data);
        assert_eq!(r.error, None);
        assert!(r.packets.len() as u64 <= r.count);
    }
}

// ------------------------------------------------------------------------------------------ not a capture

#[test]
fn text_file() {
    assert_eq!(read_error(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "c.pcap: not a pcap or pcapng capture (it looks like a text file)");
    // Python looks at the first 512 bytes only
    let mut t = vec![b'x'; 512];
    t.push(0);
    assert_eq!(read_error(&t), "c.pcap: not a pcap or pcapng capture (it looks like a text file)");
    assert_eq!(read_error(b"ab"), "c.pcap: not a pcap or pcapng capture (it looks like a text file)");
}

#[test]
fn binary_junk() {
    let mut junk = b"\x7fELF\x02\x01\x01".to_vec();
    junk.extend_from_slice(&[0; 100]);
    assert_eq!(read_error(&junk), "c.pcap: not a pcap or pcapng capture (unknown magic number 0x7f454c46)");
    assert_eq!(read_error(b"\x00\x01"), "c.pcap: not a pcap or pcapng capture (unknown magic number 0x0001)");
    // three bytes of a pcap magic number are not one
    assert_eq!(read_error(b"\xd4\xc3\xb2"), "c.pcap: not a pcap or pcapng capture (unknown magic number 0xd4c3b2)");
}

#[test]
fn empty_file() {
    assert_eq!(read_error(b""), "c.pcap: empty file");
    let mut p = rtmp_inspect_capture::CaptureParser::new("x.pcap.gz");
    p.set_gunzipped(true);
    p.end_of_input();
    assert_eq!(p.try_open().unwrap_err().0, "x.pcap.gz: empty file (after gunzip)");
    assert!(p.is_done());
}

#[test]
fn truncated_file_header() {
    assert_eq!(read_error(&pcap(&[])[..10]), "c.pcap: pcap file header is truncated (10 of 24 bytes)");
    assert_eq!(read_error(&pcap(&[])[..23]), "c.pcap: pcap file header is truncated (23 of 24 bytes)");
}

#[test]
fn error_messages_are_one_line() {
    for data in [&b""[..], b"hello\nworld\n", b"\x1f\x8bnot really gzip", &pcap(&[])[..7]] {
        let e = read_error(data);
        assert!(!e.contains('\n') && e.len() > "c.pcap: ".len(), "{e}");
    }
}

#[test]
fn try_open_waits_for_the_header_then_opens() {
    let data = sample(&PcapOpts::default());
    let mut p = rtmp_inspect_capture::CaptureParser::new("c.pcap");
    for (i, b) in data[..24].iter().enumerate() {
        assert_eq!(p.try_open(), Ok(false), "opened after {i} bytes");
        assert!(!p.is_open());
        p.feed(std::slice::from_ref(b));
    }
    assert_eq!(p.try_open(), Ok(true));
    assert!(p.is_open());
    assert_eq!((p.format(), p.link_types()), ("pcap", &[1u32][..]));
    assert_eq!(p.buffered(), 0);
    // the error is sticky
    let mut q = rtmp_inspect_capture::CaptureParser::new("q");
    q.feed(b"\x00\x01\x02\x03");
    q.end_of_input();
    let e = q.try_open().unwrap_err();
    assert_eq!(q.next_packet().unwrap_err(), e);
}

#[test]
fn bytes_fed_after_end_of_input_are_ignored() {
    let data = sample(&PcapOpts::default());
    let mut p = rtmp_inspect_capture::CaptureParser::new("c.pcap");
    p.feed(&data);
    p.end_of_input();
    p.feed(&tcp_eth(b"more"));
    let mut frames = vec![];
    while let Some(pk) = p.next_packet().unwrap() {
        frames.push(Seg::of(&pk).frame);
    }
    assert_eq!(frames, vec![1, 2, 4, 5]);
    assert!(p.warnings().is_empty() && p.is_done());
}

#[test]
fn media_files_are_named_for_what_they_are() {
    let flv = b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00".repeat(64);
    assert_eq!(
        read_error(&flv),
        "c.pcap: this is an FLV file, not a capture: rtmp-inspect reads the pcap or pcapng files of tcpdump, Wireshark and tshark"
    );
    let mut mp4 = b"\x00\x00\x00\x20ftypisom".to_vec();
    mp4.resize(600, 0);
    assert!(read_error(&mp4).starts_with("c.pcap: this is an MP4 file, not a capture"));
}
