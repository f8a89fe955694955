"""Byte-level builders for packets and pcap/pcapng files, shared by the capture tests.

Hand-written with struct so tests can also build broken headers on purpose.
"""

from __future__ import annotations

import ipaddress
import struct

A4 = ipaddress.IPv4Address
A6 = ipaddress.IPv6Address


def ip4(text: str) -> bytes:
    return A4(text).packed


def ip6(text: str) -> bytes:
    return A6(text).packed


def tcp(sport=1935, dport=50000, seq=1000, ack=2000, flags=0x18, window=512, payload=b"", options=b"", doff=None):
    assert len(options) % 4 == 0
    if doff is None:
        doff = (20 + len(options)) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, window, 0, 0) + options + payload


def udp(sport, dport, payload, length=None):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload) if length is None else length, 0) + payload


def ipv4(src="10.0.0.1", dst="10.0.0.2", proto=6, payload=b"", options=b"", total=None, frag=0, ihl=None):
    assert len(options) % 4 == 0
    if ihl is None:
        ihl = 5 + len(options) // 4
    if total is None:
        total = 20 + len(options) + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 1, frag, 64, proto, 0, ip4(src), ip4(dst))
    return hdr + options + payload


def ipv6(src="2001:db8::1", dst="2001:db8::2", nh=6, payload=b"", ext=(), plen=None):
    """``ext``: sequence of (header type, header bytes without its next-header byte)."""
    body = b""
    types = [t for t, _ in ext] + [nh]
    for i, (_t, data) in enumerate(ext):
        body += bytes([types[i + 1]]) + data
    body += payload
    first = types[0]
    if plen is None:
        plen = len(body)
    return struct.pack("!IHBB16s16s", 0x60000000, plen, first, 64, ip6(src), ip6(dst)) + body


def ext_opts(n_units=0):
    """Hop-by-hop / destination options / routing header body (after next-header byte)."""
    size = (n_units + 1) * 8
    return bytes([n_units]) + b"\x01" + bytes([size - 4]) + bytes(size - 4)


def ext_fragment(offset=0, more=True, ident=7):
    return b"\x00" + struct.pack("!HI", (offset << 3) | int(more), ident)


def ext_ah(payload_len_units=4):
    size = (payload_len_units + 2) * 4
    return bytes([payload_len_units]) + bytes(size - 2)


def ether(etype, payload, vlans=(), dst=b"\x02" * 6, src=b"\x04" * 6):
    """``vlans``: sequence of (tpid, vid), outermost first."""
    out = dst + src
    for tpid, vid in vlans:
        out += struct.pack("!HH", tpid, vid)
    return out + struct.pack("!H", etype) + payload


def gtpu(inner, seq=None, exts=(), msg_type=0xFF, teid=0x1234):
    """``exts``: sequence of (type, content) extension headers; content padded to 4n-2 bytes."""
    flags = 0x30
    opt = b""
    if seq is not None or exts:
        flags |= 0x02 if seq is not None else 0
        flags |= 0x04 if exts else 0
        opt = struct.pack("!HB", seq or 0, 0) + bytes([exts[0][0] if exts else 0])
        for i, (_t, content) in enumerate(exts):
            nxt = exts[i + 1][0] if i + 1 < len(exts) else 0
            units = (len(content) + 2 + 3) // 4
            content = content.ljust(units * 4 - 2, b"\x00")
            opt += bytes([units]) + content + bytes([nxt])
    body = opt + inner
    return struct.pack("!BBHI", flags, msg_type, len(body), teid) + body


def sll(proto, payload):
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 6 + b"\0\0", proto) + payload


def sll2(proto, payload):
    return struct.pack("!HHIHBB8s", proto, 0, 3, 1, 0, 6, b"\x02" * 6 + b"\0\0") + payload


# ---------------------------------------------------------------------------- files


def pcap(packets, linktype=1, order="<", ns=False, snaplen=65535, modified=False):
    """``packets``: (time_seconds_int, fraction_int, data) or (sec, frac, data, origlen)."""
    if modified:
        magic = 0xA1B2CD34
    else:
        magic = 0xA1B23C4D if ns else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for pkt in packets:
        sec, frac, data = pkt[:3]
        origlen = pkt[3] if len(pkt) > 3 else len(data)
        out.append(struct.pack(order + "IIII", sec, frac, len(data), origlen))
        if modified:
            out.append(struct.pack(order + "IHBB", 1, 0x0800, 0, 0))
        out.append(data)
    return b"".join(out)


def _pad4(b):
    return b + b"\x00" * (-len(b) % 4)


def block(btype, body, order="<", trailer=None):
    blen = 12 + len(_pad4(body))
    return (
        struct.pack(order + "II", btype, blen)
        + _pad4(body)
        + struct.pack(order + "I", blen if trailer is None else trailer)
    )


def option(code, value, order="<"):
    return struct.pack(order + "HH", code, len(value)) + _pad4(value)


def shb(order="<"):
    return block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)


def idb(linktype, tsresol=None, tsoffset=None, order="<", snaplen=0):
    opts = b""
    if tsresol is not None:
        opts += option(9, bytes([tsresol]), order)
    if tsoffset is not None:
        opts += option(14, struct.pack(order + "q", tsoffset), order)
    if opts:
        opts += struct.pack(order + "HH", 0, 0)
    return block(1, struct.pack(order + "HHI", linktype, 0, snaplen) + opts, order)


def epb(ifid, ts, data, origlen=None, order="<"):
    return block(
        6,
        struct.pack(
            order + "IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data) if origlen is None else origlen
        )
        + data,
        order,
    )


def spb(data, origlen=None, order="<"):
    return block(3, struct.pack(order + "I", len(data) if origlen is None else origlen) + data, order)


def tcp_eth(payload=b"data", sport=1935, dport=50000, seq=1000, src="10.0.0.1", dst="10.0.0.2", **kw):
    """A plain Ethernet/IPv4/TCP frame."""
    return ether(0x0800, ipv4(src, dst, 6, tcp(sport, dport, seq, payload=payload, **kw)))
