"""Names and units for the numbers the details pane shows: `codec_id: 7 (H.264)`, `units: 5 (IDR slice)`,
`composition_time: 33 ms`, instead of the bare codes of the JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..rtmp.media import FRAME_TYPES, SOUND_FORMATS, VIDEO_CODECS

# NAL unit types (ITU-T H.264 table 7-1, H.265 table 7-1) and AV1 OBU types (AV1 spec 6.2.2).
AVC_NAL_TYPES = {1: "non-IDR slice", 2: "slice part A", 3: "slice part B", 4: "slice part C", 5: "IDR slice",
                 6: "SEI", 7: "SPS", 8: "PPS", 9: "access unit delimiter", 10: "end of sequence",
                 11: "end of stream", 12: "filler", 13: "SPS extension", 14: "prefix NAL", 15: "subset SPS",
                 19: "auxiliary slice", 20: "slice extension"}
HEVC_NAL_TYPES = {0: "TRAIL_N", 1: "TRAIL_R", 2: "TSA_N", 3: "TSA_R", 4: "STSA_N", 5: "STSA_R", 6: "RADL_N",
                  7: "RADL_R", 8: "RASL_N", 9: "RASL_R", 16: "BLA_W_LP", 17: "BLA_W_RADL", 18: "BLA_N_LP",
                  19: "IDR_W_RADL", 20: "IDR_N_LP", 21: "CRA", 32: "VPS", 33: "SPS", 34: "PPS",
                  35: "access unit delimiter", 36: "end of sequence", 37: "end of bitstream", 38: "filler",
                  39: "prefix SEI", 40: "suffix SEI"}
AV1_OBU_TYPES = {1: "sequence header", 2: "temporal delimiter", 3: "frame header", 4: "tile group",
                 5: "metadata", 6: "frame", 7: "redundant frame header", 8: "tile list", 15: "padding"}
_UNIT_NAMES = {"H.264": AVC_NAL_TYPES, "HEVC": HEVC_NAL_TYPES, "AV1": AV1_OBU_TYPES}

SOUND_RATES = {0: "5.5 kHz", 1: "11 kHz", 2: "22 kHz", 3: "44 kHz"}
UNITS = {"composition_time": "ms", "timestamp": "ms", "time": "s", "timestamp_offset_nano": "ns", "length": "bytes",
         "payload_length": "bytes", "payload_offset": "bytes in", "config_length": "bytes",
         "metadata_length": "bytes", "sample_rate": "Hz", "output_sample_rate": "Hz", "sound_size": "bits",
         "buffer_ms": "ms", "event_timestamp": "ms", "bitstream_frame_rate": "fps", "frame_rate": "fps",
         "width": "px", "height": "px"}

Namer = Callable[[str | None, str | None, Any], str | None]


def media_namer(codec: str | None) -> Namer:
    """Notes for the fields of a media message of `codec` (the tree passes the parent's key, the key and
    the value; None: nothing to add)."""
    units = _UNIT_NAMES.get((codec or "").split("/")[0], {})

    def note(parent: str | None, key: str | None, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        name = None
        if parent == "units" and units:
            name = units.get(int(value), "reserved")
        elif key == "codec_id":
            name = VIDEO_CODECS.get(int(value), "unknown")
        elif key == "sound_format":
            name = SOUND_FORMATS.get(int(value))
        elif key == "sound_rate":
            name = SOUND_RATES.get(int(value))
        elif key == "frame_type":
            name = FRAME_TYPES.get(int(value))
        elif key == "channels":
            name = {1: "mono", 2: "stereo"}.get(int(value))
        if name is not None:
            return f"({name})"
        return UNITS.get(key or "")

    return note


def field_note(key: str | None, value: Any) -> str | None:
    """Units for the fields of any other body (control messages, header fields)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if key in ("value", "window", "size") or key == "chunk_size":
        return None
    return UNITS.get(key or "")


def absent(key: str) -> str:
    """How a field with no value reads (instead of `null`)."""
    return {"response": "none yet", "response frame": "—", "rtt (s)": "— (no response)"}.get(key, "—")
