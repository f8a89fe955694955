"""The JSON form of messages, warnings and flows, shared by the JSON and JSON Lines outputs."""

from __future__ import annotations

import json
from typing import Any

from ..analysis.records import MessageRecord
from ..rtmp.amf_values import amf_to_json
from ..rtmp.messages import Aggregate, AmfPayload, Control, SharedObject, UserControl, type_name


def dumps(value: Any) -> str:
    """Deterministic, ASCII-only JSON: capture strings can never carry raw control or bidi characters."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def message_to_json(record: MessageRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "index": record.index,
        "dir": record.dir,
        "frame": record.frame,
        "time": record.time,
        "csid": record.csid,
        "stream_id": record.stream_id,
        "timestamp": record.timestamp,
        "type_id": record.type_id,
        "length": record.length,
        "type": type_name(record.type_id),
    }
    payload = record.payload
    if isinstance(payload, AmfPayload):
        out["command"] = payload.name
        if payload.is_command:
            out["transaction_id"] = payload.transaction_id
        out["args"] = [amf_to_json(value) for value in payload.args]
        if payload.error:
            out["decode_error"] = payload.error
    elif isinstance(payload, Control):
        out.update(payload.to_json())
        if payload.error:
            out["decode_error"] = payload.error
    elif isinstance(payload, UserControl):
        out.update(payload.to_json())
        if payload.error:
            out["decode_error"] = payload.error
    elif isinstance(payload, Aggregate):
        out["parts"] = [
            {"type_id": p.type_id, "timestamp": p.timestamp, "stream_id": p.stream_id, "length": p.length}
            for p in payload.parts
        ]
        if payload.error:
            out["decode_error"] = payload.error
    elif isinstance(payload, SharedObject):
        out["shared_object"] = payload.to_json()
        if payload.error:
            out["decode_error"] = payload.error
    elif payload is not None:
        # Leave out fields that do not apply to this codec or packet: they are most of the bytes otherwise.
        out["media"] = {k: v for k, v in payload.to_json().items() if v is not None and v != [] and v is not False}
    out["summary"] = record.summary
    out["chunks"] = record.chunks
    out["fmt"] = record.first_fmt
    if record.inferred:
        out["inferred"] = True
    return out
