"""Real TLS conversations for tests, made with Python's ssl module over memory BIOs (OpenSSL does the TLS),
with the NSS key log OpenSSL writes, laid out as TCP segments for the analyzer."""

from __future__ import annotations

import datetime
import os
import ssl
import tempfile

from rtmp_inspect.capture.segment import ACK, PSH, SYN, TcpSegment
from tests.support.sinks import CollectingSink

CLIENT_ADDR, SERVER_ADDR = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])

_CERT: tuple[str, str] | None = None


def _cert_files() -> tuple[str, str]:
    global _CERT
    if _CERT is None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rtmps.test")])
        now = datetime.datetime.now(datetime.UTC)
        cert = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()) \
            .serial_number(1).not_valid_before(now - datetime.timedelta(days=1)) \
            .not_valid_after(now + datetime.timedelta(days=2)).sign(key, hashes.SHA256())
        folder = tempfile.mkdtemp(prefix="tlsbuilder")
        cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        with open(cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        _CERT = cert_path, key_path
    return _CERT


def conversation(steps: list[tuple[int, bytes]], version: str = "1.3", ciphers: str | None = None,
                 sni: str | None = "live.example", alpn: list[str] | None = None, key_update: bool = False
                 ) -> tuple[list[tuple[int, bytes]], str]:
    """Run a TLS handshake, then the application writes `steps` ((0 client | 1 server, plaintext), ...).
    Returns the wire bytes in order as (direction, bytes) and the key log text."""
    cert_path, key_path = _cert_files()
    keylog = tempfile.NamedTemporaryFile(suffix=".keys", delete=False)
    keylog.close()
    tls_version = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    client_ctx.keylog_filename = keylog.name
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_path, key_path)
    for ctx in (client_ctx, server_ctx):
        ctx.minimum_version = ctx.maximum_version = tls_version
        if ciphers:
            ctx.set_ciphers(ciphers)
    if alpn:
        client_ctx.set_alpn_protocols(alpn)
    bios = [(ssl.MemoryBIO(), ssl.MemoryBIO()), (ssl.MemoryBIO(), ssl.MemoryBIO())]  # (incoming, outgoing)
    client = client_ctx.wrap_bio(bios[0][0], bios[0][1], server_hostname=sni)
    server = server_ctx.wrap_bio(bios[1][0], bios[1][1], server_side=True)
    ends = (client, server)
    wire: list[tuple[int, bytes]] = []

    def pump() -> None:
        for direction in (0, 1):
            data = bios[direction][1].read()
            if data:
                wire.append((direction, data))
                bios[1 - direction][0].write(data)

    done = [False, False]
    for _ in range(20):
        for i in (0, 1):
            if not done[i]:
                try:
                    ends[i].do_handshake()
                    done[i] = True
                except ssl.SSLWantReadError:
                    pass
            pump()
        if all(done):
            break
    for direction, plaintext in steps:
        ends[direction].write(plaintext)
        pump()
        try:  # the peer reads (and takes in session tickets, key updates)
            while ends[1 - direction].read(1 << 20):
                pass
        except ssl.SSLWantReadError:
            pass
        pump()
    with open(keylog.name) as f:
        text = f.read()
    os.unlink(keylog.name)
    return wire, text


def segments(wire: list[tuple[int, bytes]], mss: int = 1400, port: int = 443) -> list[TcpSegment]:
    """The wire bytes as TCP segments of at most `mss` bytes, after a three-way handshake; frames from 1."""
    out: list[TcpSegment] = []
    seq = [1000, 5000]
    ends = [(CLIENT_ADDR, 50000), (SERVER_ADDR, port)]

    def add(direction: int, flags: int, payload: bytes = b"") -> None:
        (src, sport), (dst, dport) = ends[direction], ends[1 - direction]
        frame = len(out) + 1
        out.append(TcpSegment(frame, 1000.0 + frame / 1000, src, sport, dst, dport, seq[direction],
                              seq[1 - direction], flags, 65535, payload))
        seq[direction] = (seq[direction] + len(payload) + (1 if flags & SYN else 0)) & 0xFFFFFFFF

    add(0, SYN)
    add(1, SYN | ACK)
    add(0, ACK)
    for direction, data in wire:
        for start in range(0, len(data), mss):
            add(direction, PSH | ACK, data[start:start + mss])
    return out


def analyze_segments(segs: list[TcpSegment], keylog_text: str | None):
    from rtmp_inspect.analysis.pipeline import Analyzer
    from rtmp_inspect.tls.keylog import KeyLog, parse_keylog

    sink = CollectingSink()
    keylog = parse_keylog(keylog_text) if keylog_text is not None else KeyLog()
    analyzer = Analyzer(sink, segs[0].time, tls_keylog=keylog if keylog_text is not None else None)
    for segment in segs:
        analyzer.add(segment)
    analyzer.finish()
    return analyzer, sink
