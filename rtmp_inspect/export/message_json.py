"""The JSON form of messages, warnings and flows, shared by the JSON and JSON Lines outputs."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ..analysis.records import MessageRecord
from ..core import native, native_by_default
from ..rtmp.amf_values import amf_to_json
from ..rtmp.codec_config import jsonable
from ..rtmp.media import AudioInfo, VideoInfo, codec_name, is_keyframe, is_sequence_header
from ..rtmp.messages import TYPE_NAMES, Aggregate, AmfPayload, Control, SharedObject, UserControl, type_name

# JSON of one message's AMF values is bounded in proportion to its length (amf_to_json's budget units).
JSON_BUDGET_BASE = 4096
JSON_BUDGET_PER_BYTE = 8

# One encoder, made once: json.dumps with these options would build a new one per call.
_ENCODE = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode
# The native core's twin of it (the same text, faster), unless the pure core is asked for. It returns None
# for what it leaves to _ENCODE (e.g. a float that is not finite, which _ENCODE refuses).
_NATIVE_ENCODE = native.dumps if native is not None and native_by_default() else None


def dumps(value: Any) -> str:
    """Deterministic, ASCII-only JSON: capture strings can never carry raw control or bidi characters."""
    if _NATIVE_ENCODE is not None:
        text: str | None = _NATIVE_ENCODE(value)
        if text is not None:
            return text
    return _ENCODE(value)


# The compact media JSON, built straight from the fields: the same dict as
# {k: v for k, v in payload.to_json().items() if v is not None and v != [] and v is not False}
# but without converting the (mostly None or empty) fields first. Only for the classes whose to_json
# is the one this mirrors; anything else takes the generic path.
_MEDIA_FIELDS = {cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in (AudioInfo, VideoInfo)}
_MEDIA_TO_JSON = {AudioInfo: AudioInfo.to_json, VideoInfo: VideoInfo.to_json}
_PLAIN = frozenset((int, str, bool))


# Compact JSON of configuration payloads (sequence headers), by payload identity: the analysis shares one
# payload object between identical configuration messages (see analysis/session.py). The entry holds the
# payload, so its id cannot be reused while cached. Callers get a shallow copy.
_CONFIG_JSON: dict[int, tuple[Any, dict[str, Any]]] = {}


def _compact(payload: Any) -> dict[str, Any]:
    if is_sequence_header(payload):
        hit = _CONFIG_JSON.get(id(payload))
        if hit is None:
            if len(_CONFIG_JSON) >= 256:
                _CONFIG_JSON.clear()
            hit = _CONFIG_JSON[id(payload)] = (payload, _build_compact(payload))
        return dict(hit[1])
    return _build_compact(payload)


def _build_compact(payload: Any) -> dict[str, Any]:
    cls = type(payload)
    names = _MEDIA_FIELDS.get(cls)
    if names is None or cls.to_json is not _MEDIA_TO_JSON[cls]:
        return {k: v for k, v in payload.to_json().items() if v is not None and v != [] and v is not False}
    out: dict[str, Any] = {}
    for name in names:
        v = getattr(payload, name)
        if v is None or v is False or v == ():
            continue
        if type(v) not in _PLAIN:
            v = jsonable(v)
            if v is None or v == [] or v is False:
                continue
        out[name] = v
    summary = payload.summary()
    if summary is not None and summary != [] and summary is not False:
        out["summary"] = summary
    codec = codec_name(payload)
    if codec is not None:
        out["codec"] = codec
    if cls is VideoInfo and is_keyframe(payload):
        out["keyframe"] = True
    if is_sequence_header(payload):
        out["sequence_header"] = True
    return out


# The JSON of AMF arguments, by payload identity, for the payloads the analysis shares between messages with
# the same body (small commands and data: see analysis/session.py). As above, the entry holds the payload.
_ARGS_JSON: dict[int, tuple[Any, list[Any]]] = {}
_ARGS_MAX_BODY = 4096


def _args_json(payload: AmfPayload, length: int) -> list[Any]:
    budget = [JSON_BUDGET_BASE + JSON_BUDGET_PER_BYTE * length]  # references: see amf_to_json
    return [amf_to_json(value, budget=budget) for value in payload.args]


def _shared_args_json(payload: AmfPayload, length: int) -> list[Any]:
    hit = _ARGS_JSON.get(id(payload))
    if hit is None:
        if len(_ARGS_JSON) >= 1024:
            _ARGS_JSON.clear()
        hit = _ARGS_JSON[id(payload)] = (payload, _args_json(payload, length))
    return hit[1]


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
        "type": TYPE_NAMES.get(record.type_id) or type_name(record.type_id),
    }
    payload = record.payload
    if isinstance(payload, AmfPayload):
        out["command"] = payload.name
        if payload.is_command:
            out["transaction_id"] = payload.transaction_id
        length = record.length
        out["args"] = _shared_args_json(payload, length) if length <= _ARGS_MAX_BODY else _args_json(payload, length)
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
        out["media"] = _compact(payload)
    out["summary"] = record.summary
    out["chunks"] = record.chunks
    out["fmt"] = record.first_fmt
    if record.inferred:
        out["inferred"] = True
    return out
