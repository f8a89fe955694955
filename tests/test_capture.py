"""Capture layer: link/IP/TCP/GTP decoding and pcap/pcapng/gzip reading, on captures built here."""

from __future__ import annotations

import gzip
import io
import struct
import sys
import tracemalloc

import pytest

from rtmp_inspect.capture import CaptureError, TcpSegment, decode_packet, open_capture
from rtmp_inspect.capture import reader as reader_mod
from rtmp_inspect.capture.segment import ACK, PSH, SYN
from tests.support.capture_builders import (
    block,
    epb,
    ether,
    ext_ah,
    ext_fragment,
    ext_opts,
    gtpu,
    idb,
    ip4,
    ip6,
    ipv4,
    ipv6,
    pcap,
    shb,
    sll,
    sll2,
    spb,
    tcp,
    tcp_eth,
    udp,
)


def write(tmp_path, data: bytes, name="c.pcap") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def read_all(tmp_path, data: bytes, name="c.pcap"):
    reader = open_capture(write(tmp_path, data, name))
    segs = list(reader.segments())
    return reader, segs


# ============================================================================ layers


class TestEthernetIPv4:
    def test_fields(self):
        frame = tcp_eth(b"hello", sport=1935, dport=50123, seq=0xFFFFFFF0, ack=77, flags=PSH | ACK, window=4321)
        seg = decode_packet(1, frame, frame=9, time=1.5)
        assert seg == TcpSegment(
            9, 1.5, ip4("10.0.0.1"), 1935, ip4("10.0.0.2"), 50123, 0xFFFFFFF0, 77, PSH | ACK, 4321, b"hello", 0
        )
        assert type(seg.payload) is bytes

    def test_ethernet_padding_is_not_payload(self):
        frame = tcp_eth(b"", flags=SYN)
        assert len(frame) == 54
        padded = frame + b"\xaa" * 6 + b"\xde\xad\xbe\xef"  # padding to 60 + an FCS
        seg = decode_packet(1, padded)
        assert seg.payload == b"" and seg.missing == 0 and seg.flags == SYN
        seg = decode_packet(1, tcp_eth(b"abc") + b"\x00" * 20)
        assert seg.payload == b"abc" and seg.missing == 0

    @pytest.mark.parametrize("words", [1, 2, 10])
    def test_ip_options(self, words):
        opts = b"\x01" * (4 * words - 1) + b"\x00"
        frame = ether(0x0800, ipv4(proto=6, options=opts, payload=tcp(payload=b"XYZ")))
        seg = decode_packet(1, frame)
        assert seg.payload == b"XYZ" and seg.sport == 1935

    def test_tcp_options(self):
        opts = b"\x02\x04\x05\xb4\x01\x03\x03\x07\x04\x02\x00\x00"
        seg = decode_packet(1, ether(0x0800, ipv4(payload=tcp(options=opts, payload=b"after"))))
        assert seg.payload == b"after"

    @pytest.mark.parametrize("doff", [0, 1, 4])
    def test_data_offset_below_20_is_rejected(self, doff):
        assert decode_packet(1, ether(0x0800, ipv4(payload=tcp(payload=b"abcdefgh", doff=doff)))) is None

    def test_data_offset_past_ip_length_is_rejected(self):
        assert decode_packet(1, ether(0x0800, ipv4(payload=tcp(payload=b"abcd", doff=15)))) is None

    def test_bad_ihl_and_version(self):
        assert decode_packet(1, ether(0x0800, ipv4(payload=tcp(), ihl=4))) is None
        good = bytearray(ether(0x0800, ipv4(payload=tcp())))
        good[14] = 0x65  # version 6 in an IPv4 EtherType
        assert decode_packet(1, bytes(good)) is None

    def test_total_length_shorter_than_header_is_rejected(self):
        assert decode_packet(1, ether(0x0800, ipv4(payload=tcp(payload=b"x"), total=12))) is None

    def test_total_length_zero_means_up_to_frame_end(self):  # TSO/GSO captures
        seg = decode_packet(1, ether(0x0800, ipv4(payload=tcp(payload=b"q" * 3000), total=0)))
        assert seg.payload == b"q" * 3000 and seg.missing == 0

    def test_fragments(self):
        first = ether(0x0800, ipv4(payload=tcp(payload=b"first"), frag=0x2000))  # MF, offset 0
        later = ether(0x0800, ipv4(payload=tcp(payload=b"later"), frag=0x0010))
        last = ether(0x0800, ipv4(payload=tcp(payload=b"last"), frag=0x0020))  # no MF, offset 32
        assert decode_packet(1, first).payload == b"first"
        assert decode_packet(1, later) is None
        assert decode_packet(1, last) is None

    def test_not_tcp(self):
        assert decode_packet(1, ether(0x0800, ipv4(proto=17, payload=udp(53, 53, b"dns")))) is None
        assert decode_packet(1, ether(0x0806, b"\x00" * 28)) is None  # ARP
        assert decode_packet(1, ether(0x0800, ipv4(proto=1, payload=b"\x08\x00" + b"\0" * 6))) is None

    @pytest.mark.parametrize("cut", range(0, 54))
    def test_cut_inside_headers_never_raises(self, cut):
        frame = tcp_eth(b"payload")
        assert decode_packet(1, frame[:cut]) is None

    def test_unknown_link_type(self):
        assert decode_packet(147, tcp_eth(b"x")) is None


class TestVlan:
    @pytest.mark.parametrize(
        "vlans",
        [
            [(0x8100, 10)],
            [(0x88A8, 100), (0x8100, 10)],  # 802.1ad QinQ
            [(0x9100, 100), (0x8100, 10)],  # pre-standard QinQ
            [(0x8100, 1), (0x8100, 2), (0x8100, 3)],
        ],
    )
    def test_tags_are_peeled(self, vlans):
        frame = ether(0x0800, ipv4(payload=tcp(payload=b"tagged")), vlans=vlans)
        assert decode_packet(1, frame).payload == b"tagged"

    def test_ipv6_behind_vlan(self):
        frame = ether(0x86DD, ipv6(payload=tcp(payload=b"v6")), vlans=[(0x8100, 3)])
        seg = decode_packet(1, frame)
        assert seg.payload == b"v6" and seg.src == ip6("2001:db8::1")

    def test_truncated_tag(self):
        assert decode_packet(1, ether(0x8100, b"\x00\x0a")) is None

    def test_mpls_and_pppoe(self):
        mpls = ether(0x8847, struct.pack("!I", (16 << 12) | 0x100 | 64) + ipv4(payload=tcp(payload=b"m")))
        assert decode_packet(1, mpls).payload == b"m"
        ppp = ether(0x8864, struct.pack("!BBHHH", 0x11, 0, 1, 0, 0x0021) + ipv4(payload=tcp(payload=b"p")))
        assert decode_packet(1, ppp).payload == b"p"


class TestIPv6:
    def test_plain(self):
        seg = decode_packet(1, ether(0x86DD, ipv6("::1", "fe80::2", payload=tcp(1935, 4000, payload=b"six"))))
        assert (seg.src, seg.dst, seg.sport, seg.dport, seg.payload) == (ip6("::1"), ip6("fe80::2"), 1935, 4000, b"six")

    @pytest.mark.parametrize(
        "ext",
        [
            [(0, ext_opts(0))],
            [(0, ext_opts(2)), (60, ext_opts(1))],
            [(43, ext_opts(2))],
            [(44, ext_fragment(0, more=True))],
            [(51, ext_ah(4))],
            [(0, ext_opts(0)), (43, ext_opts(0)), (44, ext_fragment(0)), (51, ext_ah(1)), (60, ext_opts(3))],
        ],
    )
    def test_extension_headers(self, ext):
        seg = decode_packet(1, ether(0x86DD, ipv6(payload=tcp(payload=b"behind ext"), ext=ext)))
        assert seg is not None and seg.payload == b"behind ext" and seg.missing == 0

    def test_non_first_fragment_skipped(self):
        assert decode_packet(1, ether(0x86DD, ipv6(payload=tcp(payload=b"x"), ext=[(44, ext_fragment(8))]))) is None

    def test_no_next_header_and_esp(self):
        assert decode_packet(1, ether(0x86DD, ipv6(nh=59, payload=b""))) is None
        assert decode_packet(1, ether(0x86DD, ipv6(nh=50, payload=b"\x00" * 40))) is None

    def test_payload_length_bounds_payload(self):
        pkt = ipv6(payload=tcp(payload=b"abc"))
        seg = decode_packet(101, pkt + b"trailing junk")
        assert seg.payload == b"abc"

    def test_extension_header_running_off_the_end(self):
        pkt = ipv6(payload=b"", ext=[(0, ext_opts(0))], nh=6)
        assert decode_packet(101, pkt) is None
        huge = ipv6(payload=tcp(payload=b"x"), ext=[(0, bytes([255]) + b"\x00" * 6)])
        assert decode_packet(101, huge) is None


class TestGtpu:
    INNER = ipv4("172.16.0.5", "203.0.113.9", 6, tcp(59509, 6002, 42, payload=b"rtmp over gtp"))

    def outer(self, gtp, vlans=((0x8100, 20), (0x8100, 30))):
        return ether(0x0800, ipv4("10.1.1.1", "10.2.2.2", 17, udp(2152, 2152, gtp)), vlans=vlans)

    def check(self, seg):
        assert seg is not None
        assert (seg.src, seg.sport, seg.dst, seg.dport) == (ip4("172.16.0.5"), 59509, ip4("203.0.113.9"), 6002)
        assert seg.payload == b"rtmp over gtp" and seg.seq == 42 and seg.missing == 0

    def test_plain_header(self):
        self.check(decode_packet(1, self.outer(gtpu(self.INNER))))

    def test_sequence_number(self):
        self.check(decode_packet(1, self.outer(gtpu(self.INNER, seq=77))))

    def test_extension_header_chain(self):
        exts = [(0x85, b"\x00\x05"), (0x40, b"\x12\x34\x56\x78\x9a\xbc"), (0x20, b"")]
        self.check(decode_packet(1, self.outer(gtpu(self.INNER, exts=exts))))

    def test_inner_ipv6_outer_ipv6(self):
        inner = ipv6("2001:db8:a::1", "2001:db8:b::2", 6, tcp(5000, 1935, payload=b"in6"))
        frame = ether(0x86DD, ipv6("fd00::1", "fd00::2", 17, udp(2152, 40000, gtpu(inner))))
        seg = decode_packet(1, frame)
        assert (seg.src, seg.dst, seg.payload) == (ip6("2001:db8:a::1"), ip6("2001:db8:b::2"), b"in6")

    def test_matches_scapy_encoding(self):
        scapy_all = pytest.importorskip("scapy.all")
        from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer

        pkt = (
            scapy_all.Ether()
            / scapy_all.Dot1AD(vlan=5)
            / scapy_all.Dot1Q(vlan=7)
            / scapy_all.IP(src="10.0.0.1", dst="10.0.0.2")
            / scapy_all.UDP(sport=2152, dport=2152)
            / GTP_U_Header(teid=5, E=1, S=1, seq=9, next_ex=0x85)
            / GTPPDUSessionContainer(type=0, QFI=5)
            / scapy_all.IP(src="172.16.0.5", dst="203.0.113.9")
            / scapy_all.TCP(sport=59509, dport=6002, seq=42, flags="PA")
            / b"rtmp over gtp"
        )
        self.check(decode_packet(1, scapy_all.raw(pkt)))

    def test_other_message_types_and_versions(self):
        assert decode_packet(1, self.outer(gtpu(self.INNER, msg_type=0x01))) is None  # echo request
        gtp = bytearray(gtpu(self.INNER))
        gtp[0] = 0x50  # GTPv2
        assert decode_packet(1, self.outer(bytes(gtp))) is None

    def test_other_udp_port_is_not_gtp(self):
        frame = ether(0x0800, ipv4(proto=17, payload=udp(2153, 2153, gtpu(self.INNER))))
        assert decode_packet(1, frame) is None

    def test_nested_tunnels_stop(self):
        inner = self.INNER
        for _ in range(5):
            inner = ipv4(proto=17, payload=udp(2152, 2152, gtpu(inner)))
        assert decode_packet(101, inner) is None

    def test_broken_extension_chain(self):
        gtp = bytearray(gtpu(self.INNER, exts=[(0x85, b"\x00\x05")]))
        gtp[12] = 0  # extension length 0
        assert decode_packet(1, self.outer(bytes(gtp))) is None

    def test_snaplen_cut_inside_inner_payload(self):
        frame = self.outer(gtpu(self.INNER))
        seg = decode_packet(1, frame[:-5])
        assert seg.payload == b"rtmp ove" and seg.missing == 5


class TestLinkTypes:
    PKT4 = ipv4("192.0.2.1", "192.0.2.2", 6, tcp(1935, 1111, payload=b"four"))
    PKT6 = ipv6("2001:db8::a", "2001:db8::b", 6, tcp(1935, 2222, payload=b"six"))

    def test_linux_sll(self):
        assert decode_packet(113, sll(0x0800, self.PKT4)).payload == b"four"
        assert decode_packet(113, sll(0x86DD, self.PKT6)).payload == b"six"
        assert decode_packet(113, sll(0x0806, b"\x00" * 28)) is None

    def test_linux_sll2(self):
        assert decode_packet(276, sll2(0x0800, self.PKT4)).payload == b"four"
        assert decode_packet(276, sll2(0x86DD, self.PKT6)).payload == b"six"

    @pytest.mark.parametrize("linktype", [101, 12, 14])
    def test_raw_ip(self, linktype):
        assert decode_packet(linktype, self.PKT4).payload == b"four"
        assert decode_packet(linktype, self.PKT6).payload == b"six"

    def test_raw_ipv4_ipv6_only(self):
        assert decode_packet(228, self.PKT4).payload == b"four"
        assert decode_packet(228, self.PKT6) is None
        assert decode_packet(229, self.PKT6).payload == b"six"
        assert decode_packet(229, self.PKT4) is None

    @pytest.mark.parametrize("order", ["<", ">"])
    @pytest.mark.parametrize("family,pkt", [(2, "PKT4"), (24, "PKT6"), (28, "PKT6"), (30, "PKT6")])
    def test_bsd_null(self, order, family, pkt):
        seg = decode_packet(0, struct.pack(order + "I", family) + getattr(self, pkt))
        assert seg is not None and seg.payload == (b"four" if pkt == "PKT4" else b"six")

    def test_bsd_null_unknown_family(self):
        assert decode_packet(0, struct.pack("<I", 7) + self.PKT4) is None

    def test_openbsd_loop(self):
        assert decode_packet(108, struct.pack(">I", 2) + self.PKT4).payload == b"four"
        assert decode_packet(108, struct.pack(">I", 24) + self.PKT6).payload == b"six"
        assert decode_packet(108, struct.pack("<I", 2) + self.PKT4) is None  # loop is always big-endian

    def test_ethernet_fcs_bits_in_pcap_link_type(self):
        assert decode_packet(0x14000001, tcp_eth(b"fcs")).payload == b"fcs"


# ============================================================================ pcap


def sample_packets():
    """Frame 1 TCP, 2 UDP, 3 ARP, 4 TCP (IPv6), 5 TCP."""
    return [
        (1700000000, 1, tcp_eth(b"one", seq=1)),
        (1700000000, 2, ether(0x0800, ipv4(proto=17, payload=udp(53, 53, b"q")))),
        (1700000001, 3, ether(0x0806, b"\x00" * 28)),
        (1700000002, 999999, ether(0x86DD, ipv6(payload=tcp(payload=b"four", seq=4)))),
        (1700000003, 0, tcp_eth(b"five", seq=5)),
    ]


class TestPcap:
    @pytest.mark.parametrize("order", ["<", ">"])
    def test_both_byte_orders(self, tmp_path, order):
        reader, segs = read_all(tmp_path, pcap(sample_packets(), order=order))
        assert reader.format == "pcap"
        assert [s.frame for s in segs] == [1, 4, 5]
        assert [s.payload for s in segs] == [b"one", b"four", b"five"]
        assert [s.seq for s in segs] == [1, 4, 5]
        assert segs[1].time == 1700000002.999999
        assert reader.packets == 5 and reader.start == 1700000000.000001
        assert reader.warnings == [] and reader.link_types == [1]

    @pytest.mark.parametrize("order", ["<", ">"])
    def test_nanosecond_magic(self, tmp_path, order):
        pkts = [(1700000000, 123456789, tcp_eth(b"ns"))]
        reader, segs = read_all(tmp_path, pcap(pkts, order=order, ns=True))
        assert segs[0].time == 1700000000.123456789
        assert reader.start == segs[0].time

    def test_modified_pcap_record_header(self, tmp_path):
        reader, segs = read_all(tmp_path, pcap(sample_packets(), modified=True))
        assert [s.frame for s in segs] == [1, 4, 5] and reader.warnings == []

    def test_snaplen_truncation(self, tmp_path):
        full = tcp_eth(b"A" * 1000)
        pkts = [(1, 0, full[:100], len(full)), (2, 0, full)]
        reader, segs = read_all(tmp_path, pcap(pkts, snaplen=100))
        assert segs[0].payload == b"A" * 46 and segs[0].missing == 954
        assert segs[1].payload == b"A" * 1000 and segs[1].missing == 0

    def test_snaplen_cut_inside_tcp_options(self, tmp_path):
        full = ether(0x0800, ipv4(payload=tcp(options=b"\x01" * 12, payload=b"B" * 500)))
        reader, segs = read_all(tmp_path, pcap([(1, 0, full[:60], len(full))]))
        assert segs[0].payload == b"" and segs[0].missing == 500

    def test_snaplen_cut_inside_tcp_fixed_header(self, tmp_path):
        full = tcp_eth(b"C" * 100)
        reader, segs = read_all(tmp_path, pcap([(1, 0, full[:40], len(full))]))
        assert segs == [] and reader.packets == 1

    def test_unsupported_link_type_is_not_an_error(self, tmp_path):
        reader, segs = read_all(tmp_path, pcap(sample_packets(), linktype=147))
        assert segs == [] and reader.packets == 5
        assert reader.warnings == ["link type 147 (pcap file) is not supported: its packets are skipped"]

    def test_header_only(self, tmp_path):
        reader, segs = read_all(tmp_path, pcap([]))
        assert segs == [] and reader.packets == 0 and reader.start is None and reader.warnings == []

    def test_other_link_types_in_a_file(self, tmp_path):
        pkts = [
            (1, 0, struct.pack("<I", 30) + ipv6(payload=tcp(payload=b"lo6"))),
            (1, 1, b"\x02\0\0\0" + ipv4(payload=tcp(payload=b"lo4"))),
        ]
        reader, segs = read_all(tmp_path, pcap(pkts, linktype=0))
        assert [s.payload for s in segs] == [b"lo6", b"lo4"]


class TestDamage:
    def test_truncated_in_a_record_body(self, tmp_path):
        data = pcap(sample_packets())
        reader, segs = read_all(tmp_path, data[:-10])
        assert [s.frame for s in segs] == [1, 4]
        assert reader.packets == 4
        assert reader.warnings == ["capture truncated in the middle of packet 5: decoded the 4 packets before it"]

    def test_truncated_in_a_record_header(self, tmp_path):
        data = pcap(sample_packets()[:2]) + struct.pack("<II", 5, 6)
        reader, segs = read_all(tmp_path, data)
        assert reader.packets == 2 and len(segs) == 1
        assert reader.warnings == ["capture truncated in the middle of packet 3: decoded the 2 packets before it"]

    def test_truncated_after_one(self, tmp_path):
        data = pcap(sample_packets()[:2])
        reader, segs = read_all(tmp_path, data[:-1])
        assert reader.warnings == ["capture truncated in the middle of packet 2: decoded the 1 packet before it"]

    def test_truncated_at_every_offset(self, tmp_path):
        data = pcap(sample_packets())
        full = list(open_capture(write(tmp_path, data)).segments())
        for cut in range(24, len(data)):
            reader, segs = read_all(tmp_path, data[:cut], name=f"cut{cut}.pcap")
            assert segs == full[: len(segs)]
            at_boundary = cut in _record_ends(data)
            assert (reader.warnings == []) == at_boundary, cut

    def test_huge_record_length_is_not_allocated(self, tmp_path):
        good = pcap(sample_packets()[:3])
        data = good + struct.pack("<IIII", 1, 0, 0xFFFFFFF0, 0xFFFFFFF0) + b"\x00" * 100
        tracemalloc.start()
        try:
            reader, segs = read_all(tmp_path, data)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 8 << 20
        assert reader.packets == 3 and len(segs) == 1
        assert reader.warnings == [
            "packet 4 claims 4294967280 captured bytes (more than 262144): the capture is corrupt from there; "
            "decoded the 3 packets before it"
        ]

    def test_text_file(self, tmp_path):
        with pytest.raises(CaptureError, match="not a pcap or pcapng capture .it looks like a text file"):
            open_capture(write(tmp_path, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "a.txt"))

    def test_binary_junk(self, tmp_path):
        with pytest.raises(CaptureError, match="unknown magic number 0x7f454c46"):
            open_capture(write(tmp_path, b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "a.bin"))

    def test_empty_file(self, tmp_path):
        with pytest.raises(CaptureError, match="empty file"):
            open_capture(write(tmp_path, b""))

    def test_missing_file(self, tmp_path):
        with pytest.raises(CaptureError, match="no such file"):
            open_capture(str(tmp_path / "nope.pcap"))

    def test_directory(self, tmp_path):
        with pytest.raises(CaptureError, match="directory"):
            open_capture(str(tmp_path))

    def test_truncated_global_header(self, tmp_path):
        with pytest.raises(CaptureError, match="pcap file header is truncated"):
            open_capture(write(tmp_path, pcap([])[:10]))

    def test_error_message_is_one_line(self, tmp_path):
        for data in (b"", b"hello\nworld\n", b"\x1f\x8bnot really gzip", pcap([])[:7]):
            with pytest.raises(CaptureError) as info:
                open_capture(write(tmp_path, data))
            assert "\n" not in str(info.value) and str(info.value)

    def test_random_corruption_never_raises(self, tmp_path):
        import random

        rng = random.Random(1234)
        base = pcap(sample_packets() * 3)
        ng = shb() + idb(1) + b"".join(epb(0, i, p[2]) for i, p in enumerate(sample_packets() * 3))
        for data in (base, ng):
            for i in range(300):
                buf = bytearray(data)
                for _ in range(rng.randint(1, 8)):
                    buf[rng.randrange(len(buf))] = rng.randrange(256)
                try:
                    reader = open_capture(write(tmp_path, bytes(buf), f"r{i}"))
                except CaptureError:
                    continue
                segs = list(reader.segments())
                assert len(segs) <= reader.packets


def _record_ends(data: bytes):
    ends = {24}
    pos = 24
    while pos + 16 <= len(data):
        pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
        ends.add(pos)
    return ends


# ============================================================================ pcapng


class TestPcapng:
    def test_multi_interface_link_types_and_resolutions(self, tmp_path):
        t = 1700000000
        data = (
            shb()
            + idb(1)  # Ethernet, default microseconds
            + idb(101, tsresol=9)  # raw IP, nanoseconds
            + idb(113, tsresol=0x94)  # SLL, 2^-20 s
            + idb(147)  # unsupported
            + epb(0, t * 10**6 + 250000, tcp_eth(b"eth"))
            + epb(1, t * 10**9 + 123456789, ipv6(payload=tcp(payload=b"raw6")))
            + epb(2, (t << 20) + (1 << 19), sll(0x0800, ipv4(payload=tcp(payload=b"sll"))))
            + epb(3, t * 10**6, tcp_eth(b"dlt147"))
            + epb(0, (t + 1) * 10**6, tcp_eth(b"eth again"))
        )
        reader, segs = read_all(tmp_path, data, "m.pcapng")
        assert reader.format == "pcapng"
        assert reader.link_types == [1, 101, 113, 147]
        assert [(s.frame, s.payload) for s in segs] == [(1, b"eth"), (2, b"raw6"), (3, b"sll"), (5, b"eth again")]
        assert [s.time for s in segs] == [t + 0.25, 1700000000.123456789, t + 0.5, t + 1.0]
        assert reader.start == t + 0.25 and reader.packets == 5
        assert reader.warnings == ["link type 147 (interface 3) is not supported: its packets are skipped"]

    def test_tsoffset(self, tmp_path):
        data = shb() + idb(1, tsoffset=1000) + epb(0, 5_000_000, tcp_eth(b"x"))
        _, segs = read_all(tmp_path, data, "o.pcapng")
        assert segs[0].time == 1005.0

    def test_big_endian_section(self, tmp_path):
        data = (
            shb(">") + idb(1, order=">") + epb(0, 10**6, tcp_eth(b"be"), order=">") + spb(tcp_eth(b"simple"), order=">")
        )
        reader, segs = read_all(tmp_path, data, "be.pcapng")
        assert [(s.frame, s.payload, s.time) for s in segs] == [(1, b"be", 1.0), (2, b"simple", 1.0)]

    def test_unknown_blocks_are_skipped(self, tmp_path):
        nrb = block(4, struct.pack("<HH", 1, 8) + ip4("1.2.3.4") + b"host" + struct.pack("<HH", 0, 0))
        isb = block(5, struct.pack("<III", 0, 0, 0))
        custom = block(0x00000BAD, struct.pack("<I", 32473) + b"x" * 3001)
        dsb = block(10, struct.pack("<II", 0x544C534B, 4) + b"keys")
        data = shb() + nrb + idb(1) + custom + epb(0, 0, tcp_eth(b"a")) + isb + dsb + epb(0, 0, tcp_eth(b"b"))
        reader, segs = read_all(tmp_path, data, "u.pcapng")
        assert [(s.frame, s.payload) for s in segs] == [(1, b"a"), (2, b"b")] and reader.warnings == []

    def test_large_unknown_block_is_streamed_past(self, tmp_path, monkeypatch):
        monkeypatch.setattr(reader_mod, "CHUNK", 4096)
        custom = block(0x00000BAD, struct.pack("<I", 32473) + b"x" * 100_000)
        data = shb() + idb(1) + custom + epb(0, 0, tcp_eth(b"after"))
        path = write(tmp_path, data, "big.pcapng")
        tracemalloc.start()
        try:
            reader = open_capture(path)
            segs = list(reader.segments())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert [s.payload for s in segs] == [b"after"] and reader.warnings == []
        assert peak < 60_000  # the 100 kB block was never held

    def test_multiple_sections(self, tmp_path):
        data = (
            shb() + idb(1) + epb(0, 10**6, tcp_eth(b"s1"))
            + shb(">") + idb(101, tsresol=3, order=">") + epb(0, 2500, ipv4(payload=tcp(payload=b"s2")), order=">")
            + shb() + idb(0) + idb(1) + epb(1, 3 * 10**6, tcp_eth(b"s3"))
        )
        reader, segs = read_all(tmp_path, data, "s.pcapng")
        assert [(s.frame, s.payload, s.time) for s in segs] == [(1, b"s1", 1.0), (2, b"s2", 2.5), (3, b"s3", 3.0)]
        assert reader.link_types == [1, 101, 0, 1] and reader.warnings == []

    def test_interface_of_previous_section_is_gone(self, tmp_path):
        data = shb() + idb(1) + idb(1) + shb() + idb(1) + epb(1, 0, tcp_eth(b"x")) + epb(0, 0, tcp_eth(b"y"))
        reader, segs = read_all(tmp_path, data, "g.pcapng")
        assert [(s.frame, s.payload) for s in segs] == [(2, b"y")]
        assert reader.warnings == [
            "packet 1 refers to interface 1, which the capture does not describe: such packets are skipped"
        ]

    def test_snaplen_in_epb(self, tmp_path):
        full = tcp_eth(b"Z" * 400)
        _, segs = read_all(tmp_path, shb() + idb(1) + epb(0, 0, full[:80], origlen=len(full)), "t.pcapng")
        assert segs[0].payload == b"Z" * 26 and segs[0].missing == 374

    def test_obsolete_packet_block(self, tmp_path):
        body = struct.pack("<HHIIII", 0, 0, 0, 2 * 10**6, 58, 58) + tcp_eth(b"old!")
        _, segs = read_all(tmp_path, shb() + idb(1) + block(2, body), "p.pcapng")
        assert [(s.payload, s.time) for s in segs] == [(b"old!", 2.0)]

    def test_truncated_in_packet_block(self, tmp_path):
        data = shb() + idb(1) + epb(0, 0, tcp_eth(b"a")) + epb(0, 0, tcp_eth(b"b"))
        reader, segs = read_all(tmp_path, data[:-7], "t.pcapng")
        assert [s.payload for s in segs] == [b"a"]
        assert reader.warnings == ["capture truncated in the middle of packet 2: decoded the 1 packet before it"]

    def test_truncated_at_every_offset(self, tmp_path, monkeypatch):
        monkeypatch.setattr(reader_mod, "CHUNK", 64)  # also exercise records straddling reads
        blocks = [shb(), idb(1), block(0xBAD, b"c" * 30), epb(0, 1, tcp_eth(b"a")), idb(101, tsresol=9),
                  epb(1, 2, ipv4(payload=tcp(payload=b"b"))), spb(tcp_eth(b"c")), shb(">"), idb(1, order=">"),
                  epb(0, 3, tcp_eth(b"d"), order=">")]
        data = b"".join(blocks)
        ends = set()
        pos = 0
        for b in blocks:
            pos += len(b)
            ends.add(pos)
        full = [s.payload for s in read_all(tmp_path, data, "f.pcapng")[1]]
        assert full == [b"a", b"b", b"c", b"d"]
        for cut in range(len(blocks[0]), len(data)):
            reader, segs = read_all(tmp_path, data[:cut], f"cut{cut}.pcapng")
            assert [s.payload for s in segs] == full[: len(segs)], cut
            assert (reader.warnings == []) == (cut in ends), (cut, reader.warnings)
            assert len(reader.warnings) <= 1

    def test_big_endian_obsolete_packet_block(self, tmp_path):
        body = struct.pack(">HHIIII", 1, 0, 0, 3 * 10**6, 58, 58) + tcp_eth(b"old!")
        data = shb(">") + idb(147, order=">") + idb(1, order=">") + block(2, body, ">")
        reader, segs = read_all(tmp_path, data, "p.pcapng")
        assert [(s.payload, s.time) for s in segs] == [(b"old!", 3.0)]

    def test_corrupt_block_length(self, tmp_path):
        good = shb() + idb(1) + epb(0, 0, tcp_eth(b"a"))
        for bad_len in (0xFFFFFFF0, 13, 8):
            data = good + struct.pack("<II", 6, bad_len) + b"\x00" * 64
            reader, segs = read_all(tmp_path, data, "c.pcapng")
            assert [s.payload for s in segs] == [b"a"]
            assert len(reader.warnings) == 1 and "impossible length" in reader.warnings[0]
            assert reader.warnings[0].endswith("decoded the 1 packet before it")

    def test_trailing_length_mismatch(self, tmp_path):
        data = (
            shb()
            + idb(1)
            + epb(0, 0, tcp_eth(b"a"))
            + block(6, struct.pack("<IIIII", 0, 0, 0, 4, 4) + b"abcd", trailer=999)
        )
        reader, segs = read_all(tmp_path, data, "c.pcapng")
        assert [s.payload for s in segs] == [b"a"] and "length fields differ" in reader.warnings[0]

    def test_caplen_larger_than_block(self, tmp_path):
        data = shb() + idb(1) + block(6, struct.pack("<IIIII", 0, 0, 0, 5000, 5000) + b"abcd")
        reader, segs = read_all(tmp_path, data, "c.pcapng")
        assert segs == [] and "claims 5000 captured bytes" in reader.warnings[0]

    def test_bad_first_section_header(self, tmp_path):
        bad_bom = bytearray(shb())
        bad_bom[8:12] = b"\x00\x00\x00\x00"
        with pytest.raises(CaptureError, match="byte-order magic"):
            open_capture(write(tmp_path, bytes(bad_bom), "b.pcapng"))
        with pytest.raises(CaptureError, match="truncated"):
            open_capture(write(tmp_path, shb()[:20], "b.pcapng"))

    def test_matches_scapy_writer(self, tmp_path):
        scapy_all = pytest.importorskip("scapy.all")
        from scapy.utils import PcapNgWriter

        path = str(tmp_path / "scapy.pcapng")
        pkts = [
            scapy_all.Ether()
            / scapy_all.IP(src="1.2.3.4", dst="5.6.7.8")
            / scapy_all.TCP(sport=1935, dport=999)
            / b"scapy",
            scapy_all.Ether() / scapy_all.IP() / scapy_all.UDP() / b"u",
        ]
        pkts[0].time = 1700000000.5
        pkts[1].time = 1700000001
        with PcapNgWriter(path) as w:
            for p in pkts:
                w.write(p)
        reader = open_capture(path)
        segs = list(reader.segments())
        assert [(s.frame, s.payload, s.src, s.sport) for s in segs] == [(1, b"scapy", ip4("1.2.3.4"), 1935)]
        assert segs[0].time == pytest.approx(1700000000.5) and reader.packets == 2


# ============================================================================ input handling


class TestInput:
    def test_gzip(self, tmp_path):
        data = pcap(sample_packets())
        reader, segs = read_all(tmp_path, gzip.compress(data), "c.pcap.gz")
        assert [s.frame for s in segs] == [1, 4, 5] and reader.warnings == []

    def test_gzip_pcapng_without_gz_name(self, tmp_path):
        data = shb() + idb(1) + epb(0, 0, tcp_eth(b"zipped"))
        reader, segs = read_all(tmp_path, gzip.compress(data), "plain-name")
        assert reader.format == "pcapng" and segs[0].payload == b"zipped"

    def test_gzip_multi_member_and_zero_padding(self, tmp_path):
        data = pcap(sample_packets())
        z = gzip.compress(data[:100]) + gzip.compress(data[100:]) + b"\x00" * 50
        reader, segs = read_all(tmp_path, z)
        assert [s.frame for s in segs] == [1, 4, 5] and reader.warnings == []

    def test_gzip_truncated(self, tmp_path):
        data = pcap(sample_packets() * 50)
        z = gzip.compress(data)
        reader, segs = read_all(tmp_path, z[: len(z) // 2])
        assert 0 < reader.packets < 250
        assert "gzip data is truncated: decoded what it held" in reader.warnings
        assert any(w.startswith("capture truncated in the middle of packet") for w in reader.warnings)

    def test_gzip_of_garbage(self, tmp_path):
        with pytest.raises(CaptureError, match="gzip"):
            open_capture(write(tmp_path, b"\x1f\x8b\x08\x00" + b"\xff" * 40))
        with pytest.raises(CaptureError, match="empty file .after gunzip"):
            open_capture(write(tmp_path, gzip.compress(b"")))
        with pytest.raises(CaptureError, match="text file"):
            open_capture(write(tmp_path, gzip.compress(b"just some text\n")))

    def test_stdin(self, monkeypatch):
        data = pcap(sample_packets())

        class FakeStdin:
            buffer = io.BytesIO(data)

        monkeypatch.setattr(sys, "stdin", FakeStdin)
        reader = open_capture("-")
        assert reader.name == "stdin"
        assert [s.frame for s in reader.segments()] == [1, 4, 5]
        assert not FakeStdin.buffer.closed

    def test_stdin_gzip(self, monkeypatch):
        class FakeStdin:
            buffer = io.BytesIO(gzip.compress(pcap(sample_packets())))

        monkeypatch.setattr(sys, "stdin", FakeStdin)
        assert [s.frame for s in open_capture("-").segments()] == [1, 4, 5]

    def test_read_error_midway_keeps_what_was_read(self, monkeypatch):
        data = pcap(sample_packets())

        class Failing(io.RawIOBase):
            calls = 0

            def readable(self):
                return True

            def read1(self, size):
                Failing.calls += 1
                if Failing.calls == 1:
                    return data[:-30]
                raise OSError(5, "Input/output error")

        class FakeStdin:
            buffer = Failing()

        monkeypatch.setattr(sys, "stdin", FakeStdin)
        reader = open_capture("-")
        assert [s.frame for s in reader.segments()] == [1, 4]
        assert reader.warnings == [
            f"read error after {len(data) - 30} bytes (Input/output error): stopped there",
            "capture truncated in the middle of packet 5: decoded the 4 packets before it",
        ]

    def test_real_pipe(self, tmp_path):
        import subprocess

        path = write(tmp_path, gzip.compress(pcap(sample_packets() * 1000)))
        code = (
            "from rtmp_inspect.capture import open_capture\n"
            "r = open_capture('-'); n = sum(1 for _ in r.segments()); print(r.format, r.packets, n, r.warnings)"
        )
        with open(path, "rb") as f:
            out = subprocess.run([sys.executable, "-c", code], stdin=f, capture_output=True, text=True, check=True,
                                 cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]))
        assert out.stdout.strip() == "pcap 5000 3000 []"

    @pytest.mark.parametrize("chunk", [1, 3, 7, 16, 17, 100])
    def test_tiny_read_chunks_give_the_same_result(self, tmp_path, monkeypatch, chunk):
        pkts = sample_packets() * 4 + [(5, 5, tcp_eth(b"L" * 3000))]
        ng = shb() + idb(1) + idb(101, tsresol=9) + b"".join(
            epb(i % 2, i, p[2] if i % 2 == 0 else ipv4(payload=tcp(payload=b"r%d" % i))) for i, p in enumerate(pkts)
        )
        ng += block(0xBAD, b"\x00" * 40) + shb(">") + idb(1, order=">") + epb(0, 1, tcp_eth(b"end"), order=">")
        expected = {}
        for name, data in (("a.pcap", pcap(pkts)), ("a.pcapng", ng), ("a.pcap.gz", gzip.compress(pcap(pkts)))):
            expected[name] = [(s.frame, s.payload, s.time) for s in read_all(tmp_path, data, name)[1]]
        monkeypatch.setattr(reader_mod, "CHUNK", chunk)
        for name, data in (("a.pcap", pcap(pkts)), ("a.pcapng", ng), ("a.pcap.gz", gzip.compress(pcap(pkts)))):
            reader, segs = read_all(tmp_path, data, name)
            assert [(s.frame, s.payload, s.time) for s in segs] == expected[name], name
            assert reader.warnings == []
        assert len(expected["a.pcapng"]) == 16 + 1 + 1

    def test_file_is_streamed_not_slurped(self, tmp_path):
        pkts = [(i, 0, tcp_eth(b"S" * 1400, seq=i)) for i in range(6000)]  # ~8.6 MB
        path = write(tmp_path, pcap(pkts))
        reader = open_capture(path)
        tracemalloc.start()
        try:
            count = 0
            for _ in reader.segments():
                count += 1
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert count == 6000 and reader.packets == 6000
        assert peak < 4 * reader_mod.CHUNK + (1 << 20)

    def test_context_manager_closes(self, tmp_path):
        path = write(tmp_path, pcap(sample_packets()))
        with open_capture(path) as reader:
            first = next(iter(reader.segments()))
        assert first.frame == 1
        assert reader._src._stream.closed

    def test_segments_is_single_pass(self, tmp_path):
        reader = open_capture(write(tmp_path, pcap(sample_packets())))
        assert len(list(reader.segments())) == 3
        assert list(reader.segments()) == []
