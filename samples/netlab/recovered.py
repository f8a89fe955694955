#!/usr/bin/env python3
"""How much of what a player received does rtmp-inspect recover from the capture?

    python samples/netlab/recovered.py CAPTURE PLAYER.flv [-- extra rtmp-inspect arguments]

Runs `python -m rtmp_inspect CAPTURE --extract-flv DIR` (the rtmp_inspect found first on the path: set
PYTHONPATH to measure another checkout) and compares the audio/video tags of the extracted files of the
server-to-client direction with the tags of the FLV the player wrote: a player tag counts as recovered when
an extracted tag has the same type and the same body, byte for byte. Prints one line: recovered/total, the
share, and the decoded messages and findings of the capture.
"""

from __future__ import annotations

import collections
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def media_tags(path: Path) -> list[tuple[int, bytes]]:
    """(tag type, sha256 of the body) of every audio and video tag of an FLV file."""
    data = path.read_bytes()
    if data[:3] != b"FLV":
        return []
    pos = int.from_bytes(data[5:9], "big") + 4
    out = []
    while pos + 11 <= len(data):
        kind, size = data[pos] & 0x1F, int.from_bytes(data[pos + 1:pos + 4], "big")
        body = data[pos + 11:pos + 11 + size]
        if kind in (8, 9) and len(body) == size:
            out.append((kind, hashlib.sha256(body).digest()))
        pos += 11 + size + 4
    return out


def main() -> int:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    capture, player = Path(argv[0]), Path(argv[1])
    want = media_tags(player)
    with tempfile.TemporaryDirectory() as out:
        run = [sys.executable, "-m", "rtmp_inspect", str(capture), *extra]
        subprocess.run([*run, "--extract-flv", out, "-o", "/dev/null"], check=False, capture_output=True)
        found: collections.Counter[tuple[int, bytes]] = collections.Counter()
        for flv in Path(out).glob("*-s2c-*.flv"):
            found.update(media_tags(flv))
        doc = json.loads(subprocess.run([*run, "--format", "json"], check=True, capture_output=True).stdout)
    recovered = 0
    for tag in want:
        if found[tag] > 0:
            found[tag] -= 1
            recovered += 1
    findings = collections.Counter(w["code"] for flow in doc["flows"] for w in flow["warnings"])
    share = 100.0 * recovered / len(want) if want else 0.0
    print(f"{capture.name}: {recovered}/{len(want)} player media tags recovered ({share:.1f}%); "
          f"{sum(len(f['messages']) for f in doc['flows'])} messages; flows ended "
          f"{[f.get('ended') for f in doc['flows']]}; findings {dict(sorted(findings.items()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
