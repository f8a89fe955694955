"""Decoders for codec configuration records carried in RTMP/FLV sequence headers.

Everything here is a pure function over ``bytes`` that never raises on bad
input: each result dataclass carries ``error`` (a human readable reason,
``None`` when the structure decoded completely) and ``error_offset`` (the byte
offset *within the record* where decoding stopped) next to every field that
was decoded before the problem.

Covered structures:

* AAC ``AudioSpecificConfig`` (ISO/IEC 14496-3 1.6.2.1), incl. the escape
  audio object type 31, the explicit 24-bit sampling frequency (index 15),
  hierarchical SBR/PS signalling (object types 5/29) and backward compatible
  explicit SBR/PS signalling (sync extensions 0x2b7/0x548).
* ``AVCDecoderConfigurationRecord`` (ISO/IEC 14496-15 5.3.3.1) + its first SPS
  (ITU-T H.264 7.3.2.1.1 incl. scaling lists, cropping and VUI timing).
* ``HEVCDecoderConfigurationRecord`` (ISO/IEC 14496-15 8.3.3.1) + its first SPS
  (ITU-T H.265 7.3.2.2 incl. profile_tier_level with sub-layers, conformance
  window, short-term RPS sets and VUI timing).
* ``AV1CodecConfigurationRecord`` (AV1-ISOBMFF 2.3) + the sequence header OBU
  in ``configOBUs`` (max frame size, timing info).
* ``VPCodecConfigurationRecord`` (VP codec ISO-BMFF binding, version 1 layout;
  a leading FullBox version/flags word is tolerated).
* Opus ID header (RFC 7845 5.1, also the big-endian ``dOps`` layout) and the
  FLAC ``STREAMINFO`` block.
"""

from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass
from typing import Any

from .bitreader import BitReader, BitstreamError, remove_emulation_prevention

__all__ = [
    "AudioSpecificConfig",
    "AvcSps",
    "AvcConfig",
    "HevcSps",
    "HevcConfig",
    "Av1Config",
    "VpConfig",
    "OpusHeader",
    "FlacStreamInfo",
    "parse_audio_specific_config",
    "parse_avc_sps",
    "parse_avc_config",
    "parse_hevc_sps",
    "parse_hevc_config",
    "parse_av1_config",
    "parse_av1_sequence_header",
    "parse_vp_config",
    "parse_opus_header",
    "parse_flac_header",
    "jsonable",
    "AAC_SAMPLE_RATES",
]


# --------------------------------------------------------------------------
# helpers


def jsonable(value: Any) -> Any:
    """Convert dataclasses/tuples/bytes into plain JSON-serialisable values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        summary = getattr(value, "summary", None)
        if callable(summary):
            out["summary"] = summary()
        return out
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, float):
        return round(value, 6)
    return value


class _JsonMixin:
    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = jsonable(self)  # a dataclass converts to a dict
        return out


def _bit_error(exc: BitstreamError, what: str, base: int = 0) -> tuple[str, int]:
    return f"{what}: {exc}", base + exc.bit_pos // 8


def _fmt_hz(hz: int | None) -> str:
    return f"{hz} Hz" if hz is not None else "? Hz"


# --------------------------------------------------------------------------
# AAC AudioSpecificConfig

AAC_SAMPLE_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050,
                    16000, 12000, 11025, 8000, 7350)

AAC_OBJECT_TYPES = {
    0: "Null", 1: "Main", 2: "LC", 3: "SSR", 4: "LTP", 5: "SBR", 6: "Scalable",
    7: "TwinVQ", 8: "CELP", 9: "HVXC", 12: "TTSI", 13: "Main synthesis",
    14: "Wavetable synthesis", 15: "General MIDI", 16: "Algorithmic synthesis",
    17: "ER AAC LC", 19: "ER AAC LTP", 20: "ER AAC Scalable", 21: "ER TwinVQ",
    22: "ER BSAC", 23: "ER AAC LD", 24: "ER CELP", 25: "ER HVXC", 26: "ER HILN",
    27: "ER Parametric", 28: "SSC", 29: "PS", 30: "MPEG Surround",
    32: "Layer-1", 33: "Layer-2", 34: "Layer-3", 35: "DST", 36: "ALS", 37: "SLS",
    38: "SLS non-core", 39: "ER AAC ELD", 40: "SMR Simple", 41: "SMR Main",
    42: "USAC", 43: "SAOC", 44: "LD MPEG Surround", 45: "SAOC-DE",
    46: "Audio Sync",
}

# channelConfiguration -> number of output channels (0 = defined by a PCE)
AAC_CHANNEL_COUNTS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8, 11: 7, 12: 8, 13: 24, 14: 8}

_GA_OBJECT_TYPES = frozenset({1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22, 23})
_ER_OBJECT_TYPES = frozenset({17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 39})


@dataclass(frozen=True, slots=True)
class AudioSpecificConfig(_JsonMixin):
    """Decoded MPEG-4 AudioSpecificConfig (the AAC sequence header payload)."""

    audio_object_type: int | None = None
    object_type_name: str | None = None
    sampling_frequency_index: int | None = None
    sampling_frequency: int | None = None
    channel_configuration: int | None = None
    channels: int | None = None  # output channel count from channel_configuration (None for PCE)
    extension_object_type: int | None = None  # 5 (SBR) / 29 (PS) / 22 when signalled
    extension_sampling_frequency_index: int | None = None
    extension_sampling_frequency: int | None = None
    sbr: bool | None = None  # True/False when signalled, None when unknown (implicit)
    ps: bool | None = None
    frame_length_flag: int | None = None  # 1 -> 960/480 sample frames
    depends_on_core_coder: int | None = None
    extension_flag: int | None = None
    explicit_signalling: str | None = None  # "hierarchical" | "backward-compatible"
    length: int = 0
    error: str | None = None
    error_offset: int | None = None

    @property
    def profile(self) -> str:
        """Marketing name: LC, HE-AAC, HE-AACv2, Main, ..."""
        if self.ps:
            return "HE-AACv2"
        if self.sbr:
            return "HE-AAC"
        if self.audio_object_type is None:
            return "?"
        return self.object_type_name or f"AOT {self.audio_object_type}"

    def summary(self) -> str:
        parts = [self.profile, _fmt_hz(self.sampling_frequency)]
        if self.sbr and self.extension_sampling_frequency:
            parts[-1] += f" (SBR {self.extension_sampling_frequency} Hz)"
        if self.channels is not None:
            parts.append(f"{self.channels} ch")
        elif self.channel_configuration == 0:
            parts.append("PCE channels")
        if self.error:
            parts.append(f"[{self.error}]")
        return " ".join(parts)


def _read_aot(br: BitReader) -> int:
    aot = br.u(5)
    if aot == 31:
        aot = 32 + br.u(6)
    return aot


def _read_sf(br: BitReader) -> tuple[int, int | None]:
    idx = br.u(4)
    if idx == 0xF:
        return idx, br.u(24)
    return idx, AAC_SAMPLE_RATES[idx] if idx < len(AAC_SAMPLE_RATES) else None


def parse_audio_specific_config(data: bytes) -> AudioSpecificConfig:
    data = bytes(data)
    d: dict[str, Any] = {"length": len(data)}
    br = BitReader(data)
    try:
        if not data:
            raise BitstreamError("truncated: empty AudioSpecificConfig", 0)
        aot = _read_aot(br)
        d["audio_object_type"] = aot
        d["object_type_name"] = AAC_OBJECT_TYPES.get(aot)
        d["sampling_frequency_index"], d["sampling_frequency"] = _read_sf(br)
        ch = br.u(4)
        d["channel_configuration"] = ch
        d["channels"] = AAC_CHANNEL_COUNTS.get(ch)
        ext_aot = None
        if aot in (5, 29):
            ext_aot = 5
            d["extension_object_type"] = aot
            d["sbr"] = True
            d["ps"] = aot == 29
            d["explicit_signalling"] = "hierarchical"
            d["extension_sampling_frequency_index"], d["extension_sampling_frequency"] = _read_sf(br)
            aot = _read_aot(br)
            d["audio_object_type"] = aot
            d["object_type_name"] = AAC_OBJECT_TYPES.get(aot)
            if aot == 22:
                d["channel_configuration"] = ch = br.u(4)
                d["channels"] = AAC_CHANNEL_COUNTS.get(ch)
        if aot not in _GA_OBJECT_TYPES:
            # other object types have their own specific configs; stop here
            return AudioSpecificConfig(**d)
        if ch == 0:
            # A program_config_element follows; its channel layout is not decoded.
            d["frame_length_flag"] = br.u(1)
            return AudioSpecificConfig(**d)
        d["frame_length_flag"] = br.u(1)
        d["depends_on_core_coder"] = br.u(1)
        if d["depends_on_core_coder"]:
            br.skip(14)  # coreCoderDelay
        ext_flag = br.u(1)
        d["extension_flag"] = ext_flag
        if aot in (6, 20):
            br.skip(3)  # layerNr
        if ext_flag:
            if aot == 22:
                br.skip(5 + 11)  # numOfSubFrame, layer_length
            if aot in (17, 19, 20, 23):
                br.skip(3)  # resilience flags
            br.skip(1)  # extensionFlag3
        if aot in _ER_OBJECT_TYPES:
            br.skip(2)  # epConfig
        # backward compatible explicit SBR/PS signalling
        if ext_aot != 5 and br.bits_left >= 16:
            sync = br.u(11)
            if sync == 0x2B7:
                ext_aot = _read_aot(br)
                if ext_aot == 5:
                    sbr = br.flag()
                    d["sbr"] = sbr
                    d["extension_object_type"] = 5
                    d["explicit_signalling"] = "backward-compatible"
                    if sbr:
                        d["extension_sampling_frequency_index"], d["extension_sampling_frequency"] = _read_sf(br)
                        if br.bits_left >= 12:
                            if br.u(11) == 0x548:
                                d["ps"] = br.flag()
                                if d["ps"]:
                                    d["extension_object_type"] = 29
                elif ext_aot == 22:
                    sbr = br.flag()
                    d["sbr"] = sbr
                    d["extension_object_type"] = 22
                    d["explicit_signalling"] = "backward-compatible"
                    if sbr:
                        d["extension_sampling_frequency_index"], d["extension_sampling_frequency"] = _read_sf(br)
                    br.skip(4)  # extensionChannelConfiguration
    except BitstreamError as exc:
        d["error"], d["error_offset"] = _bit_error(exc, "AudioSpecificConfig")
    return AudioSpecificConfig(**d)


# --------------------------------------------------------------------------
# H.264 / AVC

AVC_PROFILES = {
    44: "CAVLC 4:4:4 Intra", 66: "Baseline", 77: "Main", 83: "Scalable Baseline",
    86: "Scalable High", 88: "Extended", 100: "High", 110: "High 10",
    118: "Multiview High", 122: "High 4:2:2", 128: "Stereo High", 134: "MFC High",
    135: "MFC Depth High", 138: "Multiview Depth High",
    139: "Enhanced Multiview Depth High", 144: "High 4:4:4", 244: "High 4:4:4 Predictive",
}
_AVC_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


def avc_profile_name(profile_idc: int | None, constraint_flags: int | None = 0) -> str:
    if profile_idc is None:
        return "?"
    c = constraint_flags or 0
    if profile_idc == 66 and c & 0x40:
        return "Constrained Baseline"
    if profile_idc == 100 and c & 0x08:
        return "Constrained High" if c & 0x04 else "Progressive High"
    if profile_idc in (110, 122, 244) and c & 0x10:
        return AVC_PROFILES[profile_idc].replace(" Predictive", "") + " Intra"
    return AVC_PROFILES.get(profile_idc, f"profile {profile_idc}")


def avc_level_name(level_idc: int | None, profile_idc: int | None = None,
                   constraint_flags: int | None = 0) -> str:
    if level_idc is None:
        return "?"
    if level_idc == 9 or (level_idc == 11 and (constraint_flags or 0) & 0x10
                          and profile_idc in (66, 77, 88)):
        return "1b"
    return f"{level_idc // 10}.{level_idc % 10}"


@dataclass(frozen=True, slots=True)
class AvcSps(_JsonMixin):
    """Decoded H.264 sequence parameter set (fields up to VUI timing info)."""

    nal_unit_type: int | None = None
    profile_idc: int | None = None
    constraint_flags: int | None = None  # constraint_set0..5 flags + reserved bits (byte)
    level_idc: int | None = None
    profile_name: str | None = None
    level: str | None = None
    seq_parameter_set_id: int | None = None
    chroma_format_idc: int | None = None
    separate_colour_plane: bool | None = None
    bit_depth_luma: int | None = None
    bit_depth_chroma: int | None = None
    qpprime_y_zero_transform_bypass: bool | None = None
    scaling_matrix_present: bool | None = None
    log2_max_frame_num: int | None = None
    pic_order_cnt_type: int | None = None
    log2_max_pic_order_cnt_lsb: int | None = None  # poc type 0
    delta_pic_order_always_zero: bool | None = None  # poc type 1
    offset_for_non_ref_pic: int | None = None
    offset_for_top_to_bottom_field: int | None = None
    num_ref_frames_in_pic_order_cnt_cycle: int | None = None
    offsets_for_ref_frame: tuple[int, ...] | None = None
    max_num_ref_frames: int | None = None
    gaps_in_frame_num_allowed: bool | None = None
    pic_width_in_mbs: int | None = None
    pic_height_in_map_units: int | None = None
    frame_mbs_only: bool | None = None
    mb_adaptive_frame_field: bool | None = None
    direct_8x8_inference: bool | None = None
    frame_cropping: tuple[int, int, int, int] | None = None  # left, right, top, bottom (offsets)
    coded_width: int | None = None  # before cropping
    coded_height: int | None = None
    width: int | None = None  # after cropping, in pixels
    height: int | None = None
    vui_present: bool | None = None
    sample_aspect_ratio: tuple[int, int] | None = None
    video_full_range: bool | None = None
    colour_primaries: int | None = None
    transfer_characteristics: int | None = None
    matrix_coefficients: int | None = None
    timing_info_present: bool | None = None
    num_units_in_tick: int | None = None
    time_scale: int | None = None
    fixed_frame_rate: bool | None = None
    frame_rate: float | None = None  # time_scale / (2 * num_units_in_tick)
    error: str | None = None
    error_offset: int | None = None

    def summary(self) -> str:
        s = f"{self.profile_name or '?'}@{self.level or '?'}"
        if self.width is not None and self.height is not None:
            s += f" {self.width}x{self.height}"
        if self.frame_rate:
            s += f" {self.frame_rate:g} fps"
        return s


def _skip_scaling_list(br: BitReader, size: int) -> None:
    last = nxt = 8
    for _ in range(size):
        if nxt != 0:
            delta = br.se()
            nxt = (last + delta + 256) % 256
        last = nxt if nxt != 0 else last


def _parse_aspect_and_signal(br: BitReader, d: dict[str, Any]) -> None:
    """Common head of H.264/H.265 VUI: aspect ratio, overscan, video signal, chroma loc."""
    if br.flag():  # aspect_ratio_info_present_flag
        idc = br.u(8)
        if idc == 255:
            d["sample_aspect_ratio"] = (br.u(16), br.u(16))
        else:
            sar = {1: (1, 1), 2: (12, 11), 3: (10, 11), 4: (16, 11), 5: (40, 33), 6: (24, 11),
                   7: (20, 11), 8: (32, 11), 9: (80, 33), 10: (18, 11), 11: (15, 11),
                   12: (64, 33), 13: (160, 99), 14: (4, 3), 15: (3, 2), 16: (2, 1)}.get(idc)
            d["sample_aspect_ratio"] = sar
    if br.flag():  # overscan_info_present_flag
        br.skip(1)
    if br.flag():  # video_signal_type_present_flag
        br.skip(3)  # video_format
        d["video_full_range"] = br.flag()
        if br.flag():  # colour_description_present_flag
            d["colour_primaries"] = br.u(8)
            d["transfer_characteristics"] = br.u(8)
            d["matrix_coefficients"] = br.u(8)
    if br.flag():  # chroma_loc_info_present_flag
        br.ue()
        br.ue()


def parse_avc_sps(nal: bytes) -> AvcSps:
    """Decode an H.264 SPS NAL unit (with its 1-byte NAL header)."""
    nal = bytes(nal)
    d: dict[str, Any] = {}
    rbsp = remove_emulation_prevention(nal)
    br = BitReader(rbsp)
    try:
        br.skip(1)  # forbidden_zero_bit
        br.skip(2)  # nal_ref_idc
        d["nal_unit_type"] = nut = br.u(5)
        if nut != 7:
            return AvcSps(**d, error=f"not an SPS (nal_unit_type {nut})", error_offset=0)
        d["profile_idc"] = profile = br.u(8)
        d["constraint_flags"] = br.u(8)
        d["level_idc"] = br.u(8)
        d["profile_name"] = avc_profile_name(profile, d["constraint_flags"])
        d["level"] = avc_level_name(d["level_idc"], profile, d["constraint_flags"])
        d["seq_parameter_set_id"] = br.ue()
        chroma = 1
        d["chroma_format_idc"] = 1
        d["separate_colour_plane"] = False
        d["bit_depth_luma"] = d["bit_depth_chroma"] = 8
        if profile in _AVC_HIGH_PROFILES:
            d["chroma_format_idc"] = chroma = br.ue()
            if chroma == 3:
                d["separate_colour_plane"] = br.flag()
            d["bit_depth_luma"] = br.ue() + 8
            d["bit_depth_chroma"] = br.ue() + 8
            d["qpprime_y_zero_transform_bypass"] = br.flag()
            d["scaling_matrix_present"] = present = br.flag()
            if present:
                for i in range(8 if chroma != 3 else 12):
                    if br.flag():
                        _skip_scaling_list(br, 16 if i < 6 else 64)
        d["log2_max_frame_num"] = br.ue() + 4
        d["pic_order_cnt_type"] = poc = br.ue()
        if poc == 0:
            d["log2_max_pic_order_cnt_lsb"] = br.ue() + 4
        elif poc == 1:
            d["delta_pic_order_always_zero"] = br.flag()
            d["offset_for_non_ref_pic"] = br.se()
            d["offset_for_top_to_bottom_field"] = br.se()
            n = br.ue()
            d["num_ref_frames_in_pic_order_cnt_cycle"] = n
            if n > 255:
                raise BitstreamError(f"num_ref_frames_in_pic_order_cnt_cycle {n} > 255", br.pos)
            d["offsets_for_ref_frame"] = tuple(br.se() for _ in range(n))
        elif poc > 2:
            raise BitstreamError(f"invalid pic_order_cnt_type {poc}", br.pos)
        d["max_num_ref_frames"] = br.ue()
        d["gaps_in_frame_num_allowed"] = br.flag()
        d["pic_width_in_mbs"] = w_mbs = br.ue() + 1
        d["pic_height_in_map_units"] = h_units = br.ue() + 1
        d["frame_mbs_only"] = fmo = br.flag()
        if not fmo:
            d["mb_adaptive_frame_field"] = br.flag()
        d["direct_8x8_inference"] = br.flag()
        coded_w = w_mbs * 16
        coded_h = (2 - int(fmo)) * h_units * 16
        d["coded_width"], d["coded_height"] = coded_w, coded_h
        crop = (0, 0, 0, 0)
        if br.flag():  # frame_cropping_flag
            crop = (br.ue(), br.ue(), br.ue(), br.ue())
            d["frame_cropping"] = crop
        chroma_array_type = 0 if d["separate_colour_plane"] else chroma
        if chroma_array_type == 0:
            unit_x, unit_y = 1, 2 - int(fmo)
        else:
            sub_w = 1 if chroma == 3 else 2
            sub_h = 2 if chroma == 1 else 1
            unit_x, unit_y = sub_w, sub_h * (2 - int(fmo))
        d["width"] = coded_w - unit_x * (crop[0] + crop[1])
        d["height"] = coded_h - unit_y * (crop[2] + crop[3])
        d["vui_present"] = vui = br.flag()
        if vui:
            _parse_aspect_and_signal(br, d)
            d["timing_info_present"] = timing = br.flag()
            if timing:
                d["num_units_in_tick"] = nuit = br.u(32)
                d["time_scale"] = ts = br.u(32)
                d["fixed_frame_rate"] = br.flag()
                if nuit:
                    d["frame_rate"] = ts / (2 * nuit)
    except BitstreamError as exc:
        d["error"], d["error_offset"] = _bit_error(exc, "SPS")
    return AvcSps(**d)


@dataclass(frozen=True, slots=True)
class AvcConfig(_JsonMixin):
    """Decoded AVCDecoderConfigurationRecord (avcC)."""

    configuration_version: int | None = None
    profile_indication: int | None = None
    profile_compatibility: int | None = None
    level_indication: int | None = None
    nal_length_size: int | None = None  # lengthSizeMinusOne + 1
    num_sps: int | None = None
    num_pps: int | None = None
    sps_lengths: tuple[int, ...] = ()
    pps_lengths: tuple[int, ...] = ()
    chroma_format_idc: int | None = None  # high-profile extension (if present)
    bit_depth_luma: int | None = None
    bit_depth_chroma: int | None = None
    num_sps_ext: int | None = None
    sps: AvcSps | None = None  # the first SPS, decoded
    length: int = 0
    error: str | None = None
    error_offset: int | None = None

    @property
    def profile_name(self) -> str:
        if self.sps is not None and self.sps.profile_name:
            return self.sps.profile_name
        return avc_profile_name(self.profile_indication, self.profile_compatibility)

    @property
    def level(self) -> str:
        if self.sps is not None and self.sps.level:
            return self.sps.level
        return avc_level_name(self.level_indication, self.profile_indication, self.profile_compatibility)

    @property
    def width(self) -> int | None:
        return self.sps.width if self.sps else None

    @property
    def height(self) -> int | None:
        return self.sps.height if self.sps else None

    def summary(self) -> str:
        s = f"{self.profile_name}@{self.level}"
        if self.width is not None and self.height is not None:
            s += f" {self.width}x{self.height}"
        return s


def _read_param_sets(data: bytes, pos: int, count: int, what: str) -> tuple[list[tuple[int, bytes]], int]:
    """Read ``count`` (u16 length, bytes) entries; returns [(offset, nal)], new pos."""
    out = []
    for i in range(count):
        if pos + 2 > len(data):
            raise _RecordError(f"truncated: {what}[{i}] length needs 2 bytes", pos)
        n = struct.unpack_from(">H", data, pos)[0]
        pos += 2
        if pos + n > len(data):
            raise _RecordError(
                f"truncated: {what}[{i}] of {n} bytes, only {len(data) - pos} left", pos)
        out.append((pos, data[pos:pos + n]))
        pos += n
    return out, pos


class _RecordError(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def parse_avc_config(data: bytes) -> AvcConfig:
    data = bytes(data)
    d: dict[str, Any] = {"length": len(data)}
    try:
        if len(data) < 6:
            raise _RecordError(f"truncated: avcC needs at least 6 bytes, got {len(data)}", len(data))
        d["configuration_version"] = data[0]
        d["profile_indication"] = data[1]
        d["profile_compatibility"] = data[2]
        d["level_indication"] = data[3]
        d["nal_length_size"] = (data[4] & 0x03) + 1
        d["num_sps"] = nsps = data[5] & 0x1F
        if data[0] != 1:
            raise _RecordError(f"unsupported configurationVersion {data[0]}", 0)
        sps_list, pos = _read_param_sets(data, 6, nsps, "SPS")
        d["sps_lengths"] = tuple(len(s) for _, s in sps_list)
        if sps_list:
            off, nal = sps_list[0]
            sps = parse_avc_sps(nal)
            d["sps"] = sps
            if sps.error:
                raise _RecordError(f"SPS[0] at offset {off}: {sps.error}", off + (sps.error_offset or 0))
        if pos >= len(data):
            raise _RecordError("truncated: numOfPictureParameterSets missing", pos)
        d["num_pps"] = npps = data[pos]
        pps_list, pos = _read_param_sets(data, pos + 1, npps, "PPS")
        d["pps_lengths"] = tuple(len(p) for _, p in pps_list)
        profile = data[1]
        if profile in (100, 110, 122, 144) and pos < len(data):
            if pos + 4 > len(data):
                raise _RecordError("truncated: high-profile avcC extension needs 4 bytes", pos)
            d["chroma_format_idc"] = data[pos] & 0x03
            d["bit_depth_luma"] = (data[pos + 1] & 0x07) + 8
            d["bit_depth_chroma"] = (data[pos + 2] & 0x07) + 8
            d["num_sps_ext"] = next_n = data[pos + 3]
            _, pos = _read_param_sets(data, pos + 4, next_n, "SPSExt")
    except _RecordError as exc:
        d["error"], d["error_offset"] = str(exc), exc.offset
    return AvcConfig(**d)


# --------------------------------------------------------------------------
# H.265 / HEVC

HEVC_PROFILES = {
    1: "Main", 2: "Main 10", 3: "Main Still Picture", 4: "Rext", 5: "High Throughput",
    6: "Multiview Main", 7: "Scalable Main", 8: "3D Main", 9: "Screen Content",
    10: "Scalable Rext", 11: "High Throughput Screen Content",
}


def hevc_profile_name(profile_idc: int | None, compat_flags: int | None = None) -> str:
    if profile_idc is None:
        return "?"
    if profile_idc == 0 and compat_flags:
        # take the lowest profile signalled compatible (bit j set for profile j, MSB first)
        for j in range(1, 32):
            if compat_flags & (1 << (31 - j)):
                profile_idc = j
                break
    return HEVC_PROFILES.get(profile_idc, f"profile {profile_idc}")


def hevc_level_name(level_idc: int | None) -> str:
    if level_idc is None:
        return "?"
    major, rest = divmod(level_idc, 30)
    return f"{major}.{rest // 3}" if rest % 3 == 0 else f"{level_idc / 30:.2f}"


@dataclass(frozen=True, slots=True)
class HevcSps(_JsonMixin):
    """Decoded H.265 sequence parameter set (fields up to VUI timing info)."""

    nal_unit_type: int | None = None
    vps_id: int | None = None
    max_sub_layers: int | None = None
    temporal_id_nesting: bool | None = None
    general_profile_space: int | None = None
    general_tier_flag: int | None = None
    general_profile_idc: int | None = None
    general_profile_compatibility_flags: int | None = None
    general_level_idc: int | None = None
    profile_name: str | None = None
    level: str | None = None
    sub_layer_profile_present: tuple[bool, ...] = ()
    sub_layer_level_present: tuple[bool, ...] = ()
    sub_layer_level_idc: tuple[int | None, ...] = ()
    sps_id: int | None = None
    chroma_format_idc: int | None = None
    separate_colour_plane: bool | None = None
    pic_width_in_luma_samples: int | None = None
    pic_height_in_luma_samples: int | None = None
    conformance_window: tuple[int, int, int, int] | None = None  # left, right, top, bottom
    width: int | None = None  # after conformance window cropping
    height: int | None = None
    bit_depth_luma: int | None = None
    bit_depth_chroma: int | None = None
    log2_max_pic_order_cnt_lsb: int | None = None
    num_short_term_ref_pic_sets: int | None = None
    long_term_ref_pics_present: bool | None = None
    vui_present: bool | None = None
    sample_aspect_ratio: tuple[int, int] | None = None
    video_full_range: bool | None = None
    colour_primaries: int | None = None
    transfer_characteristics: int | None = None
    matrix_coefficients: int | None = None
    timing_info_present: bool | None = None
    num_units_in_tick: int | None = None
    time_scale: int | None = None
    frame_rate: float | None = None  # time_scale / num_units_in_tick
    error: str | None = None
    error_offset: int | None = None

    def summary(self) -> str:
        s = f"{self.profile_name or '?'}@{self.level or '?'}"
        if self.general_tier_flag:
            s += " High tier"
        if self.width is not None and self.height is not None:
            s += f" {self.width}x{self.height}"
        return s


def _hevc_profile_tier_level(br: BitReader, max_sub_layers_minus1: int, d: dict[str, Any]) -> None:
    d["general_profile_space"] = br.u(2)
    d["general_tier_flag"] = br.u(1)
    d["general_profile_idc"] = br.u(5)
    d["general_profile_compatibility_flags"] = br.u(32)
    br.skip(4 + 43 + 1)  # progressive/interlaced/non-packed/frame-only + constraint bits
    d["general_level_idc"] = br.u(8)
    prof = []
    lvl = []
    for _ in range(max_sub_layers_minus1):
        prof.append(br.flag())
        lvl.append(br.flag())
    if max_sub_layers_minus1 > 0:
        br.skip(2 * (8 - max_sub_layers_minus1))  # reserved_zero_2bits
    levels: list[int | None] = []
    for i in range(max_sub_layers_minus1):
        if prof[i]:
            br.skip(88)  # sub_layer profile space..constraint flags
        levels.append(br.u(8) if lvl[i] else None)
    d["sub_layer_profile_present"] = tuple(prof)
    d["sub_layer_level_present"] = tuple(lvl)
    d["sub_layer_level_idc"] = tuple(levels)


def _hevc_skip_scaling_list_data(br: BitReader) -> None:
    for size_id in range(4):
        for _matrix_id in range(0, 6, 3 if size_id == 3 else 1):
            if not br.flag():  # scaling_list_pred_mode_flag
                br.ue()  # scaling_list_pred_matrix_id_delta
            else:
                coef_num = min(64, 1 << (4 + (size_id << 1)))
                if size_id > 1:
                    br.se()  # scaling_list_dc_coef_minus8
                for _ in range(coef_num):
                    br.se()


def _hevc_st_ref_pic_set(br: BitReader, idx: int, num_delta_pocs: list[int]) -> None:
    inter = br.flag() if idx != 0 else False
    if inter:
        br.skip(1)  # delta_rps_sign
        br.ue()  # abs_delta_rps_minus1
        ref = idx - 1  # delta_idx_minus1 is only coded in slice headers
        count = 0
        for _ in range(num_delta_pocs[ref] + 1):
            used = br.flag()
            use_delta = True if used else br.flag()
            if used or use_delta:
                count += 1
        num_delta_pocs.append(count)
    else:
        neg = br.ue()
        pos = br.ue()
        if neg > 16 or pos > 16:
            raise BitstreamError(f"st_ref_pic_set[{idx}] has too many pictures ({neg}+{pos})", br.pos)
        for _ in range(neg + pos):
            br.ue()
            br.skip(1)
        num_delta_pocs.append(neg + pos)


def parse_hevc_sps(nal: bytes) -> HevcSps:
    """Decode an H.265 SPS NAL unit (with its 2-byte NAL header)."""
    nal = bytes(nal)
    d: dict[str, Any] = {}
    br = BitReader(remove_emulation_prevention(nal))
    try:
        br.skip(1)
        d["nal_unit_type"] = nut = br.u(6)
        br.skip(6 + 3)  # nuh_layer_id, nuh_temporal_id_plus1
        if nut != 33:
            return HevcSps(**d, error=f"not an SPS (nal_unit_type {nut})", error_offset=0)
        d["vps_id"] = br.u(4)
        msl = br.u(3)
        d["max_sub_layers"] = msl + 1
        d["temporal_id_nesting"] = br.flag()
        _hevc_profile_tier_level(br, msl, d)
        d["profile_name"] = hevc_profile_name(d["general_profile_idc"], d["general_profile_compatibility_flags"])
        d["level"] = hevc_level_name(d["general_level_idc"])
        d["sps_id"] = br.ue()
        d["chroma_format_idc"] = chroma = br.ue()
        if chroma > 3:
            raise BitstreamError(f"invalid chroma_format_idc {chroma}", br.pos)
        d["separate_colour_plane"] = sep = br.flag() if chroma == 3 else False
        d["pic_width_in_luma_samples"] = w = br.ue()
        d["pic_height_in_luma_samples"] = h = br.ue()
        win = (0, 0, 0, 0)
        if br.flag():
            win = (br.ue(), br.ue(), br.ue(), br.ue())
            d["conformance_window"] = win
        chroma_array_type = 0 if sep else chroma
        sub_w = 2 if chroma_array_type in (1, 2) else 1
        sub_h = 2 if chroma_array_type == 1 else 1
        d["width"] = w - sub_w * (win[0] + win[1])
        d["height"] = h - sub_h * (win[2] + win[3])
        d["bit_depth_luma"] = br.ue() + 8
        d["bit_depth_chroma"] = br.ue() + 8
        d["log2_max_pic_order_cnt_lsb"] = log2_poc = br.ue() + 4
        ordering_all = br.flag()  # sps_sub_layer_ordering_info_present_flag
        for _ in range(0 if ordering_all else msl, msl + 1):
            br.ue()
            br.ue()
            br.ue()
        br.ue()  # log2_min_luma_coding_block_size_minus3
        br.ue()  # log2_diff_max_min_luma_coding_block_size
        br.ue()  # log2_min_luma_transform_block_size_minus2
        br.ue()  # log2_diff_max_min_luma_transform_block_size
        br.ue()  # max_transform_hierarchy_depth_inter
        br.ue()  # max_transform_hierarchy_depth_intra
        if br.flag():  # scaling_list_enabled_flag
            if br.flag():  # sps_scaling_list_data_present_flag
                _hevc_skip_scaling_list_data(br)
        br.skip(2)  # amp_enabled_flag, sample_adaptive_offset_enabled_flag
        if br.flag():  # pcm_enabled_flag
            br.skip(8)
            br.ue()
            br.ue()
            br.skip(1)
        d["num_short_term_ref_pic_sets"] = n_st = br.ue()
        if n_st > 64:
            raise BitstreamError(f"num_short_term_ref_pic_sets {n_st} > 64", br.pos)
        num_delta_pocs: list[int] = []
        for i in range(n_st):
            _hevc_st_ref_pic_set(br, i, num_delta_pocs)
        d["long_term_ref_pics_present"] = lt = br.flag()
        if lt:
            n_lt = br.ue()
            if n_lt > 32:
                raise BitstreamError(f"num_long_term_ref_pics_sps {n_lt} > 32", br.pos)
            for _ in range(n_lt):
                br.skip(log2_poc + 1)
        br.skip(2)  # sps_temporal_mvp_enabled_flag, strong_intra_smoothing_enabled_flag
        d["vui_present"] = vui = br.flag()
        if vui:
            _parse_aspect_and_signal(br, d)
            br.skip(3)  # neutral_chroma, field_seq, frame_field_info_present
            if br.flag():  # default_display_window_flag
                for _ in range(4):
                    br.ue()
            d["timing_info_present"] = timing = br.flag()
            if timing:
                d["num_units_in_tick"] = nuit = br.u(32)
                d["time_scale"] = ts = br.u(32)
                if nuit:
                    d["frame_rate"] = ts / nuit
    except BitstreamError as exc:
        d["error"], d["error_offset"] = _bit_error(exc, "SPS")
    return HevcSps(**d)


@dataclass(frozen=True, slots=True)
class HevcConfig(_JsonMixin):
    """Decoded HEVCDecoderConfigurationRecord (hvcC)."""

    configuration_version: int | None = None
    general_profile_space: int | None = None
    general_tier_flag: int | None = None
    general_profile_idc: int | None = None
    general_profile_compatibility_flags: int | None = None
    general_constraint_indicator_flags: int | None = None
    general_level_idc: int | None = None
    min_spatial_segmentation_idc: int | None = None
    parallelism_type: int | None = None
    chroma_format_idc: int | None = None
    bit_depth_luma: int | None = None
    bit_depth_chroma: int | None = None
    avg_frame_rate: int | None = None  # in frames / 256 s
    constant_frame_rate: int | None = None
    num_temporal_layers: int | None = None
    temporal_id_nested: bool | None = None
    nal_length_size: int | None = None
    arrays: tuple[tuple[int, int], ...] = ()  # (NAL_unit_type, numNalus)
    sps: HevcSps | None = None
    length: int = 0
    error: str | None = None
    error_offset: int | None = None

    @property
    def profile_name(self) -> str:
        return hevc_profile_name(self.general_profile_idc, self.general_profile_compatibility_flags)

    @property
    def level(self) -> str:
        return hevc_level_name(self.general_level_idc)

    @property
    def width(self) -> int | None:
        return self.sps.width if self.sps else None

    @property
    def height(self) -> int | None:
        return self.sps.height if self.sps else None

    def summary(self) -> str:
        s = f"{self.profile_name}@{self.level}"
        if self.general_tier_flag:
            s += " High tier"
        if self.bit_depth_luma and self.bit_depth_luma != 8:
            s += f" {self.bit_depth_luma}-bit"
        if self.width is not None and self.height is not None:
            s += f" {self.width}x{self.height}"
        return s


def parse_hevc_config(data: bytes) -> HevcConfig:
    data = bytes(data)
    d: dict[str, Any] = {"length": len(data)}
    try:
        if len(data) < 23:
            raise _RecordError(f"truncated: hvcC needs at least 23 bytes, got {len(data)}", len(data))
        d["configuration_version"] = data[0]
        d["general_profile_space"] = data[1] >> 6
        d["general_tier_flag"] = (data[1] >> 5) & 1
        d["general_profile_idc"] = data[1] & 0x1F
        d["general_profile_compatibility_flags"] = struct.unpack_from(">I", data, 2)[0]
        d["general_constraint_indicator_flags"] = int.from_bytes(data[6:12], "big")
        d["general_level_idc"] = data[12]
        d["min_spatial_segmentation_idc"] = struct.unpack_from(">H", data, 13)[0] & 0x0FFF
        d["parallelism_type"] = data[15] & 0x03
        d["chroma_format_idc"] = data[16] & 0x03
        d["bit_depth_luma"] = (data[17] & 0x07) + 8
        d["bit_depth_chroma"] = (data[18] & 0x07) + 8
        d["avg_frame_rate"] = struct.unpack_from(">H", data, 19)[0]
        b = data[21]
        d["constant_frame_rate"] = b >> 6
        d["num_temporal_layers"] = (b >> 3) & 0x07
        d["temporal_id_nested"] = bool((b >> 2) & 1)
        d["nal_length_size"] = (b & 0x03) + 1
        if data[0] != 1:
            raise _RecordError(f"unsupported configurationVersion {data[0]}", 0)
        num_arrays = data[22]
        pos = 23
        arrays = []
        first_sps: tuple[int, bytes] | None = None
        try:
            for i in range(num_arrays):
                if pos + 3 > len(data):
                    raise _RecordError(f"truncated: NAL array {i} header needs 3 bytes", pos)
                nut = data[pos] & 0x3F
                count = struct.unpack_from(">H", data, pos + 1)[0]
                arrays.append((nut, count))
                nals, pos = _read_param_sets(data, pos + 3, count, f"array[{i}] NAL")
                if nut == 33 and nals and first_sps is None:
                    first_sps = nals[0]
        finally:
            d["arrays"] = tuple(arrays)
            if first_sps is not None:
                d["sps"] = parse_hevc_sps(first_sps[1])
        if first_sps is not None:  # d["sps"] was parsed from it
            sps: HevcSps = d["sps"]
            if sps.error:
                off = first_sps[0]
                raise _RecordError(f"SPS at offset {off}: {sps.error}", off + (sps.error_offset or 0))
    except _RecordError as exc:
        d["error"], d["error_offset"] = str(exc), exc.offset
    return HevcConfig(**d)


# --------------------------------------------------------------------------
# AV1

AV1_PROFILES = {0: "Main", 1: "High", 2: "Professional"}


def av1_level_name(seq_level_idx: int | None) -> str:
    if seq_level_idx is None:
        return "?"
    if seq_level_idx == 31:
        return "max"
    return f"{2 + (seq_level_idx >> 2)}.{seq_level_idx & 3}"


@dataclass(frozen=True, slots=True)
class Av1Config(_JsonMixin):
    """Decoded AV1CodecConfigurationRecord (av1C) + sequence header OBU."""

    marker: int | None = None
    version: int | None = None
    seq_profile: int | None = None
    seq_level_idx_0: int | None = None
    seq_tier_0: int | None = None
    high_bitdepth: bool | None = None
    twelve_bit: bool | None = None
    bit_depth: int | None = None
    monochrome: bool | None = None
    chroma_subsampling_x: int | None = None
    chroma_subsampling_y: int | None = None
    chroma_sample_position: int | None = None
    initial_presentation_delay: int | None = None  # minus_one + 1, when present
    config_obus_length: int | None = None
    obu_types: tuple[int, ...] = ()
    # from the sequence header OBU in configOBUs (if any)
    still_picture: bool | None = None
    reduced_still_picture_header: bool | None = None
    operating_points: int | None = None
    max_frame_width: int | None = None
    max_frame_height: int | None = None
    timing_info_present: bool | None = None
    frame_rate: float | None = None
    length: int = 0
    error: str | None = None
    error_offset: int | None = None

    @property
    def profile_name(self) -> str:
        return AV1_PROFILES.get(self.seq_profile, f"profile {self.seq_profile}") \
            if self.seq_profile is not None else "?"

    @property
    def level(self) -> str:
        return av1_level_name(self.seq_level_idx_0)

    @property
    def width(self) -> int | None:
        return self.max_frame_width

    @property
    def height(self) -> int | None:
        return self.max_frame_height

    @property
    def chroma(self) -> str | None:
        if self.monochrome:
            return "4:0:0"
        x, y = self.chroma_subsampling_x, self.chroma_subsampling_y
        names: dict[tuple[int | None, int | None], str] = {(1, 1): "4:2:0", (1, 0): "4:2:2", (0, 0): "4:4:4"}
        return names.get((x, y))

    def summary(self) -> str:
        s = f"{self.profile_name}@{self.level}"
        if self.seq_tier_0:
            s += " High tier"
        if self.bit_depth:
            s += f" {self.bit_depth}-bit"
        if self.chroma:
            s += f" {self.chroma}"
        if self.width is not None and self.height is not None:
            s += f" {self.width}x{self.height}"
        return s


def _av1_obu_header(data: bytes, pos: int) -> tuple[int, int, int]:
    """Return (obu_type, payload_start, payload_end) for the OBU at pos."""
    if pos >= len(data):
        raise _RecordError("truncated: OBU header missing", pos)
    h = data[pos]
    if h & 0x80:
        raise _RecordError("OBU forbidden bit set", pos)
    obu_type = (h >> 3) & 0x0F
    ext = (h >> 2) & 1
    has_size = (h >> 1) & 1
    p = pos + 1 + ext
    if p > len(data):
        raise _RecordError("truncated: OBU extension header missing", pos)
    if has_size:
        size = 0
        for i in range(8):
            if p >= len(data):
                raise _RecordError("truncated: OBU leb128 size", p)
            b = data[p]
            p += 1
            size |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                break
        end = p + size
        if end > len(data):
            raise _RecordError(
                f"truncated: OBU type {obu_type} of {size} bytes, only {len(data) - p} left", p)
    else:
        end = len(data)
    return obu_type, p, end


def walk_obus(data: bytes, base: int = 0) -> tuple[list[tuple[int, int, int]], tuple[str, int] | None]:
    """Split a buffer into OBUs: ([(type, payload_start, payload_end)], None), or the OBUs up to the damage
    and (what is wrong, its offset)."""
    out = []
    pos = 0
    try:
        while pos < len(data):
            t, s, e = _av1_obu_header(data, pos)
            out.append((t, s, e))
            pos = e
    except _RecordError as exc:
        return out, (str(exc), base + exc.offset)
    return out, None


def parse_av1_sequence_header(payload: bytes) -> dict[str, Any]:
    """Decode the start of an AV1 sequence header OBU payload (raises BitstreamError)."""
    br = BitReader(payload)
    d: dict[str, Any] = {}
    br.skip(3)  # seq_profile
    d["still_picture"] = br.flag()
    d["reduced_still_picture_header"] = reduced = br.flag()
    if reduced:
        d["timing_info_present"] = False
        d["operating_points"] = 1
        br.skip(5)  # seq_level_idx[0]
    else:
        d["timing_info_present"] = timing = br.flag()
        decoder_model = False
        buffer_delay_len = 0
        if timing:
            nudt = br.u(32)
            time_scale = br.u(32)
            ticks = 1
            if br.flag():  # equal_picture_interval
                ticks = br.uvlc() + 1
            if nudt:
                d["frame_rate"] = time_scale / (nudt * ticks)
            decoder_model = br.flag()
            if decoder_model:
                buffer_delay_len = br.u(5) + 1
                br.skip(32 + 5 + 5)
        initial_display_delay = br.flag()
        n_ops = br.u(5) + 1
        d["operating_points"] = n_ops
        for _ in range(n_ops):
            br.skip(12)  # operating_point_idc
            level = br.u(5)
            if level > 7:
                br.skip(1)  # seq_tier
            if decoder_model and br.flag():
                br.skip(2 * buffer_delay_len + 1)
            if initial_display_delay and br.flag():
                br.skip(4)
    wbits = br.u(4) + 1
    hbits = br.u(4) + 1
    d["max_frame_width"] = br.u(wbits) + 1
    d["max_frame_height"] = br.u(hbits) + 1
    return d


def parse_av1_config(data: bytes) -> Av1Config:
    data = bytes(data)
    d: dict[str, Any] = {"length": len(data)}
    try:
        if len(data) < 4:
            raise _RecordError(f"truncated: av1C needs at least 4 bytes, got {len(data)}", len(data))
        d["marker"] = data[0] >> 7
        d["version"] = data[0] & 0x7F
        d["seq_profile"] = data[1] >> 5
        d["seq_level_idx_0"] = data[1] & 0x1F
        b = data[2]
        d["seq_tier_0"] = b >> 7
        d["high_bitdepth"] = hb = bool(b & 0x40)
        d["twelve_bit"] = tb = bool(b & 0x20)
        d["bit_depth"] = (12 if tb else 10) if hb else 8
        d["monochrome"] = bool(b & 0x10)
        d["chroma_subsampling_x"] = (b >> 3) & 1
        d["chroma_subsampling_y"] = (b >> 2) & 1
        d["chroma_sample_position"] = b & 0x03
        if data[3] & 0x10:
            d["initial_presentation_delay"] = (data[3] & 0x0F) + 1
        if d["marker"] != 1 or d["version"] != 1:
            raise _RecordError(f"bad av1C marker/version byte 0x{data[0]:02x}", 0)
        cfg = data[4:]
        d["config_obus_length"] = len(cfg)
        obus, damage = walk_obus(cfg, 4)
        d["obu_types"] = tuple(t for t, _, _ in obus)
        for t, s, e in obus:
            if t == 1:  # OBU_SEQUENCE_HEADER
                try:
                    d.update(parse_av1_sequence_header(cfg[s:e]))
                except BitstreamError as exc:
                    raise _RecordError(f"sequence header OBU: {exc}", 4 + s + exc.bit_pos // 8) from exc
                break
        if damage is not None:
            err, err_off = damage
            raise _RecordError(f"configOBUs: {err}", err_off)
    except _RecordError as exc:
        d["error"], d["error_offset"] = str(exc), exc.offset
    return Av1Config(**d)


# --------------------------------------------------------------------------
# VP8 / VP9

VP_CHROMA = {0: "4:2:0 vertical", 1: "4:2:0 colocated", 2: "4:2:2", 3: "4:4:4"}


@dataclass(frozen=True, slots=True)
class VpConfig(_JsonMixin):
    """Decoded VPCodecConfigurationRecord (vpcC, version 1 layout)."""

    has_fullbox_header: bool | None = None
    profile: int | None = None
    level: int | None = None  # e.g. 31 means level 3.1
    bit_depth: int | None = None
    chroma_subsampling: int | None = None
    chroma: str | None = None
    video_full_range: bool | None = None
    colour_primaries: int | None = None
    transfer_characteristics: int | None = None
    matrix_coefficients: int | None = None
    codec_initialization_data_size: int | None = None
    length: int = 0
    error: str | None = None
    error_offset: int | None = None

    @property
    def level_name(self) -> str:
        if self.level is None:
            return "?"
        return f"{self.level // 10}.{self.level % 10}" if self.level else "unknown"

    def summary(self) -> str:
        s = f"profile {self.profile if self.profile is not None else '?'} level {self.level_name}"
        if self.bit_depth:
            s += f" {self.bit_depth}-bit"
        if self.chroma:
            s += f" {self.chroma.split()[0]}"
        return s


def parse_vp_config(data: bytes) -> VpConfig:
    data = bytes(data)
    d: dict[str, Any] = {"length": len(data)}
    pos = 0
    # ISO-BMFF vpcC is a FullBox (version 1, flags 0) around the record; FLV
    # writers differ on whether they keep that word.  A record itself can never
    # start 01 00 00 00 (level 0 / bit depth 0 are invalid), so detect it.
    if len(data) >= 12 and data[0] == 1 and data[1:4] == b"\x00\x00\x00":
        pos = 4
        d["has_fullbox_header"] = True
    else:
        d["has_fullbox_header"] = False
    try:
        if len(data) - pos < 8:
            raise _RecordError(f"truncated: vpcC needs 8 bytes, got {len(data) - pos}", len(data))
        d["profile"] = data[pos]
        d["level"] = data[pos + 1]
        b = data[pos + 2]
        d["bit_depth"] = b >> 4
        d["chroma_subsampling"] = cs = (b >> 1) & 0x07
        d["chroma"] = VP_CHROMA.get(cs, f"reserved {cs}")
        d["video_full_range"] = bool(b & 1)
        d["colour_primaries"] = data[pos + 3]
        d["transfer_characteristics"] = data[pos + 4]
        d["matrix_coefficients"] = data[pos + 5]
        d["codec_initialization_data_size"] = n = struct.unpack_from(">H", data, pos + 6)[0]
        if pos + 8 + n > len(data):
            raise _RecordError(
                f"truncated: codecInitializationData of {n} bytes, only {len(data) - pos - 8} left", pos + 8)
    except _RecordError as exc:
        d["error"], d["error_offset"] = str(exc), exc.offset
    return VpConfig(**d)


# --------------------------------------------------------------------------
# Opus / FLAC


@dataclass(frozen=True, slots=True)
class OpusHeader(_JsonMixin):
    """Opus ID header (RFC 7845 section 5.1)."""

    layout: str | None = None  # "OpusHead" (little endian) or "dOps" (ISO-BMFF, big endian)
    version: int | None = None
    channels: int | None = None
    pre_skip: int | None = None
    input_sample_rate: int | None = None
    output_gain: int | None = None  # Q7.8 dB
    mapping_family: int | None = None
    stream_count: int | None = None
    coupled_count: int | None = None
    channel_mapping: tuple[int, ...] = ()
    length: int = 0
    error: str | None = None
    error_offset: int | None = None

    def summary(self) -> str:
        parts = []
        if self.input_sample_rate is not None:
            parts.append(f"{self.input_sample_rate} Hz")
        if self.channels is not None:
            parts.append(f"{self.channels} ch")
        if self.mapping_family:
            parts.append(f"family {self.mapping_family}")
        return " ".join(parts) or "Opus header"


def parse_opus_header(data: bytes) -> OpusHeader:
    data = bytes(data)
    d: dict[str, Any] = {"length": len(data)}
    try:
        if data.startswith(b"OpusHead"):
            d["layout"] = "OpusHead"
            endian, pos = "<", 8
        elif data[:1] == b"\x00" and len(data) >= 11:
            d["layout"] = "dOps"
            endian, pos = ">", 0
        else:
            raise _RecordError("missing 'OpusHead' magic", 0)
        if len(data) < pos + 11:
            raise _RecordError(f"truncated: Opus ID header needs {pos + 11} bytes, got {len(data)}", len(data))
        d["version"] = data[pos]
        d["channels"] = ch = data[pos + 1]
        d["pre_skip"], d["input_sample_rate"], d["output_gain"] = struct.unpack_from(endian + "HIh", data, pos + 2)
        d["mapping_family"] = fam = data[pos + 10]
        pos += 11
        if fam != 0:
            if pos + 2 + ch > len(data):
                raise _RecordError(f"truncated: channel mapping table needs {2 + ch} bytes", pos)
            d["stream_count"] = data[pos]
            d["coupled_count"] = data[pos + 1]
            d["channel_mapping"] = tuple(data[pos + 2:pos + 2 + ch])
    except _RecordError as exc:
        d["error"], d["error_offset"] = str(exc), exc.offset
    return OpusHeader(**d)


@dataclass(frozen=True, slots=True)
class FlacStreamInfo(_JsonMixin):
    """FLAC 'fLaC' signature + STREAMINFO metadata block."""

    min_block_size: int | None = None
    max_block_size: int | None = None
    min_frame_size: int | None = None
    max_frame_size: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bits_per_sample: int | None = None
    total_samples: int | None = None
    md5: str | None = None
    length: int = 0
    error: str | None = None
    error_offset: int | None = None

    def summary(self) -> str:
        parts = []
        if self.sample_rate is not None:
            parts.append(f"{self.sample_rate} Hz")
        if self.channels is not None:
            parts.append(f"{self.channels} ch")
        if self.bits_per_sample is not None:
            parts.append(f"{self.bits_per_sample}-bit")
        return " ".join(parts) or "FLAC header"


def parse_flac_header(data: bytes) -> FlacStreamInfo:
    data = bytes(data)
    d: dict[str, Any] = {"length": len(data)}
    try:
        pos = 0
        if data.startswith(b"fLaC"):
            pos = 4
        elif len(data) < 4:
            raise _RecordError("truncated: missing 'fLaC' signature", 0)
        # a metadata block header (type 0 STREAMINFO, length 34) normally follows
        if len(data) - pos >= 4 and data[pos] & 0x7F == 0 and data[pos + 1:pos + 4] == b"\x00\x00\x22":
            pos += 4
        elif pos == 4 and len(data) - pos < 4:
            raise _RecordError("truncated: metadata block header", pos)
        if len(data) - pos < 34:
            raise _RecordError(f"truncated: STREAMINFO needs 34 bytes, got {len(data) - pos}", len(data))
        si = data[pos:pos + 34]
        d["min_block_size"], d["max_block_size"] = struct.unpack_from(">HH", si, 0)
        d["min_frame_size"] = int.from_bytes(si[4:7], "big")
        d["max_frame_size"] = int.from_bytes(si[7:10], "big")
        v = int.from_bytes(si[10:18], "big")
        d["sample_rate"] = v >> 44
        d["channels"] = ((v >> 41) & 0x7) + 1
        d["bits_per_sample"] = ((v >> 36) & 0x1F) + 1
        d["total_samples"] = v & ((1 << 36) - 1)
        d["md5"] = si[18:34].hex()
    except _RecordError as exc:
        d["error"], d["error_offset"] = str(exc), exc.offset
    return FlacStreamInfo(**d)
