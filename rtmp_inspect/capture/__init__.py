"""Capture layer: pcap/pcapng files in, TCP segments out."""

from .layers import decode_packet, decoder_for
from .reader import CaptureError, CaptureReader, open_capture
from .segment import TcpSegment, format_endpoint

__all__ = [
    "CaptureError",
    "CaptureReader",
    "TcpSegment",
    "decode_packet",
    "decoder_for",
    "format_endpoint",
    "open_capture",
]
