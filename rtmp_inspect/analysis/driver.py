"""Running one open capture through the analysis: the loop the command line and the TUI share."""

from __future__ import annotations

from typing import Any, Callable

from ..capture import layers
from .pipeline import Analyzer

# How often (in TCP segments) the caller's `tick` runs: often enough for a smooth progress display and a
# prompt stop, rarely enough to cost nothing.
TICK_EVERY = 256


def run_capture(reader: Any, sink: Any, decode_as: list[int],
                tick: Callable[[int], bool] | None = None,
                on_start: Callable[[], None] | None = None,
                partition: Any = None) -> Analyzer:
    """Feed every packet of `reader` through an Analyzer into `sink` and finish it.

    `tick(segments)` runs every TICK_EVERY segments; returning False stops the run early (unfinished).
    `on_start()` runs once, when the capture's start time is known (before the first record).
    `partition` (a parallel.Partition, --jobs): decode only the sessions it owns; it is told the analyzer,
    whose step keys the output.
    """
    analyzer: Analyzer | None = None

    def start(time: float) -> Analyzer:
        nonlocal analyzer
        analyzer = Analyzer(sink, reader.start or time, decode_as)
        if partition is not None:
            analyzer.partition = partition
            partition.analyzer = analyzer
        if on_start is not None:
            on_start()
        return analyzer

    def on_udp(src: bytes, sport: int, dst: bytes, dport: int, payload: bytes, frame: int, time: float) -> None:
        (analyzer or start(time)).add_udp(src, sport, dst, dport, payload, frame, time)  # RTMFP

    layers.set_udp_hook(on_udp)
    try:
        count = 0
        for segment in reader.segments():
            (analyzer or start(segment.time)).add(segment)
            count += 1
            if tick is not None and count % TICK_EVERY == 0 and tick(count) is False:
                return analyzer  # type: ignore[return-value]
        if analyzer is None:
            start(0.0)
        analyzer.finish()  # type: ignore[union-attr]
    finally:
        layers.set_udp_hook(None)
    return analyzer  # type: ignore[return-value]
