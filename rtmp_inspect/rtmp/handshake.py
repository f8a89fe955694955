"""Checks on the RTMP handshake: which scheme (simple or digest) and whether the digests are valid.

The digest ("complex") handshake of Flash Player 9+ hides an HMAC-SHA256 digest in C1/S1 at an
offset computed from four bytes, in one of two layouts. The keys are the public constants that
every RTMP implementation carries (the spec's "Genuine Adobe Flash Player 001" and "... Media Server 001").
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

_KEY_TAIL = bytes.fromhex("f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae")
CLIENT_KEY = b"Genuine Adobe Flash Player 001"
SERVER_KEY = b"Genuine Adobe Flash Media Server 001"
CLIENT_FULL_KEY = CLIENT_KEY + _KEY_TAIL
SERVER_FULL_KEY = SERVER_KEY + _KEY_TAIL
DIGEST_SIZE = 32
HANDSHAKE_SIZE = 1536


def digest_offset(data: bytes, scheme: int) -> int:
    """Scheme 0: digest after the time/version fields; scheme 1: after the 764-byte key block."""
    base = 8 if scheme == 0 else 772
    return sum(data[base : base + 4]) % 728 + base + 4


def _digest(data: bytes, offset: int, key: bytes) -> bytes:
    message = data[:offset] + data[offset + DIGEST_SIZE :]
    return hmac.new(key, message, hashlib.sha256).digest()


def find_digest_scheme(data: bytes, key: bytes) -> int | None:
    """Which layout (0 or 1) holds a valid digest made with `key`, or None."""
    if len(data) != HANDSHAKE_SIZE:
        return None
    for scheme in (0, 1):
        offset = digest_offset(data, scheme)
        if hmac.compare_digest(_digest(data, offset, key), data[offset : offset + DIGEST_SIZE]):
            return scheme
    return None


def echo_digest_valid(echo: bytes, peer_random: bytes, scheme: int, full_key: bytes) -> bool:
    """C2/S2 in the digest scheme end with HMAC(HMAC(full_key, peer's digest), first 1504 bytes)."""
    if len(echo) != HANDSHAKE_SIZE or len(peer_random) != HANDSHAKE_SIZE:
        return False
    offset = digest_offset(peer_random, scheme)
    peer_digest = peer_random[offset : offset + DIGEST_SIZE]
    key = hmac.new(full_key, peer_digest, hashlib.sha256).digest()
    expected = hmac.new(key, echo[: HANDSHAKE_SIZE - DIGEST_SIZE], hashlib.sha256).digest()
    return hmac.compare_digest(expected, echo[HANDSHAKE_SIZE - DIGEST_SIZE :])


@dataclass(slots=True)
class HandshakeCheck:
    scheme: str  # "simple", "digest" or "unknown"
    client_digest_scheme: int | None
    client_digest_valid: bool | None
    server_digest_valid: bool | None
    c2_echoes_s1: bool | None
    s2_echoes_c1: bool | None


def check_handshake(c1: bytes | None, s1: bytes | None, c2: bytes | None, s2: bytes | None) -> HandshakeCheck:
    """Classify the handshake and check what can be checked with the parts present."""
    client_scheme = find_digest_scheme(c1, CLIENT_KEY) if c1 else None
    client_version_field = int.from_bytes(c1[4:8], "big") if c1 and len(c1) >= 8 else None
    if client_scheme is not None:
        scheme = "digest"
    elif client_version_field == 0:
        scheme = "simple"
    elif c1 is None:
        scheme = "unknown"
    else:
        scheme = "digest"  # a version field says digest, but no valid digest was found
    server_valid = None
    if s1 is not None and scheme == "digest":
        server_valid = find_digest_scheme(s1, SERVER_KEY) is not None
    # Simple scheme: C2 echoes S1's random bytes (time2 may differ), S2 echoes C1's.
    c2_echo = s2_echo = None
    if scheme == "simple" or (scheme == "digest" and client_scheme is None):
        if c2 is not None and s1 is not None:
            c2_echo = c2[8:] == s1[8:]
        if s2 is not None and c1 is not None:
            s2_echo = s2[8:] == c1[8:]
    elif client_scheme is not None:  # the digest scheme, with C1's digest found
        if s2 is not None and c1 is not None:
            s2_echo = s2[8:] == c1[8:] or echo_digest_valid(s2, c1, client_scheme, SERVER_FULL_KEY)
        if c2 is not None and s1 is not None:
            server_scheme = find_digest_scheme(s1, SERVER_KEY)
            c2_echo = c2[8:] == s1[8:] or (
                server_scheme is not None and echo_digest_valid(c2, s1, server_scheme, CLIENT_FULL_KEY)
            )
    return HandshakeCheck(
        scheme,
        client_scheme,
        None if c1 is None or scheme != "digest" else client_scheme is not None,
        server_valid,
        c2_echo,
        s2_echo,
    )
