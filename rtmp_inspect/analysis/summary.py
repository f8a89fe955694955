"""One-line summaries of messages, in the spirit of tshark's Info column.

They hold raw strings from the capture: text outputs escape them (textsafe.escape) when printing.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..rtmp.messages import Aggregate, AmfPayload, Control, SharedObject, UserControl

MAX_VALUE_TEXT = 120

_CONTROL_TITLES = {
    1: "Set Chunk Size",
    2: "Abort",
    3: "Acknowledgement",
    5: "Window Acknowledgement Size",
    6: "Set Peer Bandwidth",
}


def short(value: Any, limit: int = MAX_VALUE_TEXT) -> str:
    """A compact rendering of an AMF value for one line."""
    text = _render(value, 0)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _render(value: Any, depth: int) -> str:
    if isinstance(value, str):
        return repr(value[: MAX_VALUE_TEXT + 1])  # a long string, however often referenced, costs a line
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, int):
        return str(value)
    if depth >= 3:
        return "…"
    if isinstance(value, dict):
        inner = ", ".join(f"{k}={_render(v, depth + 1)}" for k, v in list(value.items())[:12])
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v, depth + 1) for v in value[:12]) + "]"
    to_json = getattr(value, "to_json", None)
    if to_json is not None:
        return str(to_json())
    return type(value).__name__


def status_fields(value: Any) -> tuple[str | None, str | None, str | None]:
    """(code, level, description) of an info object such as onStatus' or _result's."""
    if isinstance(value, dict):
        code, level, description = value.get("code"), value.get("level"), value.get("description")
        return (
            code if isinstance(code, str) else None,
            level if isinstance(level, str) else None,
            description if isinstance(description, str) else None,
        )
    return None, None, None


class _Summarised(Protocol):
    def summary(self) -> str: ...


def summarize(type_id: int, payload: Any) -> str:
    if isinstance(payload, Control):
        return f"{_CONTROL_TITLES.get(type_id, payload.name)} {payload.summary()}"
    if isinstance(payload, UserControl):
        return payload.summary()
    if isinstance(payload, AmfPayload):
        return _summarize_amf(payload)
    if isinstance(payload, (SharedObject, Aggregate)):
        return payload.summary()
    if payload is None:
        return f"type {type_id}"
    media: _Summarised = payload  # audio or video (rtmp.media): the rest decode_body makes
    return media.summary()


def _summarize_amf(payload: AmfPayload) -> str:
    name = payload.name
    args = payload.args
    if not payload.is_command:
        if name is None:
            text = short(payload.values)
        elif name == "@setDataFrame" and args:
            text = f"@setDataFrame {short(args[0]) if not isinstance(args[0], str) else args[0]}"
            if len(args) > 1:
                text += " " + short(args[1])
        else:
            text = f"{name} " + " ".join(short(a) for a in args)
        return text.strip() + (f" [{payload.error}]" if payload.error else "")
    txn = payload.transaction_id
    txn_text = "" if txn is None else f"({_render(txn, 0)})"
    text = f"{name}{txn_text}" if name is not None else short(payload.values)
    command_object = args[0] if args else None
    rest = args[1:]
    if name == "connect" and isinstance(command_object, dict):
        app = command_object.get("app")
        text = f"connect({app!r})" if isinstance(app, str) else f"connect{txn_text}"
        tc_url = command_object.get("tcUrl")
        if isinstance(tc_url, str):
            text += f" tcUrl={tc_url}"
    elif name in ("_result", "_error", "onStatus"):
        for candidate in rest + [command_object]:
            code, level, description = status_fields(candidate)
            if code:
                text += f" {code}"
                if level:
                    text += f" ({level})"
                if description and name != "_result":
                    text += f" {description!r}"
                break
        else:
            if rest:
                text += " " + " ".join(short(a) for a in rest)
    elif rest:
        text += " " + ", ".join(short(a) for a in rest)
    if payload.error:
        text += f" [{payload.error}]"
    return text
