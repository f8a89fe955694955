"""Message-for-message agreement with Wireshark's RTMPT dissector on every capture it decodes correctly.

Per flow and direction, the sequence of (frame, type id, body length, timestamp, command name)
must be identical. tshark is run with out-of-order reassembly on, its 32768-byte size limit lifted,
and the flow's port decoded as RTMPT, so that it is right wherever it can be.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tshark_oracle import TSHARK, tshark_messages

ROOT = Path(__file__).resolve().parent.parent
# Captures where the dissector is known to be wrong, with the reason; they are checked against other oracles.
TSHARK_WRONG = {
    "midsession.pcap": "starts mid-session: Wireshark has no chunk state and decodes garbage "
                       "(tests/test_midsession.py checks it against the player's FLV instead)",
}
CAPTURES = sorted(
    p for p in list((ROOT / "samples").glob("*.pcap")) + list((ROOT / "samples" / "public").glob("*"))
    if p.suffix in (".pcap", ".pcapng", ".cap") and p.name not in TSHARK_WRONG
)


def our_messages(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "rtmp_inspect", str(path), "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (apt-get install tshark); .ci/run installs it")
@pytest.mark.parametrize("capture", CAPTURES, ids=[p.name for p in CAPTURES])
def test_messages_agree_with_tshark(capture: Path):
    document = our_messages(capture)
    ports = {int(flow["server"].rsplit(":", 1)[1]) for flow in document["flows"]}
    oracle = tshark_messages(str(capture), ports)
    compared = 0
    for flow in document["flows"]:
        if flow["handshake"].get("encrypted"):
            continue
        for dir, src, dst in (("c2s", flow["client"], flow["server"]), ("s2c", flow["server"], flow["client"])):
            ours = [
                (
                    m["frame"],
                    m["type_id"],
                    m["length"],
                    m["timestamp"],
                    m.get("command") if m["type_id"] in (15, 17, 18, 20) else None,
                )
                for m in flow["messages"]
                if m["dir"] == dir
            ]
            theirs = [(m.frame, m.type_id, m.length, m.timestamp, m.command) for m in oracle.get((src, dst), [])]
            assert ours == theirs, f"flow {flow['id']} {dir}: differs from tshark"
            compared += len(ours)
    assert compared > 0, "no messages compared: the capture should contain RTMP messages"
