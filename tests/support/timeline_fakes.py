"""Stand-ins for the timeline tests: records and sessions made by hand, and a fast way to fill a million rows."""

from __future__ import annotations

from rtmp_inspect.analysis.records import MessageRecord
from rtmp_inspect.analysis.timeline import VIDEO, Timeline


def message_record(flow: int, index: int, summary: str, type_id: int = 20, frame: int = 1) -> MessageRecord:
    return MessageRecord(flow, index, "c2s", frame, 0.5, 3, 1, 0, type_id, 10, None, summary, 0, 10, 1, 0, False,
                         b"\x00" * 10)


class FakeState:
    requests: list = []
    streams: dict = {}
    connect = None


class FakeSession:
    def __init__(self, flow_id: int) -> None:
        self.id = flow_id
        self.client = "10.0.0.1:5000"
        self.server = "10.0.0.2:1935"
        self.state = FakeState()

    def outcome(self) -> str:
        return "test"


def bulk_fill(timeline: Timeline, n: int) -> None:
    """Rows as the sink would write them, but column by column (a million sink calls take seconds)."""
    from array import array

    from rtmp_inspect.analysis.timeline import AUDIO

    timeline.frame.extend(range(1, n + 1))
    timeline.time.extend(array("d", (i / 1000 for i in range(n))))
    timeline.flow.extend(array("i", bytes(4 * n)))
    timeline.dir.extend(array("B", bytes(n)))
    timeline.csid.extend(array("I", [4]) * n)
    timeline.stream_id.extend(array("I", [1]) * n)
    timeline.timestamp.extend(range(n))
    timeline.type_id.extend(array("B", [8, 9]) * (n // 2))
    timeline.length.extend(array("I", [100]) * n)
    timeline.kind.extend(array("B", [AUDIO, VIDEO]) * (n // 2))
    timeline.flags.extend(array("B", bytes(n)))
    timeline.msg_index.extend(range(n))
    timeline.offset.extend(array("Q", [0]) * n)
    timeline.end_offset.extend(array("Q", [0]) * n)
    timeline.name.extend(array("I", bytes(4 * n)))
    timeline.summary.extend(["AAC raw", "AVC inter NALU cts=0"] * (n // 2))
    timeline.flows[0].rows.extend(range(n))
    timeline.total = n
