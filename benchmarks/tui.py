#!/usr/bin/env python3
"""The TUI on a real capture, headless (Textual's run_test): time to the first screen, to the first rows of
the timeline, and to the full index (decoding finished), with rows, model bytes per row and peak RSS.

Usage: python benchmarks/tui.py [CAPTURE ...]     (default: benchmarks/out/media.pcap and big.pcap)
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from rtmp_inspect.ui.app import RtmpInspectApp  # noqa: E402
from rtmp_inspect.ui.widgets import TimelineView  # noqa: E402


async def measure(path: str) -> dict[str, float | int | str]:
    started = time.perf_counter()
    app = RtmpInspectApp([path])
    numbers: dict[str, float | int | str] = {"capture": os.path.basename(path),
                                             "size": f"{os.path.getsize(path) / 1e6:.0f} MB"}
    async with app.run_test(size=(160, 48)) as pilot:
        view = app.query_one(TimelineView)
        while app.first_screen_seconds is None:
            await pilot.pause(0.01)
        numbers["first screen (s)"] = round(app.first_screen_seconds, 3)
        while len(app.timeline) == 0 and not app.timeline.finished:
            await pilot.pause(0.01)
        numbers["first rows shown (s)"] = round(time.perf_counter() - started, 3)
        while not app.timeline.finished:
            await pilot.pause(0.1)
        numbers["full index (s)"] = round(app.load_seconds or time.perf_counter() - started, 2)
        await pilot.pause(0.3)
        numbers["rows"] = len(app.timeline)
        t0 = time.perf_counter()
        await pilot.press("end")
        await pilot.pause(0.05)
        numbers["End key (s)"] = round(time.perf_counter() - t0, 3)
        numbers["cursor at"] = view.cursor
        while not app.settled:
            await pilot.pause(0.02)
        numbers["last row's details (s)"] = round(time.perf_counter() - t0, 2)  # its body is still cached
        for share in (0.5, 0.9):  # bodies long gone from the cache: decoded again from the capture
            t0 = time.perf_counter()
            view.move_to(int(len(app.timeline) * share))
            await pilot.pause(0.05)
            while not app.settled:
                await pilot.pause(0.02)
            numbers[f"row at {share:.0%}: details and body (s)"] = round(time.perf_counter() - t0, 2)
        numbers["model bytes per row"] = round(app.timeline.memory_per_row())
    numbers["peak RSS (MB)"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return numbers


def main(argv: list[str]) -> int:
    paths = argv or [os.path.join(HERE, "out", name) for name in ("media.pcap", "big.pcap")]
    for path in paths:
        if not os.path.exists(path):
            print(f"{path} missing: run python benchmarks/make_inputs.py first", file=sys.stderr)
            return 2
    for path in paths:  # one capture per process run would be cleaner for RSS; peak is cumulative here
        print(asyncio.run(measure(path)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
