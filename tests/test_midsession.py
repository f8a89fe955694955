"""A capture that starts mid-session (no handshake, no Set Chunk Size, first segment inside a chunk):
the chunk size is inferred and the media decoded matches the tail of the FLV the player wrote.
Wireshark decodes this capture as garbage; the player's FLV is the oracle."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "samples" / "midsession.pcap"
PLAYER_FLV = ROOT / "samples" / "midsession.ffmpeg.flv"


def flv_media_tags(path: Path) -> list[tuple[int, int, bytes]]:
    data = path.read_bytes()
    pos, tags = 13, []
    while pos + 11 <= len(data):
        kind, size = data[pos], int.from_bytes(data[pos + 1 : pos + 4], "big")
        timestamp = int.from_bytes(data[pos + 4 : pos + 7], "big") | (data[pos + 7] << 24)
        if kind in (8, 9):
            tags.append((kind, timestamp, data[pos + 11 : pos + 11 + size]))
        pos += 11 + size + 4
    return tags


def test_chunk_size_is_inferred_and_marked(tmp_path):
    doc = json.loads(subprocess.run([sys.executable, "-m", "rtmp_inspect", str(CAPTURE), "--format", "json"],
                                    capture_output=True, text=True, check=True).stdout)
    assert len(doc["flows"]) == 2
    for flow in doc["flows"]:
        assert flow["handshake"]["in_capture"] is False
        codes = [w["code"] for w in flow["warnings"]]
        assert "handshake.missing" in codes and "chunk.resynchronised" in codes
        resync = next(w for w in flow["warnings"] if w["code"] == "chunk.resynchronised")
        assert "chunk size 4096 (inferred)" in resync["message"]
        media = [m for m in flow["messages"] if m["type_id"] in (8, 9)]
        assert len(media) > 200 and all(m.get("inferred") for m in media)
        frames = [m["frame"] for m in flow["messages"]]
        assert frames == sorted(frames) and frames[0] < frames[-1]  # each credited to its own frame


def test_media_matches_the_tail_of_the_players_flv(tmp_path):
    paths = subprocess.run([sys.executable, "-m", "rtmp_inspect", str(CAPTURE), "--extract-flv", str(tmp_path)],
                           capture_output=True, text=True, check=True).stdout.split()
    theirs = flv_media_tags(PLAYER_FLV)
    assert len(paths) == 2  # the publisher's upload and the player's download
    for path in paths:
        ours = flv_media_tags(Path(path))
        assert 200 < len(ours) < len(theirs)
        tail = theirs[-len(ours):]
        assert [(k, body) for k, _, body in ours] == [(k, body) for k, _, body in tail]
        # Absolute timestamps are unknowable without a fmt 0 header, but the spacing is exact per track.
        for kind in (8, 9):
            mine = [ts for k, ts, _ in ours if k == kind]
            real = [ts for k, ts, _ in tail if k == kind]
            assert [b - a for a, b in zip(mine, mine[1:])] == [b - a for a, b in zip(real, real[1:])]


# -- phantom flows (issue: reassembly that takes what the receiver took) ------------------------------------

def _phantom_capture(tmp_path, payload: bytes, packets: int = 1):
    from tests.support.capture_builders import ether, ipv4, pcap, tcp

    frames = [ether(0x0800, ipv4("10.9.0.1", "10.9.0.2",
                                 payload=tcp(sport=41000, dport=1935, seq=5000 + i * len(payload), ack=1,
                                             payload=payload)))
              for i in range(packets)]
    path = tmp_path / "phantom.pcap"
    path.write_bytes(pcap([(1_700_000_000, i * 10_000, f) for i, f in enumerate(frames)]))
    return path


@pytest.mark.parametrize("packets", [1, 2])
def test_one_or_two_stray_packets_on_the_rtmp_port_are_not_a_session(tmp_path, packets):
    """A corrupted port or a stray packet: no handshake, no decodable chunk stream, one or two packets."""
    import random

    noise = random.Random(packets).randbytes(900)
    done = subprocess.run([sys.executable, "-m", "rtmp_inspect", str(_phantom_capture(tmp_path, noise, packets)),
                           "--format", "json"], capture_output=True, text=True, timeout=60)
    assert json.loads(done.stdout)["flows"] == []
    assert "no RTMP found" in done.stderr


def test_a_few_packets_that_decode_as_chunks_are_still_a_session(tmp_path):
    """One packet mid-session that holds whole RTMP messages is evidence enough (as Wireshark would show it)."""
    from tests.support.rtmp_builder import command, message_chunks

    body = command("onStatus", 0, None, {"level": "status", "code": "NetStream.Play.Start"})
    payload = message_chunks(5, 20, body, 1000, stream_id=1) * 3
    done = subprocess.run([sys.executable, "-m", "rtmp_inspect", str(_phantom_capture(tmp_path, payload)),
                           "--format", "json"], capture_output=True, text=True, timeout=60)
    [flow] = json.loads(done.stdout)["flows"]
    assert flow["messages"] and flow["messages"][0]["command"] == "onStatus"
