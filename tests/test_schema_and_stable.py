"""The JSON export validates against the schema shipped in the package; --stable and `diff` behave."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = sorted(
    p for p in list((ROOT / "samples").glob("*.pcap")) + list((ROOT / "samples" / "public").glob("*"))
    if p.suffix in (".pcap", ".pcapng", ".cap")
)
SCHEMA = json.loads(resources.files("rtmp_inspect").joinpath("schema/rtmp-inspect.schema.json").read_text())


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtmp_inspect", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("capture", CAPTURES, ids=[f"{p.parent.name}/{p.name}" for p in CAPTURES])
def test_every_capture_validates_against_the_schema(capture):
    result = run(str(capture), "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["flows"], "every sample holds RTMP"


def test_schema_rejects_a_broken_document():
    document = json.loads(run(str(CAPTURES[0]), "--format", "json").stdout)
    document["flows"][0]["messages"][0]["dir"] = "sideways"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, SCHEMA)


def test_stable_export_drops_what_varies_and_splits_directions():
    sample = next(p for p in CAPTURES if p.name == "wireshark_rtmp_sample.cap")
    stable = json.loads(run(str(sample), "--stable").stdout)
    flow = stable["flows"][0]
    assert "messages" not in flow and flow["client"] == "192.168.43.1"
    assert [m["command"] for m in flow["messages_c2s"] if m["type_id"] == 20] == ["connect", "createStream", "play"]
    text = json.dumps(stable)
    assert '"frame"' not in text and '"time"' not in text and "client_time" not in text


def test_diff_says_identical_captures_agree_and_different_ones_differ(tmp_path):
    sample = next(p for p in CAPTURES if p.name == "wireshark_rtmp_sample.cap")
    other = next(p for p in CAPTURES if p.name == "twinx_short_publish.pcap")
    same = run("diff", str(sample), str(sample))
    assert same.returncode == 0 and "no differences" in same.stdout
    exported = tmp_path / "sample.json"
    exported.write_text(run(str(sample), "--format", "json").stdout)
    assert run("diff", str(sample), str(exported)).returncode == 0
    different = run("diff", str(sample), str(other))
    assert different.returncode == 1
    assert "+flow 0 c2s: connect('twinx')" in different.stdout
    assert run("diff", str(sample), "/nonexistent.pcap").returncode == 2


@pytest.mark.parametrize("name", ["publish_play.pcap", "port_other.pcap", "play_missing.pcap"])
def test_two_runs_of_one_scenario_are_identical_in_stable_form(name):
    first, second = ROOT / "samples" / name, ROOT / "samples" / "rerun" / name
    assert first.read_bytes() != second.read_bytes()  # really two captures
    a, b = run(str(first), "--stable"), run(str(second), "--stable")
    assert a.returncode == 0 and a.stdout == b.stdout
    result = run("diff", str(first), str(second))
    assert result.returncode == 0 and "no differences" in result.stdout
