"""TLS records and the few handshake messages an analyzer needs (ClientHello, ServerHello), sans-IO.

`RecordReader` takes one direction's bytes in pieces (a record may span segments, a segment may hold several
records) and hands back whole records with the frame of the piece that completed each one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA, HEARTBEAT = 20, 21, 22, 23, 24
CONTENT_TYPES = frozenset((CHANGE_CIPHER_SPEC, ALERT, HANDSHAKE, APPLICATION_DATA, HEARTBEAT))
CLIENT_HELLO, SERVER_HELLO, NEW_SESSION_TICKET, FINISHED, KEY_UPDATE = 1, 2, 4, 20, 24
MAX_RECORD = 16384 + 2048  # TLSCiphertext.length limit (RFC 5246 6.2.3)
# A ServerHello with this random is a HelloRetryRequest (RFC 8446 4.1.3).
HELLO_RETRY_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

VERSION_NAMES = {0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2", 0x0304: "TLS 1.3"}


def looks_like_client_hello(first: bytes, partial: bool = False) -> bool:
    """A handshake record of SSL 3.0 .. TLS 1.3 framing whose first message is a ClientHello.
    With `partial`, True also for a prefix (even of one byte) that may grow into one."""
    if len(first) < (1 if partial else 3) or first[0] != HANDSHAKE:
        return False
    if len(first) > 1 and first[1] != 3 or len(first) > 2 and first[2] > 4:
        return False
    return len(first) < 6 or first[5] == CLIENT_HELLO


@dataclass(slots=True)
class Record:
    content_type: int
    version: int
    header: bytes  # the 5 header bytes (TLS 1.3 uses them as additional data)
    body: bytes
    frame: int
    time: float


class RecordReader:
    """Reassembles one direction's TLS records. Garbage where a header should be stops it (`broken`); after a
    capture gap it looks for the record boundaries again (`resync`): an application-data header whose record
    is followed by another plausible header."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.broken: str | None = None
        self.resyncing = False
        self.skipped = 0  # bytes dropped while finding the boundaries again (since the last gap)

    def feed(self, data: bytes, frame: int, time: float) -> list[Record]:
        if self.broken:
            return []
        buffer = self._buffer
        buffer += data
        if self.resyncing and not self._resync():
            return []
        out: list[Record] = []
        pos = 0
        while len(buffer) - pos >= 5:
            content_type, major, minor, length = buffer[pos], buffer[pos + 1], buffer[pos + 2], \
                int.from_bytes(buffer[pos + 3:pos + 5], "big")
            if content_type not in CONTENT_TYPES or major != 3 or length > MAX_RECORD:
                self.broken = f"not a TLS record header at this point ({bytes(buffer[pos:pos + 5]).hex()})"
                break
            if len(buffer) - pos < 5 + length:
                break
            out.append(Record(content_type, (major << 8) | minor, bytes(buffer[pos:pos + 5]),
                              bytes(buffer[pos + 5:pos + 5 + length]), frame, time))
            pos += 5 + length
        del buffer[:pos]
        return out

    def gap(self, size: int) -> None:
        self._buffer.clear()
        if not self.broken:
            self.resyncing = True
            self.skipped = 0

    @staticmethod
    def _plausible(buffer: bytearray, pos: int) -> bool:
        return buffer[pos] == APPLICATION_DATA and buffer[pos + 1] == 3 and buffer[pos + 2] <= 4 and \
            int.from_bytes(buffer[pos + 3:pos + 5], "big") <= MAX_RECORD

    def _resync(self) -> bool:
        """Drop bytes up to the first header whose record is followed by another header; False: need more."""
        buffer = self._buffer
        pos = 0
        while len(buffer) - pos >= 5:
            if self._plausible(buffer, pos):
                after = pos + 5 + int.from_bytes(buffer[pos + 3:pos + 5], "big")
                # confirmed by the next header, or by ending exactly where the data in view ends (a sender
                # writes records whole, so segments often end with one); the AEAD tag has the last word
                if after == len(buffer) or len(buffer) >= after + 5 and self._plausible(buffer, after):
                    self.skipped += pos
                    del buffer[:pos]
                    self.resyncing = False
                    return True
                if len(buffer) < after + 5:
                    break  # cannot confirm yet
            pos += 1
        self.skipped += pos
        del buffer[:pos]
        return False


class HandshakeReader:
    """Joins handshake records of one direction into handshake messages (type, body)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, fragment: bytes) -> list[tuple[int, bytes]]:
        self._buffer += fragment
        out = []
        buffer = self._buffer
        pos = 0
        while len(buffer) - pos >= 4:
            length = int.from_bytes(buffer[pos + 1:pos + 4], "big")
            if len(buffer) - pos < 4 + length:
                break
            out.append((buffer[pos], bytes(buffer[pos + 4:pos + 4 + length])))
            pos += 4 + length
        del buffer[:pos]
        return out


@dataclass(slots=True)
class Hello:
    """What a ClientHello or ServerHello tells: randoms, versions, suites, SNI, ALPN."""

    random: bytes = b""
    legacy_version: int = 0
    session_id: bytes = b""
    cipher_suites: list[int] = field(default_factory=list)  # offered (client) or chosen (server, one)
    sni: str | None = None
    alpn: list[str] = field(default_factory=list)
    supported_versions: list[int] = field(default_factory=list)

    @property
    def version(self) -> int:
        """The negotiated version, for a ServerHello."""
        return self.supported_versions[0] if self.supported_versions else self.legacy_version


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("truncated hello")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def vector(self, length_bytes: int) -> bytes:
        return self.take(self.uint(length_bytes))

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


def parse_hello(body: bytes, client: bool) -> Hello:
    """Parse a ClientHello (client=True) or ServerHello body. Raises ValueError when malformed."""
    cur = _Cursor(body)
    hello = Hello(legacy_version=cur.uint(2), random=cur.take(32))
    hello.session_id = cur.vector(1)
    if client:
        suites = cur.vector(2)
        hello.cipher_suites = [int.from_bytes(suites[i:i + 2], "big") for i in range(0, len(suites) - 1, 2)]
        cur.vector(1)  # compression methods
    else:
        hello.cipher_suites = [cur.uint(2)]
        cur.uint(1)  # compression method
    if cur.left < 2:
        return hello
    extensions = _Cursor(cur.vector(2))
    while extensions.left >= 4:
        ext_type = extensions.uint(2)
        ext = _Cursor(extensions.vector(2))
        if ext_type == 0 and client:  # server_name
            names = _Cursor(ext.vector(2))
            while names.left >= 3:
                name_type, name = names.uint(1), names.vector(2)
                if name_type == 0:
                    hello.sni = name.decode("ascii", "replace")
        elif ext_type == 16:  # application_layer_protocol_negotiation
            protocols = _Cursor(ext.vector(2))
            while protocols.left >= 1:
                hello.alpn.append(protocols.vector(1).decode("ascii", "replace"))
        elif ext_type == 43:  # supported_versions
            if client:
                versions = ext.vector(1)
                hello.supported_versions = [int.from_bytes(versions[i:i + 2], "big")
                                            for i in range(0, len(versions) - 1, 2)]
            else:
                hello.supported_versions = [ext.uint(2)]
    return hello
