"""Header decoding for RTMP audio (type 8) and video (type 9) message bodies.

The body of an RTMP audio/video message is the same as an FLV AUDIODATA /
VIDEODATA tag body, so this module decodes both.  Covered:

* legacy FLV audio (SoundFormat 0-15 with rate/size/channels, AAC packet type
  and AudioSpecificConfig) and video (frame type, CodecID 2-7 plus the
  non-standard 12 = HEVC and 13 = AV1, AVC packet type, signed 24-bit
  composition time, command frames, avcC/hvcC/av1C configuration records);
* Enhanced RTMP v1/v2 (veovera): ExVideoTagHeader / ExAudioTagHeader with
  FourCC, ModEx (TimestampOffsetNano), Multitrack (OneTrack, ManyTracks,
  ManyTracksManyCodecs), CodedFrames/CodedFramesX, Metadata, multichannel
  configuration, and the per-codec sequence-start payloads.

``parse_audio``/``parse_video`` are pure functions over one complete body and
never raise: problems are reported in ``error`` ("reason at offset N") and
``error_offset`` (byte offset in the body), with everything decoded before
the problem still filled in.
"""

from __future__ import annotations

import dataclasses
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .bitreader import BitReader, BitstreamError
from .codec_config import (
    AudioSpecificConfig,
    Av1Config,
    AvcConfig,
    FlacStreamInfo,
    HevcConfig,
    OpusHeader,
    VpConfig,
    jsonable,
    parse_audio_specific_config,
    parse_av1_config,
    parse_avc_config,
    parse_flac_header,
    parse_hevc_config,
    parse_opus_header,
    parse_vp_config,
    walk_obus,
)

__all__ = [
    "AudioInfo",
    "AudioTrack",
    "VideoInfo",
    "VideoTrack",
    "ModEx",
    "MultichannelConfig",
    "parse_audio",
    "parse_video",
    "is_sequence_header",
    "is_keyframe",
    "codec_name",
    "SOUND_FORMATS",
    "VIDEO_CODECS",
    "VIDEO_FOURCCS",
    "AUDIO_FOURCCS",
]

VideoConfig = AvcConfig | HevcConfig | Av1Config | VpConfig
AudioConfig = AudioSpecificConfig | OpusHeader | FlacStreamInfo

# --------------------------------------------------------------------------
# tables

SOUND_FORMATS = {
    0: "PCM", 1: "ADPCM", 2: "MP3", 3: "PCM-LE", 4: "Nellymoser 16k",
    5: "Nellymoser 8k", 6: "Nellymoser", 7: "G.711 A-law", 8: "G.711 µ-law",
    9: "ExHeader", 10: "AAC", 11: "Speex", 12: "reserved (12)", 13: "reserved (13)",
    14: "MP3 8k", 15: "Device-specific",
}
_SOUND_CODEC = {
    0: "PCM", 1: "ADPCM", 2: "MP3", 3: "PCM", 4: "Nellymoser", 5: "Nellymoser",
    6: "Nellymoser", 7: "G.711 A-law", 8: "G.711 µ-law", 10: "AAC", 11: "Speex",
    14: "MP3", 15: "Device-specific",
}
SOUND_RATES = {0: 5512, 1: 11025, 2: 22050, 3: 44100}
_SOUND_RATE_TEXT = {0: "5.5 kHz", 1: "11 kHz", 2: "22 kHz", 3: "44 kHz"}
AAC_PACKET_TYPES = {0: "sequence header", 1: "raw"}

AUDIO_FOURCCS = {"mp4a": "AAC", "Opus": "Opus", "fLaC": "FLAC", "ac-3": "AC-3",
                 "ec-3": "E-AC-3", ".mp3": "MP3"}
AUDIO_PACKET_TYPES = {0: "SequenceStart", 1: "CodedFrames", 2: "SequenceEnd",
                      4: "MultichannelConfig", 5: "Multitrack", 7: "ModEx"}
AUDIO_CHANNEL_ORDERS = {0: "Unspecified", 1: "Native", 2: "Custom"}

VIDEO_CODECS = {2: "Sorenson H.263", 3: "Screen Video", 4: "VP6", 5: "VP6 Alpha",
                6: "Screen Video 2", 7: "H.264", 12: "HEVC", 13: "AV1"}
_VIDEO_SHORT = {7: "AVC"}
VIDEO_FOURCCS = {"avc1": "H.264", "hvc1": "HEVC", "vvc1": "VVC", "av01": "AV1",
                 "vp09": "VP9", "vp08": "VP8"}
FRAME_TYPES = {0: "reserved", 1: "keyframe", 2: "inter", 3: "disposable inter",
               4: "generated keyframe", 5: "command", 6: "reserved", 7: "reserved"}
VIDEO_COMMANDS = {0: "start of client-side seeking", 1: "end of client-side seeking"}
AVC_PACKET_TYPES = {0: "sequence header", 1: "NALU", 2: "end of sequence"}
VIDEO_PACKET_TYPES = {0: "SequenceStart", 1: "CodedFrames", 2: "SequenceEnd",
                      3: "CodedFramesX", 4: "Metadata", 5: "MPEG2TSSequenceStart",
                      6: "Multitrack", 7: "ModEx"}
MULTITRACK_TYPES = {0: "OneTrack", 1: "ManyTracks", 2: "ManyTracksManyCodecs"}
MODEX_TYPES = {0: "TimestampOffsetNano"}

_H263_SIZES = {2: (352, 288), 3: (176, 144), 4: (128, 96), 5: (320, 240), 6: (160, 120)}


def _spaced(name: str) -> str:
    """'SequenceStart' -> 'sequence start'."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()


# --------------------------------------------------------------------------
# result types


class _JsonMixin:
    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = jsonable(self)  # a dataclass converts to a dict
        return out


@dataclass(frozen=True, slots=True)
class ModEx(_JsonMixin):
    """One Enhanced RTMP packet modifier extension."""

    type: int
    type_name: str
    data: bytes
    timestamp_offset_nano: int | None = None  # for TimestampOffsetNano


@dataclass(frozen=True, slots=True)
class MultichannelConfig(_JsonMixin):
    """AudioPacketType.MultichannelConfig payload."""

    channel_order: int | None = None
    channel_order_name: str | None = None
    channel_count: int | None = None
    channel_mapping: tuple[int, ...] = ()  # Custom order: AudioChannel per channel
    channel_flags: int | None = None  # Native order: AudioChannelMask bits

    def summary(self) -> str:
        count = self.channel_count if self.channel_count is not None else "?"
        return f"{count} ch {self.channel_order_name or ''}".strip()


@dataclass(frozen=True, slots=True)
class AudioTrack(_JsonMixin):
    """One track of an Enhanced RTMP audio message (the only one if not multitrack)."""

    track_id: int | None = None  # None when the message is not multitrack
    fourcc: str | None = None
    codec: str | None = None
    packet_type: int | None = None
    packet_type_name: str | None = None
    config: AudioConfig | None = None
    multichannel: MultichannelConfig | None = None
    payload_offset: int | None = None
    payload_length: int | None = None
    error: str | None = None
    error_offset: int | None = None


@dataclass(frozen=True, slots=True)
class AudioInfo(_JsonMixin):
    """Decoded audio message header.

    For Enhanced RTMP bodies the ``fourcc``/``config``/``multichannel``/
    ``payload_*`` fields mirror the first entry of ``tracks``.
    """

    length: int = 0
    sound_format: int | None = None
    sound_format_name: str | None = None
    # legacy AudioTagHeader (also present, but meaningless, for AAC)
    sound_rate: int | None = None  # 0..3
    sample_rate: int | None = None  # Hz from sound_rate (5512/11025/22050/44100)
    sound_size: int | None = None  # 8 or 16 bits
    channels: int | None = None  # 1 mono, 2 stereo (from SoundType)
    aac_packet_type: int | None = None
    # Enhanced RTMP
    enhanced: bool = False
    packet_type: int | None = None  # AudioPacketType (after ModEx / Multitrack)
    packet_type_name: str | None = None
    fourcc: str | None = None
    modex: tuple[ModEx, ...] = ()
    timestamp_offset_nano: int | None = None
    multitrack_type: int | None = None
    multitrack_type_name: str | None = None
    tracks: tuple[AudioTrack, ...] = ()
    # decoded payload (legacy AAC or first track)
    config: AudioConfig | None = None
    multichannel: MultichannelConfig | None = None
    silence: bool = False  # empty body: the RTMP "audio silence" message
    payload_offset: int | None = None
    payload_length: int | None = None
    error: str | None = None
    error_offset: int | None = None

    @property
    def codec(self) -> str | None:
        return codec_name(self)

    def summary(self) -> str:
        return _audio_summary(self)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = jsonable(self)
        out["codec"] = self.codec
        out["sequence_header"] = is_sequence_header(self)
        return out


@dataclass(frozen=True, slots=True)
class VideoTrack(_JsonMixin):
    """One track of an Enhanced RTMP video message (the only one if not multitrack)."""

    track_id: int | None = None
    fourcc: str | None = None
    codec: str | None = None
    packet_type: int | None = None
    packet_type_name: str | None = None
    composition_time: int | None = None
    config: VideoConfig | None = None
    config_length: int | None = None  # sequence start payload size
    metadata_length: int | None = None  # Metadata: AMF payload size
    units: tuple[int, ...] = ()  # NAL unit types (avc1/hvc1/vvc1) or OBU types (av01)
    width: int | None = None
    height: int | None = None
    payload_offset: int | None = None
    payload_length: int | None = None
    error: str | None = None
    error_offset: int | None = None


@dataclass(frozen=True, slots=True)
class VideoInfo(_JsonMixin):
    """Decoded video message header.

    For Enhanced RTMP bodies ``fourcc``/``composition_time``/``config``/
    ``units``/``width``/``height``/``metadata_length``/``payload_*`` mirror the
    first entry of ``tracks``.
    """

    length: int = 0
    enhanced: bool = False
    frame_type: int | None = None
    frame_type_name: str | None = None
    codec_id: int | None = None  # legacy CodecID (None for Enhanced RTMP)
    fourcc: str | None = None  # Enhanced RTMP FourCC
    packet_type: int | None = None  # AVCPacketType (legacy 7/12/13) or VideoPacketType
    packet_type_name: str | None = None
    composition_time: int | None = None  # signed, milliseconds
    command: int | None = None  # frame type 5 command byte
    command_name: str | None = None
    modex: tuple[ModEx, ...] = ()
    timestamp_offset_nano: int | None = None
    multitrack_type: int | None = None
    multitrack_type_name: str | None = None
    tracks: tuple[VideoTrack, ...] = ()
    config: VideoConfig | None = None
    config_length: int | None = None
    metadata_length: int | None = None
    units: tuple[int, ...] = ()
    width: int | None = None
    height: int | None = None
    payload_offset: int | None = None
    payload_length: int | None = None
    error: str | None = None
    error_offset: int | None = None

    @property
    def codec(self) -> str | None:
        return codec_name(self)

    def summary(self) -> str:
        return _video_summary(self)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = jsonable(self)
        out["codec"] = self.codec
        out["keyframe"] = is_keyframe(self)
        out["sequence_header"] = is_sequence_header(self)
        return out


# --------------------------------------------------------------------------
# byte cursor


class _Truncated(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class _Cursor:
    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > self.end:
            raise _Truncated(
                f"truncated: {what} needs {n} byte(s) at offset {self.pos}, "
                f"{max(0, self.end - self.pos)} left", self.pos)
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        value: int = struct.unpack(">H", self.take(2, what))[0]
        return value

    def u24(self, what: str) -> int:
        return int.from_bytes(self.take(3, what), "big")

    def u32(self, what: str) -> int:
        value: int = struct.unpack(">I", self.take(4, what))[0]
        return value

    def si24(self, what: str) -> int:
        v = self.u24(what)
        return v - (1 << 24) if v & 0x800000 else v

    def fourcc(self, what: str = "FourCC") -> str:
        raw = self.take(4, what)
        return raw.decode("latin-1")


def _sub_error(prefix: str, base: int, err: str | None, off: int | None) -> _Truncated:
    return _Truncated(f"{prefix}: {err}", base + (off or 0))


def _read_modex(cur: _Cursor, packet_type: int, modex: list[ModEx], d: dict[str, Any]) -> int:
    """Consume ModEx entries while packet_type == ModEx; return the real packet type."""
    while packet_type == 7:
        size = cur.u8("ModEx data size") + 1
        if size == 256:
            size = cur.u16("ModEx 16-bit data size") + 1
        data = cur.take(size, "ModEx data")
        b = cur.u8("ModEx type / packet type")
        mtype, packet_type = b >> 4, b & 0x0F
        nano = None
        if mtype == 0:
            nano = int.from_bytes(data[:3], "big")
            d["timestamp_offset_nano"] = nano
        modex.append(ModEx(mtype, MODEX_TYPES.get(mtype, f"reserved ({mtype})"), data, nano))
        d["modex"] = tuple(modex)
    return packet_type


# --------------------------------------------------------------------------
# NAL / OBU walking for coded frames


def _walk_nalus(data: bytes, base: int, length_size: int,
                codec: str) -> tuple[tuple[int, ...], tuple[str, int] | None]:
    """(NAL unit types, None), or (the types up to the damage, (what is wrong, its offset))."""
    types: list[int] = []
    pos = 0
    while pos < len(data):
        if pos + length_size > len(data):
            return tuple(types), (f"truncated: NALU length needs {length_size} byte(s) at offset "
                                  f"{base + pos}, {len(data) - pos} left", base + pos)
        n = int.from_bytes(data[pos:pos + length_size], "big")
        pos += length_size
        if pos + n > len(data):
            return tuple(types), (f"truncated: NALU of {n} bytes at offset {base + pos}, "
                                  f"{len(data) - pos} left", base + pos)
        if n:
            b0 = data[pos]
            if codec == "avc1":
                types.append(b0 & 0x1F)
            elif codec == "hvc1":
                types.append((b0 >> 1) & 0x3F)
            elif n >= 2:  # vvc1: nal_unit_type in the second header byte
                types.append(data[pos + 1] >> 3)
        pos += n
    return tuple(types), None


def _coded_units(fourcc: str, payload: bytes, base: int, nal_length_size: int | None,
                 t: dict[str, Any]) -> None:
    if fourcc in ("avc1", "hvc1", "vvc1", "av01") and not payload:
        raise _Truncated(f"empty coded frame: no {'OBUs' if fourcc == 'av01' else 'NAL units'} "
                         f"at offset {base}", base)
    if fourcc in ("avc1", "hvc1", "vvc1"):
        if nal_length_size:
            units, damage = _walk_nalus(payload, base, nal_length_size, fourcc)
            t["units"] = units
            if damage is not None:
                raise _Truncated(*damage)
    elif fourcc == "av01":
        obus, damage = walk_obus(payload, base)
        t["units"] = tuple(o[0] for o in obus)
        if damage is not None:
            err, off = damage
            raise _Truncated(f"OBU: {err}", off)
    elif fourcc in ("vp09", "vp08"):
        # VP8/VP9 carry the picture size in each keyframe's own header, not in the configuration record.
        dims = vp9_keyframe_size(payload) if fourcc == "vp09" else vp8_keyframe_size(payload)
        if dims is not None:
            t["width"], t["height"] = dims


def vp9_keyframe_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) from a VP9 keyframe's uncompressed header (VP9 bitstream spec 6.2), else None."""
    try:
        bits = BitReader(frame)
        if bits.u(2) != 2:  # frame_marker
            return None
        profile = bits.u(1) | (bits.u(1) << 1)
        if profile == 3:
            bits.u(1)  # reserved_zero
        if bits.u(1):  # show_existing_frame: no header follows
            return None
        if bits.u(1) != 0:  # frame_type: only a KEY_FRAME (0) states the size unconditionally
            return None
        bits.u(2)  # show_frame, error_resilient_mode
        if bits.u(24) != 0x498342:  # frame_sync_code
            return None
        if profile >= 2:
            bits.u(1)  # ten_or_twelve_bit
        if bits.u(3) != 7:  # color_space other than CS_RGB
            bits.u(1)  # color_range
            if profile in (1, 3):
                bits.u(3)  # subsampling_x, subsampling_y, reserved_zero
        elif profile in (1, 3):
            bits.u(1)  # reserved_zero
        return bits.u(16) + 1, bits.u(16) + 1
    except BitstreamError:
        return None


_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits


def mp3_frame_format(header: bytes) -> tuple[int, int] | None:
    """(sample rate, channels) from an MPEG audio frame header (11-bit sync, version, layer, ...), else None."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer, rate_index = (header[1] >> 3) & 0x03, (header[1] >> 1) & 0x03, (header[2] >> 2) & 0x03
    if version == 1 or layer == 0 or rate_index == 3:  # reserved values: not a frame header
        return None
    return _MP3_RATES[version][rate_index], 1 if header[3] >> 6 == 3 else 2


_AC3_RATES = (48000, 44100, 32000)
_EAC3_HALF_RATES = (24000, 22050, 16000)  # E-AC-3 fscod 3: fscod2
_AC3_CHANNELS = (2, 1, 2, 3, 3, 4, 4, 5)  # by acmod (0: two independent mono channels)


def ac3_frame_format(frame: bytes) -> tuple[int, int] | None:
    """(sample rate, channels with the LFE) from an AC-3 (ATSC A/52 5.4.1) or E-AC-3 (annex E) sync frame
    header, else None."""
    if len(frame) < 8 or frame[0] != 0x0B or frame[1] != 0x77:
        return None
    bsid = frame[5] >> 3
    if bsid <= 10:  # AC-3: crc1, fscod frmsizecod, bsid bsmod, acmod, then mix levels before lfeon
        fscod = frame[4] >> 6
        if fscod == 3:
            return None
        bits = int.from_bytes(frame[6:8], "big")
        acmod = bits >> 13
        skip = (2 if acmod & 1 and acmod != 1 else 0) + (2 if acmod & 4 else 0) + (2 if acmod == 2 else 0)
        lfeon = (bits >> (12 - skip)) & 1
        return _AC3_RATES[fscod], _AC3_CHANNELS[acmod] + lfeon
    if bsid <= 16:  # E-AC-3: strmtyp substreamid frmsiz, then fscod (fscod2 | numblkscod) acmod lfeon
        fscod, second = frame[4] >> 6, (frame[4] >> 4) & 0x03
        if fscod == 3:
            if second == 3:
                return None
            rate = _EAC3_HALF_RATES[second]
        else:
            rate = _AC3_RATES[fscod]
        acmod, lfeon = (frame[4] >> 1) & 0x07, frame[4] & 0x01
        return rate, _AC3_CHANNELS[acmod] + lfeon
    return None


def vp8_keyframe_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) from a VP8 keyframe's frame header (RFC 6386 9.1), else None."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":  # key frames have bit 0 clear
        return None
    return int.from_bytes(frame[6:8], "little") & 0x3FFF, int.from_bytes(frame[8:10], "little") & 0x3FFF


# --------------------------------------------------------------------------
# video


def _legacy_picture_size(codec_id: int, payload: bytes) -> tuple[int, int] | None:
    try:
        if codec_id == 2 and len(payload) >= 5:  # Sorenson H.263 picture header
            v = int.from_bytes(payload[:9].ljust(9, b"\x00"), "big")
            bits = 72
            if v >> (bits - 17) != 1:
                return None
            size = (v >> (bits - 33)) & 0x7  # after 17 start + 5 version + 8 temporal ref
            if size == 0:
                if len(payload) < 7:
                    return None
                return (v >> (bits - 41)) & 0xFF, (v >> (bits - 49)) & 0xFF
            if size == 1:
                if len(payload) < 9:
                    return None
                return (v >> (bits - 49)) & 0xFFFF, (v >> (bits - 65)) & 0xFFFF
            return _H263_SIZES.get(size)
        if codec_id in (3, 6) and len(payload) >= 4:  # Screen video: UB4 bw, UB12 w, UB4 bh, UB12 h
            w = ((payload[0] & 0x0F) << 8) | payload[1]
            h = ((payload[2] & 0x0F) << 8) | payload[3]
            return w, h
    except IndexError:  # pragma: no cover - guarded by length checks
        return None
    return None


class _ParsedRecord(Protocol):
    """What every parsed configuration record (codec_config) has: why parsing stopped and where, or None."""

    @property
    def error(self) -> str | None: ...

    @property
    def error_offset(self) -> int | None: ...


def _config_dims(cfg: Any) -> tuple[int | None, int | None]:
    return getattr(cfg, "width", None), getattr(cfg, "height", None)


def _decode_video_config(fourcc: str, payload: bytes, base: int, t: dict[str, Any]) -> None:
    t["config_length"] = len(payload)
    parsers: dict[str, Callable[[bytes], _ParsedRecord]] = {
        "avc1": parse_avc_config, "hvc1": parse_hevc_config,
        "av01": parse_av1_config, "vp09": parse_vp_config, "vp08": parse_vp_config}
    parser = parsers.get(fourcc)
    if parser is None:
        return
    cfg = parser(payload)
    t["config"] = cfg
    t["width"], t["height"] = _config_dims(cfg)
    if cfg.error:
        raise _sub_error(f"{fourcc} configuration record at offset {base}", base, cfg.error, cfg.error_offset)


class _VideoParser:
    def __init__(self, body: bytes, nal_length_size: int | None) -> None:
        self.body = body
        self.nal_length_size = nal_length_size
        self.d: dict[str, Any] = {"length": len(body)}
        self.tracks: list[VideoTrack] = []

    def run(self) -> VideoInfo:
        d = self.d
        try:
            if not self.body:
                raise _Truncated("empty video body", 0)
            if self.body[0] & 0x80:
                self._enhanced()
            else:
                self._legacy()
        except _Truncated as exc:
            d["error"], d["error_offset"] = str(exc), exc.offset
        except Exception as exc:  # pragma: no cover - safety net, must never raise
            d["error"] = f"internal decoder error: {type(exc).__name__}: {exc}"
            d.setdefault("error_offset", None)
        if self.tracks:
            d["tracks"] = tuple(self.tracks)
            first = self.tracks[0]
            for key in ("fourcc", "composition_time", "config", "config_length", "metadata_length",
                        "units", "width", "height", "payload_offset", "payload_length"):
                if d.get(key) is None and getattr(first, key) is not None:
                    d[key] = getattr(first, key)
        return VideoInfo(**d)

    # -- legacy -----------------------------------------------------------
    def _legacy(self) -> None:
        d = self.d
        cur = _Cursor(self.body)
        b0 = cur.u8("VideoTagHeader")
        ft, cid = b0 >> 4, b0 & 0x0F
        d["frame_type"], d["frame_type_name"] = ft, FRAME_TYPES.get(ft)
        d["codec_id"] = cid
        if ft == 5:
            d["command"] = cmd = cur.u8("video command")
            d["command_name"] = VIDEO_COMMANDS.get(cmd, f"reserved ({cmd})")
            return
        if cid in (7, 12, 13):
            d["packet_type"] = pt = cur.u8("AVCPacketType")
            d["packet_type_name"] = AVC_PACKET_TYPES.get(pt, f"reserved ({pt})")
            d["composition_time"] = cur.si24("CompositionTime")
            payload = self.body[cur.pos:]
            d["payload_offset"], d["payload_length"] = cur.pos, len(payload)
            fourcc = {7: "avc1", 12: "hvc1", 13: "av01"}[cid]
            if pt == 0:
                _decode_video_config(fourcc, payload, cur.pos, d)
            elif pt == 1:
                _coded_units(fourcc, payload, cur.pos, self.nal_length_size, d)
            elif pt != 2:
                raise _Truncated(f"unknown AVCPacketType {pt} at offset 1", 1)
            return
        payload = self.body[cur.pos:]
        d["payload_offset"], d["payload_length"] = cur.pos, len(payload)
        if cid in (4, 5):
            # VP6: 1 byte of size adjustment (VP6A: UI24 alpha offset first)
            cur.take(4 if cid == 5 else 1, "VP6 header")
        elif cid not in VIDEO_CODECS:
            raise _Truncated(f"unknown video CodecID {cid} at offset 0", 0)
        dims = _legacy_picture_size(cid, payload)
        if dims:
            d["width"], d["height"] = dims

    # -- enhanced ---------------------------------------------------------
    def _enhanced(self) -> None:
        d = self.d
        d["enhanced"] = True
        cur = _Cursor(self.body)
        b0 = cur.u8("ExVideoTagHeader")
        ft, pt = (b0 >> 4) & 0x07, b0 & 0x0F
        d["frame_type"], d["frame_type_name"] = ft, FRAME_TYPES.get(ft)
        pt = _read_modex(cur, pt, [], d)
        d["packet_type"], d["packet_type_name"] = pt, VIDEO_PACKET_TYPES.get(pt, f"reserved ({pt})")
        mt_type = None
        fourcc = None
        if pt != 4 and ft == 5:
            d["command"] = cmd = cur.u8("video command")
            d["command_name"] = VIDEO_COMMANDS.get(cmd, f"reserved ({cmd})")
            return
        if pt == 6:
            b = cur.u8("multitrack type / packet type")
            mt_type, pt = b >> 4, b & 0x0F
            d["multitrack_type"] = mt_type
            d["multitrack_type_name"] = MULTITRACK_TYPES.get(mt_type, f"reserved ({mt_type})")
            d["packet_type"], d["packet_type_name"] = pt, VIDEO_PACKET_TYPES.get(pt, f"reserved ({pt})")
            if mt_type not in MULTITRACK_TYPES:
                raise _Truncated(f"unknown AvMultitrackType {mt_type} at offset {cur.pos - 1}", cur.pos - 1)
            if pt in (6, 7):
                raise _Truncated(f"invalid packet type {pt} inside multitrack at offset {cur.pos - 1}",
                                 cur.pos - 1)
            if mt_type != 2:
                fourcc = cur.fourcc()
                d["fourcc"] = fourcc
        else:
            fourcc = cur.fourcc()
            d["fourcc"] = fourcc
        if pt not in VIDEO_PACKET_TYPES:
            raise _Truncated(f"unknown VideoPacketType {pt} at offset 0", 0)
        self._tracks(cur, pt, mt_type, fourcc)

    def _tracks(self, cur: _Cursor, pt: int, mt_type: int | None, fourcc: str | None) -> None:
        body = self.body
        while True:
            t: dict[str, Any] = {"packet_type": pt, "packet_type_name": VIDEO_PACKET_TYPES.get(pt)}
            try:
                end = len(body)
                if mt_type is not None:
                    if mt_type == 2:
                        fourcc = cur.fourcc("track FourCC")
                    t["fourcc"] = fourcc
                    t["codec"] = VIDEO_FOURCCS.get(fourcc or "", None)
                    t["track_id"] = cur.u8("track id")
                    if mt_type != 0:
                        size = cur.u24("track size")
                        end = cur.pos + size
                        if end > len(body):
                            raise _Truncated(
                                f"truncated: track {t['track_id']} of {size} bytes at offset {cur.pos}, "
                                f"{len(body) - cur.pos} left", cur.pos)
                else:
                    t["fourcc"] = fourcc
                    t["codec"] = VIDEO_FOURCCS.get(fourcc or "", None)
                tcur = _Cursor(body, cur.pos, end)
                self._track_payload(tcur, pt, fourcc or "", t)
                cur.pos = end
            except _Truncated as exc:
                t["error"], t["error_offset"] = str(exc), exc.offset
                self.tracks.append(VideoTrack(**t))
                raise
            self.tracks.append(VideoTrack(**t))
            if mt_type in (1, 2) and cur.pos < len(body):
                continue
            return

    def _track_payload(self, cur: _Cursor, pt: int, fourcc: str, t: dict[str, Any]) -> None:
        if pt in (1,) and fourcc in ("avc1", "hvc1", "vvc1"):
            t["composition_time"] = cur.si24("CompositionTime")
        elif pt == 3:
            t["composition_time"] = 0
        payload = cur.data[cur.pos:cur.end]
        t["payload_offset"], t["payload_length"] = cur.pos, len(payload)
        if pt == 0:
            _decode_video_config(fourcc, payload, cur.pos, t)
        elif pt in (1, 3):
            _coded_units(fourcc, payload, cur.pos, self.nal_length_size, t)
        elif pt == 4:
            t["metadata_length"] = len(payload)
        elif pt == 5:
            t["config_length"] = len(payload)


def parse_video(body: bytes, *, nal_length_size: int | None = 4) -> VideoInfo:
    """Decode a video message body (FLV VIDEODATA).

    ``nal_length_size`` is the NALU length prefix size used to walk AVC/HEVC/VVC
    coded frames (from the stream's configuration record; 4 for nearly every
    encoder).  Pass ``None`` to skip walking.  Never raises.
    """
    try:
        data = bytes(body)
    except Exception as exc:  # noqa: BLE001 - not bytes-like
        return VideoInfo(error=f"body is not bytes-like: {type(exc).__name__}", error_offset=0)
    return _VideoParser(data, nal_length_size).run()


# --------------------------------------------------------------------------
# audio


def _decode_audio_config(fourcc: str, payload: bytes, base: int, t: dict[str, Any]) -> None:
    parsers: dict[str, Callable[[bytes], _ParsedRecord]] = {
        "mp4a": parse_audio_specific_config, "Opus": parse_opus_header, "fLaC": parse_flac_header}
    parser = parsers.get(fourcc)
    if parser is None or (fourcc == "Opus" and not payload):
        return
    cfg = parser(payload)
    t["config"] = cfg
    if cfg.error:
        raise _sub_error(f"{fourcc} sequence start at offset {base}", base, cfg.error, cfg.error_offset)


class _AudioParser:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.d: dict[str, Any] = {"length": len(body)}
        self.tracks: list[AudioTrack] = []

    def run(self) -> AudioInfo:
        d = self.d
        try:
            if not self.body:
                d["silence"] = True
            elif self.body[0] >> 4 == 9:
                self._enhanced()
            else:
                self._legacy()
        except _Truncated as exc:
            d["error"], d["error_offset"] = str(exc), exc.offset
        except Exception as exc:  # pragma: no cover - safety net, must never raise
            d["error"] = f"internal decoder error: {type(exc).__name__}: {exc}"
        if self.tracks:
            d["tracks"] = tuple(self.tracks)
            first = self.tracks[0]
            for key in ("fourcc", "config", "multichannel", "payload_offset", "payload_length"):
                if d.get(key) is None and getattr(first, key) is not None:
                    d[key] = getattr(first, key)
        return AudioInfo(**d)

    def _legacy(self) -> None:
        d = self.d
        cur = _Cursor(self.body)
        b0 = cur.u8("AudioTagHeader")
        fmt = b0 >> 4
        d["sound_format"], d["sound_format_name"] = fmt, SOUND_FORMATS[fmt]
        d["sound_rate"] = rate = (b0 >> 2) & 0x03
        d["sample_rate"] = SOUND_RATES[rate]
        d["sound_size"] = 16 if b0 & 0x02 else 8
        d["channels"] = 2 if b0 & 0x01 else 1
        if fmt == 10:
            d["aac_packet_type"] = pt = cur.u8("AACPacketType")
            payload = self.body[cur.pos:]
            d["payload_offset"], d["payload_length"] = cur.pos, len(payload)
            if pt == 0:
                _decode_audio_config("mp4a", payload, cur.pos, d)
            elif pt != 1:
                raise _Truncated(f"unknown AACPacketType {pt} at offset 1", 1)
            return
        d["payload_offset"], d["payload_length"] = cur.pos, len(self.body) - cur.pos
        if fmt in (12, 13):
            raise _Truncated(f"reserved SoundFormat {fmt} at offset 0", 0)
        if fmt in (2, 14):  # MP3: the frame header has the real rate (the tag header can only say 5.5-44 kHz)
            found = mp3_frame_format(self.body[cur.pos:cur.pos + 4])
            if found is not None:
                d["sample_rate"], d["channels"] = found

    def _enhanced(self) -> None:
        d = self.d
        d["enhanced"] = True
        d["sound_format"], d["sound_format_name"] = 9, SOUND_FORMATS[9]
        cur = _Cursor(self.body)
        pt = cur.u8("ExAudioTagHeader") & 0x0F
        pt = _read_modex(cur, pt, [], d)
        d["packet_type"], d["packet_type_name"] = pt, AUDIO_PACKET_TYPES.get(pt, f"reserved ({pt})")
        mt_type = None
        fourcc = None
        if pt == 5:
            b = cur.u8("multitrack type / packet type")
            mt_type, pt = b >> 4, b & 0x0F
            d["multitrack_type"] = mt_type
            d["multitrack_type_name"] = MULTITRACK_TYPES.get(mt_type, f"reserved ({mt_type})")
            d["packet_type"], d["packet_type_name"] = pt, AUDIO_PACKET_TYPES.get(pt, f"reserved ({pt})")
            if mt_type not in MULTITRACK_TYPES:
                raise _Truncated(f"unknown AvMultitrackType {mt_type} at offset {cur.pos - 1}", cur.pos - 1)
            if pt in (5, 7):
                raise _Truncated(f"invalid packet type {pt} inside multitrack at offset {cur.pos - 1}",
                                 cur.pos - 1)
            if mt_type != 2:
                fourcc = d["fourcc"] = cur.fourcc()
        else:
            fourcc = d["fourcc"] = cur.fourcc()
        if pt not in AUDIO_PACKET_TYPES:
            raise _Truncated(f"unknown AudioPacketType {pt} at offset 0", 0)
        body = self.body
        while True:
            t: dict[str, Any] = {"packet_type": pt, "packet_type_name": AUDIO_PACKET_TYPES.get(pt)}
            try:
                end = len(body)
                if mt_type is not None:
                    if mt_type == 2:
                        fourcc = cur.fourcc("track FourCC")
                    t["track_id"] = cur.u8("track id")
                    if mt_type != 0:
                        size = cur.u24("track size")
                        end = cur.pos + size
                        if end > len(body):
                            raise _Truncated(
                                f"truncated: track {t['track_id']} of {size} bytes at offset {cur.pos}, "
                                f"{len(body) - cur.pos} left", cur.pos)
                t["fourcc"] = fourcc
                t["codec"] = AUDIO_FOURCCS.get(fourcc or "")
                tcur = _Cursor(body, cur.pos, end)
                self._track_payload(tcur, pt, fourcc or "", t)
                cur.pos = end
            except _Truncated as exc:
                t["error"], t["error_offset"] = str(exc), exc.offset
                self.tracks.append(AudioTrack(**t))
                raise
            self.tracks.append(AudioTrack(**t))
            if mt_type in (1, 2) and cur.pos < len(body):
                continue
            return

    def _track_payload(self, cur: _Cursor, pt: int, fourcc: str, t: dict[str, Any]) -> None:
        t["payload_offset"], t["payload_length"] = cur.pos, cur.end - cur.pos
        if pt == 4:
            m: dict[str, Any] = {}
            try:
                m["channel_order"] = order = cur.u8("audio channel order")
                m["channel_order_name"] = AUDIO_CHANNEL_ORDERS.get(order, f"reserved ({order})")
                m["channel_count"] = count = cur.u8("channel count")
                if order == 2:
                    m["channel_mapping"] = tuple(cur.take(count, "audio channel mapping"))
                elif order == 1:
                    m["channel_flags"] = cur.u32("audio channel flags")
            finally:
                t["multichannel"] = MultichannelConfig(**m)
        elif pt == 0:
            _decode_audio_config(fourcc, cur.data[cur.pos:cur.end], cur.pos, t)
        elif pt == 1 and fourcc in ("ac-3", "ec-3") and self.d.get("sample_rate") is None:
            # No configuration record for AC-3 / E-AC-3: rate and channels are in each sync frame.
            found = ac3_frame_format(cur.data[cur.pos:cur.pos + 8])
            if found is not None:
                self.d["sample_rate"], self.d["channels"] = found


def parse_audio(body: bytes) -> AudioInfo:
    """Decode an audio message body (FLV AUDIODATA).  Never raises."""
    try:
        data = bytes(body)
    except Exception as exc:  # noqa: BLE001 - not bytes-like
        return AudioInfo(error=f"body is not bytes-like: {type(exc).__name__}", error_offset=0)
    return _AudioParser(data).run()


# --------------------------------------------------------------------------
# helpers for the exporter / analytics


def is_sequence_header(info: AudioInfo | VideoInfo) -> bool:
    """True for decoder configuration messages (AVC/AAC sequence header, SequenceStart)."""
    if isinstance(info, VideoInfo):
        if info.command is not None:
            return False
        if info.enhanced:
            return info.packet_type in (0, 5)
        return info.codec_id in (7, 12, 13) and info.packet_type == 0
    if isinstance(info, AudioInfo):
        if info.enhanced:
            return info.packet_type == 0
        return info.sound_format == 10 and info.aac_packet_type == 0
    return False


def is_keyframe(info: AudioInfo | VideoInfo) -> bool:
    """True for video messages carrying a coded key frame (not config/metadata/command)."""
    if not isinstance(info, VideoInfo) or info.frame_type not in (1, 4) or info.command is not None:
        return False
    if info.enhanced:
        return info.packet_type in (1, 3)
    if info.codec_id in (7, 12, 13):
        return info.packet_type == 1
    return info.codec_id is not None


_VIDEO_TRACK_FIELDS = ("fourcc", "composition_time", "config", "config_length", "metadata_length", "units",
                       "width", "height", "payload_offset", "payload_length", "error", "error_offset")
_AUDIO_TRACK_FIELDS = ("fourcc", "config", "multichannel", "payload_offset", "payload_length", "error",
                       "error_offset")


def track_views(info: AudioInfo | VideoInfo) -> list[tuple[int, AudioInfo | VideoInfo]]:
    """(track id, the message as seen by that track) for each track an E-RTMP multitrack message carries: the
    message with the track's FourCC, configuration, units, size and payload in place of the first track's, so
    that per-track analyses can read it like a one-track message. Anything else is track 0, the default track
    (E-RTMP v2), as it is."""
    if info.multitrack_type is None or not info.tracks:
        return [(0, info)]
    fields = _VIDEO_TRACK_FIELDS if isinstance(info, VideoInfo) else _AUDIO_TRACK_FIELDS
    # An error no track owns is in the message's own header: every track shares it.
    shared_error = info.error is not None and all(track.error is None for track in info.tracks)
    views: list[tuple[int, AudioInfo | VideoInfo]] = []
    track: AudioTrack | VideoTrack
    for track in info.tracks:
        changes: dict[str, Any] = {name: getattr(track, name) for name in fields}
        changes["tracks"] = (track,)
        if shared_error:
            changes["error"], changes["error_offset"] = info.error, info.error_offset
        views.append((track.track_id or 0, dataclasses.replace(info, **changes)))
    return views


def codec_name(info: AudioInfo | VideoInfo) -> str | None:
    """Human codec name: "H.264", "HEVC", "AV1", "VP9", "AAC", "MP3", "Opus", ..."""
    if isinstance(info, VideoInfo):
        if info.enhanced:
            names = []
            for fc in [t.fourcc for t in info.tracks] or [info.fourcc]:
                if fc is None:
                    continue
                name = VIDEO_FOURCCS.get(fc, f"unknown ({fc})")
                if name not in names:
                    names.append(name)
            return "/".join(names) or None
        if info.codec_id is None:
            return None
        return VIDEO_CODECS.get(info.codec_id, f"unknown ({info.codec_id})")
    if isinstance(info, AudioInfo):
        if info.enhanced:
            names = []
            for fc in [t.fourcc for t in info.tracks] or [info.fourcc]:
                if fc is None:
                    continue
                name = AUDIO_FOURCCS.get(fc, f"unknown ({fc})")
                if name not in names:
                    names.append(name)
            return "/".join(names) or None
        if info.sound_format is None:
            return None
        return _SOUND_CODEC.get(info.sound_format, SOUND_FORMATS.get(info.sound_format))
    return None


# --------------------------------------------------------------------------
# summaries


def _err_suffix(info: Any) -> str:
    return f" [error: {info.error}]" if info.error else ""


def _modex_suffix(info: Any) -> str:
    parts = []
    for m in info.modex:
        if m.timestamp_offset_nano is not None:
            parts.append(f"+{m.type_name}={m.timestamp_offset_nano}ns")
        else:
            parts.append(f"+ModEx {m.type_name} ({len(m.data)} B)")
    return (" " + " ".join(parts)) if parts else ""


def _video_summary(v: VideoInfo) -> str:
    if v.frame_type is None:
        return "video" + _err_suffix(v)
    if v.enhanced:
        all_fcs = [t.fourcc for t in v.tracks] or [v.fourcc]
        fcs = [f for f in dict.fromkeys(all_fcs) if f]
        codec = codec_name(v) or "video"
        head = f"{codec} ({','.join(fcs)})" if fcs else codec
        if v.command is not None:
            return f"{head} command: {v.command_name}{_modex_suffix(v)}{_err_suffix(v)}".replace("  ", " ")
        parts = [head]
        if v.packet_type != 4:
            parts.append(v.frame_type_name or "?")
        parts.append(v.packet_type_name or "?")
        if v.multitrack_type is not None:
            ids = ",".join(str(t.track_id) for t in v.tracks)
            parts.append(f"multitrack {v.multitrack_type_name} tracks=[{ids}]")
        if v.packet_type == 1 and v.composition_time is not None:
            parts.append(f"cts={v.composition_time}")
        if v.packet_type == 0 and v.config is not None:
            parts.append(v.config.summary())
        if v.packet_type == 4 and v.metadata_length is not None:
            parts.append(f"{v.metadata_length} bytes")
        return " ".join(parts) + _modex_suffix(v) + _err_suffix(v)
    short = _VIDEO_SHORT.get(v.codec_id or -1) or codec_name(v) or "video"
    if v.command is not None:
        return f"{short} command: {v.command_name}{_err_suffix(v)}"
    if v.codec_id in (7, 12, 13) and v.packet_type is not None:
        if v.packet_type == 0:
            s = f"{short} sequence header"
            if v.config is not None:
                s += " " + v.config.summary()
            return s + _err_suffix(v)
        if v.packet_type == 2:
            return f"{short} end of sequence{_err_suffix(v)}"
        s = f"{short} {v.frame_type_name} {v.packet_type_name}"
        if v.composition_time is not None:
            s += f" cts={v.composition_time}"
        return s + _err_suffix(v)
    s = f"{short} {v.frame_type_name}"
    if v.width is not None and v.height is not None:
        s += f" {v.width}x{v.height}"
    return s + _err_suffix(v)


def _audio_summary(a: AudioInfo) -> str:
    if a.silence:
        return "silence (empty audio message)"
    if a.sound_format is None:
        return "audio" + _err_suffix(a)
    if a.enhanced:
        codec = codec_name(a) or "audio"
        parts = [codec, _spaced(a.packet_type_name) if a.packet_type_name else "?"]
        if a.multitrack_type is not None:
            ids = ",".join(str(t.track_id) for t in a.tracks)
            parts.append(f"multitrack {a.multitrack_type_name} tracks=[{ids}]")
        if a.packet_type == 0 and a.config is not None:
            parts.append(a.config.summary())
        if a.packet_type == 4 and a.multichannel is not None:
            parts.append(a.multichannel.summary())
        return " ".join(parts) + _modex_suffix(a) + _err_suffix(a)
    if a.sound_format == 10:
        if a.aac_packet_type == 0:
            s = "AAC sequence header"
            if a.config is not None:
                s += " " + a.config.summary()
            return s + _err_suffix(a)
        if a.aac_packet_type == 1:
            return "AAC raw" + _err_suffix(a)
        return "AAC" + _err_suffix(a)
    rate = _SOUND_RATE_TEXT.get(a.sound_rate or 0, "?")
    ch = "stereo" if a.channels == 2 else "mono"
    return f"{a.sound_format_name} {rate} {a.sound_size}-bit {ch}{_err_suffix(a)}"
