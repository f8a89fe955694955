"""The network under the stream: a publish that falls behind real time because of the path, against one that
falls behind because of its encoder. Both captures are real (samples/netlab/make_impaired.sh): ffmpeg to
nginx-rtmp through the project's namespaces, once with the client's uplink shaped to 400 kbit/s by tbf
(`CLIENT_RATE=400kbit`), once unshaped with a 1080p libx264 `-preset slower` encoder on one thread
(`LIVE_ENCODE=...`) that cannot keep up."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NETLAB = ROOT / "tests" / "data" / "netlab"


def check(path: Path, pure: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "RTMP_INSPECT_PURE"}
    if pure:
        env["RTMP_INSPECT_PURE"] = "1"
    done = subprocess.run([sys.executable, "-m", "rtmp_inspect", str(path), "--check", "--format", "json"],
                          capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def findings(doc: dict, code: str) -> list[dict]:
    return [f for part in doc["check"] for flow in part["flows"] for f in flow["findings"] if f["code"] == code]


def test_a_path_slower_than_the_stream_is_named_with_both_rates():
    path = NETLAB / "slow_publish.pcap"
    doc = check(path)
    assert check(path, pure=True) == doc
    [clock] = findings(doc, "media.clock-rate")
    assert "0.420x as fast as capture time" in clock["message"]
    [slow] = findings(doc, "network.too-slow")
    assert slow["severity"] == "warning" and slow["dir"] == "c2s"
    found = re.search(r"carried ([\d.]+) Mbit/s while the stream needs ([\d.]+) Mbit/s; media fell ([\d.]+) s",
                      slow["message"])
    assert found is not None
    carried, needed, behind = map(float, found.groups())
    assert (carried, needed, behind) == (0.38, 0.89, 13.6)
    assert carried < 0.4  # tbf's 400 kbit/s, counted as TCP payload
    assert "97% of the data segments were full" in slow["message"]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed (.ci/run installs it)")
def test_the_rate_the_path_carried_agrees_with_tshark():
    """tshark's own count of the client's TCP payload over the media's span of capture time."""
    path = NETLAB / "slow_publish.pcap"
    fields = subprocess.run(["tshark", "-r", str(path), "-Y", "tcp.dstport == 1935", "-T", "fields", "-e", "tcp.len"],
                            capture_output=True, timeout=120, check=True).stdout.split()
    payload = sum(int(n) for n in fields)
    doc = json.loads(subprocess.run([sys.executable, "-m", "rtmp_inspect", str(path), "--format", "json"],
                                    capture_output=True, timeout=300, check=True).stdout)
    [flow] = doc["flows"]
    assert flow["bytes"]["c2s"] == payload
    [stream] = flow["media_streams"]
    span = stream["timing"]["last_time"] - stream["timing"]["first_time"]
    [slow] = findings(check(path), "network.too-slow")
    assert f"carried {payload * 8 / span / 1e6:.2f} Mbit/s" in slow["message"]


def test_a_slow_encoder_on_a_fast_path_is_not_blamed_on_the_network():
    doc = check(NETLAB / "slow_encoder.pcap")
    [clock] = findings(doc, "media.clock-rate")
    assert "the sender runs slower than real time" in clock["message"]
    assert findings(doc, "network.too-slow") == []
