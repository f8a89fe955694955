"""What the capture layer hands on: TCP segments (and UDP datagrams, for RTMFP) with where they came from.

Kept deliberately small (slots, packed addresses) because one is made per packet.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ..findings import OFFLOAD_NOTES, UNMATCHED_CHECKSUM_NOTE

# TCP flag bits, as in the TCP header.
FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10

# TcpSegment.checksum: whether the TCP checksum could be checked, and how it came out.
CHECKSUM_UNVERIFIED = 0  # not checkable: cut by the snap length, no length (TSO), zero, IPv6 extension headers
CHECKSUM_GOOD = 1
CHECKSUM_BAD = 2


@dataclass(slots=True)
class TcpSegment:
    frame: int  # 1-based number of the capture packet, as Wireshark numbers frames
    time: float  # epoch seconds
    src: bytes  # packed IPv4 (4 bytes) or IPv6 (16 bytes) address
    sport: int
    dst: bytes
    dport: int
    seq: int
    ack: int
    flags: int
    window: int
    payload: bytes  # the TCP payload bytes present in the capture
    missing: int = 0  # payload bytes the snap length cut off (after `payload`); never data
    checksum: int = CHECKSUM_UNVERIFIED  # CHECKSUM_*: the TCP checksum over pseudo-header, header and payload
    ip_checksum: int = CHECKSUM_UNVERIFIED  # CHECKSUM_*: the IPv4 header checksum (IPv6 has none)


@dataclass(slots=True)
class UdpDatagram:
    """A UDP datagram that is not GTP-U (RTMFP is recognised from them)."""

    frame: int
    time: float
    src: bytes
    sport: int
    dst: bytes
    dport: int
    payload: bytes


Packet = TcpSegment | UdpDatagram


def format_endpoint(address: bytes, port: int) -> str:
    """'1.2.3.4:1935' or '[::1]:1935', as the JSON contract spells endpoints."""
    if len(address) == 4:
        return f"{ipaddress.IPv4Address(address)}:{port}"
    return f"[{ipaddress.IPv6Address(address)}]:{port}"


def checksum_notes(offloaded: list[tuple[bytes, int]], unmatched_drops: int, ip_offloaded: int) -> list[str]:
    """The capture's notes about checksums: the hosts whose TCP checksums were wrong in every segment (address,
    segments), in order of appearance; the segments not used for a wrong checksum that matched no flow; the
    packets whose IPv4 header checksums were wrong when none was ever right."""
    out: list[str] = []
    if ip_offloaded:
        out.append(f"{OFFLOAD_NOTES[1]} in every packet ({ip_offloaded}): computed after the capture point "
                   "(checksum offload), so not checked")
    if offloaded:
        segments = sum(count for _, count in offloaded)
        example = format_endpoint(offloaded[0][0], 0).rsplit(":", 1)[0].strip("[]")
        out.append(f"{OFFLOAD_NOTES[0]}{len(offloaded)} host(s) were wrong in every segment ({segments} segments; "
                   f"e.g. from {example}): computed after the capture point (checksum offload), so not checked")
    if unmatched_drops:
        out.append(f"{unmatched_drops} TCP segment(s){UNMATCHED_CHECKSUM_NOTE} and were not used "
                   "(corrupted on the path)")
    return out
