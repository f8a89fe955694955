"""What the capture layer hands on: TCP segments (and UDP datagrams, for RTMFP) with where they came from.

Kept deliberately small (slots, packed addresses) because one is made per packet.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

# TCP flag bits, as in the TCP header.
FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10


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
