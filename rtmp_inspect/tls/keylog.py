"""The NSS key log format (SSLKEYLOGFILE), as browsers, OpenSSL, GnuTLS and so ffmpeg write it.

Each line is `LABEL <client_random hex> <secret hex>`; `#` starts a comment. TLS 1.2 uses CLIENT_RANDOM
(the 48-byte master secret); TLS 1.3 uses one line per traffic secret. Unknown labels are kept and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..capture.reader import open_failure

TLS13_LABELS = (
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",
    "SERVER_TRAFFIC_SECRET_0",
)


class KeyLogError(ValueError):
    pass


@dataclass(slots=True)
class KeyLog:
    """Secrets by label, then by client random."""

    secrets: dict[str, dict[bytes, bytes]] = field(default_factory=dict)
    lines: int = 0

    def get(self, label: str, client_random: bytes) -> bytes | None:
        return self.secrets.get(label, {}).get(client_random)

    def knows(self, client_random: bytes) -> bool:
        return any(client_random in by_random for by_random in self.secrets.values())

    def __len__(self) -> int:
        return sum(len(by_random) for by_random in self.secrets.values())


def parse_keylog(text: str) -> KeyLog:
    """Lines that are not `LABEL hex hex` are skipped (key logs are often concatenated from several tools)."""
    keylog = KeyLog()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3:
            continue
        label, random_hex, secret_hex = parts
        try:
            client_random, secret = bytes.fromhex(random_hex), bytes.fromhex(secret_hex)
        except ValueError:
            continue
        if len(client_random) != 32 or not secret:
            continue
        keylog.secrets.setdefault(label, {})[client_random] = secret
        keylog.lines += 1
    return keylog


def load_keylog(path: str) -> KeyLog:
    """The key log at `path`; KeyLogError (one line, as capture files are spoken of) if it cannot be read."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            keylog = parse_keylog(f.read())
    except OSError as exc:
        raise KeyLogError(open_failure(path, exc, "key log file")) from None
    if not len(keylog):
        raise KeyLogError(f"{path}: no key log lines (expected NSS key log format: LABEL client_random secret)")
    return keylog
