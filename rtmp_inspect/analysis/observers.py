"""Analyses that watch every message of a session and report at its end.

An observer is made per session with `Observer(session)` and has:
- `observe(record: MessageRecord) -> list[WarningRecord]`, called for each message in decoding order;
- `finish() -> list[WarningRecord]`, called once when the flow ends;
- `to_json() -> dict`, merged into the flow's JSON (keys must not clash with other observers').
Observers build their WarningRecords themselves; the session adds them to its list.
"""

from __future__ import annotations

from typing import Any

from .expert import ExpertChecks
from .media_stats import StreamStatistics

# Statistics first: the expert checks and the verdict read what it measured.
OBSERVER_CLASSES: list[type] = [StreamStatistics, ExpertChecks]


def make_observers(session: Any) -> list:
    return [cls(session) for cls in OBSERVER_CLASSES]
