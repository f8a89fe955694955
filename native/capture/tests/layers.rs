//! Link layers, VLAN / MPLS / PPPoE, IPv4 (options, fragments, lengths), IPv6 extension headers, TCP
//! options, UDP and GTP-U. Expected values are those of tests/test_capture.py or of the Python decoders
//! (`layers.decoder_for(lt)(data, 0, len, frame, time)`) run on the same bytes. `decode` checks each case
//! twice: with `decode_packet`, and as the only record of a pcap file read whole and one byte at a time.

mod common;

use common::*;
use rtmp_inspect_capture::{is_supported_link_type, ACK, PSH, SYN};

fn udp_v4(sport: u16, dport: u16, payload: &[u8], length: Option<u16>) -> Vec<u8> {
    ipv4_with(&V4 { proto: 17, ..Default::default() }, &udp(sport, dport, payload, length))
}

fn none(link_type: u32, frame: &[u8]) {
    assert_eq!(decode(link_type, frame), None);
}

// ------------------------------------------------------------------------------------------ Ethernet / IPv4 / TCP

#[test]
fn every_tcp_field() {
    let t = Tcp { payload: b"hello", sport: 1935, dport: 50123, seq: 0xFFFF_FFF0, ack: 77, flags: PSH | ACK, window: 4321, ..Default::default() };
    let s = decode(1, &ether(0x0800, &ipv4(&tcp(&t)))).unwrap();
    let want = Seg {
        udp: false,
        frame: 1,
        time: 5.0,
        src: v4a("10.0.0.1"),
        sport: 1935,
        dst: v4a("10.0.0.2"),
        dport: 50123,
        seq: 0xFFFF_FFF0,
        ack: 77,
        flags: PSH | ACK,
        window: 4321,
        payload: b"hello".to_vec(),
        missing: 0,
    };
    assert_eq!(s, want);
}

#[test]
fn ethernet_padding_and_fcs_are_not_payload() {
    let frame = ether(0x0800, &ipv4(&tcp(&Tcp { flags: SYN, ..Default::default() })));
    assert_eq!(frame.len(), 54);
    let mut padded = frame.clone();
    padded.extend_from_slice(&[0xAA; 6]);
    padded.extend_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]);
    let s = decode(1, &padded).unwrap();
    assert_eq!((s.payload.as_slice(), s.missing, s.flags), (&b""[..], 0, SYN));
    let mut abc = tcp_eth(b"abc");
    abc.extend_from_slice(&[0; 20]);
    let s = decode(1, &abc).unwrap();
    assert_eq!((s.payload.as_slice(), s.missing), (&b"abc"[..], 0));
}

#[test]
fn ipv4_options() {
    for words in [1usize, 2, 10] {
        let mut opts = vec![1u8; 4 * words - 1];
        opts.push(0);
        let frame = ether(0x0800, &ipv4_with(&V4 { options: &opts, ..Default::default() }, &tcp_payload(b"XYZ")));
        let s = decode(1, &frame).unwrap();
        assert_eq!((s.payload.as_slice(), s.sport), (&b"XYZ"[..], 1935), "{words} words");
    }
}

#[test]
fn tcp_options() {
    let opts = [2, 4, 5, 0xB4, 1, 3, 3, 7, 4, 2, 0, 0]; // MSS, NOP, window scale, SACK permitted
    assert_eq!(tcp_of(1, &ether(0x0800, &ipv4(&tcp(&Tcp { options: &opts, payload: b"after", ..Default::default() })))), b"after");
    // the largest data offset (15 words: 40 bytes of options)
    let p = [b'p'; 50];
    assert_eq!(tcp_of(101, &ipv4(&tcp(&Tcp { options: &[1; 40], payload: &p, ..Default::default() }))), p.to_vec());
}

#[test]
fn data_offset_below_20_or_past_the_ip_packet_is_rejected() {
    for doff in [0u8, 1, 4] {
        none(1, &ether(0x0800, &ipv4(&tcp(&Tcp { payload: b"abcdefgh", doff: Some(doff), ..Default::default() }))));
    }
    none(1, &ether(0x0800, &ipv4(&tcp(&Tcp { payload: b"abcd", doff: Some(15), ..Default::default() }))));
}

#[test]
fn bad_ihl_and_version() {
    none(1, &ether(0x0800, &ipv4_with(&V4 { ihl: Some(4), ..Default::default() }, &tcp_payload(b""))));
    let mut v6_in_v4 = ether(0x0800, &ipv4(&tcp_payload(b"")));
    v6_in_v4[14] = 0x65;
    none(1, &v6_in_v4);
}

#[test]
fn ipv4_total_length() {
    // shorter than the header: rejected
    none(1, &ether(0x0800, &ipv4_with(&V4 { total: Some(12), ..Default::default() }, &tcp_payload(b"x"))));
    // zero (TSO/GSO capture): up to the frame's end
    let big = vec![b'q'; 3000];
    let s = decode(1, &ether(0x0800, &ipv4_with(&V4 { total: Some(0), ..Default::default() }, &tcp_payload(&big)))).unwrap();
    assert_eq!((s.payload, s.missing), (big, 0));
    // longer than the frame: the rest is missing (snap length)
    let s = decode(1, &ether(0x0800, &ipv4_with(&V4 { total: Some(50), ..Default::default() }, &tcp_payload(b"abc")))).unwrap();
    assert_eq!((s.payload.as_slice(), s.missing), (&b"abc"[..], 7));
}

#[test]
fn ipv4_fragments() {
    let frag = |frag: u16, p: &[u8]| ether(0x0800, &ipv4_with(&V4 { frag, ..Default::default() }, &tcp_payload(p)));
    assert_eq!(tcp_of(1, &frag(0x2000, b"first")), b"first"); // MF, offset 0: the TCP header is here
    assert_eq!(tcp_of(1, &frag(0x4000, b"df")), b"df"); // DF only
    none(1, &frag(0x0010, b"later"));
    none(1, &frag(0x0020, b"last")); // no MF, offset 32
    none(1, &frag(0x3FFF, b"x"));
}

#[test]
fn not_tcp() {
    // UDP that is not GTP-U is handed out as a datagram
    let s = decode(1, &ether(0x0800, &udp_v4(53, 53, b"dns", None))).unwrap();
    assert!(s.udp);
    assert_eq!((s.sport, s.dport, s.payload.as_slice(), s.src, s.dst), (53, 53, &b"dns"[..], v4a("10.0.0.1"), v4a("10.0.0.2")));
    none(1, &ether(0x0806, &[0; 28])); // ARP
    let mut icmp = vec![8, 0];
    icmp.extend_from_slice(&[0; 6]);
    none(1, &ether(0x0800, &ipv4_with(&V4 { proto: 1, ..Default::default() }, &icmp)));
}

#[test]
fn udp_length_field() {
    // shorter than 8: ignored (datagram up to the IP end); within: bounds the payload; past: ignored
    let p = |len| decode(101, &udp_v4(53, 53, b"abcdef", Some(len))).unwrap().payload;
    assert_eq!(p(4), b"abcdef");
    assert_eq!(p(10), b"ab");
    assert_eq!(p(100), b"abcdef");
    none(101, &ipv4_with(&V4 { proto: 17, ..Default::default() }, &[0, 0x35, 0]));
}

#[test]
fn cut_inside_headers_is_never_a_segment() {
    let frame = tcp_eth(b"payload");
    for cut in 0..54 {
        none(1, &frame[..cut]);
    }
    // from 54 on the TCP header is whole: the cut payload bytes are missing
    let s = decode(1, &frame[..56]).unwrap();
    assert_eq!((s.payload.as_slice(), s.missing), (&b"pa"[..], 5));
}

#[test]
fn unknown_link_type() {
    assert!(!is_supported_link_type(147));
    none(147, &tcp_eth(b"x"));
    for lt in [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 0x1400_0001] {
        assert!(is_supported_link_type(lt), "{lt}");
    }
}

// ------------------------------------------------------------------------------------------ VLAN, MPLS, PPPoE

#[test]
fn vlan_tags_are_peeled() {
    let cases: [&[(u16, u16)]; 5] = [
        &[(0x8100, 10)],
        &[(0x88A8, 100), (0x8100, 10)], // 802.1ad QinQ
        &[(0x9100, 100), (0x8100, 10)], // pre-standard QinQ
        &[(0x9200, 1)],
        &[(0x8100, 1), (0x8100, 2), (0x8100, 3)],
    ];
    for vlans in cases {
        assert_eq!(tcp_of(1, &ether_vlan(0x0800, &ipv4(&tcp_payload(b"tagged")), vlans)), b"tagged", "{vlans:?}");
    }
}

#[test]
fn vlan_nesting_is_bounded() {
    // the EtherType loop runs 8 times: 7 tags then IPv4 decode, 8 tags do not
    let tags = |n: u16| -> Vec<(u16, u16)> { (0..n).map(|i| (0x8100, i)).collect() };
    assert_eq!(tcp_of(1, &ether_vlan(0x0800, &ipv4(&tcp_payload(b"t")), &tags(7))), b"t");
    none(1, &ether_vlan(0x0800, &ipv4(&tcp_payload(b"t")), &tags(8)));
}

#[test]
fn ipv6_behind_vlan_and_truncated_tag() {
    let s = decode(1, &ether_vlan(0x86DD, &ipv6(&tcp_payload(b"v6")), &[(0x8100, 3)])).unwrap();
    assert_eq!((s.payload.as_slice(), s.src), (&b"v6"[..], v6a("2001:db8::1")));
    none(1, &ether(0x8100, &[0, 10]));
}

#[test]
fn mpls() {
    let label = |l: u32, bottom: bool| ((l << 12) | (bottom as u32) << 8 | 64).to_be_bytes();
    let mut one = label(16, true).to_vec();
    one.extend(ipv4(&tcp_payload(b"m")));
    assert_eq!(tcp_of(1, &ether(0x8847, &one)), b"m");
    // two labels, IPv6 found by its version nibble, multicast EtherType
    let mut two = label(16, false).to_vec();
    two.extend(label(17, true));
    two.extend(ipv6(&tcp_payload(b"m6")));
    assert_eq!(tcp_of(1, &ether(0x8848, &two)), b"m6");
    // no bottom-of-stack label before the end
    none(1, &ether(0x8848, &[label(16, false), label(16, false), label(16, false)].concat()));
}

#[test]
fn pppoe_session() {
    let ppp = |proto: u16, inner: &[u8]| {
        let mut v = vec![0x11, 0, 0, 1, 0, 0];
        v.extend_from_slice(&proto.to_be_bytes());
        v.extend_from_slice(inner);
        ether(0x8864, &v)
    };
    assert_eq!(tcp_of(1, &ppp(0x0021, &ipv4(&tcp_payload(b"p")))), b"p");
    assert_eq!(tcp_of(1, &ppp(0x0057, &ipv6(&tcp_payload(b"p6")))), b"p6");
    none(1, &ppp(0xC021, &[0; 20])); // LCP
}

// ------------------------------------------------------------------------------------------ IPv6

#[test]
fn ipv6_plain() {
    let s = decode(1, &ether(0x86DD, &ipv6_with("::1", "fe80::2", 6, &tcp(&Tcp { sport: 1935, dport: 4000, payload: b"six", ..Default::default() }), &[], None)))
        .unwrap();
    assert_eq!((s.src, s.dst, s.sport, s.dport, s.payload.as_slice()), (v6a("::1"), v6a("fe80::2"), 1935, 4000, &b"six"[..]));
}

#[test]
fn ipv6_extension_headers() {
    let cases: Vec<Vec<(u8, Vec<u8>)>> = vec![
        vec![(0, ext_opts(0))],
        vec![(0, ext_opts(2)), (60, ext_opts(1))],
        vec![(43, ext_opts(2))],
        vec![(44, ext_fragment(0, true))],
        vec![(51, ext_ah(4))],
        vec![(135, ext_opts(1))], // mobility
        vec![(0, ext_opts(0)), (43, ext_opts(0)), (44, ext_fragment(0, false)), (51, ext_ah(1)), (60, ext_opts(3))],
    ];
    for ext in cases {
        let s = decode(1, &ether(0x86DD, &ipv6_with("2001:db8::1", "2001:db8::2", 6, &tcp_payload(b"behind ext"), &ext, None)));
        let s = s.unwrap_or_else(|| panic!("{ext:?}"));
        assert_eq!((s.payload.as_slice(), s.missing), (&b"behind ext"[..], 0));
    }
}

#[test]
fn ipv6_extension_chain_is_bounded() {
    // 16 rounds: 15 headers then TCP decode, 16 do not
    let chain = |n: usize| ipv6_with("2001:db8::1", "2001:db8::2", 6, &tcp_payload(b"x"), &vec![(0, ext_opts(0)); n], None);
    assert_eq!(tcp_of(101, &chain(15)), b"x");
    none(101, &chain(16));
    none(101, &chain(17));
}

#[test]
fn ipv6_non_first_fragment_no_next_header_and_esp() {
    none(1, &ether(0x86DD, &ipv6_with("2001:db8::1", "2001:db8::2", 6, &tcp_payload(b"x"), &[(44, ext_fragment(8, false))], None)));
    none(1, &ether(0x86DD, &ipv6_with("2001:db8::1", "2001:db8::2", 59, b"", &[], None)));
    none(1, &ether(0x86DD, &ipv6_with("2001:db8::1", "2001:db8::2", 50, &[0; 40], &[], None)));
}

#[test]
fn ipv6_payload_length() {
    // bounds the payload
    let mut pkt = ipv6(&tcp_payload(b"abc"));
    pkt.extend_from_slice(b"trailing junk");
    assert_eq!(tcp_of(101, &pkt), b"abc");
    // zero (jumbogram / TSO): up to the end
    assert_eq!(tcp_of(101, &ipv6_with("2001:db8::1", "2001:db8::2", 6, &tcp_payload(b"jumbo"), &[], Some(0))), b"jumbo");
    // past the captured end: missing
    let s = decode(101, &ipv6_with("2001:db8::1", "2001:db8::2", 6, &tcp_payload(b"abc"), &[], Some(30))).unwrap();
    assert_eq!((s.payload.as_slice(), s.missing), (&b"abc"[..], 7));
}

#[test]
fn ipv6_extension_header_running_off_the_end() {
    none(101, &ipv6_with("2001:db8::1", "2001:db8::2", 6, b"", &[(0, ext_opts(0))], None));
    let mut huge = vec![255u8];
    huge.extend_from_slice(&[0; 6]);
    none(101, &ipv6_with("2001:db8::1", "2001:db8::2", 6, &tcp_payload(b"x"), &[(0, huge)], None));
    none(101, &ipv6_with("2001:db8::1", "2001:db8::2", 6, &tcp_payload(b"abc"), &[(0, ext_opts(0))], None)[..45]);
}

// ------------------------------------------------------------------------------------------ GTP-U

fn inner() -> Vec<u8> {
    ipv4_with(
        &V4 { src: "172.16.0.5", dst: "203.0.113.9", ..Default::default() },
        &tcp(&Tcp { sport: 59509, dport: 6002, seq: 42, payload: b"rtmp over gtp", ..Default::default() }),
    )
}

fn outer(gtp: &[u8]) -> Vec<u8> {
    let ip = ipv4_with(&V4 { src: "10.1.1.1", dst: "10.2.2.2", proto: 17, ..Default::default() }, &udp(2152, 2152, gtp, None));
    ether_vlan(0x0800, &ip, &[(0x8100, 20), (0x8100, 30)])
}

fn check_inner(s: Option<Seg>) {
    let s = s.expect("the tunnelled segment");
    assert!(!s.udp);
    assert_eq!((s.src, s.sport, s.dst, s.dport), (v4a("172.16.0.5"), 59509, v4a("203.0.113.9"), 6002));
    assert_eq!((s.payload.as_slice(), s.seq, s.missing), (&b"rtmp over gtp"[..], 42, 0));
}

#[test]
fn gtpu_headers() {
    check_inner(decode(1, &outer(&gtpu(&inner(), None, &[], 0xFF))));
    check_inner(decode(1, &outer(&gtpu(&inner(), Some(77), &[], 0xFF))));
    let exts: [(u8, &[u8]); 3] = [(0x85, &[0, 5]), (0x40, &[0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC]), (0x20, &[])];
    check_inner(decode(1, &outer(&gtpu(&inner(), None, &exts, 0xFF))));
}

#[test]
fn gtpu_ipv6_inside_ipv6() {
    let inner6 = ipv6_with("2001:db8:a::1", "2001:db8:b::2", 6, &tcp(&Tcp { sport: 5000, dport: 1935, payload: b"in6", ..Default::default() }), &[], None);
    let frame = ether(0x86DD, &ipv6_with("fd00::1", "fd00::2", 17, &udp(2152, 40000, &gtpu(&inner6, None, &[], 0xFF), None), &[], None));
    let s = decode(1, &frame).unwrap();
    assert_eq!((s.src, s.dst, s.payload.as_slice()), (v6a("2001:db8:a::1"), v6a("2001:db8:b::2"), &b"in6"[..]));
}

#[test]
fn gtpu_other_messages_versions_and_ports() {
    none(1, &outer(&gtpu(&inner(), None, &[], 0x01))); // echo request
    let mut v2 = gtpu(&inner(), None, &[], 0xFF);
    v2[0] = 0x50;
    none(1, &outer(&v2));
    // another port is plain UDP: a datagram carrying the GTP bytes
    let g = gtpu(&inner(), None, &[], 0xFF);
    let s = decode(1, &ether(0x0800, &udp_v4(2153, 2153, &g, None))).unwrap();
    assert!(s.udp);
    assert_eq!((s.sport, s.payload), (2153, g));
}

#[test]
fn gtpu_broken_extension_chain() {
    let mut g = gtpu(&inner(), None, &[(0x85, &[0, 5])], 0xFF);
    g[12] = 0; // extension length 0
    none(1, &outer(&g));
}

#[test]
fn gtpu_lengths_bound_the_inner_packet() {
    // snap length cut inside the inner payload
    let frame = outer(&gtpu(&inner(), None, &[], 0xFF));
    let s = decode(1, &frame[..frame.len() - 5]).unwrap();
    assert_eq!((s.payload.as_slice(), s.missing), (&b"rtmp ove"[..], 5));
    // a GTP length 3 bytes short of the inner packet: those bytes are outside it (and not missing)
    let mut g = gtpu(&inner(), None, &[], 0xFF);
    g[2..4].copy_from_slice(&(inner().len() as u16 - 3).to_be_bytes());
    let s = decode(1, &outer(&g)).unwrap();
    assert_eq!((s.payload.as_slice(), s.missing), (&b"rtmp over "[..], 0));
    // a UDP length 5 bytes short
    let g = gtpu(&inner(), None, &[], 0xFF);
    let ip = ipv4_with(&V4 { src: "10.1.1.1", dst: "10.2.2.2", proto: 17, ..Default::default() }, &udp(2152, 2152, &g, Some(8 + g.len() as u16 - 5)));
    let s = decode(1, &ether_vlan(0x0800, &ip, &[(0x8100, 20), (0x8100, 30)])).unwrap();
    assert_eq!((s.payload.as_slice(), s.missing), (&b"rtmp ove"[..], 0));
}

#[test]
fn gtpu_tunnel_depth() {
    let udp_in = |p: &[u8]| ipv4_with(&V4 { proto: 17, ..Default::default() }, &udp(2152, 2152, &gtpu(p, None, &[], 0xFF), None));
    // GTP inside GTP: still decoded
    check_inner(decode(1, &outer(&gtpu(&udp_in(&inner()), None, &[], 0xFF))));
    // plain UDP at depth 1 is a datagram; at depth 2 it is dropped
    let dns = udp_v4(53, 53, b"dns", None);
    let s = decode(1, &outer(&gtpu(&dns, None, &[], 0xFF))).unwrap();
    assert!(s.udp && s.payload == b"dns");
    none(1, &outer(&gtpu(&udp_in(&udp_v4(53, 53, b"deep", None)), None, &[], 0xFF)));
    // five levels deep: stopped
    let mut p = inner();
    for _ in 0..5 {
        p = udp_in(&p);
    }
    none(101, &p);
}

// ------------------------------------------------------------------------------------------ link types

fn pkt4() -> Vec<u8> {
    ipv4_with(&V4 { src: "192.0.2.1", dst: "192.0.2.2", ..Default::default() }, &tcp(&Tcp { sport: 1935, dport: 1111, payload: b"four", ..Default::default() }))
}

fn pkt6() -> Vec<u8> {
    ipv6_with("2001:db8::a", "2001:db8::b", 6, &tcp(&Tcp { sport: 1935, dport: 2222, payload: b"six", ..Default::default() }), &[], None)
}

#[test]
fn linux_sll_and_sll2() {
    assert_eq!(tcp_of(113, &sll(0x0800, &pkt4())), b"four");
    assert_eq!(tcp_of(113, &sll(0x86DD, &pkt6())), b"six");
    none(113, &sll(0x0806, &[0; 28]));
    let mut tagged = vec![0, 5, 8, 0];
    tagged.extend(ipv4(&tcp_payload(b"sv")));
    assert_eq!(tcp_of(113, &sll(0x8100, &tagged)), b"sv");
    assert_eq!(tcp_of(276, &sll2(0x0800, &pkt4())), b"four");
    assert_eq!(tcp_of(276, &sll2(0x86DD, &pkt6())), b"six");
    none(113, &sll(0x0800, &pkt4())[..15]);
    none(276, &sll2(0x0800, &pkt4())[..19]);
}

#[test]
fn raw_ip() {
    for lt in [101, 12, 14] {
        assert_eq!(tcp_of(lt, &pkt4()), b"four");
        assert_eq!(tcp_of(lt, &pkt6()), b"six");
        none(lt, &[0x50; 41]); // version 5
        none(lt, b"");
    }
    assert_eq!(tcp_of(228, &pkt4()), b"four");
    none(228, &pkt6());
    assert_eq!(tcp_of(229, &pkt6()), b"six");
    none(229, &pkt4());
    let s = decode(228, &pkt4()).unwrap();
    assert_eq!((s.src, s.dst, s.dport), (v4a("192.0.2.1"), v4a("192.0.2.2"), 1111));
}

#[test]
fn bsd_null_in_either_byte_order() {
    for (family, six) in [(2u32, false), (10, true), (24, true), (28, true), (30, true)] {
        for big in [false, true] {
            let mut f = if big { family.to_be_bytes() } else { family.to_le_bytes() }.to_vec();
            f.extend(if six { pkt6() } else { pkt4() });
            assert_eq!(tcp_of(0, &f), if six { b"six".to_vec() } else { b"four".to_vec() }, "family {family} big {big}");
        }
    }
    let mut f = 7u32.to_le_bytes().to_vec();
    f.extend(pkt4());
    none(0, &f);
    none(0, &[2, 0, 0]);
}

#[test]
fn openbsd_loop_is_big_endian() {
    let lo = |fam: [u8; 4], p: Vec<u8>| [fam.to_vec(), p].concat();
    assert_eq!(tcp_of(108, &lo(2u32.to_be_bytes(), pkt4())), b"four");
    assert_eq!(tcp_of(108, &lo(24u32.to_be_bytes(), pkt6())), b"six");
    none(108, &lo(2u32.to_le_bytes(), pkt4()));
}

#[test]
fn fcs_bits_in_the_link_type() {
    assert_eq!(tcp_of(0x1400_0001, &tcp_eth(b"fcs")), b"fcs");
}

// ------------------------------------------------------------------------------------------ TCP checksums

fn checksum_of(frame: &[u8]) -> u8 {
    match rtmp_inspect_capture::decode_packet(1, frame, 1, 5.0) {
        Some(rtmp_inspect_capture::Packet::Tcp(seg)) => seg.checksum,
        other => panic!("not a TCP segment: {other:?}"),
    }
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn checksums_are_checked_as_scapy_computed_them() {
    use rtmp_inspect_capture::{CHECKSUM_BAD, CHECKSUM_GOOD, CHECKSUM_UNVERIFIED};
    // scapy: Ether()/IP(src="10.0.0.1", dst="10.0.0.2")/TCP(sport=1935, dport=50000, seq=7, ack=9,
    // flags="PA")/Raw(b"odd"), and the same over IPv6 (2001:db8::1 -> ::2) with b"even"
    let v4 = unhex("02fc0000000502fc0000000108004500002b00010000400666ca0a0000010a000002078fc350000000070000000950182000dd7200006f6464");
    let v6 = unhex(concat!("ffffffffffff02fc0000000186dd600000000018064020010db800000000000000000000000120010db80000000000",
                           "00000000000002078fc3500000000700000009501820009e7f00006576656e"));
    for frame in [&v4, &v6] {
        assert_eq!(checksum_of(frame), CHECKSUM_GOOD);
        let mut flipped = frame.clone();
        *flipped.last_mut().unwrap() ^= 0x10;
        assert_eq!(checksum_of(&flipped), CHECKSUM_BAD);
        let mut zero = frame.clone();
        let at = frame.len() - frame.len().min(if frame == &v4 { 3 } else { 4 }) - 4; // the checksum field
        zero[at] = 0;
        zero[at + 1] = 0;
        assert_eq!(checksum_of(&zero), CHECKSUM_UNVERIFIED);
    }
    // a flipped address bit is in the pseudo-header
    let mut address = v4.clone();
    address[14 + 19] ^= 1;
    assert_eq!(checksum_of(&address), CHECKSUM_BAD);
}
