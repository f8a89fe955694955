"""E-RTMP capability negotiation (Enhanced RTMP v2, "Enhancing NetConnection connect Command"): what the
client offers in connect's command object and the server answers in connect's _result, and whether what was
then sent had been advertised.

The fields: `fourCcList` (the codecs, by FourCC, a client can handle; "*" for any), `videoFourCcInfoMap` and
`audioFourCcInfoMap` (FourCC -> CanDecode 1 | CanEncode 2 | CanForward 4), and `capsEx` (Reconnect 1 |
Multitrack 2 | ModEx 4 | TimestampNanoOffset 8).
"""

from __future__ import annotations

from typing import Any

from ..rtmp.amf_values import amf_to_json

CAPS_EX_BITS = ((0x01, "Reconnect"), (0x02, "Multitrack"), (0x04, "ModEx"), (0x08, "TimestampNanoOffset"))
FOURCC_FLAGS = ((0x01, "CanDecode"), (0x02, "CanEncode"), (0x04, "CanForward"))
FIELDS = ("fourCcList", "videoFourCcInfoMap", "audioFourCcInfoMap", "capsEx")

# Codecs that only E-RTMP carries (by the name codec_name gives them), with their FourCC.
ENHANCED_FOURCCS = {"HEVC": "hvc1", "AV1": "av01", "VP9": "vp09", "VP8": "vp08", "VVC": "vvc1", "Opus": "Opus",
                    "FLAC": "fLaC", "AC-3": "ac-3", "E-AC-3": "ec-3"}

_BUDGET = 64 * 1024  # amf_to_json units for the capability fields (AMF references can expand without end)


def _names(value: int, bits: tuple[tuple[int, str], ...]) -> list[str]:
    return [name for bit, name in bits if value & bit]


def _number(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    if value < 0 or value >= 1 << 32 or value != int(value):
        return None
    return int(value)


def capabilities_of(command_object: Any) -> dict[str, Any] | None:
    """The capability fields of a connect command object or _result properties, as JSON; None without any."""
    if not isinstance(command_object, dict) or not any(k in command_object for k in FIELDS):
        return None
    budget = [_BUDGET]
    out: dict[str, Any] = {}
    fourccs = amf_to_json(command_object["fourCcList"], budget=budget) if "fourCcList" in command_object else None
    if isinstance(fourccs, list):
        out["fourCcList"] = [f for f in fourccs if isinstance(f, str)]
    for key in ("videoFourCcInfoMap", "audioFourCcInfoMap"):
        mapping = amf_to_json(command_object[key], budget=budget) if key in command_object else None
        if isinstance(mapping, dict):
            found = {}
            for fourcc, flags in mapping.items():
                number = _number(flags)
                if isinstance(fourcc, str) and number is not None:
                    found[fourcc] = {"flags": number, "names": _names(number, FOURCC_FLAGS)}
            out[key] = found
    caps = _number(command_object.get("capsEx"))
    if caps is not None:
        out["capsEx"] = caps
        out["capsEx_names"] = _names(caps, CAPS_EX_BITS)
    return out


def advertises(capabilities: dict[str, Any] | None, fourcc: str, video: bool) -> bool:
    """Whether the capabilities name `fourcc` (in fourCcList, or the map of its kind; "*" names all)."""
    if capabilities is None:
        return False
    listed = capabilities.get("fourCcList") or []
    mapping = capabilities.get("videoFourCcInfoMap" if video else "audioFourCcInfoMap") or {}
    return fourcc in listed or "*" in listed or fourcc in mapping or "*" in mapping


def advertises_multitrack(capabilities: dict[str, Any] | None) -> bool:
    return capabilities is not None and "Multitrack" in capabilities.get("capsEx_names", ())
