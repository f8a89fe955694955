"""Running a capture through the analysis: open it, feed every packet to the pipeline, finish, close.

The one place that does this. The command line, the --jobs workers, `diff`, the TUI and its re-decodes all
call `run()`; every input is a parameter (`RunOptions`), nothing is read from module or process globals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

from .analysis.ingest_profiles import Profile
from .analysis.pipeline import Analyzer, FinishedSession, Partition
from .analysis.session import FlowSession
from .capture.reader import CaptureReader, open_capture
from .capture.segment import TcpSegment, UdpDatagram, checksum_notes
from .core import NativeCaptureReader, native_by_default
from .display_filter import compile_filter
from .export.filtered import FilteredSink
from .tls.keylog import KeyLog

# How often (in TCP segments) `RunOptions.tick` runs: often enough for a smooth progress display and a
# prompt stop, rarely enough to cost nothing.
TICK_EVERY = 256

Reader = CaptureReader | NativeCaptureReader
Tick = Callable[[int, Reader], bool]  # (segments or packets so far, the reader) -> go on?
Endpoints = tuple[tuple[bytes, int], tuple[bytes, int]]


@dataclass(frozen=True)
class RunOptions:
    """What a run is given besides the capture and the sink.

    `decode_as`: TCP ports taken as RTMP without a visible handshake. `keylog`: TLS secrets for RTMPS.
    `partition` (--jobs): decode only the sessions it owns. `tick(segments, reader)`: called every
    TICK_EVERY segments (native core: every batch); returning False stops the run early (unfinished).
    `on_start(analyzer, reader)`: once the capture's start time is known, before the first record.
    `connection`: only the packets of this TCP connection (re-decodes). `native`: the native core does the
    per-packet and per-chunk work (else the pure-Python reference; the output is the same).
    `display_filter` (-Y): only the messages it matches reach the sink (display_filter.py). `profile`
    (--profile): the ingest rules every session is also checked against (analysis/ingest_profiles.py).
    """

    decode_as: tuple[int, ...] = ()
    keylog: KeyLog | None = None
    partition: Partition | None = None
    tick: Tick | None = None
    on_start: Callable[[Analyzer, Reader], None] | None = None
    connection: Endpoints | None = None
    native: bool = field(default_factory=native_by_default)
    display_filter: str | None = None
    profile: Profile | None = None


@dataclass
class Run:
    """A finished (or stopped) run: the reader, with what it learnt of the file, and the analyzer."""

    path: str
    reader: Reader
    analyzer: Analyzer
    stopped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sessions(self) -> list[FlowSession | FinishedSession]:
        """The sessions, by id; a sink that does not keep finished sessions leaves stand-ins (just `id`)."""
        return self.analyzer.sessions

    @property
    def kept_sessions(self) -> list[FlowSession]:
        """The sessions, by id, all whole: for a run whose sink keeps finished sessions."""
        assert getattr(self.analyzer.sink, "keeps_finished_sessions", True)
        return cast(list[FlowSession], self.analyzer.sessions)

    def capture_json(self) -> dict[str, Any]:
        """The capture's description, as the JSON document's `capture` object."""
        reader = self.reader
        return {
            "path": self.path,
            "format": reader.format,
            "packets": reader.packets,
            "start": reader.start,
            "tcp_flows": self.analyzer.tcp_flows,
            "warnings": list(reader.warnings),
        }


def capture_head(path: str, reader: Reader) -> dict[str, Any]:
    """What is known of a capture before its first packet (the first JSON Lines line)."""
    return {"path": path, "format": reader.format, "start": reader.start}


def open_reader(path: str, options: RunOptions = RunOptions()) -> Reader:
    """Open the capture at `path` ("-": standard input) for the core the options name. Raises CaptureError
    for unusable input."""
    if not options.native:
        return open_capture(path)
    only = None
    if options.connection is not None:
        (a, pa), (b, pb) = options.connection
        only = (a, pa, b, pb)
    return NativeCaptureReader(path, only)


def run(path: str, sink: Any, options: RunOptions = RunOptions()) -> Run:
    """Run the capture at `path` ("-": standard input) into `sink`. Raises CaptureError for unusable input."""
    reader = open_reader(path, options)
    try:
        return run_reader(path, reader, sink, options)
    finally:
        reader.close()


def run_reader(path: str, reader: Reader, sink: Any, options: RunOptions = RunOptions()) -> Run:
    """Run a capture opened by `open_reader` into `sink` (the caller closes the reader)."""
    analyzer: Analyzer | None = None
    if options.display_filter is not None:
        sink = FilteredSink(sink, compile_filter(options.display_filter))

    def start(time: float) -> Analyzer:
        nonlocal analyzer
        engine = reader.engine if isinstance(reader, NativeCaptureReader) else None
        analyzer = Analyzer(sink, reader.start or time, options.decode_as, options.keylog, options.partition,
                            engine, options.profile)
        if options.on_start is not None:
            options.on_start(analyzer, reader)
        head = getattr(sink, "capture", None)  # a streaming output shows the capture before its flows
        if head is not None and (options.partition is None or options.partition.index == 0):
            head(capture_head(path, reader))
        return analyzer

    if isinstance(reader, NativeCaptureReader):
        tick = options.tick
        for batch in reader.batches():
            if batch:
                # Both kinds of first event (a flow's start, a UDP datagram) have the packet's time at [8].
                (analyzer or start(batch[0][8])).add_native(batch)
            if tick is not None and analyzer is not None and tick(reader.packets, reader) is False:
                return Run(path, reader, analyzer, stopped=True)
        if analyzer is None:
            analyzer = start(0.0)
        analyzer.finish()
        return Run(path, reader, analyzer)

    packets = reader.decoded()
    if options.connection is not None:
        (a, pa), (b, pb) = options.connection
        keys = frozenset(((a, pa, b, pb), (b, pb, a, pa)))
        packets = (p for p in packets if type(p) is TcpSegment and (p.src, p.sport, p.dst, p.dport) in keys)
    tick = options.tick
    count = 0
    for packet in packets:
        if type(packet) is TcpSegment:
            (analyzer or start(packet.time)).add(packet)
            count += 1
            if tick is not None and count % TICK_EVERY == 0 and tick(count, reader) is False:
                assert analyzer is not None
                return Run(path, reader, analyzer, stopped=True)
        else:  # a UDP datagram: RTMFP
            assert type(packet) is UdpDatagram
            (analyzer or start(packet.time)).add_udp(packet.src, packet.sport, packet.dst, packet.dport,
                                                     packet.payload, packet.frame, packet.time)
    if analyzer is None:
        analyzer = start(0.0)
    analyzer.finish()
    reader.warnings.extend(checksum_notes(*analyzer.table.checksum_report()))
    return Run(path, reader, analyzer)


def redecode(path: str, sink: Any, stop: threading.Event | None = None, connection: Any = None, *,
             options: RunOptions = RunOptions()) -> None:
    """Run a capture into `sink` again, quietly (no progress line: under the TUI, stderr is the screen), only
    the packets of `connection` (a TCP flow: refetch.session_matcher's) when given; `stop` set ends it early."""
    def go_on(segments: int, reader: Reader) -> bool:
        return not (stop is not None and stop.is_set())

    endpoints = None if connection is None else connection.endpoints
    run(path, sink, replace(options, tick=go_on, on_start=None, partition=None, connection=endpoints))
