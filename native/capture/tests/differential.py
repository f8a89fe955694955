#!/usr/bin/env python3
"""Differential test: the Rust port (examples/dump.rs) against the pure-Python reference (reference_dump.py).

    python3 native/capture/tests/differential.py [--variants N] [--scenarios N] [--seed S] [--quick] [--no-bench]

Every input is dumped by Python once (in this process, default read size) and by Rust fed in chunks of 1, 7,
4096 bytes and whole (big inputs: 4096, 1 MiB and whole); all dumps must be byte-identical. Inputs:

* real captures: samples/ and tests/data/ (recursively: *.pcap, *.pcapng, *.cap) and the benchmark inputs
  benchmarks/out/{media,media128,sessions}.pcap (compared by SHA-256 of the dumps);
* crafted captures (the Python tests' capture builders): every pcap/pcapng feature and damage of tests/test_capture.py,
  random layer stacks over every link type, random timestamps and resolutions;
* random TCP scenarios (reordering, loss, duplicates, differing retransmissions, snap-length cuts, random ACKs,
  FIN/RST, keep-alives, zero windows, port reuse, sequence wrap), with the default flow-table limits and with
  tiny ones (eviction, tombstones, buffer / piece bounds, short history);
* mutated copies of every real capture (seeded): bit flips, byte changes, truncations, header field changes,
  dropped / duplicated / reordered records, cut records, inserted garbage.

Everything generated goes to /tmp/capture-diff (failures to /tmp/capture-diff/fail). Exit status 1 on any
difference. Python's own chunk independence is checked on a sample of the inputs (read size 7 and 4096).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
NATIVE = ROOT / "native"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", "/tmp/target-capture"))
DUMP = TARGET / "release" / "examples" / "dump"
WORK = Path("/tmp/capture-diff")

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import reference_dump  # noqa: E402
try:  # the packet / capture builders of the Python tests (moved to tests/support at some point)
    from tests.support import capture_builders as cb  # noqa: E402
except ImportError:  # pragma: no cover
    from tests import test_capture_builders as cb  # type: ignore[no-redef]  # noqa: E402

SMALL_LIMITS = {"max_flows": 3, "max_ended": 2, "max_buffer": 3000, "max_pieces": 4, "history": 700}
TINY_LIMITS = {"max_flows": 1, "max_ended": 0, "max_buffer": 0, "max_pieces": 1, "history": 1}
ZERO_LIMITS = {"max_flows": 0, "max_ended": 0, "max_buffer": 100, "max_pieces": 2, "history": 0}


# ============================================================================================ running


def build() -> None:
    env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET))
    subprocess.run(["cargo", "build", "--release", "-p", "rtmp-inspect-capture", "--example", "dump"],
                   cwd=NATIVE, env=env, check=True)


def limit_args(limits: dict) -> list[str]:
    out = []
    for k, v in limits.items():
        if v is not None:
            out += ["--" + k.replace("_", "-"), str(v)]
    return out


def rust_dump(path: Path, chunk: int, limits: dict) -> bytes:
    return subprocess.run([str(DUMP), str(path), "--chunk", str(chunk), *limit_args(limits)],
                          capture_output=True, check=True).stdout


def py_dump(path: Path, limits: dict, chunk: int = 0) -> bytes:
    buf = io.StringIO()
    reference_dump.dump(str(path), buf.write, chunk=chunk, **limits)
    return buf.getvalue().encode()


class Stats:
    def __init__(self) -> None:
        self.inputs = 0
        self.comparisons = 0
        self.failures: list[str] = []
        self.py_chunk_checks = 0
        self.kinds: dict[str, int] = {}
        self.python_self: list[str] = []  # Python's reader depending on its own read size (not a Rust failure)
        self.gunzipped = 0
        self.skipped_gzip = 0
        self.errors = 0  # inputs that were a CaptureError (both agreed)
        self.warned = 0  # inputs with at least one warning


def check(stats: Stats, kind: str, path: Path, limits: dict | None = None, chunks=(1, 7, 4096, 0),
          py_chunks=(), big: bool = False) -> None:
    limits = limits or {}
    head = path.read_bytes()[:2]
    if head == b"\x1f\x8b":
        # gzip stays in Python: compare on the gunzipped bytes (the parser is fed those), or skip garbage.
        try:
            plain = zlib.decompressobj(wbits=31).decompress(path.read_bytes())
        except zlib.error:
            stats.skipped_gzip += 1
            return
        stats.gunzipped += 1
        path = path.with_name(path.name + ".gunzipped")
        path.write_bytes(plain)
    stats.inputs += 1
    stats.kinds[kind] = stats.kinds.get(kind, 0) + 1
    expected = py_dump(path, limits)
    if expected.startswith(b"error "):
        stats.errors += 1
    if b"\nwarning " in expected:
        stats.warned += 1
    digest = hashlib.sha256(expected).hexdigest()
    for chunk in chunks:
        got = rust_dump(path, chunk, limits)
        stats.comparisons += 1
        same = (hashlib.sha256(got).hexdigest() == digest) if big else (got == expected)
        if not same:
            fail(stats, kind, path, limits, f"rust chunk {chunk}", expected, got)
    for chunk in py_chunks:
        got = py_dump(path, limits, chunk)
        stats.py_chunk_checks += 1
        if got != expected:
            # Not a Rust failure: Python itself depends on its read size here. Reported apart.
            stats.python_self.append(f"{kind}: {path} python read size {chunk} differs from read size 1 MiB")


def fail(stats: Stats, kind: str, path: Path, limits: dict, what: str, expected: bytes, got: bytes) -> None:
    n = len(stats.failures)
    d = WORK / "fail"
    d.mkdir(parents=True, exist_ok=True)
    keep = d / f"{n:04d}_{path.name}"
    shutil.copy(path, keep)
    (d / f"{n:04d}.expected").write_bytes(expected)
    (d / f"{n:04d}.got").write_bytes(got)
    msg = f"{kind}: {path} {limits} {what} differs (kept as {keep})"
    stats.failures.append(msg)
    print("FAIL", msg, flush=True)


# ============================================================================================ crafted captures

T0 = 1_700_000_000


def sample_packets():
    return [
        (T0, 1, cb.tcp_eth(b"one", seq=1)),
        (T0, 2, cb.ether(0x0800, cb.ipv4(proto=17, payload=cb.udp(53, 53, b"q")))),
        (T0 + 1, 3, cb.ether(0x0806, b"\x00" * 28)),
        (T0 + 2, 999999, cb.ether(0x86DD, cb.ipv6(payload=cb.tcp(payload=b"four", seq=4)))),
        (T0 + 3, 0, cb.tcp_eth(b"five", seq=5)),
    ]


def crafted_format_cases() -> list[tuple[str, bytes]]:
    """The pcap / pcapng features and damages of tests/test_capture.py, and more."""
    out: list[tuple[str, bytes]] = []
    pk = sample_packets()
    for order in "<>":
        out.append((f"pcap{order == '<'}", cb.pcap(pk, order=order)))
        out.append((f"pcapns{order == '<'}", cb.pcap([(T0, 123456789, cb.tcp_eth(b"ns"))], order=order, ns=True)))
    out.append(("modified", cb.pcap(pk, modified=True)))
    out.append(("modified_be", cb.pcap(pk, modified=True, order=">")))
    full = cb.tcp_eth(b"A" * 1000)
    out.append(("snaplen", cb.pcap([(1, 0, full[:100], len(full)), (2, 0, full)], snaplen=100)))
    opt = cb.ether(0x0800, cb.ipv4(payload=cb.tcp(options=b"\x01" * 12, payload=b"B" * 500)))
    out.append(("snap_in_options", cb.pcap([(1, 0, opt[:60], len(opt))])))
    out.append(("snap_in_tcp", cb.pcap([(1, 0, cb.tcp_eth(b"C" * 100)[:40], 154)])))
    out.append(("linktype147", cb.pcap(pk, linktype=147)))
    out.append(("fcs_linktype", cb.pcap(pk, linktype=0x14000001)))
    out.append(("header_only", cb.pcap([])))
    lo = [(1, 0, struct.pack("<I", 30) + cb.ipv6(payload=cb.tcp(payload=b"lo6"))),
          (1, 1, b"\x02\0\0\0" + cb.ipv4(payload=cb.tcp(payload=b"lo4")))]
    out.append(("bsd_null", cb.pcap(lo, linktype=0)))
    data = cb.pcap(pk)
    out.append(("trunc_body", data[:-10]))
    out.append(("trunc_header", cb.pcap(pk[:2]) + struct.pack("<II", 5, 6)))
    out.append(("trunc_after_one", cb.pcap(pk[:2])[:-1]))
    for cut in range(0, len(data), 3):
        out.append((f"pcapcut{cut}", data[:cut]))
    out.append(("huge_caplen", cb.pcap(pk[:3]) + struct.pack("<IIII", 1, 0, 0xFFFFFFF0, 0xFFFFFFF0) + b"\0" * 100))
    out.append(("caplen_max", cb.pcap(pk[:3]) + struct.pack("<IIII", 1, 0, 262144, 262144) + b"\0" * 262144))
    out.append(("caplen_max1", cb.pcap(pk[:3]) + struct.pack("<IIII", 1, 0, 262145, 262145) + b"\0" * 300))
    out.append(("text", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
    out.append(("text_long", b"hello world\n" * 100))
    out.append(("text_then_binary", b"a" * 512 + b"\x00\x01"))
    out.append(("text_513_binary", b"a" * 511 + b"\x00"))
    out.append(("elf", b"\x7fELF\x02\x01\x01" + b"\x00" * 100))
    out.append(("empty", b""))
    for n in (1, 2, 3):
        out.append((f"short{n}", b"\xd4\xc3\xb2\xa1"[:n]))
        out.append((f"shorttext{n}", b"abc"[:n]))
    out.append(("pcap_hdr10", cb.pcap([])[:10]))
    out.append(("gzip_magic", b"\x1f\x8b\x08\x00" + b"\xff" * 40))
    # pcapng
    t = T0
    multi = (cb.shb() + cb.idb(1) + cb.idb(101, tsresol=9) + cb.idb(113, tsresol=0x94) + cb.idb(147)
             + cb.epb(0, t * 10**6 + 250000, cb.tcp_eth(b"eth"))
             + cb.epb(1, t * 10**9 + 123456789, cb.ipv6(payload=cb.tcp(payload=b"raw6")))
             + cb.epb(2, (t << 20) + (1 << 19), cb.sll(0x0800, cb.ipv4(payload=cb.tcp(payload=b"sll"))))
             + cb.epb(3, t * 10**6, cb.tcp_eth(b"dlt147")) + cb.epb(0, (t + 1) * 10**6, cb.tcp_eth(b"eth again")))
    out.append(("ng_multi", multi))
    out.append(("ng_tsoffset", cb.shb() + cb.idb(1, tsoffset=1000) + cb.epb(0, 5_000_000, cb.tcp_eth(b"x"))))
    out.append(("ng_tsoffset_neg", cb.shb() + cb.idb(1, tsoffset=-(1 << 62)) + cb.epb(0, 5_000_123, cb.tcp_eth(b"x"))))
    out.append(("ng_be", cb.shb(">") + cb.idb(1, order=">") + cb.epb(0, 10**6, cb.tcp_eth(b"be"), order=">")
                + cb.spb(cb.tcp_eth(b"simple"), order=">")))
    nrb = cb.block(4, struct.pack("<HH", 1, 8) + cb.ip4("1.2.3.4") + b"host" + struct.pack("<HH", 0, 0))
    isb = cb.block(5, struct.pack("<III", 0, 0, 0))
    custom = cb.block(0x00000BAD, struct.pack("<I", 32473) + b"x" * 3001)
    dsb = cb.block(10, struct.pack("<II", 0x544C534B, 4) + b"keys")
    out.append(("ng_unknown", cb.shb() + nrb + cb.idb(1) + custom + cb.epb(0, 0, cb.tcp_eth(b"a")) + isb + dsb
                + cb.epb(0, 0, cb.tcp_eth(b"b"))))
    big_custom = cb.block(0x00000BAD, struct.pack("<I", 32473) + b"x" * 100_000)
    out.append(("ng_big_unknown", cb.shb() + cb.idb(1) + big_custom + cb.epb(0, 0, cb.tcp_eth(b"after"))))
    out.append(("ng_unknown_12", cb.shb() + cb.idb(1) + struct.pack("<III", 77, 12, 12) + cb.epb(0, 0, cb.tcp_eth(b"z"))))
    out.append(("ng_unknown_12_bad", cb.shb() + cb.idb(1) + struct.pack("<III", 77, 12, 16) + cb.epb(0, 0, cb.tcp_eth(b"z"))))
    out.append(("ng_sections", cb.shb() + cb.idb(1) + cb.epb(0, 10**6, cb.tcp_eth(b"s1"))
                + cb.shb(">") + cb.idb(101, tsresol=3, order=">")
                + cb.epb(0, 2500, cb.ipv4(payload=cb.tcp(payload=b"s2")), order=">")
                + cb.shb() + cb.idb(0) + cb.idb(1) + cb.epb(1, 3 * 10**6, cb.tcp_eth(b"s3"))))
    out.append(("ng_iface_gone", cb.shb() + cb.idb(1) + cb.idb(1) + cb.shb() + cb.idb(1)
                + cb.epb(1, 0, cb.tcp_eth(b"x")) + cb.epb(0, 0, cb.tcp_eth(b"y")) + cb.epb(1, 0, cb.tcp_eth(b"x"))
                + cb.epb(5, 0, cb.tcp_eth(b"x"))))
    full = cb.tcp_eth(b"Z" * 400)
    out.append(("ng_snap", cb.shb() + cb.idb(1) + cb.epb(0, 0, full[:80], origlen=len(full))))
    body = struct.pack("<HHIIII", 0, 0, 0, 2 * 10**6, 58, 58) + cb.tcp_eth(b"old!")
    out.append(("ng_pb", cb.shb() + cb.idb(1) + cb.block(2, body)))
    body = struct.pack(">HHIIII", 1, 0, 0, 3 * 10**6, 58, 58) + cb.tcp_eth(b"old!")
    out.append(("ng_pb_be", cb.shb(">") + cb.idb(147, order=">") + cb.idb(1, order=">") + cb.block(2, body, ">")))
    out.append(("ng_spb_first", cb.shb() + cb.spb(cb.tcp_eth(b"nope")) + cb.idb(1) + cb.spb(cb.tcp_eth(b"yes"))
                + cb.epb(0, 7 * 10**6, cb.tcp_eth(b"t")) + cb.spb(cb.tcp_eth(b"later"), origlen=9999)))
    out.append(("ng_spb_only", cb.shb() + cb.idb(1) + cb.spb(cb.tcp_eth(b"first")) + cb.epb(0, 10**6, cb.tcp_eth(b"x"))))
    out.append(("ng_epb_bad_iface_first", cb.shb() + cb.idb(1) + cb.epb(3, 10**6, cb.tcp_eth(b"x"))
                + cb.epb(0, 2 * 10**6, cb.tcp_eth(b"y"))))
    good = cb.shb() + cb.idb(1) + cb.epb(0, 0, cb.tcp_eth(b"a"))
    for bad_len in (0xFFFFFFF0, 13, 8, 16, 20, 28, 31, (16 << 20) + 4, 16 << 20):
        out.append((f"ng_badlen{bad_len}", good + struct.pack("<II", 6, bad_len) + b"\x00" * 64))
        out.append((f"ng_badlen_idb{bad_len}", good + struct.pack("<II", 1, bad_len) + b"\x00" * 64))
        out.append((f"ng_badlen_unk{bad_len}", good + struct.pack("<II", 99, bad_len) + b"\x00" * 64))
        out.append((f"ng_badlen_shb{bad_len}", good + struct.pack("<IIIHHq", 0x0A0D0D0A, bad_len, 0x1A2B3C4D, 1, 0, -1)
                    + b"\x00" * 64))
    out.append(("ng_trailer", cb.shb() + cb.idb(1) + cb.epb(0, 0, cb.tcp_eth(b"a"))
                + cb.block(6, struct.pack("<IIIII", 0, 0, 0, 4, 4) + b"abcd", trailer=999)))
    out.append(("ng_caplen_big", cb.shb() + cb.idb(1) + cb.block(6, struct.pack("<IIIII", 0, 0, 0, 5000, 5000) + b"abcd")))
    bad_bom = bytearray(cb.shb())
    bad_bom[8:12] = b"\x00\x00\x00\x00"
    out.append(("ng_bad_bom", bytes(bad_bom)))
    out.append(("ng_shb_trunc", cb.shb()[:20]))
    out.append(("ng_shb_trunc11", cb.shb()[:11]))
    out.append(("ng_shb_len", cb.shb()[:4] + struct.pack("<I", 24) + cb.shb()[8:]))
    out.append(("ng_shb_trailer", cb.shb()[:-4] + struct.pack("<I", 1)))
    out.append(("ng_mid_bad_bom", good + bytes(bad_bom) + cb.epb(0, 0, cb.tcp_eth(b"a"))))
    blocks = [cb.shb(), cb.idb(1), cb.block(0xBAD, b"c" * 30), cb.epb(0, 1, cb.tcp_eth(b"a")), cb.idb(101, tsresol=9),
              cb.epb(1, 2, cb.ipv4(payload=cb.tcp(payload=b"b"))), cb.spb(cb.tcp_eth(b"c")), cb.shb(">"),
              cb.idb(1, order=">"), cb.epb(0, 3, cb.tcp_eth(b"d"), order=">")]
    data = b"".join(blocks)
    for cut in range(len(blocks[0]) - 12, len(data)):
        out.append((f"ngcut{cut}", data[:cut]))
    # IDB options: odd lengths, zero code early, options running past the end, 2^-v and 10^-v up to 30+
    opts = [cb.option(2, b"eth0"), cb.option(9, bytes([6])), cb.option(14, struct.pack("<q", 5))]
    out.append(("ng_idb_opts", cb.shb() + cb.block(1, struct.pack("<HHI", 1, 0, 0) + b"".join(opts)
                                                   + struct.pack("<HH", 0, 0)) + cb.epb(0, 123456789, cb.tcp_eth(b"o"))))
    out.append(("ng_idb_opt_past_end", cb.shb() + cb.block(1, struct.pack("<HHI", 1, 0, 0) + struct.pack("<HH", 9, 200)
                                                           + b"\x09\0\0\0") + cb.epb(0, 123456789, cb.tcp_eth(b"o"))))
    return out


def random_timestamps(rng: random.Random, n: int) -> list[tuple[str, bytes]]:
    """Timestamps of every kind, to check the exact integer division against CPython."""
    out = []
    for i in range(n):
        body = cb.shb()
        ifaces = []
        for _ in range(rng.randint(1, 6)):
            v = rng.choice([rng.randrange(256), rng.randrange(40), 0x80 | rng.randrange(128), 6, 9, 3, 0x94])
            off = rng.choice([None, None, 0, rng.randrange(-(1 << 63), 1 << 63), rng.randrange(-10**10, 10**10)])
            body += cb.idb(1, tsresol=v, tsoffset=off)
            ifaces.append(v)
        for _ in range(60):
            ts = rng.choice([rng.getrandbits(64), rng.getrandbits(rng.randint(1, 64)), T0 * 10**9 + rng.getrandbits(30),
                             T0 * 10**6 + rng.getrandbits(20), (1 << 53) + rng.getrandbits(8), 0])
            body += cb.epb(rng.randrange(len(ifaces)), ts, cb.tcp_eth(b"t", seq=rng.getrandbits(32)))
        out.append((f"ts{i}", body))
        for ns in (False, True):
            pk = [(rng.getrandbits(32), rng.choice([rng.getrandbits(32), rng.randrange(10**9)]),
                   cb.tcp_eth(b"p")) for _ in range(60)]
            out.append((f"tspcap{i}{ns}", cb.pcap(pk, ns=ns, order=rng.choice("<>"))))
    return out


# -------------------------------------------------------------------------------------------- random packets


def rand_ip4(rng):
    return ".".join(str(rng.randrange(256)) for _ in range(4))


def rand_ip6(rng):
    return ":".join("%x" % rng.getrandbits(16) for _ in range(8))


def random_transport(rng: random.Random, depth: int, v6: bool):
    """(protocol number, transport bytes) of a random TCP / UDP / GTP-U packet."""
    roll = rng.random()
    payload = rng.randbytes(rng.choice([0, 1, 5, 40, rng.randrange(1500)]))
    if roll < 0.55:
        opts = rng.choice([b"", b"\x01" * 4, b"\x02\x04\x05\xb4\x01\x03\x03\x07\x04\x02\x00\x00", b"\x01" * 40])
        doff = rng.choice([None] * 8 + [0, 1, 4, 5, 15, rng.randrange(16)])
        t = cb.tcp(rng.getrandbits(16), rng.getrandbits(16), rng.getrandbits(32), rng.getrandbits(32),
                   rng.getrandbits(8), rng.getrandbits(16), payload, opts[: len(opts) // 4 * 4], doff)
        return 6, t
    if roll < 0.75 or depth >= 3:
        ports = rng.choice([(rng.getrandbits(16), rng.getrandbits(16)), (53, 53), (2153, 2153), (1935, 5000)])
        length = rng.choice([None] * 6 + [0, 7, 8, 9, rng.getrandbits(16)])
        return 17, cb.udp(ports[0], ports[1], payload, length)
    # GTP-U around an inner packet
    inner_v6 = rng.random() < 0.3
    inner = random_ip(rng, depth + 1, inner_v6)
    exts = []
    if rng.random() < 0.4:
        exts = [(rng.choice([0x85, 0x40, 0x20, 0xC0]), rng.randbytes(rng.choice([0, 2, 6, 10])))
                for _ in range(rng.choice([1, 2, 3, 15, 16, 17]))]
    gtp = cb.gtpu(inner, seq=rng.choice([None, 5]), exts=exts, msg_type=rng.choice([0xFF] * 6 + [0x01]))
    g = bytearray(gtp)
    if rng.random() < 0.2:
        g[rng.randrange(len(g))] = rng.randrange(256)
    if rng.random() < 0.1:
        g[0] = rng.choice([0x30, 0x32, 0x34, 0x37, 0x50])
    sport, dport = rng.choice([(2152, 2152), (2152, 40000), (40000, 2152)])
    length = rng.choice([None] * 6 + [0, 7, 8, len(g) + 8 - 5, 60000])
    return 17, cb.udp(sport, dport, bytes(g), length)


def random_ip(rng: random.Random, depth: int, v6: bool) -> bytes:
    proto, body = random_transport(rng, depth, v6)
    if rng.random() < 0.05:
        proto = rng.choice([1, 47, 50, 132])
    if v6:
        ext = []
        if rng.random() < 0.3:
            for _ in range(rng.choice([1, 2, 3, 17])):
                t = rng.choice([0, 43, 60, 135, 44, 51])
                if t == 44:
                    ext.append((44, cb.ext_fragment(rng.choice([0, 0, 0, 8]), more=rng.random() < 0.5)))
                elif t == 51:
                    ext.append((51, cb.ext_ah(rng.randrange(6))))
                else:
                    ext.append((t, cb.ext_opts(rng.randrange(3))))
        plen = rng.choice([None] * 8 + [0, 5, 60000, rng.getrandbits(16)])
        return cb.ipv6(rand_ip6(rng), rand_ip6(rng), rng.choice([proto] * 10 + [59, 50, 99]), body, ext, plen)
    opts = rng.choice([b""] * 6 + [b"\x01" * 4, b"\x01" * 40])
    total = rng.choice([None] * 8 + [0, 12, 20, 60000, rng.getrandbits(16)])
    frag = rng.choice([0] * 8 + [0x2000, 0x0010, 0x4000, rng.getrandbits(16)])
    ihl = rng.choice([None] * 12 + [4, 5, 15, rng.randrange(16)])
    pkt = cb.ipv4(rand_ip4(rng), rand_ip4(rng), proto, body, opts, total, frag, ihl)
    if rng.random() < 0.03:
        pkt = bytes([rng.choice([0x65, 0x35, 0x45])]) + pkt[1:]
    return pkt


def random_frame(rng: random.Random, link: int) -> bytes:
    v6 = rng.random() < 0.3
    ip = random_ip(rng, 0, v6)
    etype = 0x86DD if v6 else 0x0800
    if link == 1:
        roll = rng.random()
        if roll < 0.15:
            vlans = [(rng.choice([0x8100, 0x88A8, 0x9100, 0x9200]), rng.getrandbits(12))
                     for _ in range(rng.choice([1, 2, 3, 7, 8, 9]))]
            return cb.ether(etype, ip, vlans=vlans)
        if roll < 0.22:
            labels = b"".join(struct.pack("!I", (rng.getrandbits(20) << 12) | (0x100 if i == n - 1 else 0) | 64)
                              for n in [rng.choice([1, 2, 16, 17])] for i in range(n))
            return cb.ether(rng.choice([0x8847, 0x8848]), labels + ip)
        if roll < 0.28:
            proto = rng.choice([0x0021, 0x0057, 0x0021 if not v6 else 0x0057, 0xC021])
            return cb.ether(0x8864, struct.pack("!BBHHH", 0x11, 0, 1, 0, proto) + ip)
        if roll < 0.3:
            return cb.ether(rng.getrandbits(16), ip)
        return cb.ether(etype, ip) + rng.choice([b"", b"", b"\xaa" * 6 + b"\xde\xad\xbe\xef"])
    if link == 113:
        return cb.sll(rng.choice([etype] * 5 + [0x8100, 0x0806]), ip)
    if link == 276:
        return cb.sll2(rng.choice([etype] * 5 + [0x8100]), ip)
    if link == 0:
        fam = 2 if not v6 else rng.choice([10, 24, 28, 30])
        return struct.pack(rng.choice("<>") + "I", fam) + ip
    if link == 108:
        fam = 2 if not v6 else rng.choice([24, 28, 30])
        return struct.pack(rng.choice([">I"] * 4 + ["<I"]), fam) + ip
    return ip  # raw IP: 12, 14, 101, 228, 229


LINKS = [1, 113, 276, 0, 108, 12, 14, 101, 228, 229, 147]


def random_packet_captures(rng: random.Random, n: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        body = cb.shb()
        links = rng.sample(LINKS, rng.randint(1, 5))
        for lt in links:
            body += cb.idb(lt, tsresol=rng.choice([None, 9]))
        for k in range(150):
            ifid = rng.randrange(len(links))
            frame = random_frame(rng, links[ifid] if links[ifid] != 147 else 1)
            if rng.random() < 0.25:
                frame = frame[: rng.randrange(len(frame) + 1)]
            if rng.random() < 0.1 and frame:
                b = bytearray(frame)
                for _ in range(rng.randint(1, 4)):
                    b[rng.randrange(len(b))] = rng.randrange(256)
                frame = bytes(b)
            body += cb.epb(ifid, T0 * 10**6 + k, frame, origlen=len(frame) + rng.choice([0, 0, 10]))
        out.append((f"rndpkt{i}", body))
        lt = rng.choice(LINKS[:-1])
        pk = [(T0, k, random_frame(rng, lt)) for k in range(150)]
        out.append((f"rndpcap{i}_{lt}", cb.pcap(pk, linktype=lt)))
    return out


# -------------------------------------------------------------------------------------------- TCP scenarios


class Conn:
    def __init__(self, rng: random.Random, ends, isn) -> None:
        self.rng = rng
        self.ends = ends  # ((addr, port, v6), (addr, port, v6))
        self.isn = isn
        self.sent = [0, 0]
        self.packets = []  # (dir, seq, ack, flags, window, payload, cut)

    def seg(self, d, rel, payload=b"", flags=0x10, ack_rel=None, window=65535, cut=None, raw_seq=None, raw_ack=None):
        seq = raw_seq if raw_seq is not None else (self.isn[d] + 1 + rel) & 0xFFFFFFFF
        if raw_ack is not None:
            ack = raw_ack
        elif flags & 0x10:
            ack = (self.isn[1 - d] + 1 + (self.sent[1 - d] if ack_rel is None else ack_rel)) & 0xFFFFFFFF
        else:
            ack = 0
        self.packets.append((d, seq, ack, flags, window, payload, cut))


def scenario_conn(rng: random.Random, ends) -> Conn:
    wrap = rng.random() < 0.25
    isn = [(0xFFFFFFFF - rng.randrange(3000)) if wrap and rng.random() < 0.7 else rng.getrandbits(32) for _ in range(2)]
    c = Conn(rng, ends, isn)
    data = [rng.randbytes(rng.choice([0, 1, 10, 300, 2000, 6000])), rng.randbytes(rng.choice([0, 5, 500, 3000]))]
    if rng.random() < 0.8:  # handshake
        c.seg(0, -1, flags=0x02)
        if rng.random() < 0.1:
            c.seg(0, -1, flags=0x02)  # retransmitted SYN
        if rng.random() < 0.05:
            c.seg(0, -1, rng.randbytes(5), flags=0x02)  # data in the SYN
        c.seg(1, -1, flags=0x12, ack_rel=0)
        c.seg(0, 0, flags=0x10, ack_rel=0)
    pos = [0, 0]
    fin = [False, False]
    while pos[0] < len(data[0]) or pos[1] < len(data[1]):
        d = rng.randrange(2)
        if pos[d] >= len(data[d]):
            d = 1 - d
        n = rng.choice([1, 2, 100, 536, 1448, 1460, rng.randrange(1, 1500)])
        chunk = data[d][pos[d]:pos[d] + n]
        flags = rng.choice([0x18, 0x10, 0x18, 0x18])
        cut = None
        if rng.random() < 0.06:
            cut = rng.randrange(0, 60 + len(chunk))  # bytes of the wire packet kept (snap length)
        window = 0 if rng.random() < 0.03 else rng.getrandbits(16) | 1
        ack_rel = None
        r = rng.random()
        if r < 0.1:
            ack_rel = rng.randrange(0, c.sent[1 - d] + 1)
        elif r < 0.13:
            ack_rel = c.sent[1 - d] + rng.randrange(1, 5000)  # acks bytes the capture never shows
        c.seg(d, pos[d], chunk, flags, ack_rel, window, cut)
        pos[d] += len(chunk)
        c.sent[d] = pos[d]
        r = rng.random()
        if r < 0.08 and pos[d] > 0:  # retransmission of a random earlier range, maybe with other bytes
            lo = rng.randrange(pos[d])
            hi = min(pos[d] + rng.randrange(0, 200), lo + rng.randrange(1, 1500))
            blob = data[d][lo:hi]
            if rng.random() < 0.3 and blob:
                b = bytearray(blob)
                b[rng.randrange(len(b))] ^= 0xFF
                blob = bytes(b)
            c.seg(d, lo, blob, 0x18)
        elif r < 0.11 and pos[d] > 0:  # keep-alive
            c.seg(d, pos[d] - 1, rng.choice([b"", b"\x00"]), 0x10)
        elif r < 0.13:  # pure ACK
            c.seg(1 - d, c.sent[1 - d], b"", 0x10)
        elif r < 0.14:  # odd flags
            c.seg(d, pos[d], b"", rng.getrandbits(8))
    r = rng.random()
    if r < 0.55:
        first = rng.randrange(2)
        c.seg(first, c.sent[first], b"", 0x11)
        if rng.random() < 0.1:
            c.seg(first, c.sent[first], b"", 0x11)  # retransmitted FIN
        c.seg(1 - first, c.sent[1 - first], b"", 0x11, ack_rel=c.sent[first] + 1)
        c.seg(first, c.sent[first] + 1, b"", 0x10, ack_rel=c.sent[1 - first] + 1)
    elif r < 0.7:
        d = rng.randrange(2)
        c.seg(d, c.sent[d], b"", rng.choice([0x04, 0x14]))
        if rng.random() < 0.5:
            c.seg(1 - d, c.sent[1 - d], b"late", 0x18)
    return c


def perturb(rng: random.Random, pkts: list) -> list:
    out = []
    for p in pkts:
        r = rng.random()
        if r < 0.03:
            continue  # lost
        out.append(p)
        if r < 0.06:
            out.append(p)  # duplicated
    for i in range(len(out) - 1):  # local reordering
        if rng.random() < 0.08:
            j = min(len(out) - 1, i + rng.randint(1, 4))
            out[i], out[j] = out[j], out[i]
    return out


def frame_of(c: Conn, p, link: int) -> tuple[bytes, int]:
    d, seq, ack, flags, window, payload, cut = p
    (sa, sp, v6), (da, dp, _) = c.ends[d], c.ends[1 - d]
    t = cb.tcp(sp, dp, seq, ack, flags, window, payload)
    ip = cb.ipv6(sa, da, 6, t) if v6 else cb.ipv4(sa, da, 6, t)
    wire = ip if link == 101 else cb.ether(0x86DD if v6 else 0x0800, ip)
    if cut is not None:
        return wire[:cut], len(wire)
    return wire, len(wire)


def tcp_scenarios(rng: random.Random, n: int) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        link = rng.choice([1, 1, 101])
        tuples = []
        conns = []
        for _ in range(rng.choice([1, 2, 3, 5, 8])):
            if tuples and rng.random() < 0.3:
                ends = rng.choice(tuples)  # the same 4-tuple again (port reuse)
                if rng.random() < 0.3:
                    ends = (ends[1], ends[0])
            else:
                v6 = rng.random() < 0.2
                ip = (lambda: rand_ip6(rng)) if v6 else (lambda: rand_ip4(rng))
                ends = ((ip(), rng.getrandbits(16), v6), (ip(), rng.choice([1935, 80, rng.getrandbits(16)]), v6))
                if rng.random() < 0.03:
                    ends = (ends[0], ends[0])  # a connection to itself
                tuples.append(ends)
            conns.append(scenario_conn(rng, ends))
        # interleave connections, each in its own (perturbed) order; reused tuples stay after their previous use
        queues = [[(c, p) for p in perturb(rng, c.packets)] for c in conns]
        merged = []
        active = [0]
        nxt = 1
        while active:
            if nxt < len(queues) and (rng.random() < 0.05 or len(active) == 0):
                active.append(nxt)
                nxt += 1
            k = rng.choice(active)
            merged.append(queues[k].pop(0))
            if not queues[k]:
                active.remove(k)
                if not active and nxt < len(queues):
                    active.append(nxt)
                    nxt += 1
        pk = []
        for k, (c, p) in enumerate(merged):
            wire, orig = frame_of(c, p, link)
            pk.append((T0 + k // 100, (k % 100) * 10000, wire, orig))
        out.append((f"tcp{i}", cb.pcap(pk, linktype=link)))
    return out


# ============================================================================================ mutations


def pcap_records(data: bytes):
    """(header, [record bytes]) of a well-formed little- or big-endian pcap, or None."""
    if len(data) < 24:
        return None
    magic = data[:4]
    order = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    if order is None:
        return None
    recs, pos = [], 24
    while pos + 16 <= len(data):
        n = struct.unpack_from(order + "I", data, pos + 8)[0]
        recs.append(data[pos:pos + 16 + n])
        pos += 16 + n
    return data[:24], recs, order, (8, 12)


def pcapng_blocks(data: bytes):
    if data[:4] != b"\x0a\x0d\x0d\x0a":
        return None
    order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    blocks, pos = [], 0
    while pos + 12 <= len(data):
        n = struct.unpack_from(order + "I", data, pos + 4)[0]
        if n < 12 or n > len(data) - pos:
            break
        blocks.append(data[pos:pos + n])
        pos += n
    return blocks[0], blocks[1:], order, (4, 20, -4)


def mutate(rng: random.Random, data: bytes) -> bytes:
    parsed = pcap_records(data) or pcapng_blocks(data)
    ops = rng.sample(range(12), rng.choice([1, 1, 1, 2, 3]))
    buf = data
    for op in ops:
        if parsed and op < 6 and parsed[1]:
            head, recs, order, lenpos = parsed
            recs = list(recs)
            if op == 0:  # drop records
                for _ in range(rng.randint(1, max(1, len(recs) // 20))):
                    if recs:
                        del recs[rng.randrange(len(recs))]
            elif op == 1:  # duplicate
                for _ in range(rng.randint(1, max(1, len(recs) // 20))):
                    i = rng.randrange(len(recs))
                    recs.insert(i, recs[i])
            elif op == 2:  # reorder
                for _ in range(rng.randint(1, max(1, len(recs) // 10))):
                    i = rng.randrange(len(recs))
                    j = min(len(recs) - 1, i + rng.randint(1, 5))
                    recs[i], recs[j] = recs[j], recs[i]
            elif op == 3 and head[:4] != b"\x0a\x0d\x0d\x0a":  # cut a record (snap length), keep origlen
                for _ in range(rng.randint(1, 5)):
                    i = rng.randrange(len(recs))
                    r = recs[i]
                    keep = rng.randrange(len(r) - 15)
                    recs[i] = r[:8] + struct.pack(order + "I", keep) + r[12:16] + r[16:16 + keep]
            elif op == 4:  # mutate bytes of a packet's headers
                for _ in range(rng.randint(1, 6)):
                    i = rng.randrange(len(recs))
                    r = bytearray(recs[i])
                    start = 16 if head[:4] != b"\x0a\x0d\x0d\x0a" else 28
                    if len(r) > start:
                        k = start + min(len(r) - start - 1, int(rng.expovariate(1 / 30)))
                        r[k] = rng.choice([rng.randrange(256), r[k] ^ (1 << rng.randrange(8)), 0, 0xFF])
                    recs[i] = bytes(r)
            elif op == 5:  # a length field
                i = rng.randrange(len(recs))
                r = bytearray(recs[i])
                val = rng.choice([0, 1, 12, 16, 28, 32, 262144, 262145, 0xFFFFFFFF, len(r) + rng.randint(-8, 8),
                                  rng.getrandbits(32), (16 << 20) + 4])
                at = rng.choice(lenpos) % len(r)
                if at + 4 <= len(r):
                    struct.pack_into(order + "I", r, at, max(0, min(val, 0xFFFFFFFF)))
                recs[i] = bytes(r)
            buf = head + b"".join(recs)
            parsed = pcap_records(buf) or pcapng_blocks(buf)
            continue
        b = bytearray(buf)
        if not b:
            return bytes(b)
        if op in (6, 0):  # bit flips
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(len(b))
                b[i] ^= 1 << rng.randrange(8)
        elif op in (7, 1):  # byte changes
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] = rng.choice([rng.randrange(256), 0, 0xFF, 0x7F, 0x80])
        elif op in (8, 2):  # truncation
            b = b[: rng.randrange(len(b) + 1)]
        elif op in (9, 3):  # garbage inserted
            i = rng.randrange(len(b) + 1)
            b[i:i] = rng.randbytes(rng.choice([1, 3, 4, 16, 100]))
        elif op in (10, 4):  # bytes removed
            i = rng.randrange(len(b))
            del b[i:i + rng.choice([1, 2, 4, 16, 100])]
        else:  # a chunk of the file repeated
            i = rng.randrange(len(b))
            j = min(len(b), i + rng.randrange(1, 3000))
            b[j:j] = b[i:j]
        buf = bytes(b)
        parsed = pcap_records(buf) or pcapng_blocks(buf)
    return buf


def prefix(data: bytes, size: int) -> bytes:
    """The capture's first records, about `size` bytes (record boundary)."""
    parsed = pcap_records(data)
    if not parsed:
        return data[:size]
    head, recs, _, _ = parsed
    out, n = [head], len(head)
    for r in recs:
        if n + len(r) > size:
            break
        out.append(r)
        n += len(r)
    return b"".join(out)


# ============================================================================================ main


def real_captures() -> list[Path]:
    found = []
    for base in (ROOT / "samples", ROOT / "tests" / "data"):
        for p in sorted(base.rglob("*")):
            if p.is_file() and p.suffix in (".pcap", ".pcapng", ".cap"):
                found.append(p)
    return found


def write_inputs(kind: str, cases: list[tuple[str, bytes]]) -> list[Path]:
    d = WORK / kind
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in cases:
        p = d / (name + ".bin")
        p.write_bytes(data)
        paths.append(p)
    return paths


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=int, default=150, help="mutated copies per real capture")
    ap.add_argument("--scenarios", type=int, default=300, help="random TCP scenario captures")
    ap.add_argument("--packets", type=int, default=40, help="random-packet captures (x2)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--quick", action="store_true", help="a few of each")
    ap.add_argument("--no-bench", action="store_true", help="skip benchmarks/out inputs")
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.variants, args.scenarios, args.packets = 5, 20, 4
    if not args.no_build:
        build()
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    rng = random.Random(args.seed)
    stats = Stats()
    t0 = time.time()

    def progress(label: str) -> None:
        print(f"[{time.time() - t0:7.1f}s] {label}: {stats.inputs} inputs, {stats.comparisons} comparisons, "
              f"{len(stats.failures)} failures", flush=True)

    reals = real_captures()
    for p in reals:
        check(stats, "real", p, py_chunks=(7, 4096) if p.stat().st_size < 300_000 else (4096,))
    progress("real captures")

    for i, p in enumerate(write_inputs("crafted", crafted_format_cases())):
        check(stats, "crafted", p, py_chunks=(1, 7) if i % 3 == 0 else ())
    progress("crafted format cases")
    for p in write_inputs("timestamps", random_timestamps(rng, 30)):
        check(stats, "timestamps", p)
    progress("timestamps")
    for i, p in enumerate(write_inputs("packets", random_packet_captures(rng, args.packets))):
        check(stats, "packets", p, py_chunks=(7,) if i % 5 == 0 else ())
    progress("random packets")
    for i, p in enumerate(write_inputs("tcp", tcp_scenarios(rng, args.scenarios))):
        check(stats, "tcp", p, py_chunks=(7,) if i % 10 == 0 else ())
        for limits in (SMALL_LIMITS, TINY_LIMITS, ZERO_LIMITS):
            if i % 3 == 0 or limits is SMALL_LIMITS:
                check(stats, "tcp-limits", p, limits, chunks=(7, 0))
    progress("tcp scenarios")

    for p in reals:
        data = p.read_bytes()
        cases = []
        for k in range(args.variants):
            base = data if (len(data) < 200_000 or k % 4 == 0) else prefix(data, rng.choice([30_000, 120_000]))
            cases.append((f"{p.stem}_{k}", mutate(rng, base)))
        for k, q in enumerate(write_inputs("mutated/" + p.stem, cases)):
            small = q.stat().st_size < 300_000
            check(stats, "mutated", q, chunks=(1, 7, 4096, 0) if small else (7, 4096, 0),
                  py_chunks=(7,) if k % 25 == 0 and small else ())
            if k % 10 == 0:
                check(stats, "mutated-limits", q, SMALL_LIMITS, chunks=(4096,))
        progress(f"mutated {p.name}")

    if not args.no_bench:
        for name in ("media", "media128", "sessions"):
            p = ROOT / "benchmarks" / "out" / f"{name}.pcap"
            if p.exists():
                check(stats, "bench", p, chunks=(4096, 1 << 20, 0), big=True)
                progress(f"benchmark {name}")

    print()
    print(f"inputs: {stats.inputs} ({', '.join(f'{k} {v}' for k, v in stats.kinds.items())})")
    print(f"rust-vs-python comparisons: {stats.comparisons}; python read-size self-checks: {stats.py_chunk_checks}")
    print(f"inputs that were a CaptureError: {stats.errors}; inputs with warnings: {stats.warned}; "
          f"gzip inputs gunzipped first: {stats.gunzipped}, gzip garbage skipped: {stats.skipped_gzip}")
    print(f"python reader depending on its own read size (not compared with Rust): {len(stats.python_self)}")
    for f in stats.python_self[:10]:
        print("  ", f)
    print(f"failures: {len(stats.failures)}")
    for f in stats.failures[:50]:
        print("  ", f)
    print(f"{stats.comparisons - len(stats.failures)} passed, {len(stats.failures)} failed")
    return 1 if stats.failures else 0


if __name__ == "__main__":
    sys.exit(main())
