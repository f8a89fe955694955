"""Snapshots of the TUI's main screens (pytest-textual-snapshot) on a real capture, at 80x24 and 160x48.

Made with `python -m pytest tests/test_tui_snapshots.py --snapshot-update`; the SVGs are in
tests/__snapshots__/test_tui_snapshots/. Each screen is taken once the app has settled (decoding done,
the panes filled for the row under the cursor), so nothing depends on how fast the machine is.
"""

from __future__ import annotations

import os

import pytest

pytest.importorskip("textual")
pytest.importorskip("pytest_textual_snapshot")

from textual.widgets import DataTable  # noqa: E402

from rtmp_inspect.ui.app import RtmpInspectApp  # noqa: E402
from rtmp_inspect.ui.stats import StatsScreen  # noqa: E402
from tests.support.tui_pilot import CHUNK128, current, loaded, settle, until  # noqa: E402

pytestmark = pytest.mark.slow  # the TUI under the pilot: seconds per test

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


async def _startup(pilot) -> None:
    await loaded(pilot.app, pilot)


async def _publish_details(pilot) -> None:
    await loaded(pilot.app, pilot)
    await pilot.press("g", *"69", "enter")  # frame 69: the publish of flow #1
    await settle(pilot)
    assert current(pilot.app).name == "publish"


async def _bytes_body(pilot) -> None:
    await loaded(pilot.app, pilot)
    await pilot.press("g", *"84", "enter")  # frame 84: the first video keyframe, 6354 bytes
    await settle(pilot)
    assert current(pilot.app).keyframe


async def _bytes_raw(pilot) -> None:
    await _bytes_body(pilot)
    await pilot.press("r")
    await settle(pilot)
    assert pilot.app.raw_mode


async def _filter(pilot) -> None:
    await loaded(pilot.app, pilot)
    await pilot.press("slash", *"cmd:onStatus", "enter")
    await settle(pilot)
    await pilot.press("slash")  # the bar again, with the filter applied below it


async def _stats(pilot) -> None:
    app = pilot.app
    await loaded(app, pilot)
    app.query_one("#flows", DataTable).focus()
    await pilot.press("down", "down")  # flow #1, the publisher
    await settle(pilot)
    await pilot.press("s")
    await until(pilot, lambda: isinstance(app.screen, StatsScreen), "the stats screen")


async def _help(pilot) -> None:
    await loaded(pilot.app, pilot)
    await pilot.press("question_mark")
    await until(pilot, lambda: pilot.app.screen.__class__.__name__ == "HelpScreen", "the help screen")


SCREENS = {"startup": _startup, "publish_details": _publish_details, "bytes_body": _bytes_body,
           "bytes_raw": _bytes_raw, "filter": _filter, "stats": _stats, "help": _help}


@pytest.mark.skipif(not os.path.exists(CHUNK128), reason="samples/chunk128.pcap not present")
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("screen", SCREENS)
def test_screen(snap_compare, screen: str, size: str) -> None:
    app = RtmpInspectApp([CHUNK128])
    assert snap_compare(app, terminal_size=SIZES[size], run_before=SCREENS[screen])
