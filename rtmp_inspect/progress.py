"""A progress line on stderr while a large capture decodes (only on a terminal, only after a moment)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO, Any

DELAY = 0.7  # seconds before the first line: a quick run shows nothing
INTERVAL = 0.25


class Progress:
    def __init__(self, stream: IO[str], position: Callable[[], tuple[int, int | None]], label: str) -> None:
        self.stream = stream
        self.position = position
        self.label = label
        self.enabled = stream.isatty()
        self.started = time.monotonic()
        self.next_update = self.started + DELAY
        self.shown = False

    def tick(self, packets: int) -> None:
        """Cheap to call often: looks at the clock only, and draws at most four times a second."""
        now = time.monotonic()
        if not self.enabled or now < self.next_update:
            return
        self.next_update = now + INTERVAL
        done, total = self.position()
        mb = done / 1e6
        rate = mb / max(now - self.started, 1e-6)
        if total:
            share = min(done / total, 1.0)
            width = 24
            bar = "#" * int(share * width) + "-" * (width - int(share * width))
            text = (f"{self.label} [{bar}] {share:4.0%} {mb:,.0f}/{total / 1e6:,.0f} MB, {packets:,} packets, "
                    f"{rate:,.0f} MB/s")
        else:
            text = f"{self.label} {mb:,.0f} MB, {packets:,} packets, {rate:,.0f} MB/s"
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def progress_tick(stream: IO[str] | None, label: str) -> tuple[Callable[[int, Any], bool], Callable[[], None]]:
    """(a run's tick that draws a progress line on `stream` (None: nothing), the call that clears it)."""
    shown: list[Progress] = []

    def tick(segments: int, reader: Any) -> bool:
        if stream is not None:
            if not shown:
                shown.append(Progress(stream, reader.progress, label))
            shown[0].tick(reader.packets)
        return True

    def done() -> None:
        if shown:
            shown[0].done()

    return tick, done
