"""Which core does the per-byte work: the native one (rtmp_inspect._native, in Rust) or the pure-Python
reference (capture/, flows/, rtmp/). Both give the same output, byte for byte
(tests/test_native.py).

Which one a run uses is `runner.RunOptions.native` (by default `native_by_default()`).

The native core reads the capture records, decodes the packets, tracks and reassembles the TCP flows and
decodes the RTMP chunk layer of every flow a session is attached to; it hands the analysis batches of events
(`EngineEvent` kinds below). The pure path does the same work with capture/, flows/ and rtmp/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from .capture.reader import CaptureError, _GzipSource, _open_source
from .capture.segment import checksum_notes
from .rtmp.connection import ConnectionDecoder as PureConnectionDecoder

Endpoints = tuple[tuple[bytes, int], tuple[bytes, int]]
EngineEvent = tuple[Any, ...]  # (kind, steps, ...): see the kinds below


def _load_native() -> ModuleType | None:
    try:
        from . import _native  # type: ignore[attr-defined]
    except ImportError:
        return None
    module: ModuleType = _native
    return module


native: ModuleType | None = _load_native()  # None when the extension is not built


def native_by_default() -> bool:
    """Whether a run uses the native core unless told otherwise: when it is built and RTMP_INSPECT_PURE is
    not set (to anything but 0)."""
    return native is not None and os.environ.get("RTMP_INSPECT_PURE", "") in ("", "0")


def core_name(use_native: bool) -> str:
    return "native core" if use_native else "pure Python"


FEED_BYTES = 64 * 1024  # capture bytes per engine batch

# Kinds of the engine's events (native/py/src/engine.rs): (kind, steps, ...).
STARTED, DATA, GAP, MISMATCH, ENDED, UDP, DECODED, STEPS = range(8)


def connection_decoder(expect_handshake: bool, use_native: bool) -> Any:
    """Both directions of one RTMP connection (rtmp.connection.ConnectionDecoder's interface), decoded by
    the native core or the pure reference."""
    if use_native and native is not None:
        return native.ConnectionDecoder(expect_handshake)
    return PureConnectionDecoder(expect_handshake)


class NativeFlow:
    """A TCP connection as the engine reports it: what the analysis asks of a flows.table.Flow."""

    __slots__ = ("id", "endpoints", "first_frame", "first_time", "zero_windows", "zero_window_first_frame",
                 "checksum_drops", "checksum_drop_first_frame", "resets_ignored", "reset_ignored_first_frame",
                 "data_segments", "full_segments", "implausible_segments", "implausible_acks",
                 "_fin_seen", "ended")

    def __init__(self, flow_id: int, endpoints: Endpoints, first_frame: int, first_time: float) -> None:
        self.id = flow_id
        self.endpoints = endpoints
        self.first_frame = first_frame
        self.first_time = first_time
        self.zero_windows = 0
        self.zero_window_first_frame: int | None = None
        self.checksum_drops = [0, 0]
        self.checksum_drop_first_frame: int | None = None
        self.resets_ignored = 0
        self.reset_ignored_first_frame: int | None = None
        self.data_segments = [0, 0]
        self.full_segments = [0, 0]
        self.implausible_segments = 0
        self.implausible_acks = 0
        self._fin_seen = (False, False)
        self.ended = False

    def end(self, summary: tuple[Any, ...]) -> None:
        """The counters the engine reported when the flow ended (engine.rs: summary_tuple)."""
        (self.zero_windows, self.zero_window_first_frame, fin0, fin1, drops0, drops1, self.checksum_drop_first_frame,
         self.resets_ignored, self.reset_ignored_first_frame, data0, data1, full0, full1, self.implausible_segments,
         self.implausible_acks) = summary
        self._fin_seen = (fin0, fin1)
        self.checksum_drops = [drops0, drops1]
        self.data_segments = [data0, data1]
        self.full_segments = [full0, full1]
        self.ended = True

    def fin_seen(self, direction: int) -> bool:
        return self._fin_seen[direction]


class NativeCaptureReader:
    """A capture read by the engine: the file (or stdin, gunzipped on the fly) is read here in chunks and
    handed to the engine, which parses the records. The attributes are CaptureReader's; `warnings` holds the
    byte source's and the engine's in the order they arose."""

    def __init__(self, path: str, only: tuple[bytes, int, bytes, int] | None = None) -> None:
        assert native is not None
        self.warnings: list[str] = []
        self._merged = 0  # engine warnings already in self.warnings
        self._src, self.name = _open_source(path, self.warnings)
        self.engine = native.Engine(self.name, only)
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        """Read until the engine has the capture's header (CaptureError if it is not a capture)."""
        first = self._src.read()
        if not first:
            raise CaptureError(f"{self.name}: empty file")
        if first[:2] == b"\x1f\x8b":
            self._src = _GzipSource(self._src, first, self.name, self.warnings)
            first = self._src.read()
            if not first:
                raise CaptureError(f"{self.name}: empty file (after gunzip)")
        data = first
        try:
            while not self.engine.open(data, False):
                data = self._src.read()
                if not data:
                    self.engine.open(b"", True)  # raises: the header is cut short
                    break
        except native.CaptureError as exc:  # type: ignore[union-attr]
            raise CaptureError(str(exc)) from None
        self._merge_warnings()

    def _merge_warnings(self) -> None:
        found = self.engine.warnings
        if len(found) > self._merged:
            self.warnings.extend(found[self._merged:])
            self._merged = len(found)

    @property
    def format(self) -> str:
        return self.engine.format  # type: ignore[no-any-return]

    @property
    def packets(self) -> int:
        return self.engine.packets  # type: ignore[no-any-return]

    @property
    def start(self) -> float | None:
        return self.engine.start  # type: ignore[no-any-return]

    @property
    def link_types(self) -> list[int]:
        return self.engine.link_types  # type: ignore[no-any-return]

    def progress(self) -> tuple[int, int | None]:
        """(bytes of the file read so far, file size or None), for a progress display."""
        source = getattr(self._src, "_inner", self._src)  # gzip: progress through the compressed file
        size = source.size() if hasattr(source, "size") else None
        return getattr(source, "bytes_read", 0), size

    def batches(self) -> Iterator[list[EngineEvent]]:
        """The engine's events, a batch per FEED_BYTES of the capture, then the last batch (where the open
        flows end). Small batches matter: the bytes of a flow in the batch where it is recognised come to
        Python as data; from the next batch on the engine decodes them itself."""
        engine = self.engine
        assert native is not None
        try:
            while True:
                chunk = self._src.read()
                if not chunk:
                    break
                for start in range(0, len(chunk), FEED_BYTES):
                    yield engine.feed(chunk[start:start + FEED_BYTES])
                self._merge_warnings()
            batch = engine.finish()
        except native.CaptureError as exc:  # the same one-line error as the pure reader's
            raise CaptureError(str(exc)) from None
        self._merge_warnings()
        self.warnings.extend(checksum_notes(*engine.checksum_report()))
        yield batch

    def close(self) -> None:
        self._src.close()

    def __enter__(self) -> NativeCaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["NativeCaptureReader", "NativeFlow", "connection_decoder", "core_name", "native", "native_by_default"]
