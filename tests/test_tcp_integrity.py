"""Reassembly that takes what the receiver took (flows/table.py, flows/reassembly.py and their twins in
native/capture): TCP checksums, RSTs and FINs a receiving stack would not accept.

Each rule is tried on a real capture (samples/publish_play.pcap: ffmpeg publishing to nginx-rtmp and a
player) whose checksums scapy recomputes, so that every host's checksums are known good, with one crafted
impairment added; both cores must say the same, and what the receiver read must come out as if the impairment
had not been there.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.all import IP, TCP, Ether, IPv6, Raw, rdpcap, wrpcap

from rtmp_inspect.capture.layers import decode_packet
from rtmp_inspect.capture.segment import CHECKSUM_BAD, CHECKSUM_GOOD, CHECKSUM_UNVERIFIED

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "publish_play.pcap"


def _run(path: Path, *args: str, pure: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if pure:
        env["RTMP_INSPECT_PURE"] = "1"
    else:
        env.pop("RTMP_INSPECT_PURE", None)
    return subprocess.run([sys.executable, "-m", "rtmp_inspect", str(path), *args], capture_output=True, env=env,
                          timeout=300)


def analyse(path: Path) -> dict:
    """The JSON document, the same from both cores."""
    native, pure = _run(path, "--format", "json"), _run(path, "--format", "json", pure=True)
    assert native.returncode == 0, native.stderr
    assert native.stdout == pure.stdout, "the two cores disagree"
    return json.loads(native.stdout)


def messages(doc: dict) -> list[list[tuple]]:
    """What each flow decoded, without frame numbers and times (an added packet shifts them)."""
    return [[(m["dir"], m["type_id"], m["length"], m["timestamp"], json.dumps(m.get("args")), m.get("summary"))
             for m in flow["messages"]] for flow in doc["flows"]]


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> tuple[list, Path, dict]:
    """publish_play.pcap with every checksum right, and its analysis."""
    packets = rdpcap(str(SAMPLE))
    for packet in packets:
        if TCP in packet:
            del packet[TCP].chksum
    packets = [Ether(bytes(p)) for p in packets]  # (rebuilt: the checksums computed now)
    path = tmp_path_factory.mktemp("clean") / "clean.pcap"
    wrpcap(str(path), packets)
    return packets, path, analyse(path)


def _data_segments(packets: list, sport: int | None = None) -> list[int]:
    return [i for i, p in enumerate(packets) if TCP in p and len(p[TCP].payload) > 100
            and (sport is None or p[TCP].sport == sport)]


def _write(tmp_path: Path, packets: list) -> Path:
    path = tmp_path / "impaired.pcap"
    wrpcap(str(path), packets)
    return path


def test_checksums_are_checked_as_scapy_computes_them():
    for ip in (IP(src="10.0.0.1", dst="10.0.0.2"), IPv6(src="2001:db8::1", dst="2001:db8::2")):
        for payload in (b"", b"odd", b"even", bytes(range(256)) * 5):
            frame = bytes(Ether() / ip / TCP(sport=1935, dport=50000, seq=7, ack=9, flags="PA") / Raw(payload))
            assert decode_packet(1, frame).checksum == CHECKSUM_GOOD
            flipped = bytearray(frame)
            flipped[-1 if payload else 14 + len(bytes(ip)) - 1] ^= 0x10  # the payload, or the pseudo-header's address
            assert decode_packet(1, bytes(flipped)).checksum == CHECKSUM_BAD
    zero = Ether() / IP() / TCP(chksum=0) / Raw(b"abc")
    assert decode_packet(1, bytes(zero)).checksum == CHECKSUM_UNVERIFIED  # never computed (offload, synthetic)
    frame = bytes(Ether() / IP() / TCP() / Raw(b"x" * 100))
    assert decode_packet(1, frame[:-10]).checksum == CHECKSUM_UNVERIFIED  # cut by the snap length
    merged = bytearray(bytes(Ether() / IP() / TCP() / Raw(b"y" * 2896)))
    merged[60] ^= 1
    assert decode_packet(1, bytes(merged)).checksum == CHECKSUM_UNVERIFIED  # a GRO merge's stale checksum


def test_a_corrupted_copy_is_not_used_when_the_good_copy_follows(clean, tmp_path):
    """A bit flipped in a data segment on the path (checksum now wrong), then the sender's retransmission.
    Before: the first copy won, the rest of the direction decoded on corrupted bytes, and the good copy was a
    `tcp.retransmission-differs` warning."""
    packets, _, want = clean
    at = _data_segments(packets)[20]
    corrupted = bytearray(bytes(packets[at]))
    corrupted[-50] ^= 0x04
    doc = analyse(_write(tmp_path, packets[:at] + [Ether(bytes(corrupted))] + packets[at:]))
    assert messages(doc) == messages(want)
    codes = [w["code"] for flow in doc["flows"] for w in flow["warnings"]]
    assert "tcp.retransmission-differs" not in codes
    [finding] = [w for flow in doc["flows"] for w in flow["warnings"] if w["code"] == "tcp.checksum-bad"]
    assert finding["severity"] == "info" and finding["frame"] == at + 1
    assert finding["message"].startswith("1 TCP segment(s) with a wrong checksum were not used (1 from the")


def test_a_corrupted_port_makes_no_phantom_flow(clean, tmp_path):
    packets, _, want = clean
    at = _data_segments(packets)[30]
    corrupted = bytearray(bytes(packets[at]))
    corrupted[14 + 20 + 1] ^= 0x08  # the low byte of the source port
    doc = analyse(_write(tmp_path, packets[:at + 1] + [Ether(bytes(corrupted))] + packets[at + 1:]))
    assert len(doc["flows"]) == len(want["flows"]) and messages(doc) == messages(want)
    assert "1 TCP segment(s) with a wrong checksum matched no flow and were not used (corrupted on the path)" \
        in doc["capture"]["warnings"]


def test_a_flipped_rst_bit_on_a_retransmission_does_not_end_the_flow(clean, tmp_path):
    """An old segment sent again with its RST bit flipped on (and a checksum that matches, as when the flip
    happened before the checksum was computed). Before: "connection ended (rst)" and nothing after it."""
    packets, _, want = clean
    at = _data_segments(packets)[40]
    bogus = packets[at].copy()
    bogus[TCP].flags = "RA"
    del bogus[TCP].chksum
    doc = analyse(_write(tmp_path, packets[:at + 5] + [Ether(bytes(bogus))] + packets[at + 5:]))
    assert messages(doc) == messages(want)
    assert [f["ended"] for f in doc["flows"]] == [f["ended"] for f in want["flows"]]
    [finding] = [w for flow in doc["flows"] for w in flow["warnings"] if w["code"] == "tcp.reset-ignored"]
    assert finding["frame"] == at + 6 and finding["severity"] == "info"


def test_a_reset_the_receiver_takes_still_ends_the_flow(clean, tmp_path):
    """An RST at the next sequence number after the last data of flow 0 (which ended with FINs): it ends there,
    as the sample's own RST ends its last flow."""
    packets, _, want = clean
    assert [f["ended"] for f in want["flows"]] == ["fin", "fin", "rst"]
    port = int(want["flows"][0]["client"].rsplit(":", 1)[1])
    last = max(_data_segments(packets, port))
    reset = packets[last].copy()
    reset[TCP].seq = reset[TCP].seq + len(reset[TCP].payload)
    reset[TCP].flags = "R"
    reset[TCP].remove_payload()
    del reset[TCP].chksum
    del reset[IP].len, reset[IP].chksum
    doc = analyse(_write(tmp_path, packets[:last + 1] + [Ether(bytes(reset))] + packets[last + 1:]))
    assert [f["ended"] for f in doc["flows"]] == ["rst", "fin", "rst"]
    assert not [w for flow in doc["flows"] for w in flow["warnings"] if w["code"] == "tcp.reset-ignored"]


def test_a_fin_on_an_old_copy_is_not_the_end(clean, tmp_path):
    packets, _, want = clean
    at = _data_segments(packets)[40]
    stale = packets[at].copy()
    stale[TCP].flags = "FA"
    del stale[TCP].chksum
    doc = analyse(_write(tmp_path, packets[:at + 5] + [Ether(bytes(stale))] + packets[at + 5:]))
    assert messages(doc) == messages(want)
    assert [f["ended"] for f in doc["flows"]] == [f["ended"] for f in want["flows"]]


def test_checksums_wrong_throughout_are_offload_and_said_once(tmp_path):
    """samples/connect_rejected.pcap as captured on loopback: every checksum is the partial one the kernel
    leaves to the (virtual) NIC. Nothing is dropped; the capture's notes say why checksums were not checked."""
    path = ROOT / "samples" / "connect_rejected.pcap"
    doc = analyse(path)
    notes = [n for n in doc["capture"]["warnings"] if "checksum" in n]
    assert notes == ["TCP checksums from 1 host(s) were wrong in every segment (25 segments; e.g. from 127.0.0.1): "
                     "computed after the capture point (checksum offload), so not checked"]
    assert not [w for flow in doc["flows"] for w in flow["warnings"] if w["code"] == "tcp.checksum-bad"]


def test_a_host_with_few_right_checksums_is_not_trusted(clean, tmp_path):
    """Loopback captures carry a few right checksums (kernel-made segments) among the partial ones: a wrong one
    there is not corruption, so nothing is dropped and the output is what it was."""
    packets = rdpcap(str(SAMPLE))
    doc = analyse(SAMPLE)
    assert not [w for flow in doc["flows"] for w in flow["warnings"] if w["code"] == "tcp.checksum-bad"]
    assert sum(len(f["messages"]) for f in doc["flows"]) == sum(len(f) for f in messages(clean[2]))
    assert len(packets) > 1000


def test_a_corrupted_ip_header_is_not_used(clean, tmp_path):
    """A flipped bit in the IPv4 total length (the packet now claims bytes it does not have, as if the snap
    length had cut them) and one in the source address (a host never seen): the header checksum, judged over
    the whole capture, says both are corrupt. Before: a gap "missing from the capture", and a phantom host."""
    packets, _, want = clean
    at = _data_segments(packets)[25]
    longer, elsewhere = bytearray(bytes(packets[at])), bytearray(bytes(packets[at + 1]))
    longer[14 + 3] ^= 0x01  # the low byte of the total length: one byte more than the frame has
    elsewhere[14 + 13] ^= 0x02  # the source address's second byte
    doc = analyse(_write(tmp_path, packets[:at] + [Ether(bytes(longer))] + packets[at:at + 1]
                         + [Ether(bytes(elsewhere))] + packets[at + 1:]))
    assert messages(doc) == messages(want)
    codes = [w["code"] for flow in doc["flows"] for w in flow["warnings"]]
    assert "tcp.gap" not in codes and codes.count("tcp.checksum-bad") == 1
    assert "1 TCP segment(s) with a wrong checksum matched no flow and were not used (corrupted on the path)" \
        in doc["capture"]["warnings"]


def test_copies_that_differ_are_one_finding_per_direction(clean, tmp_path):
    """Three segments corrupted before their checksum was computed (so it matches), each followed by the good
    copy: the first copies are taken (nothing tells them apart), and the three good copies that differ are
    one finding with their count and the first frame, not one warning each."""
    packets, _, _ = clean
    server_port = 1935
    picks = [i for i in _data_segments(packets) if packets[i][TCP].sport == server_port][10:13]
    out, inserted = [], []
    for i, packet in enumerate(packets):
        if i in picks:
            bad = packet.copy()
            payload = bytearray(bytes(bad[TCP].payload))
            payload[-20] ^= 0x40
            bad[TCP].remove_payload()
            bad = bad / Raw(bytes(payload))
            del bad[TCP].chksum
            out.append(Ether(bytes(bad)))
            inserted.append(len(out) + 1)  # the good copy's frame number
        out.append(packet)
    doc = analyse(_write(tmp_path, out))
    found = [w for flow in doc["flows"] for w in flow["warnings"] if w["code"] == "tcp.retransmission-differs"]
    assert len(found) == len({(p[TCP].sport, p[TCP].dport) for p in (packets[i] for i in picks)})
    assert sum(int(w["message"].split()[0]) for w in found) == 3
    assert min(w["frame"] for w in found) == inserted[0] and all(w["dir"] == "s2c" for w in found)
    assert found[0]["message"].endswith("the first copy was used")


def test_impossible_sequence_and_ack_numbers_are_not_gaps(tmp_path):
    """On loopback the checksums cannot be checked (offload), so a flipped bit in a sequence or an
    acknowledgement number reaches the reassembly. Before: "268435456 bytes missing from the capture" and a
    flow decoded on nothing; now the numbers are implausible (16 MiB past anything the connection showed),
    the segment and the ACK are not used, and nothing else changes."""
    packets = list(rdpcap(str(SAMPLE)))
    want = analyse(SAMPLE)
    at = _data_segments(packets)[30]
    seq_flip, ack_flip = packets[at].copy(), packets[at + 3].copy()
    seq_flip[TCP].seq = (seq_flip[TCP].seq + (1 << 28)) & 0xFFFFFFFF  # (the checksum field is kept as it was)
    ack_flip[TCP].ack = (ack_flip[TCP].ack + (1 << 29)) & 0xFFFFFFFF
    ack_flip[TCP].remove_payload()
    del ack_flip[IP].len, ack_flip[IP].chksum
    doc = analyse(_write(tmp_path, packets[:at + 5] + [seq_flip, ack_flip] + packets[at + 5:]))
    assert messages(doc) == messages(want)
    codes = [w["code"] for flow in doc["flows"] for w in flow["warnings"]]
    assert "tcp.gap" not in codes
    found = [w["message"] for flow in doc["flows"] for w in flow["warnings"] if w["code"] == "tcp.sequence-implausible"]
    counts = [re.match(r"(\d+) segment\(s\) and (\d+) ACK\(s\) carried sequence or acknowledgement numbers more "
                       r"than 16 MiB beyond", text) for text in found]
    assert all(counts) and [sum(int(c.group(n)) for c in counts) for n in (1, 2)] == [1, 1]  # (maybe two flows)


def test_a_real_jump_in_the_sequence_is_still_a_gap(clean, tmp_path):
    """A capture that lost 20 MB of a direction (every segment after the hole continues the one before): the
    second far segment continues the first, so the jump is taken and the hole is a gap, as before."""
    packets, _, _ = clean
    port = packets[_data_segments(packets)[30]][TCP].sport
    shifted = []
    seen = 0
    for packet in packets:
        packet = packet.copy()
        if TCP in packet and packet[TCP].sport == port and len(packet[TCP].payload):
            seen += 1
            if seen > 30:
                packet[TCP].seq = (packet[TCP].seq + 20_000_000) & 0xFFFFFFFF
                del packet[TCP].chksum
        elif TCP in packet and packet[TCP].dport == port and seen > 30:
            packet[TCP].ack = (packet[TCP].ack + 20_000_000) & 0xFFFFFFFF
            del packet[TCP].chksum
        shifted.append(Ether(bytes(packet)))
    doc = analyse(_write(tmp_path, shifted))
    gaps = [w for flow in doc["flows"] for w in flow["warnings"] if w["code"] == "tcp.gap"]
    assert any(w["message"].startswith("2000") for w in gaps), gaps  # ~20 MB (and the first far segment)
