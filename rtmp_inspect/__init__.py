"""rtmp-inspect: an offline, Wireshark-style analyzer for RTMP traffic in packet captures."""

__version__ = "0.1.0"
