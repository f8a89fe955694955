"""One TLS connection: records per direction, the hellos, and (with keys) the plaintext as a virtual flow.

The plaintext of each direction is handed on with the frame and time of the TCP segment that completed the
record(s) it came from, so the RTMP inside is numbered exactly as Wireshark numbers decrypted RTMPS.
"""

from __future__ import annotations

from typing import Any

from ..flows.events import FlowEnded, FlowEvent, FlowStarted, Held, OverlapMismatch, StreamData, StreamGap
from ..flows.virtual import Note, VirtualFlow
from ..rtmp.vocabulary import RTMP_PORT
from .decrypt import (
    SUITES,
    DecryptError,
    Tls13Decryptor,
    suite_name,
    tls12_decryptors,
)
from .keylog import KeyLog
from .records import (
    ALERT,
    APPLICATION_DATA,
    CHANGE_CIPHER_SPEC,
    CLIENT_HELLO,
    FINISHED,
    HANDSHAKE,
    HELLO_RETRY_RANDOM,
    KEY_UPDATE,
    MAX_RECORD,
    SERVER_HELLO,
    VERSION_NAMES,
    HandshakeReader,
    Hello,
    RecordReader,
    looks_like_client_hello,
    parse_hello,
)

HTTP_ALPN = frozenset(("http/1.0", "http/1.1", "h2", "h2c", "h3", "spdy/3.1"))


def open_tls(flow: Any, first: list[bytes], keylog: KeyLog | None) -> TlsCarrier | str | None:
    """A carrier when one direction of the flow opens with a TLS ClientHello; "wait" while too few bytes
    (as few as one) are in view to tell."""
    wait = False
    for direction in (0, 1):
        data = first[direction]
        if len(data) >= 6 and looks_like_client_hello(data):
            return TlsCarrier(flow, direction, keylog)
        if 0 < len(data) < 6 and looks_like_client_hello(data, partial=True):
            wait = True
    if wait:
        return "wait"
    # A capture that starts inside a TLS connection on the RTMP port: without this it would be decoded
    # as RTMP from the middle (garbage). Listed as RTMPS; it cannot be decrypted (no ClientHello random).
    ports = (flow.endpoints[0][1], flow.endpoints[1][1])
    for server in (1, 0):
        if ports[server] == RTMP_PORT and ports[1 - server] != RTMP_PORT:
            if any(_looks_like_record(first[d]) for d in (0, 1)) and \
                    all(not first[d] or _looks_like_record(first[d]) for d in (0, 1)):
                carrier = TlsCarrier(flow, 1 - server, keylog)
                carrier.midstream = True
                carrier._note("tls.midstream", "info", None,
                              "the capture starts inside this TLS connection: without its handshake it cannot "
                              "be decrypted (the key log is looked up by the ClientHello's random)", None)
                return carrier
    return None


def _looks_like_record(data: bytes, depth: int = 0) -> bool:
    """A record header, and (when the bytes in view reach that far) another one right after the record."""
    if not (len(data) >= 5 and data[0] in (APPLICATION_DATA, HANDSHAKE, ALERT) and data[1] == 3 and data[2] <= 4):
        return False
    after = 5 + int.from_bytes(data[3:5], "big")
    if after > 5 + MAX_RECORD:
        return False
    return len(data) < after + 5 or depth >= 3 or _looks_like_record(data[after:], depth + 1)


class TlsCarrier:
    def __init__(self, flow: Any, client: int, keylog: KeyLog | None) -> None:
        self.tcp = flow
        self.client = client
        self.keylog = keylog
        self.vflow = VirtualFlow(("tls", flow.id), flow.endpoints, self, "rtmps", tcp=flow)
        self.readers = (RecordReader(), RecordReader())
        self.handshakes = (HandshakeReader(), HandshakeReader())
        self.client_hello: Hello | None = None
        self.server_hello: Hello | None = None
        self.version: int | None = None
        self.suite: int | None = None
        self.keys = "unknown"  # "unknown" (before ServerHello), "found", "missing", "unsupported"
        self.decryptors: list[Any] = [None, None]
        self._tls12_pending: list[Any] = [None, None]  # TLS 1.2: active after ChangeCipherSpec
        self._tls13_next: list[Any] = [None, None]  # TLS 1.3: application keys, after Finished
        self._tls13_probe = [False, False]  # no handshake secret: skip records until the traffic keys fit
        self.records = [0, 0]
        self.app_records = [0, 0]
        self.plaintext = [0, 0]
        self.failed = [False, False]
        self.ccs_seen = [False, False]
        self._lost_records = [0, 0]  # after a gap: at most this many records were lost (seq to search)
        self.alerts: list[str] = []
        self.notes: list[Note] = []  # taken by the session (analysis/carried.py)
        self.midstream = False  # the capture starts after the handshake

    # -- the analyzer's side --------------------------------------------------------------------

    def replay(self, held: list[Held]) -> list[FlowEvent]:
        events: list[FlowEvent] = [FlowStarted(self.vflow)]
        for item in held:
            if item[0] == "data":
                _, direction, frame, time, payload = item
                events += self.handle(StreamData(self.tcp, direction, frame, time, payload, 0))
            else:
                _, direction, frame, time, size = item
                events += self.handle(StreamGap(self.tcp, direction, frame, time, 0, size))
        return events

    def handle(self, event: Any) -> list[FlowEvent]:
        kind = type(event)
        if kind is StreamData:
            return self._data(event.direction, event.frame, event.time, event.data)
        if kind is StreamGap:
            reader = self.readers[event.direction]
            if not reader.broken:
                self._note("tls.gap", "warning", event.frame,
                           f"{event.size} bytes of TLS records are missing from the capture: decryption resumes "
                           "at the next whole record found after them", event.direction)
            reader.gap(event.size)
            if self.decryptors[event.direction] is not None:
                # the record sequence number after the gap is unknown: found by trial (see _record)
                self._lost_records[event.direction] = event.size // 22 + 2
                return [StreamGap(self.vflow, event.direction, event.frame, event.time, 0, event.size)]
            return []
        if kind is FlowEnded:
            return [FlowEnded(self.vflow, event.frame, event.time, event.reason)]
        if kind is OverlapMismatch:
            return [OverlapMismatch(self.vflow, event.direction, event.frame, event.offset, event.size)]
        return []

    def forced_client(self) -> int | None:
        """List the flow as RTMPS even without decoded RTMP, unless it is plainly HTTPS or was decrypted."""
        hello = self.client_hello
        if hello is None:
            return self.client if self.midstream else None
        if hello.alpn and all(p.lower() in HTTP_ALPN for p in hello.alpn):
            return None
        if any(self.plaintext):
            return None  # decrypted, and the detector said whether it is RTMP
        return self.client

    # -- records --------------------------------------------------------------------------------

    def _data(self, direction: int, frame: int, time: float, data: bytes) -> list[FlowEvent]:
        reader = self.readers[direction]
        was_broken = reader.broken
        records = reader.feed(data, frame, time)
        if reader.broken and not was_broken:
            self._note("tls.bad-record", "warning", frame, f"TLS stream lost: {reader.broken}", direction)
        plain = bytearray()
        for record in records:
            self.records[direction] += 1
            plain += self._record(direction, record)
        if not plain:
            return []
        self.plaintext[direction] += len(plain)
        return [StreamData(self.vflow, direction, frame, time, bytes(plain), self.plaintext[direction] - len(plain))]

    def _record(self, direction: int, record: Any) -> bytes:
        content_type = record.content_type
        decryptor = self.decryptors[direction]
        if content_type == CHANGE_CIPHER_SPEC:
            self.ccs_seen[direction] = True
            if self._tls12_pending[direction] is not None:
                self.decryptors[direction] = self._tls12_pending[direction]
                self._tls12_pending[direction] = None
            return b""
        if decryptor is None or self.failed[direction]:
            if content_type == HANDSHAKE and not self._encrypted_from_here(direction):
                for msg_type, body in self.handshakes[direction].feed(record.body):
                    self._handshake_message(direction, msg_type, body, record.frame)
            elif content_type == APPLICATION_DATA:
                self.app_records[direction] += 1
            elif content_type == ALERT and len(record.body) == 2 and not self._encrypted_from_here(direction):
                self._alert(direction, record.body, record.frame)
            return b""
        try:
            if self._lost_records[direction]:
                inner_type, content = self._decrypt_after_gap(direction, decryptor, record)
            elif self.version == 0x0304:
                inner_type, content = decryptor.decrypt(record.header, record.body)
            else:
                inner_type, content = decryptor.decrypt(content_type, record.version, record.body)
        except DecryptError as exc:
            if self._tls13_probe[direction]:
                return b""  # a handshake record we have no key for
            self.failed[direction] = True
            self._note("tls.decrypt-failed", "warning", record.frame,
                       f"TLS record could not be decrypted ({exc}): this direction is not decoded further",
                       direction)
            return b""
        self._tls13_probe[direction] = False
        if inner_type == APPLICATION_DATA:
            self.app_records[direction] += 1
            return content
        if inner_type == HANDSHAKE:
            for msg_type, body in self.handshakes[direction].feed(content):
                self._handshake_message(direction, msg_type, body, record.frame)
        elif inner_type == ALERT and len(content) == 2:
            self._alert(direction, content, record.frame)
        return b""

    def _decrypt_after_gap(self, direction: int, decryptor: Any, record: Any) -> tuple[int, bytes]:
        """The first record after a gap: try the sequence numbers the lost bytes could have used."""
        first, most = decryptor.seq, self._lost_records[direction]
        for seq in range(first, first + most + 1):
            decryptor.seq = seq
            result: tuple[int, bytes]  # (inner content type, content), from either version's decryptor
            try:
                if self.version == 0x0304:
                    result = decryptor.decrypt(record.header, record.body)
                else:
                    result = decryptor.decrypt(record.content_type, record.version, record.body)
            except DecryptError:
                continue
            self._lost_records[direction] = 0
            return result
        decryptor.seq = first
        self._lost_records[direction] = 0
        raise DecryptError(f"no record sequence number from {first} to {first + most} fits after the gap")

    def _encrypted_from_here(self, direction: int) -> bool:
        """TLS 1.2 encrypts the handshake records after ChangeCipherSpec (Finished); TLS 1.3 sends encrypted
        records as application data on the outside, so its visible handshake records are all plaintext."""
        return self.version == 0x0303 and self.ccs_seen[direction]

    def _alert(self, direction: int, body: bytes, frame: int) -> None:
        level = "fatal" if body[0] == 2 else "warning"
        text = f"{level} alert {body[1]}" + (" (close_notify)" if body[1] == 0 else "")
        self.alerts.append(text)
        if body[1] != 0:
            self._note("tls.alert", "warning", frame, f"TLS {text}", direction)

    def _handshake_message(self, direction: int, msg_type: int, body: bytes, frame: int) -> None:
        if msg_type == CLIENT_HELLO and direction == self.client and self.client_hello is None:
            try:
                self.client_hello = parse_hello(body, client=True)
            except ValueError:
                self._note("tls.bad-hello", "warning", frame, "malformed ClientHello", direction)
        elif msg_type == SERVER_HELLO and direction != self.client:
            try:
                hello = parse_hello(body, client=False)
            except ValueError:
                self._note("tls.bad-hello", "warning", frame, "malformed ServerHello", direction)
                return
            if hello.random == HELLO_RETRY_RANDOM:
                return  # HelloRetryRequest: the real ServerHello follows a second ClientHello
            self.server_hello = hello
            self.version = hello.version
            self.suite = hello.cipher_suites[0]
            self._keys(frame, hello)
        elif msg_type == FINISHED and self.version == 0x0304:
            if self._tls13_next[direction] is not None:
                self.decryptors[direction] = self._tls13_next[direction]
                self._tls13_next[direction] = None
        elif msg_type == KEY_UPDATE and self.version == 0x0304 and self.decryptors[direction] is not None:
            self.decryptors[direction] = self.decryptors[direction].next_generation()

    def _keys(self, frame: int, server_hello: Hello) -> None:
        suite = SUITES.get(self.suite) if self.suite is not None else None
        hello = self.client_hello
        if hello is None:
            self.keys = "missing"
            return
        if self.keylog is None:
            self.keys = "missing"
            self._note("tls.no-keys", "info", frame,
                       f"RTMPS ({self.summary()}): give the TLS key log (--tls-keylog FILE, as written through "
                       "SSLKEYLOGFILE) to decrypt and decode the RTMP inside", None)
            return
        if suite is None or self.version not in (0x0303, 0x0304):
            self.keys = "unsupported"
            self._note("tls.unsupported-suite", "warning", frame,
                       f"RTMPS with {self.summary()}: this cipher suite / version is not decrypted "
                       "(supported: AEAD suites (GCM, CCM, ChaCha20-Poly1305) of TLS 1.2 and TLS 1.3)", None)
            return
        client, server = self.client, 1 - self.client
        if self.version == 0x0303:
            master = self.keylog.get("CLIENT_RANDOM", hello.random)
            if master is not None:
                c, s = tls12_decryptors(suite, master, hello.random, server_hello.random)
                self._tls12_pending[client], self._tls12_pending[server] = c, s
                self.keys = "found"
        else:
            get = self.keylog.get
            traffic = (get("CLIENT_TRAFFIC_SECRET_0", hello.random), get("SERVER_TRAFFIC_SECRET_0", hello.random))
            handshake = (get("CLIENT_HANDSHAKE_TRAFFIC_SECRET", hello.random),
                         get("SERVER_HANDSHAKE_TRAFFIC_SECRET", hello.random))
            if traffic[0] is not None or traffic[1] is not None:
                self.keys = "found"
                for direction, index in ((client, 0), (server, 1)):
                    traffic_secret, handshake_secret = traffic[index], handshake[index]
                    if traffic_secret is None:
                        continue
                    application = Tls13Decryptor(suite, traffic_secret)
                    if handshake_secret is not None:
                        self.decryptors[direction] = Tls13Decryptor(suite, handshake_secret)
                        self._tls13_next[direction] = application
                    else:
                        self.decryptors[direction] = application
                        self._tls13_probe[direction] = True
        if self.keys != "found":
            self.keys = "missing"
            self._note("tls.no-keys", "warning", frame,
                       f"RTMPS ({self.summary()}): the key log has no keys for this connection "
                       f"(client random {hello.random.hex()})", None)

    def _note(self, code: str, severity: str, frame: int | None, message: str, direction: int | None) -> None:
        self.notes.append((code, severity, frame, message, direction))

    # -- what the outputs show ------------------------------------------------------------------

    def summary(self) -> str:
        """Version, cipher suite and SNI, as far as known: "TLS 1.3, TLS_AES_256_GCM_SHA384, SNI x"."""
        parts = [VERSION_NAMES.get(self.version, f"version 0x{self.version:04X}") if self.version else "TLS"]
        if self.suite is not None:
            parts.append(suite_name(self.suite))
        if self.client_hello is not None and self.client_hello.sni:
            parts.append(f"SNI {self.client_hello.sni}")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        hello = self.client_hello
        c, s = self.client, 1 - self.client
        return {
            "version": VERSION_NAMES.get(self.version) if self.version else None,
            "cipher_suite": suite_name(self.suite) if self.suite is not None else None,
            "sni": hello.sni if hello else None,
            "alpn": list(hello.alpn) if hello else [],
            "keys": self.keys,
            "handshake_in_capture": not self.midstream,
            "decrypted": bool(any(self.plaintext)),
            "records": {"c2s": self.records[c], "s2c": self.records[s]},
            "application_records": {"c2s": self.app_records[c], "s2c": self.app_records[s]},
            "plaintext_bytes": {"c2s": self.plaintext[c], "s2c": self.plaintext[s]},
            "alerts": list(self.alerts),
        }
