"""Wireshark's RTMPT dissector as an independent oracle: its messages, per TCP connection and direction.

tshark's PDML has one `rtmpt` proto element per RTMP message, in the frame that carried its last byte.
fmt 2/3 headers do not repeat type and length, so they are carried forward per chunk stream, exactly
as the dissector itself does. Known places where the dissector is wrong are documented by the tests.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass

TSHARK = shutil.which("tshark")


@dataclass(frozen=True)
class OracleMessage:
    frame: int
    type_id: int
    length: int
    timestamp: int
    command: str | None
    csid: int


def tshark_messages(path: str, ports: set[int]) -> dict[tuple[str, str], list[OracleMessage]]:
    """{(source 'addr:port', destination 'addr:port'): messages in order} for every RTMP direction tshark decodes."""
    args = [TSHARK, "-r", path, "-T", "pdml", "-o", "tcp.reassemble_out_of_order:TRUE",
            "-o", "rtmpt.max_packet_size:16777215"]
    for port in sorted(ports):
        args += ["-d", f"tcp.port=={port},rtmpt"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    result: dict[tuple[str, str], list[OracleMessage]] = {}
    state: dict[tuple[str, str, int], tuple[int, int]] = {}  # (src, dst, csid) -> (type, length)
    for _, packet in ET.iterparse(proc.stdout, events=("end",)):
        if packet.tag != "packet":
            continue
        frame = src = dst = None
        sport = dport = None
        for proto in packet:
            name = proto.get("name")
            if name == "geninfo":
                frame = int(_field(proto, "num").get("show"))
            elif name in ("ip", "ipv6"):
                prefix = "ip" if name == "ip" else "ipv6"
                src = _field(proto, f"{prefix}.src").get("show")
                dst = _field(proto, f"{prefix}.dst").get("show")
                if name == "ipv6":
                    src, dst = f"[{src}]", f"[{dst}]"
            elif name == "tcp":
                sport = _field(proto, "tcp.srcport").get("show")
                dport = _field(proto, "tcp.dstport").get("show")
            elif name == "rtmpt":
                if "Handshake" in (proto.get("showname") or ""):
                    continue
                key = (f"{src}:{sport}", f"{dst}:{dport}")
                message = _message(proto, frame, key, state)
                if message is not None:
                    result.setdefault(key, []).append(message)
        packet.clear()
    proc.wait()
    return result


def _field(element: ET.Element, name: str) -> ET.Element:
    for child in element.iter("field"):
        if child.get("name") == name:
            return child
    raise KeyError(name)


def _message(proto: ET.Element, frame: int, key: tuple[str, str], state: dict) -> OracleMessage | None:
    header: dict[str, str] = {}
    command = None
    for field in proto.iter("field"):
        name = field.get("name") or ""
        if name.startswith("rtmpt.header.") and name not in header:
            header[name] = field.get("show")
        elif name == "amf.string" and command is None:
            command = field.get("show")
    if "rtmpt.header.csid" not in header:
        return None
    csid = int(header["rtmpt.header.csid"])
    type_id = header.get("rtmpt.header.typeid")
    length = header.get("rtmpt.header.bodysize")
    if type_id is not None and length is not None:
        state[(key[0], key[1], csid)] = (int(type_id, 16), int(length))
    known = state.get((key[0], key[1], csid))
    if known is None:
        return None
    timestamp = int(header.get("rtmpt.header.ets") or header.get("rtmpt.header.timestamp") or 0)
    type_id_value, length_value = known
    if type_id_value not in (15, 17, 18, 20):
        command = None
    return OracleMessage(frame, type_id_value, length_value, timestamp, command, csid)
