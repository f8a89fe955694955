"""The display filter language (rtmp_inspect/display_filter.py) and `-Y FILTER`.

The language is tried on message dicts; `-Y` on the real samples against plain Python filtering the full JSON
of the same capture (the oracle), with both cores and with --jobs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rtmp_inspect.display_filter import FilterError, compile_filter

ROOT = Path(__file__).resolve().parent.parent

VIDEO_KEY = {"flow": 0, "index": 7, "dir": "c2s", "type": "video", "type_id": 9, "length": 5200, "stream_id": 1,
             "media": {"codec": "H.264", "keyframe": True, "units": [6, 5]}, "summary": "H.264 keyframe NALU"}
STATUS = {"flow": 1, "index": 9, "dir": "s2c", "type": "command_amf0", "type_id": 20, "length": 120,
          "stream_id": 1, "command": "onStatus", "transaction_id": 0,
          "args": [None, {"level": "status", "code": "NetStream.Play.Start", "description": "Started playing"}],
          "summary": "onStatus(0) NetStream.Play.Start"}


@pytest.mark.parametrize("text, video, status", [
    ('type == "video"', True, False),
    ("type == video", True, False),
    ("type_id == 9 && media.keyframe", True, False),
    ("type_id eq 9 and not media.keyframe", False, False),
    ("length > 4096", True, False),
    ("length >= 120 and length <= 120", False, True),
    ("length lt 200", False, True),
    ("dir != c2s", False, True),
    ("!(dir == c2s)", False, True),
    ("command in {publish, play, onStatus}", False, True),
    ("command in {publish play}", False, False),
    ('args.1.code == "NetStream.Play.Start"', False, True),
    ('args.1.code matches "^NetStream\\.Play\\."', False, True),
    ('summary contains "keyframe"', True, False),
    ("args contains null", False, True),
    ("media.units contains 5", True, False),
    ("media.units == 6", True, False),  # a list: any item
    ("media.units != 7", True, False),  # ...and != holds for every item
    ("media.units != 5", False, False),
    ("media", True, False),
    ("command", False, True),
    ("flow == 0 || flow == 1 && dir == c2s", True, False),  # and binds tighter than or
    ("(flow == 0 || flow == 1) && dir == s2c", False, True),
    ("args.5.code == x", False, False),  # a path that is not there is false
    ("media.keyframe == true", True, False),
    ("transaction_id == 0.0", False, True),  # numbers compare as numbers
    ('type == "9"', False, False),  # a string is not a number
])
def test_the_language_on_messages(text: str, video: bool, status: bool):
    matches = compile_filter(text)
    assert (matches(VIDEO_KEY), matches(STATUS)) == (video, status)


@pytest.mark.parametrize("text, says", [
    ("foo == 1", "unknown field 'foo' at character 1"),
    ("type ==", "expected a value at character 8, found the end"),
    ("type == video &&", "expected a field at character 17, found the end"),
    ("(type == video", "expected ')' at character 15, found the end"),
    ('summary contains "open', "unterminated string at character 18"),
    ("type == video )", "unexpected ')' at character 15"),
    ('summary matches "("', "bad regular expression '('"),
    ("length > 1 # comment", "unexpected '#' at character 12"),
    ("", "empty filter"),
])
def test_errors_are_one_line_saying_where(text: str, says: str):
    with pytest.raises(FilterError) as caught:
        compile_filter(text)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def _run(*args: str, pure: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "RTMP_INSPECT_PURE"}
    if pure:
        env["RTMP_INSPECT_PURE"] = "1"
    return subprocess.run([sys.executable, "-m", "rtmp_inspect", *args], capture_output=True, env=env, timeout=300)


CASES = [
    ('type == video && media.keyframe',
     lambda m: m["type"] == "video" and m.get("media", {}).get("keyframe") is True),
    ("command in {play, publish, onStatus}", lambda m: m.get("command") in ("play", "publish", "onStatus")),
    ('dir in {c2s, s2c} and length > 1000 and not media.sequence_header',
     lambda m: m["dir"] in ("c2s", "s2c") and m["length"] > 1000 and not m.get("media", {}).get("sequence_header")),
    ("dir == s2c", lambda m: m["dir"] == "s2c"),
]


@pytest.mark.parametrize("sample", ["publish_play.pcap", "chunk128.pcap", "public/twinx_nginx_publish.pcap"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_dash_y_shows_what_plain_python_picks_from_the_full_json(sample: str, case: int):
    text, pick = CASES[case]
    path = str(ROOT / "samples" / sample)
    full = json.loads(_run(path, "--format", "json").stdout)
    done = _run(path, "--format", "json", "-Y", text)
    assert done.returncode == 0, done.stderr
    filtered = json.loads(done.stdout)
    want = [[m for m in flow["messages"] if pick({**m, "flow": flow["id"]})] for flow in full["flows"]]
    assert [flow["messages"] for flow in filtered["flows"]] == want
    assert any(want), "the case should pick something from this sample"
    # everything but the messages is unchanged
    assert [{k: v for k, v in f.items() if k != "messages"} for f in filtered["flows"]] == \
        [{k: v for k, v in f.items() if k != "messages"} for f in full["flows"]]
    assert _run(path, "--format", "json", "-Y", text, pure=True).stdout == done.stdout
    assert _run(path, "--format", "json", "-Y", text, "--jobs", "2").stdout == done.stdout


def test_dash_y_in_text_and_json_lines_shows_the_same_messages():
    path = str(ROOT / "samples" / "publish_play.pcap")
    text = _run(path, "--format", "text", "-Y", "command == play").stdout.decode()
    rows = [line for line in text.splitlines() if "command_amf0" in line]
    assert len(rows) == 2 and all("play(" in row for row in rows)
    assert "handshake C0" not in text  # handshake parts are filtered like messages (type "handshake")
    assert "handshake C0" in _run(path, "--format", "text", "-Y", "type == handshake").stdout.decode()
    lines = [json.loads(line) for line in _run(path, "--format", "jsonl", "-Y", "command == play").stdout.splitlines()]
    assert [line["command"] for line in lines if line.get("kind") == "message"] == ["play", "play"]


@pytest.mark.parametrize("args, says", [
    (["-Y", "nope == 1"], "-Y: unknown field 'nope'"),
    (["-Y", "type ==", "--format", "json"], "-Y: expected a value"),
    (["-Y", "type == video", "--check"], "not both"),
    (["-Y", "type == video", "--extract-flv", "/tmp/never-made-by-rtmp-inspect"], "--extract-flv writes every tag"),
])
def test_dash_y_mistakes_are_exit_2_and_one_line(args: list[str], says: str):
    done = _run(str(ROOT / "samples" / "publish_play.pcap"), *args)
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().count("\n") == 1 and says in done.stderr.decode()
    assert not Path("/tmp/never-made-by-rtmp-inspect").exists()
