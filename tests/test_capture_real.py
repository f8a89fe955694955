"""Capture layer on the real captures in samples/public, and against tshark as an oracle.

The public captures (samples/public) are read in place (read-only, see their README for origin and licence);
tests that need them skip when the directory is absent, and tests that need tshark skip
when it is not installed.
"""

from __future__ import annotations

import gzip
import ipaddress
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from rtmp_inspect.capture import open_capture
from tests.support.capture_builders import (
    epb,
    ether,
    ext_ah,
    ext_opts,
    gtpu,
    idb,
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
from tests.support.paths import public

# file -> (packets, TCP segments, sum of TCP payload lengths as the IP headers declare them); from tshark 4.0
KNOWN = {
    "ndpi_rtmp_gtp_vlan.pcapng": (60, 60, 20451),
    "twinx_ingest_publish.pcap": (27, 27, 6892),
    "twinx_nginx_publish.pcap": (944, 944, 1366593),
    "twinx_short_publish.pcap": (62, 62, 32209),
    "twinx_twitch_publish.pcap": (37, 37, 6938),
    "wireshark_rtmp_sample.cap": (26, 26, 6948),
}


def capture(name: str) -> str:
    return str(public(name))


def ours(path: str):
    reader = open_capture(path)
    segs = list(reader.segments())
    return reader, segs


def addr(packed: bytes) -> str:
    return str(ipaddress.ip_address(packed))


# ============================================================================ without tshark


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_counts(name):
    reader, segs = ours(capture(name))
    packets, count, declared = KNOWN[name]
    assert reader.packets == packets
    assert len(segs) == count
    assert sum(len(s.payload) + s.missing for s in segs) == declared
    assert all(s.missing == 0 for s in segs)
    assert reader.warnings == []
    assert [s.frame for s in segs] == sorted({s.frame for s in segs})


def test_ndpi_gtp_vlan_sessions():
    reader, segs = ours(capture("ndpi_rtmp_gtp_vlan.pcapng"))
    assert reader.format == "pcapng"
    flows = {}
    for s in segs:
        key = frozenset(((addr(s.src), s.sport), (addr(s.dst), s.dport)))
        flows.setdefault(key, []).append(s.frame)
    assert len(flows) == 3
    # the two tunnelled sessions: inner (mobile) addresses, not the GTP tunnel endpoints
    gtp_1935 = next(v for k, v in flows.items() if ("10.140.80.204", 49757) in k)
    gtp_6002 = next(v for k, v in flows.items() if ("10.140.74.206", 59509) in k)
    assert gtp_1935 == list(range(27, 44))
    assert gtp_6002 == list(range(44, 61))
    syn = next(s for s in segs if s.frame == 44)
    assert (addr(syn.src), syn.sport, addr(syn.dst), syn.dport, syn.seq, syn.flags) == (
        "10.140.74.206", 59509, "193.118.47.46", 6002, 2122821434 - 1, 0x02)
    f46 = next(s for s in segs if s.frame == 46)
    assert len(f46.payload) == 1348 and f46.payload[0] == 3  # RTMP C0 version 3, then C1
    assert {s.frame for s in segs} == set(range(1, 61))


def test_gzipped_real_capture_is_identical(tmp_path):
    path = capture("twinx_nginx_publish.pcap")
    gz = tmp_path / "nginx.pcap.gz"
    gz.write_bytes(gzip.compress(Path(path).read_bytes()))
    _, plain = ours(path)
    _, zipped = ours(str(gz))
    assert plain == zipped


# ============================================================================ tshark as oracle

FIELDS = [
    "frame.number",
    "ip.src",
    "ipv6.src",
    "tcp.srcport",
    "ip.dst",
    "ipv6.dst",
    "tcp.dstport",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.flags",
    "tcp.window_size_value",
    "tcp.len",
    "tcp.payload",
    "frame.time_epoch",
]


def tshark_segments(path: str):
    exe = shutil.which("tshark")
    if exe is None:
        pytest.skip("tshark is not installed (apt-get install tshark) - cannot compare against Wireshark")
    cmd = [exe, "-n", "-r", path, "-Y", "tcp", "-T", "fields", "-E", "occurrence=l"]
    cmd += [f for field in FIELDS for f in ("-e", field)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    rows = []
    for line in out.splitlines():
        v = line.split("\t")
        rows.append(
            (
                int(v[0]),
                v[1] or v[2],
                int(v[3]),
                v[4] or v[5],
                int(v[6]),
                int(v[7]),
                int(v[8]),
                int(v[9], 16) & 0xFF,
                int(v[10]),
                int(v[11]),
                v[12].replace(":", ""),
                float(v[13]) if v[13] else None,  # a simple packet block has no time
            )
        )
    return rows


def our_rows(path: str):
    _, segs = ours(path)
    return [
        (s.frame, addr(s.src), s.sport, addr(s.dst), s.dport, s.seq, s.ack, s.flags, s.window,
         len(s.payload) + s.missing, s.payload.hex(), s.time)
        for s in segs
    ]


def assert_same(path: str):
    theirs = tshark_segments(path)
    mine = our_rows(path)
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs):
        assert a[:10] == b[:10], (a[:10], b[:10])
        assert a[10] == b[10] or (b[10] == "" and a[9] == 0), a[0]
        assert b[11] is None or abs(a[11] - b[11]) < 1e-6, (a[0], a[11], b[11])
    return mine


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_real_capture_matches_tshark(name):
    rows = assert_same(capture(name))
    assert rows


def test_synthetic_pcapng_matches_tshark(tmp_path):
    """One file with every link type and encapsulation we decode, several resolutions, snaplen cuts."""
    inner = ipv4("172.16.0.5", "203.0.113.9", 6, tcp(59509, 6002, 42, payload=b"rtmp over gtp"))
    gtp_ext = gtpu(inner, seq=5, exts=[(0x85, b"\x00\x05")])
    long = tcp_eth(b"L" * 1200, seq=900)
    packets = [
        (0, tcp_eth(b"plain", sport=1935, dport=40000)),
        (0, ether(0x0800, ipv4(payload=tcp(payload=b"vlan")), vlans=[(0x88A8, 10), (0x8100, 20)])),
        (0, ether(0x0800, ipv4("10.1.1.1", "10.2.2.2", 17, udp(2152, 2152, gtpu(inner))), vlans=[(0x8100, 7)])),
        (0, ether(0x0800, ipv4("10.1.1.1", "10.2.2.2", 17, udp(2152, 2152, gtp_ext)))),
        (0, ether(0x0800, ipv4(options=b"\x01\x01\x01\x00" * 2, payload=tcp(payload=b"opts")))),
        (
            0,
            ether(
                0x86DD, ipv6(payload=tcp(payload=b"ext"), ext=[(0, ext_opts(0)), (60, ext_opts(1)), (51, ext_ah(4))])
            ),
        ),
        (0, long[:200]),  # snaplen cut
        (0, tcp_eth(b"pad", flags=0x10) + b"\x00" * 10),
        (1, ipv6("2001:db8::1", "2001:db8::2", 6, tcp(1935, 5555, payload=b"raw6"))),
        (2, sll(0x0800, ipv4(payload=tcp(payload=b"sll")))),
        (3, sll2(0x86DD, ipv6(payload=tcp(payload=b"sll2")))),
        (4, struct.pack("<I", 30) + ipv6(payload=tcp(payload=b"null30"))),
        (4, struct.pack(">I", 2) + ipv4(payload=tcp(payload=b"null-be"))),
        (5, struct.pack(">I", 2) + ipv4(payload=tcp(payload=b"loop"))),
        (0, ether(0x0800, ipv4(proto=17, payload=udp(53, 53, b"dns")))),
        (0, tcp_eth(b"last")),
    ]
    res = {0: None, 1: 9, 2: 0x94, 3: 6, 4: 3, 5: None}
    data = (
        shb()
        + idb(1, snaplen=200)
        + idb(101, tsresol=9)
        + idb(113, tsresol=0x94)
        + idb(276, tsresol=6)
        + idb(0, tsresol=3)
        + idb(108)
    )
    for i, (ifid, pkt) in enumerate(packets):
        r = res[ifid]
        units = 10**6 if r is None else (1 << (r & 0x7F) if r & 0x80 else 10**r)
        ts = (1700000000 + i) * units + units // 4
        origlen = len(long) if pkt is not None and len(pkt) == 200 else None
        data += epb(ifid, ts, pkt, origlen=origlen)
    data += spb(tcp_eth(b"simple"))
    path = tmp_path / "every.pcapng"
    path.write_bytes(data)
    rows = assert_same(str(path))
    assert len(rows) == len(packets)  # every TCP packet, plus the SPB, minus the DNS one
    cut = next(r for r in rows if r[0] == 7)
    assert cut[9] == 1200 and len(cut[10]) // 2 == 200 - 54


def test_synthetic_pcap_variants_match_tshark(tmp_path):
    pkts = [(1700000000 + i, i * 1000, tcp_eth(b"p%d" % i, seq=i)) for i in range(5)]
    for order in "<>":
        for ns in (False, True):
            path = tmp_path / f"v{order == '<'}{ns}.pcap"
            path.write_bytes(pcap(pkts, order=order, ns=ns))
            assert len(assert_same(str(path))) == 5
