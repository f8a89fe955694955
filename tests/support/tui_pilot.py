"""Driving the TUI in tests: waits on conditions (never fixed sleeps), the row under the cursor."""

from __future__ import annotations

import time

import pytest

from rtmp_inspect.ui.app import RtmpInspectApp
from rtmp_inspect.ui.widgets import TimelineView
from tests.support.paths import SAMPLES

CHUNK128 = str(SAMPLES / "chunk128.pcap")  # nginx with chunk_size 128: media in many chunks


async def until(pilot, condition, what: str, limit: float = 120.0) -> None:
    """Wait until `condition()` holds, looking every few milliseconds (no fixed quiet period: on a loaded
    machine the decoding thread and the details timer lag well behind any pause); fail after `limit` s."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {limit} s waiting for {what}")
        await pilot.pause(0.02)


async def loaded(app: RtmpInspectApp, pilot) -> None:
    await until(pilot, lambda: app.settled, "the capture to decode and the panes to fill")
    await pilot.pause()  # and the screen to draw it


async def settle(pilot) -> None:
    """After keys: wait until the panes show the row under the cursor, fully loaded."""
    await pilot.pause()
    await loaded(pilot.app, pilot)


def current(app: RtmpInspectApp):
    view = app.query_one(TimelineView)
    return app.timeline[view.cursor]
