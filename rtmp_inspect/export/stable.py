"""`--stable` and `rtmp-inspect diff`: what stays the same between two captures of one scripted scenario.

Two captures of the same scenario differ in capture times, frame numbers (ACKs and segmenting vary),
client ports, random handshake bytes and the way the two directions interleave. A stable export leaves
those out and lists each direction's messages on their own, so a CI job can diff today's capture against
a stored one and see only protocol differences. Acknowledgements are left out too: when a peer acknowledges
depends on how TCP happened to deliver the bytes, not on the protocol exchange.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from typing import Any

# Keys that change from one capture of a scenario to the next.
_UNSTABLE_MESSAGE_KEYS = ("index", "frame", "time", "chunks", "fmt")
# Measured values (durations, rates, drift) and counts that depend on timing vary from run to run.
_UNSTABLE_FLOW_KEYS = ("first_frame", "last_frame", "start", "end", "bytes", "ended", "expert", "media_streams",
                       "message_count")
_UNSTABLE_HANDSHAKE_KEYS = ("client_time", "server_time")
# Warning sentences carry measured numbers; the code, severity and direction say what happened.
_UNSTABLE_WARNING_KEYS = ("frame", "message")


def _endpoint_host(endpoint: str) -> str:
    return endpoint.rsplit(":", 1)[0]


def stabilize(document: dict[str, Any], hide_addresses: bool = False) -> dict[str, Any]:
    """A copy of a `--format json` document without what varies between runs of one scenario."""
    capture = {
        k: v for k, v in document.get("capture", {}).items() if k not in ("path", "start", "packets", "tcp_flows")
    }
    flows = []
    for flow in document.get("flows", []):
        out = {k: v for k, v in flow.items() if k not in _UNSTABLE_FLOW_KEYS and k != "messages"}
        out["client"] = "client" if hide_addresses else _endpoint_host(flow["client"])
        out["server"] = "server" if hide_addresses else flow["server"]
        if isinstance(flow.get("verdict"), str):
            out["verdict"] = flow["verdict"].split(",")[0]  # what happened, without the measured figures
        out["handshake"] = {k: v for k, v in flow.get("handshake", {}).items() if k not in _UNSTABLE_HANDSHAKE_KEYS}
        out["warnings"] = [
            {k: v for k, v in w.items() if k not in _UNSTABLE_WARNING_KEYS} for w in flow.get("warnings", [])
        ]
        session = out.get("session")
        if isinstance(session, dict):
            session = dict(session)
            session["requests"] = [
                {k: v for k, v in r.items() if k not in ("frame", "index", "response_index", "response_frame", "rtt")}
                for r in session.get("requests", [])
            ]
            session["statuses"] = [{k: v for k, v in s.items() if k not in ("frame", "index")}
                                   for s in session.get("statuses", [])]
            out["session"] = session
        if "streams" in out:
            out["streams"] = [
                {**s, "statuses": [{k: v for k, v in st.items() if k != "frame"} for st in s.get("statuses", [])]}
                for s in out["streams"]
            ]
        for dir in ("c2s", "s2c"):
            out[f"messages_{dir}"] = [
                _stable_message(m) for m in flow.get("messages", []) if m.get("dir") == dir and m.get("type_id") != 3
            ]
        flows.append(out)
    return {"tool": document.get("tool"), "schema_version": document.get("schema_version"), "stable": True,
            "capture": capture, "flows": flows}


def _stable_message(message: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in message.items() if k not in _UNSTABLE_MESSAGE_KEYS and k != "dir"}
    if "event_timestamp" in out:  # ping timestamps are clock readings
        out["event_timestamp"] = None
        out["summary"] = out.get("summary", "").split(" timestamp=")[0]
    return out


def _lines(stable: dict[str, Any]) -> list[str]:
    """One readable line per fact, so a unified diff points at what changed."""
    lines = []
    for n, flow in enumerate(stable["flows"]):
        head = {k: v for k, v in flow.items() if not k.startswith("messages_") and k != "warnings"}
        lines.append(f"flow {n}: " + json.dumps(head, sort_keys=True))
        for warning in flow.get("warnings", []):
            lines.append(f"flow {n} warning: " + json.dumps(warning, sort_keys=True))
        for dir in ("c2s", "s2c"):
            for m in flow.get(f"messages_{dir}", []):
                summary = m.get("summary", "")
                rest = {k: v for k, v in m.items() if k != "summary"}
                lines.append(f"flow {n} {dir}: {summary} " + json.dumps(rest, sort_keys=True))
    return lines


def diff_documents(a: dict[str, Any], b: dict[str, Any], name_a: str, name_b: str,
                   hide_addresses: bool = False) -> Iterable[str]:
    """Unified-diff lines between the stable forms of two documents; empty when they agree."""
    left = _lines(stabilize(a, hide_addresses) if not a.get("stable") else a)
    right = _lines(stabilize(b, hide_addresses) if not b.get("stable") else b)
    return difflib.unified_diff(left, right, name_a, name_b, lineterm="", n=1)
