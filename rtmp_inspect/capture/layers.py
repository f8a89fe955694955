"""Decode one captured packet down to its TCP segment (or a UDP datagram that is not GTP-U).

Every decoder takes ``(data, start, end, frame, time)``: ``data`` is a bytes
buffer that may hold many packets (the reader hands over its read buffer
without copying the packet out of it), ``data[start:end]`` is this packet as
captured.  The only copy made per packet is the TCP payload slice.

Supported link types (``LINKTYPE_*`` numbers as in pcap/pcapng headers):

* 1 Ethernet, with any number of 802.1Q / 802.1ad / QinQ tags (0x8100, 0x88a8,
  0x9100, 0x9200), plus MPLS label stacks and PPPoE sessions as a bonus;
* 113 Linux cooked (SLL) and 276 Linux cooked v2 (SLL2);
* 101, 12, 14 raw IP (version taken from the first nibble), 228 raw IPv4,
  229 raw IPv6;
* 0 BSD null/loopback (family in either byte order) and 108 OpenBSD loop
  (family big-endian); AF_INET is 2, AF_INET6 is 24, 28 or 30 (BSD flavours)
  or 10 (Linux).

IPv4 headers honour IHL; non-first fragments are skipped; the IPv4 total
length (IPv6 payload length) bounds the packet, so Ethernet padding or a
trailing FCS never becomes payload.  A zero length (TSO/GSO capture) means
"up to the end of the frame".  IPv6 extension headers 0, 43, 44 (first
fragment only), 60, 51 and 135 are walked.  UDP to or from port 2152 is taken
as GTP-U: the GTPv1 header (with its optional sequence/N-PDU/extension-header
chain) is skipped and the inner IPv4/IPv6 packet decoded; the inner addresses
make the flow.

``payload`` is the TCP payload present in the capture and ``missing`` the
number of payload bytes the IP length says exist but the snap length cut off.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from .segment import CHECKSUM_BAD, CHECKSUM_GOOD, CHECKSUM_UNVERIFIED, Packet, TcpSegment, UdpDatagram

Decoder = Callable[[bytes, int, int, int, float], Packet | None]

_NO_LIMIT = 1 << 62  # "no enclosing layer bounds this packet"

_U16 = struct.Struct("!H").unpack_from
_U32_LE = struct.Struct("<I").unpack_from
_U32_BE = struct.Struct("!I").unpack_from
_IP4 = struct.Struct("!BxHxxHxB").unpack_from  # ver/ihl, total length, flags/frag, protocol
_IP6 = struct.Struct("!xxxxHB").unpack_from  # payload length, next header
_TCP = struct.Struct("!HHIIHH").unpack_from  # ports, seq, ack, offset/flags, window
_UDP = struct.Struct("!HHH").unpack_from  # ports, length
_IP4_TCP = struct.Struct("!BxHxxHxBxx4s4sHHIIHH").unpack_from  # option-less IPv4 header + TCP header

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
_VLAN_TYPES = frozenset((0x8100, 0x88A8, 0x9100, 0x9200))
_MPLS_TYPES = frozenset((0x8847, 0x8848))
_PPPOE_SESSION = 0x8864
_AF_INET = 2
_AF_INET6 = frozenset((10, 24, 28, 30))

GTPU_PORT = 2152
_MAX_TUNNEL_DEPTH = 2  # GTP inside GTP inside GTP is not a thing; stop recursion bombs
_IPV6_EXT_SIMPLE = frozenset((0, 43, 60, 135))  # length in 8-octet units, excluding the first 8
_MAX_EXT_HEADERS = 16
MAX_CHECKED_TCP_LENGTH = 1480  # a TCP segment in a 1500-byte IPv4 packet: longer ones are GRO/TSO merges


# --------------------------------------------------------------------------- TCP


def tcp_checksum(data: bytes, off: int, end: int, ip_end: int, src: bytes, dst: bytes) -> int:
    """CHECKSUM_GOOD or CHECKSUM_BAD for the TCP segment at data[off:ip_end] (whole in the capture: `end` is
    `ip_end`) between `src` and `dst`; CHECKSUM_UNVERIFIED when it cannot be checked (cut by the snap length,
    a checksum field of zero: never computed, as with checksum offload or synthetic captures; a wrong one on
    a segment longer than MAX_CHECKED_TCP_LENGTH).

    The ones' complement sum of 16-bit words is the segment's value as a big number modulo 0xFFFF (2**16 is 1
    modulo 0xFFFF), and a correct checksum makes the sum 0xFFFF, i.e. 0 modulo 0xFFFF."""
    if end < ip_end or ip_end - off < 20 or (data[off + 16] == 0 and data[off + 17] == 0):
        return CHECKSUM_UNVERIFIED
    length = ip_end - off
    if len(src) == 4:
        pseudo = src + dst + b"\x00\x06" + length.to_bytes(2, "big")
    else:
        pseudo = src + dst + length.to_bytes(4, "big") + b"\x00\x00\x00\x06"
    total = int.from_bytes(data[off:ip_end], "big")
    if length & 1:
        total <<= 8  # an odd length is padded with a zero byte
    total += int.from_bytes(pseudo, "big")
    if total % 0xFFFF == 0:
        return CHECKSUM_GOOD
    # Longer than one Ethernet frame can carry: merged by the receiving host (GRO/LRO) or not yet split by
    # the sending NIC (TSO), so the checksum field is not the one the wire carried.
    return CHECKSUM_BAD if length <= MAX_CHECKED_TCP_LENGTH else CHECKSUM_UNVERIFIED


def ipv4_header_checksum(data: bytes, off: int, ihl: int) -> int:
    """CHECKSUM_GOOD or CHECKSUM_BAD for the IPv4 header at `off` (`ihl` bytes, all captured); UNVERIFIED for a
    checksum field of zero (never computed)."""
    if data[off + 10] == 0 and data[off + 11] == 0:
        return CHECKSUM_UNVERIFIED
    return CHECKSUM_GOOD if int.from_bytes(data[off:off + ihl], "big") % 0xFFFF == 0 else CHECKSUM_BAD


def _tcp(data: bytes, off: int, end: int, ip_end: int, src: bytes, dst: bytes, frame: int,
         time: float, verifiable: bool = True, ip_checksum: int = CHECKSUM_UNVERIFIED) -> Packet | None:
    """TCP header at ``off``; ``end`` = captured end, ``ip_end`` = declared end (>= end). `verifiable`: False
    when the IP header leaves the checksum's pseudo-header unknown (IPv6 extension headers, a TSO length)."""
    if end - off < 20:
        return None
    sport, dport, seq, ack, offflags, window = _TCP(data, off)
    hlen = (offflags >> 10) & 0x3C  # data offset * 4
    if hlen < 20:
        return None
    p = off + hlen
    if p > ip_end:
        return None
    if p < end:
        payload = data[p:end]
        missing = ip_end - end
    else:  # options (or everything after them) cut by the snap length
        payload = b""
        missing = ip_end - p
    checksum = tcp_checksum(data, off, end, ip_end, src, dst) if verifiable else CHECKSUM_UNVERIFIED
    return TcpSegment(frame, time, src, sport, dst, dport, seq, ack, offflags & 0xFF, window, payload, missing,
                      checksum, ip_checksum)


# --------------------------------------------------------------------------- UDP / GTP-U


def _gtpu(data: bytes, off: int, end: int, lim: int, frame: int, time: float, depth: int) -> Packet | None:
    """GTPv1-U G-PDU at ``off`` (UDP payload); decode the tunnelled IP packet."""
    if end - off < 8:
        return None
    flags = data[off]
    if flags & 0xF0 != 0x30 or data[off + 1] != 0xFF:  # version 1, PT=GTP; G-PDU only
        return None
    gend = off + 8 + _U16(data, off + 2)[0]
    if gend < lim:
        lim = gend
    p = off + 8
    if flags & 0x07:  # E, S or PN: sequence(2) N-PDU(1) next-extension-type(1)
        p += 4
        if p > end:
            return None
        if flags & 0x04:
            nxt = data[p - 1]
            for _ in range(_MAX_EXT_HEADERS):
                if not nxt:
                    break
                if p >= end:
                    return None
                elen = data[p] * 4
                if elen == 0:
                    return None
                p += elen
                if p > end:
                    return None
                nxt = data[p - 1]
            else:
                return None
    if end > lim:
        end = lim
    if p >= end:
        return None
    version = data[p] >> 4
    if version == 4:
        return _ipv4(data, p, end, frame, time, lim, depth + 1)
    if version == 6:
        return _ipv6(data, p, end, frame, time, lim, depth + 1)
    return None


def _udp(data: bytes, off: int, end: int, lim: int, frame: int, time: float, depth: int, src: bytes = b"",
         dst: bytes = b"") -> Packet | None:
    if depth >= _MAX_TUNNEL_DEPTH or end - off < 8:
        return None
    sport, dport, ulen = _UDP(data, off)
    if sport != GTPU_PORT and dport != GTPU_PORT:
        stop = min(end, lim, off + ulen) if ulen >= 8 else min(end, lim)
        return UdpDatagram(frame, time, src, sport, dst, dport, data[off + 8 : stop])
    if ulen >= 8 and off + ulen < lim:
        lim = off + ulen
    return _gtpu(data, off + 8, end, lim, frame, time, depth)


# --------------------------------------------------------------------------- IP


def _ipv4(data: bytes, off: int, end: int, frame: int, time: float, lim: int = _NO_LIMIT,
          depth: int = 0) -> Packet | None:
    if end - off < 20:
        return None
    vihl, total, frag, proto = _IP4(data, off)
    ihl = (vihl & 0x0F) << 2
    if vihl >> 4 != 4 or ihl < 20 or end - off < ihl:
        return None
    if frag & 0x1FFF:  # not the first fragment: no transport header here
        return None
    if total:
        if total < ihl:
            return None
        ip_end = off + total
        if ip_end > lim:
            ip_end = lim
        if end > ip_end:
            end = ip_end  # link-layer padding / FCS after the IP packet
    else:  # TSO/GSO capture: length left for the NIC to fill in
        if end > lim:
            end = lim
        ip_end = end
    if proto == 6:
        return _tcp(data, off + ihl, end, ip_end, data[off + 12 : off + 16], data[off + 16 : off + 20], frame, time,
                    total != 0, ipv4_header_checksum(data, off, ihl))
    if proto == 17:
        return _udp(
            data, off + ihl, end, ip_end, frame, time, depth, data[off + 12 : off + 16], data[off + 16 : off + 20]
        )
    return None


def _ipv6(data: bytes, off: int, end: int, frame: int, time: float, lim: int = _NO_LIMIT,
          depth: int = 0) -> Packet | None:
    if end - off < 40:
        return None
    plen, nxt = _IP6(data, off)
    if data[off] >> 4 != 6:
        return None
    p = off + 40
    if plen:
        ip_end = p + plen
        if ip_end > lim:
            ip_end = lim
        if end > ip_end:
            end = ip_end
    else:  # jumbogram or TSO capture
        if end > lim:
            end = lim
        ip_end = end
    for _ in range(_MAX_EXT_HEADERS):
        if nxt == 6:  # (after extension headers, the pseudo-header's destination may be a routing header's)
            return _tcp(data, p, end, ip_end, data[off + 8 : off + 24], data[off + 24 : off + 40], frame, time,
                        plen != 0 and p == off + 40)
        if nxt == 17:
            return _udp(data, p, end, ip_end, frame, time, depth, data[off + 8 : off + 24], data[off + 24 : off + 40])
        if end - p < 8:
            return None
        if nxt in _IPV6_EXT_SIMPLE:
            hlen = (data[p + 1] + 1) << 3
        elif nxt == 44:  # fragment header
            if _U16(data, p + 2)[0] & 0xFFF8:
                return None  # not the first fragment
            hlen = 8
        elif nxt == 51:  # AH: length in 4-octet units, minus 2
            hlen = (data[p + 1] + 2) << 2
        else:  # 59 no next header, ESP (encrypted), or unknown
            return None
        nxt = data[p]
        p += hlen
    return None


def _ip_any(data: bytes, off: int, end: int, frame: int, time: float) -> Packet | None:
    if off >= end:
        return None
    version = data[off] >> 4
    if version == 4:
        return _ipv4(data, off, end, frame, time)
    if version == 6:
        return _ipv6(data, off, end, frame, time)
    return None


def _raw_ipv4(data: bytes, start: int, end: int, frame: int, time: float) -> Packet | None:
    return _ipv4(data, start, end, frame, time)


def _raw_ipv6(data: bytes, start: int, end: int, frame: int, time: float) -> Packet | None:
    return _ipv6(data, start, end, frame, time)


# --------------------------------------------------------------------------- link layers


def _ethertype(etype: int, data: bytes, off: int, end: int, frame: int, time: float) -> Packet | None:
    """Dispatch on an EtherType, peeling VLAN tags, MPLS labels and PPPoE."""
    for _ in range(8):
        if etype == ETH_IPV4:
            return _ipv4(data, off, end, frame, time)
        if etype == ETH_IPV6:
            return _ipv6(data, off, end, frame, time)
        if etype in _VLAN_TYPES:
            if end - off < 4:
                return None
            etype = (data[off + 2] << 8) | data[off + 3]
            off += 4
        elif etype in _MPLS_TYPES:
            for _ in range(16):
                if end - off < 4:
                    return None
                bottom = data[off + 2] & 0x01
                off += 4
                if bottom:
                    return _ip_any(data, off, end, frame, time)
            return None
        elif etype == _PPPOE_SESSION:
            if end - off < 8:
                return None
            proto = (data[off + 6] << 8) | data[off + 7]
            off += 8
            if proto == 0x0021:
                return _ipv4(data, off, end, frame, time)
            if proto == 0x0057:
                return _ipv6(data, off, end, frame, time)
            return None
        else:
            return None
    return None


def _ethernet(data: bytes, start: int, end: int, frame: int, time: float) -> Packet | None:
    if end - start < 14:
        return None
    etype = (data[start + 12] << 8) | data[start + 13]
    if etype == ETH_IPV4:
        off = start + 14
        if end - off >= 40:
            # Fast path for the common case (IPv4 without options, TCP, not a fragment): one
            # unpack for both headers and no further calls.  Anything else takes the general path.
            vihl, total, frag, proto, src, dst, sport, dport, seq, ack, offflags, window = _IP4_TCP(data, off)
            if vihl == 0x45 and proto == 6 and not frag & 0x1FFF and total >= 40:
                ip_end = off + total
                if end > ip_end:
                    end = ip_end
                p = off + 20 + ((offflags >> 10) & 0x3C)
                if offflags >= 0x5000 and p <= end:
                    # (TCP checksum at off + 36)
                    checksum = CHECKSUM_UNVERIFIED if end < ip_end or (data[off + 36] == 0 and data[off + 37] == 0) \
                        else tcp_checksum(data, off + 20, end, ip_end, src, dst)
                    return TcpSegment(
                        frame,
                        time,
                        src,
                        sport,
                        dst,
                        dport,
                        seq,
                        ack,
                        offflags & 0xFF,
                        window,
                        data[p:end],
                        ip_end - end,
                        checksum,
                        ipv4_header_checksum(data, off, 20),
                    )
        return _ipv4(data, off, end, frame, time)
    return _ethertype(etype, data, start + 14, end, frame, time)


def _linux_sll(data: bytes, start: int, end: int, frame: int, time: float) -> Packet | None:
    if end - start < 16:
        return None
    return _ethertype((data[start + 14] << 8) | data[start + 15], data, start + 16, end, frame, time)


def _linux_sll2(data: bytes, start: int, end: int, frame: int, time: float) -> Packet | None:
    if end - start < 20:
        return None
    return _ethertype((data[start] << 8) | data[start + 1], data, start + 20, end, frame, time)


def _family(family: int, data: bytes, off: int, end: int, frame: int, time: float) -> Packet | None:
    if family == _AF_INET:
        return _ipv4(data, off, end, frame, time)
    if family in _AF_INET6:
        return _ipv6(data, off, end, frame, time)
    return None


def _bsd_null(data: bytes, start: int, end: int, frame: int, time: float) -> Packet | None:
    """DLT_NULL: the family is in the capturing host's byte order."""
    if end - start < 4:
        return None
    family = _U32_LE(data, start)[0]
    if family & 0xFFFF0000:
        family = _U32_BE(data, start)[0]
    return _family(family, data, start + 4, end, frame, time)


def _openbsd_loop(data: bytes, start: int, end: int, frame: int, time: float) -> Packet | None:
    if end - start < 4:
        return None
    return _family(_U32_BE(data, start)[0], data, start + 4, end, frame, time)


DECODERS: dict[int, Decoder] = {
    0: _bsd_null,
    1: _ethernet,
    12: _ip_any,
    14: _ip_any,
    101: _ip_any,
    108: _openbsd_loop,
    113: _linux_sll,
    228: _raw_ipv4,
    229: _raw_ipv6,
    276: _linux_sll2,
}

LINK_TYPE_NAMES = {
    0: "BSD loopback",
    1: "Ethernet",
    12: "raw IP",
    14: "raw IP",
    101: "raw IP",
    108: "OpenBSD loopback",
    113: "Linux cooked (SLL)",
    228: "raw IPv4",
    229: "raw IPv6",
    276: "Linux cooked v2 (SLL2)",
}


def decoder_for(link_type: int) -> Decoder | None:
    """The decoder ``(data, start, end, frame, time) -> TcpSegment | UdpDatagram | None`` for a link type, or
    None."""
    return DECODERS.get(link_type & 0xFFFF)  # upper bits of a pcap link type carry FCS info


def decode_packet(link_type: int, data: bytes, frame: int = 0, time: float = 0.0) -> TcpSegment | None:
    """Decode one whole captured packet; None if it is not (decodable) TCP or the link type is unknown."""
    decoder = decoder_for(link_type)
    if decoder is None:
        return None
    data = bytes(data)
    packet = decoder(data, 0, len(data), frame, time)
    return packet if type(packet) is TcpSegment else None
