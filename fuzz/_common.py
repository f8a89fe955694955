"""Shared by the harnesses: import path, and the checks that turn a silent problem into a crash."""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


class Finding(Exception):
    """Raised by a harness when the code under test did something wrong without raising itself."""


def check_amf_result(result) -> None:
    """The AMF decoders never raise: they turn a bug into error.kind == "internal". That is a finding."""
    error = getattr(result, "error", None)
    if error is not None and getattr(error, "kind", None) == "internal":
        raise Finding(f"AMF decoder internal error: {error}")


def check_error_text(value) -> None:
    """Decoders report trouble in an `error` string; an "internal" one hides a bug."""
    error = getattr(value, "error", None)
    if isinstance(error, str) and "internal" in error:
        raise Finding(f"internal error reported: {error}")


def instrument():
    """atheris.instrument_imports() when a harness runs as a fuzzer; a no-op when tests replay inputs."""
    import contextlib

    if not os.path.basename(sys.argv[0] if sys.argv else "").startswith("fuzz_"):
        return contextlib.nullcontext()
    try:
        import atheris
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return atheris.instrument_imports()


def fuzz(test_one_input) -> None:
    import sys

    import atheris

    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


class Bytes:
    """Reads fuzz bytes from the front as small integers; zeros once they run out (no atheris needed)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def int(self, low: int, high: int) -> int:
        """An integer in [low, high], from as few bytes as the range needs."""
        span = high - low
        if span <= 0:
            return low
        size = (span.bit_length() + 7) // 8
        raw = self.data[self.pos : self.pos + size]
        self.pos += size
        return low + int.from_bytes(raw.ljust(size, b"\0"), "big") % (span + 1)

    def take(self, count: int) -> bytes:
        out = self.data[self.pos : self.pos + count]
        self.pos += count
        return out
