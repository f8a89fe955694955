"""Record protection of TLS 1.2 (AEAD suites) and TLS 1.3, from secrets in a key log.

The ciphers and hashes come from the `cryptography` package (pyca): a passive analyzer must not carry
hand-written AES or ChaCha20. What is written here is only the TLS glue: the TLS 1.2 PRF key expansion,
HKDF-Expand-Label (RFC 8446 7.1), nonces and additional data, as the RFCs give them.

Supported: TLS 1.2 AES-128/256-GCM (RFC 5288), AES-128/256-CCM and CCM_8 (RFC 6655),
ChaCha20-Poly1305 (RFC 7905); TLS 1.3 TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384,
TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_CCM_SHA256, TLS_AES_128_CCM_8_SHA256.
Not supported (reported as such): CBC suites, RC4, NULL, export suites, SSL 3.0 .. TLS 1.1.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    cipher: str  # "gcm", "ccm", "ccm8", "chacha"
    key_length: int
    hash_name: str  # "sha256" or "sha384": the PRF / HKDF hash

    @property
    def tag_length(self) -> int:
        return 8 if self.cipher == "ccm8" else 16

    @property
    def fixed_iv_length(self) -> int:
        """TLS 1.2: GCM and CCM use a 4-byte salt plus an explicit 8-byte nonce; ChaCha20 a 12-byte IV."""
        return 12 if self.cipher == "chacha" else 4


def _suite(name: str, hash_name: str = "") -> Suite:
    if "CHACHA20" in name:
        cipher, key_length = "chacha", 32
    elif "CCM_8" in name:
        cipher, key_length = "ccm8", 32 if "256" in name else 16
    elif "CCM" in name:
        cipher, key_length = "ccm", 32 if "256" in name else 16
    else:
        cipher, key_length = "gcm", 32 if "AES_256" in name else 16
    return Suite(name, cipher, key_length, hash_name or ("sha384" if name.endswith("SHA384") else "sha256"))


SUITES: dict[int, Suite] = {code: _suite(name) for code, name in {
    0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
    0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    0x009E: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    0x009F: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    0x00A8: "TLS_PSK_WITH_AES_128_GCM_SHA256",
    0x00A9: "TLS_PSK_WITH_AES_256_GCM_SHA384",
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xC09C: "TLS_RSA_WITH_AES_128_CCM",
    0xC09D: "TLS_RSA_WITH_AES_256_CCM",
    0xC0A0: "TLS_RSA_WITH_AES_128_CCM_8",
    0xC0A1: "TLS_RSA_WITH_AES_256_CCM_8",
    0xC0AC: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
    0xC0AD: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM",
    0xC0AE: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
    0xC0AF: "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8",
    0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCAA: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
    0x1304: "TLS_AES_128_CCM_SHA256",
    0x1305: "TLS_AES_128_CCM_8_SHA256",
}.items()}

# Names of common suites this module cannot decrypt, so that the output can still name them.
OTHER_SUITE_NAMES = {
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA", 0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
    0x003C: "TLS_RSA_WITH_AES_128_CBC_SHA256", 0x003D: "TLS_RSA_WITH_AES_256_CBC_SHA256",
    0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", 0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    0xC023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", 0xC024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA", 0x0005: "TLS_RSA_WITH_RC4_128_SHA",
}


def suite_name(code: int) -> str:
    suite = SUITES.get(code)
    if suite is not None:
        return suite.name
    return OTHER_SUITE_NAMES.get(code, f"0x{code:04X}")


def tls12_prf(secret: bytes, label: bytes, seed: bytes, length: int, hash_name: str) -> bytes:
    """P_hash of RFC 5246 section 5."""
    seed = label + seed
    out = b""
    a = seed
    while len(out) < length:
        a = hmac.new(secret, a, hash_name).digest()
        out += hmac.new(secret, a + seed, hash_name).digest()
    return out[:length]


def hkdf_expand_label(secret: bytes, label: str, context: bytes, length: int, hash_name: str) -> bytes:
    """HKDF-Expand-Label of RFC 8446 section 7.1 (HKDF-Expand of RFC 5869 with the TLS 1.3 label)."""
    full = b"tls13 " + label.encode()
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([counter]), hash_name).digest()
        out += block
        counter += 1
    return out[:length]


def _aead(suite: Suite, key: bytes) -> AESGCM | ChaCha20Poly1305 | AESCCM:
    if suite.cipher == "gcm":
        return AESGCM(key)
    if suite.cipher == "chacha":
        return ChaCha20Poly1305(key)
    return AESCCM(key, tag_length=suite.tag_length)


class DecryptError(Exception):
    pass


class Tls12Decryptor:
    """One direction of a TLS 1.2 connection after its ChangeCipherSpec."""

    def __init__(self, suite: Suite, key: bytes, iv: bytes) -> None:
        self.suite = suite
        self.aead = _aead(suite, key)
        self.iv = iv
        self.seq = 0

    def decrypt(self, content_type: int, version: int, body: bytes) -> tuple[int, bytes]:
        suite = self.suite
        if suite.cipher == "chacha":
            nonce = bytes(a ^ b for a, b in zip(self.iv, self.seq.to_bytes(12, "big")))
            ciphertext = body
        else:
            nonce = self.iv + body[:8]
            ciphertext = body[8:]
        plain_length = len(ciphertext) - suite.tag_length
        if plain_length < 0:
            raise DecryptError("record shorter than its authentication tag")
        aad = self.seq.to_bytes(8, "big") + bytes([content_type]) + version.to_bytes(2, "big") + \
            plain_length.to_bytes(2, "big")
        try:
            plain = self.aead.decrypt(nonce, ciphertext, aad)
        except (InvalidTag, ValueError):  # ValueError: a record too short for its nonce or tag
            raise DecryptError(f"record {self.seq} does not authenticate with the logged keys") from None
        self.seq += 1
        return content_type, plain


def tls12_decryptors(suite: Suite, master_secret: bytes, client_random: bytes, server_random: bytes
                     ) -> tuple[Tls12Decryptor, Tls12Decryptor]:
    """(client-write, server-write) decryptors from the master secret (RFC 5246 6.3; AEAD: no MAC keys)."""
    k, i = suite.key_length, suite.fixed_iv_length
    block = tls12_prf(master_secret, b"key expansion", server_random + client_random, 2 * (k + i), suite.hash_name)
    client_key, server_key = block[:k], block[k:2 * k]
    client_iv, server_iv = block[2 * k:2 * k + i], block[2 * k + i:2 * k + 2 * i]
    return Tls12Decryptor(suite, client_key, client_iv), Tls12Decryptor(suite, server_key, server_iv)


class Tls13Decryptor:
    """One direction of TLS 1.3 under one traffic secret; `next_generation` follows a KeyUpdate."""

    def __init__(self, suite: Suite, secret: bytes) -> None:
        self.suite = suite
        self.secret = secret
        self.aead = _aead(suite, hkdf_expand_label(secret, "key", b"", suite.key_length, suite.hash_name))
        self.iv = hkdf_expand_label(secret, "iv", b"", 12, suite.hash_name)
        self.seq = 0

    def next_generation(self) -> Tls13Decryptor:
        size = hashlib.new(self.suite.hash_name).digest_size
        return Tls13Decryptor(self.suite, hkdf_expand_label(self.secret, "traffic upd", b"", size,
                                                            self.suite.hash_name))

    def decrypt(self, header: bytes, body: bytes) -> tuple[int, bytes]:
        """(inner content type, content) of one TLSCiphertext (RFC 8446 5.2, 5.3)."""
        nonce = bytes(a ^ b for a, b in zip(self.iv, self.seq.to_bytes(12, "big")))
        try:
            inner = self.aead.decrypt(nonce, body, header)
        except (InvalidTag, ValueError):  # ValueError: a record too short for its nonce or tag
            raise DecryptError(f"record {self.seq} does not authenticate with the logged keys") from None
        self.seq += 1
        end = len(inner.rstrip(b"\x00"))
        if end == 0:
            raise DecryptError("record without an inner content type")
        return inner[end - 1], inner[:end - 1]
