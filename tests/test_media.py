"""Tests for rtmp_inspect.rtmp.media (audio/video message header decoding).

Real-encoder fixtures live in tests/data/media/ and are produced by
tests/data/make_media_fixtures.sh (ffmpeg 5.1); expected.json holds ffprobe's
view of each file.  Everything else is crafted here byte by byte.
"""

from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from rtmp_inspect.rtmp.bitreader import BitReader, BitstreamError, remove_emulation_prevention
from rtmp_inspect.rtmp.codec_config import (
    parse_audio_specific_config,
    parse_avc_config,
    parse_avc_sps,
    parse_hevc_sps,
    parse_vp_config,
)
from rtmp_inspect.rtmp.media import (
    AudioInfo,
    VideoInfo,
    ac3_frame_format,
    codec_name,
    is_keyframe,
    is_sequence_header,
    parse_audio,
    parse_video,
)
from tests.support.media_files import MEDIA, mp4_box

DATA = Path(__file__).parent / "data" / "media"
EXPECTED = json.loads((DATA / "expected.json").read_text()) if (DATA / "expected.json").exists() else {}

needs_fixtures = pytest.mark.skipif(
    not EXPECTED, reason="tests/data/media missing: run tests/data/make_media_fixtures.sh")


# --------------------------------------------------------------------------
# helpers: FLV walker, MP4 box lookup, bit writer


def flv_tags(path: Path):
    """Yield (tag_type, timestamp, body) from an FLV file."""
    data = path.read_bytes()
    assert data[:3] == b"FLV"
    pos = struct.unpack(">I", data[5:9])[0] + 4  # header + PreviousTagSize0
    while pos + 11 <= len(data):
        tag_type = data[pos] & 0x1F
        size = int.from_bytes(data[pos + 1:pos + 4], "big")
        ts = int.from_bytes(data[pos + 4:pos + 7], "big") | (data[pos + 7] << 24)
        yield tag_type, ts, data[pos + 11:pos + 11 + size]
        pos += 11 + size + 4


def first_tag(path: Path, tag_type: int, n: int = 0) -> bytes:
    bodies = [b for t, _, b in flv_tags(path) if t == tag_type]
    return bodies[n]


def probe(name: str) -> dict:
    return EXPECTED[name][0]


class BitWriter:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, v: int) -> BitWriter:
        for i in range(n - 1, -1, -1):
            self.bits.append((v >> i) & 1)
        return self

    def ue(self, v: int) -> BitWriter:
        v += 1
        n = v.bit_length()
        return self.u(n - 1, 0).u(n, v)

    def se(self, v: int) -> BitWriter:
        return self.ue(2 * v - 1 if v > 0 else -2 * v)

    def trailing(self) -> BitWriter:
        self.bits.append(1)
        while len(self.bits) % 8:
            self.bits.append(0)
        return self

    def pad(self) -> BitWriter:
        while len(self.bits) % 8:
            self.bits.append(0)
        return self

    def bytes(self) -> bytes:
        assert len(self.bits) % 8 == 0
        return bytes(int("".join(map(str, self.bits[i:i + 8])), 2) for i in range(0, len(self.bits), 8))


def add_emulation_prevention(rbsp: bytes) -> bytes:
    out = bytearray()
    zeros = 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def avcc(sps: bytes, pps: bytes = b"\x68\xce\x3c\x80", length_size: int = 4) -> bytes:
    return (bytes([1, sps[1], sps[2], sps[3], 0xFC | (length_size - 1), 0xE1])
            + struct.pack(">H", len(sps)) + sps + b"\x01" + struct.pack(">H", len(pps)) + pps)


def nalu(payload: bytes, size: int = 4) -> bytes:
    return len(payload).to_bytes(size, "big") + payload


def assert_truncations_flagged(body: bytes, parse, valid_prefixes=()) -> None:
    """Every strict prefix must decode without raising and with an error set."""
    for cut in range(len(body)):
        info = parse(body[:cut])
        assert info.length == cut
        if cut in valid_prefixes:
            continue
        if cut == 0 and isinstance(info, AudioInfo):
            assert info.silence and info.error is None  # empty audio = silence message
            continue
        assert info.error, f"prefix of {cut}/{len(body)} bytes decoded without error: {info}"
        assert not info.error.startswith("internal"), info.error
        assert info.error_offset is not None and 0 <= info.error_offset <= cut, (cut, info.error)
        json.dumps(info.to_json())
        info.summary()
    full = parse(body)
    assert full.error is None, full.error


# --------------------------------------------------------------------------
# bit reader


def test_bitreader_basics():
    br = BitReader(bytes([0b10101001, 0b00000000]))
    assert br.u(1) == 1
    assert br.ue() == 1  # '010'
    assert br.ue() == 0  # '1'
    assert br.ue() == 3  # '00100'
    assert br.bits_left == 6
    assert BitReader(bytes([0b00110000])).se() == 3  # ue 5
    assert BitReader(bytes([0b00101000])).se() == -2  # ue 4
    with pytest.raises(BitstreamError):
        BitReader(b"\x00").ue()
    with pytest.raises(BitstreamError):
        BitReader(b"\xff").u(9)


def test_bitreader_u32_and_leb128():
    br = BitReader(b"\x12\x34\x56\x78\x9a")
    assert br.u(4) == 1
    assert br.u(32) == 0x23456789
    assert BitReader(b"\xe5\x8e\x26").leb128() == 624485


def test_emulation_prevention_removed():
    assert remove_emulation_prevention(b"\x00\x00\x03\x01\x00\x00\x03\x00") == b"\x00\x00\x01\x00\x00\x00"
    assert remove_emulation_prevention(b"\x01\x02") == b"\x01\x02"


# --------------------------------------------------------------------------
# legacy audio

LEGACY_FORMATS = {
    0: ("PCM", "PCM"), 1: ("ADPCM", "ADPCM"), 2: ("MP3", "MP3"), 3: ("PCM-LE", "PCM"),
    4: ("Nellymoser 16k", "Nellymoser"), 5: ("Nellymoser 8k", "Nellymoser"),
    6: ("Nellymoser", "Nellymoser"), 7: ("G.711 A-law", "G.711 A-law"),
    8: ("G.711 µ-law", "G.711 µ-law"), 11: ("Speex", "Speex"), 14: ("MP3 8k", "MP3"),
    15: ("Device-specific", "Device-specific"),
}


@pytest.mark.parametrize("fmt", sorted(LEGACY_FORMATS))
@pytest.mark.parametrize("rate,size,stype", [(0, 0, 0), (1, 1, 0), (2, 0, 1), (3, 1, 1)])
def test_legacy_audio_formats(fmt, rate, size, stype):
    body = bytes([(fmt << 4) | (rate << 2) | (size << 1) | stype]) + b"\x01\x02\x03"
    a = parse_audio(body)
    assert a.error is None
    assert not a.enhanced
    assert a.sound_format == fmt
    assert a.sound_format_name == LEGACY_FORMATS[fmt][0]
    assert codec_name(a) == LEGACY_FORMATS[fmt][1]
    assert a.sample_rate == [5512, 11025, 22050, 44100][rate]
    assert a.sound_size == (16 if size else 8)
    assert a.channels == (2 if stype else 1)
    assert a.payload_offset == 1 and a.payload_length == 3
    assert not is_sequence_header(a) and not is_keyframe(a)
    assert a.summary().startswith(LEGACY_FORMATS[fmt][0])
    json.dumps(a.to_json())


@pytest.mark.parametrize("fmt", [12, 13])
def test_legacy_audio_reserved_formats(fmt):
    a = parse_audio(bytes([fmt << 4 | 0x0F, 0]))
    assert a.sound_format == fmt and a.error and "reserved" in a.error


def test_legacy_audio_summary_text():
    assert parse_audio(b"\x2f\xff").summary() == "MP3 44 kHz 16-bit stereo"
    assert parse_audio(b"\x02\x80").summary() == "PCM 5.5 kHz 16-bit mono"


def test_aac_raw_and_sequence_header():
    raw = parse_audio(b"\xaf\x01\x21\x10\x04")
    assert raw.error is None and raw.aac_packet_type == 1
    assert raw.summary() == "AAC raw"
    assert not is_sequence_header(raw)
    seq = parse_audio(b"\xaf\x00\x12\x10")
    assert seq.error is None
    assert seq.summary() == "AAC sequence header LC 44100 Hz 2 ch"
    assert is_sequence_header(seq)
    asc = seq.config
    assert (asc.audio_object_type, asc.sampling_frequency, asc.channels) == (2, 44100, 2)
    assert asc.frame_length_flag == 0
    assert seq.to_json()["config"]["sampling_frequency"] == 44100


def test_aac_unknown_packet_type_and_truncation():
    a = parse_audio(b"\xaf\x07")
    assert a.error and "AACPacketType 7" in a.error
    a = parse_audio(b"\xaf")
    assert a.error and "AACPacketType" in a.error and a.error_offset == 1
    a = parse_audio(b"\xaf\x00\x12")
    assert a.error and a.sound_format == 10 and a.config is not None
    assert a.config.audio_object_type == 2  # decoded before the problem


def test_empty_audio_is_silence():
    a = parse_audio(b"")
    assert a.silence and a.error is None
    assert a.summary().startswith("silence")


# --------------------------------------------------------------------------
# AAC AudioSpecificConfig


def test_asc_he_aac_hierarchical():
    asc_bytes = BitWriter().u(5, 5).u(4, 6).u(4, 2).u(4, 3).u(5, 2).u(3, 0).pad().bytes()
    asc = parse_audio_specific_config(asc_bytes)
    assert asc.error is None
    assert asc.sbr is True and asc.ps is False
    assert asc.audio_object_type == 2
    assert asc.sampling_frequency == 24000 and asc.extension_sampling_frequency == 48000
    assert asc.profile == "HE-AAC"
    assert asc.explicit_signalling == "hierarchical"
    assert "HE-AAC 24000 Hz (SBR 48000 Hz) 2 ch" in parse_audio(b"\xaf\x00" + asc_bytes).summary()


def test_asc_ps_and_escape_and_explicit_frequency():
    # AOT 29 (PS), explicit core frequency 0xF + 24 bits, ext sf index 3
    b = BitWriter().u(5, 29).u(4, 0xF).u(24, 22050).u(4, 1).u(4, 3).u(5, 2).u(3, 0).pad().bytes()
    asc = parse_audio_specific_config(b)
    assert asc.error is None, asc.error
    assert asc.sampling_frequency_index == 15 and asc.sampling_frequency == 22050
    assert asc.ps is True and asc.sbr is True and asc.profile == "HE-AACv2"
    assert asc.extension_sampling_frequency == 48000
    # escape: AOT 31 + 6 bits -> 32 + 7 = 39 (ER AAC ELD)
    b = BitWriter().u(5, 31).u(6, 7).u(4, 3).u(4, 2).pad().bytes()
    asc = parse_audio_specific_config(b)
    assert asc.audio_object_type == 39 and asc.object_type_name == "ER AAC ELD"
    assert asc.sampling_frequency == 48000 and asc.channels == 2


def test_asc_backward_compatible_sbr_ps():
    b = (BitWriter().u(5, 2).u(4, 7).u(4, 1).u(3, 0)  # LC 22050 mono + GASpecificConfig
         .u(11, 0x2B7).u(5, 5).u(1, 1).u(4, 3)  # SBR, ext 48000
         .u(11, 0x548).u(1, 1).pad().bytes())  # PS
    asc = parse_audio_specific_config(b)
    assert asc.error is None
    assert asc.explicit_signalling == "backward-compatible"
    assert asc.sbr and asc.ps and asc.extension_sampling_frequency == 48000
    assert asc.profile == "HE-AACv2"


def test_asc_channel_configs_and_errors():
    assert parse_audio_specific_config(bytes([0x12, 0x38])).channels == 8  # config 7
    pce = parse_audio_specific_config(bytes([0x12, 0x00]))
    assert pce.channel_configuration == 0 and pce.channels is None and pce.error is None
    assert parse_audio_specific_config(b"").error
    bad = parse_audio_specific_config(b"\x12")
    assert bad.error and bad.audio_object_type == 2 and bad.sampling_frequency is None
    assert "at bit 5" in bad.error


# --------------------------------------------------------------------------
# legacy video

LEGACY_VIDEO = {2: "Sorenson H.263", 3: "Screen Video", 4: "VP6", 5: "VP6 Alpha",
                6: "Screen Video 2", 7: "H.264", 12: "HEVC", 13: "AV1"}


@pytest.mark.parametrize("codec_id", sorted(LEGACY_VIDEO))
@pytest.mark.parametrize("frame_type", [1, 2, 3, 4])
def test_legacy_video_codecs(codec_id, frame_type):
    if codec_id in (7, 12, 13):
        unit = b"\x12\x00" if codec_id == 13 else nalu(b"\x26\x01" if codec_id == 12 else b"\x65\x00")
        body = bytes([(frame_type << 4) | codec_id, 1, 0, 0, 0]) + unit
    else:
        body = bytes([(frame_type << 4) | codec_id]) + b"\x00" * 8
    v = parse_video(body)
    assert v.error is None, v.error
    assert not v.enhanced
    assert v.codec_id == codec_id and v.frame_type == frame_type
    assert codec_name(v) == LEGACY_VIDEO[codec_id]
    assert is_keyframe(v) == (frame_type in (1, 4))
    assert not is_sequence_header(v)
    json.dumps(v.to_json())


@pytest.mark.parametrize("codec_id", [0, 1, 8, 9, 10, 11, 14, 15])
def test_legacy_video_unknown_codec(codec_id):
    v = parse_video(bytes([0x10 | codec_id, 0, 0]))
    assert v.error and "CodecID" in v.error and v.codec_id == codec_id


def test_video_command_frames():
    v = parse_video(b"\x57\x00")
    assert v.command == 0 and v.command_name == "start of client-side seeking"
    assert v.frame_type == 5 and v.codec_id == 7
    assert not is_keyframe(v) and not is_sequence_header(v)
    assert "command" in v.summary()
    assert parse_video(b"\x52\x01").command == 1
    v = parse_video(b"\x57")
    assert v.error and v.error_offset == 1


@pytest.mark.parametrize("raw,cts", [(b"\x00\x00\x28", 40), (b"\xff\xff\xd8", -40),
                                     (b"\x80\x00\x00", -8388608), (b"\x7f\xff\xff", 8388607)])
def test_signed_composition_time(raw, cts):
    body = b"\x27\x01" + raw + nalu(b"\x41\x9a\x00")
    v = parse_video(body)
    assert v.error is None
    assert v.composition_time == cts
    assert v.units == (1,)
    assert v.summary() == f"AVC inter NALU cts={cts}"


def test_avc_keyframe_nalu_summary_and_units():
    body = b"\x17\x01\x00\x00\x28" + nalu(b"\x06\x05\x00") + nalu(b"\x65\x88\x84")
    v = parse_video(body)
    assert v.summary() == "AVC keyframe NALU cts=40"
    assert v.units == (6, 5)
    assert is_keyframe(v)
    # 2-byte NALU lengths, and walking disabled
    body2 = b"\x17\x01\x00\x00\x00" + nalu(b"\x65\x88", 2)
    assert parse_video(body2, nal_length_size=2).units == (5,)
    assert parse_video(body2, nal_length_size=None).error is None
    assert parse_video(body2).error  # 4-byte walk does not fit


def test_avc_end_of_sequence_and_bad_packet_type():
    v = parse_video(b"\x17\x02\x00\x00\x00")
    assert v.packet_type == 2 and v.summary() == "AVC end of sequence" and not is_keyframe(v)
    v = parse_video(b"\x17\x03\x00\x00\x00")
    assert v.error and "AVCPacketType 3" in v.error


def test_empty_video_body():
    v = parse_video(b"")
    assert v.error == "empty video body" and v.error_offset == 0


def test_not_bytes_never_raises():
    assert parse_video(None).error  # type: ignore[arg-type]
    assert parse_audio(12.5).error  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# real H.264 fixtures

PIX_FMT = {"yuv420p": (1, 8), "yuv420p10le": (1, 10), "yuv444p": (3, 8), "yuv422p10le": (2, 10)}
AVC_FIXTURES = ["avc_high_640x360.flv", "avc_main_1080p.flv", "avc_high_1080i.flv",
                "avc_high444_330x250.flv", "avc_high10_352x288.flv", "avc_baseline_320x240.flv"]


@needs_fixtures
@pytest.mark.parametrize("name", AVC_FIXTURES)
def test_avc_sequence_header_matches_ffprobe(name):
    p = probe(name)
    body = first_tag(DATA / name, 9)
    v = parse_video(body)
    assert v.error is None, v.error
    assert is_sequence_header(v) and codec_name(v) == "H.264"
    cfg = v.config
    sps = cfg.sps
    assert cfg.configuration_version == 1 and cfg.nal_length_size == 4
    assert cfg.num_sps == 1 and cfg.num_pps == 1
    assert (v.width, v.height) == (p["width"], p["height"])
    assert (sps.width, sps.height) == (p["width"], p["height"])
    assert sps.profile_name == p["profile"]
    assert sps.level_idc == p["level"] == cfg.level_indication
    assert (sps.chroma_format_idc, sps.bit_depth_luma) == PIX_FMT[p["pix_fmt"]]
    assert Fraction(sps.frame_rate).limit_denominator(1001) == Fraction(p["r_frame_rate"])
    assert sps.coded_width % 16 == 0 and sps.coded_height % 16 == 0
    level = f"{p['level'] // 10}.{p['level'] % 10}"
    assert v.summary() == f"AVC sequence header {p['profile']}@{level} {p['width']}x{p['height']}"
    json.dumps(v.to_json())


@needs_fixtures
def test_avc_1080p_cropping():
    v = parse_video(first_tag(DATA / "avc_main_1080p.flv", 9))
    sps = v.config.sps
    assert (sps.coded_width, sps.coded_height) == (1920, 1088)
    assert sps.frame_cropping == (0, 0, 0, 4)
    assert (sps.width, sps.height) == (1920, 1080)
    assert sps.frame_mbs_only is True


@needs_fixtures
def test_avc_1080i_field_coding():
    sps = parse_video(first_tag(DATA / "avc_high_1080i.flv", 9)).config.sps
    assert sps.frame_mbs_only is False
    assert sps.pic_height_in_map_units == 34  # 1088 / 32
    assert sps.frame_cropping == (0, 0, 0, 2)  # crop unit 4 lines when field coded
    assert (sps.width, sps.height) == (1920, 1080)


@needs_fixtures
def test_avc_high444_cropping_units():
    sps = parse_video(first_tag(DATA / "avc_high444_330x250.flv", 9)).config.sps
    assert sps.chroma_format_idc == 3
    assert (sps.coded_width, sps.coded_height) == (336, 256)
    assert sps.frame_cropping == (0, 6, 0, 6)  # 4:4:4 crop unit is one sample


@needs_fixtures
def test_avc_real_nalu_bodies_and_cts():
    tags = [b for t, _, b in flv_tags(DATA / "avc_high_640x360.flv") if t == 9]
    infos = [parse_video(b) for b in tags]
    assert infos[0].packet_type == 0
    assert infos[1].frame_type == 1 and is_keyframe(infos[1])
    assert 5 in infos[1].units  # IDR slice
    assert all(i.error is None for i in infos), [i.error for i in infos]
    assert any(i.composition_time and i.composition_time > 0 for i in infos[1:])  # B-frames
    assert infos[-1].packet_type == 2  # end of sequence written by ffmpeg


@needs_fixtures
def test_avc_sequence_header_truncated_everywhere():
    body = first_tag(DATA / "avc_main_1080p.flv", 9)
    assert_truncations_flagged(body, parse_video)
    # High profile avcC from ffmpeg carries the 4-byte chroma/bit-depth extension;
    # dropping it whole leaves a valid pre-extension record.
    body = first_tag(DATA / "avc_high_640x360.flv", 9)
    cfg = parse_video(body).config
    assert cfg.chroma_format_idc == 1 and cfg.bit_depth_luma == 8 and cfg.num_sps_ext == 0
    assert_truncations_flagged(body, parse_video, valid_prefixes={len(body) - 4})


# --------------------------------------------------------------------------
# crafted H.264 SPS


def crafted_avc_sps() -> bytes:
    w = BitWriter()
    w.u(8, 0x67).u(8, 122).u(8, 0).u(8, 40)  # High 4:2:2, level 4.0
    w.ue(0)  # sps id
    w.ue(2)  # chroma_format_idc 4:2:2
    w.ue(2).ue(2)  # 10-bit
    w.u(1, 0)  # qpprime bypass
    w.u(1, 1)  # seq_scaling_matrix_present_flag
    for i in range(8):
        present = i in (0, 6)
        w.u(1, int(present))
        if present:
            for j in range(16 if i < 6 else 64):
                w.se(3 if j == 0 else (-3 if j == 1 else 0))
    w.ue(0)  # log2_max_frame_num - 4
    w.ue(1)  # poc type 1
    w.u(1, 0).se(-2).se(1).ue(2).se(5).se(-7)
    w.ue(3)  # max_num_ref_frames
    w.u(1, 0)
    w.ue(119).ue(33)  # 120 MBs wide, 34 map units (field coded -> 1088)
    w.u(1, 0).u(1, 1)  # frame_mbs_only=0, mb_adaptive=1
    w.u(1, 1)  # direct_8x8
    w.u(1, 1).ue(0).ue(0).ue(0).ue(4)  # crop bottom 4 * (1*2) = 8 lines
    w.u(1, 1)  # vui
    w.u(1, 1).u(8, 255).u(16, 4).u(16, 3)  # SAR 4:3
    w.u(1, 0)  # overscan
    w.u(1, 1).u(3, 5).u(1, 1).u(1, 1).u(8, 1).u(8, 1).u(8, 1)
    w.u(1, 0)  # chroma loc
    w.u(1, 1).u(32, 1001).u(32, 60000).u(1, 1)  # 29.97 fps
    w.u(1, 0).u(1, 0).u(1, 0).u(1, 0)  # hrd/pic_struct/bitstream restriction
    return add_emulation_prevention(w.trailing().bytes())


def test_crafted_avc_sps_all_fields():
    sps = parse_avc_sps(crafted_avc_sps())
    assert sps.error is None, sps.error
    assert sps.profile_name == "High 4:2:2" and sps.level == "4.0"
    assert sps.chroma_format_idc == 2 and sps.bit_depth_luma == 10 and sps.bit_depth_chroma == 10
    assert sps.scaling_matrix_present is True
    assert sps.pic_order_cnt_type == 1
    assert sps.offset_for_non_ref_pic == -2 and sps.offset_for_top_to_bottom_field == 1
    assert sps.offsets_for_ref_frame == (5, -7)
    assert sps.max_num_ref_frames == 3
    assert sps.frame_mbs_only is False and sps.mb_adaptive_frame_field is True
    assert (sps.coded_width, sps.coded_height, sps.width, sps.height) == (1920, 1088, 1920, 1080)
    assert sps.sample_aspect_ratio == (4, 3)
    assert sps.video_full_range is True and sps.colour_primaries == 1
    assert sps.num_units_in_tick == 1001 and sps.time_scale == 60000
    assert abs(sps.frame_rate - 29.97) < 0.01
    assert sps.fixed_frame_rate is True


def test_crafted_avc_sps_poc_type0_and_baseline_levels():
    w = BitWriter().u(8, 0x67).u(8, 66).u(8, 0x50).u(8, 11).ue(0)
    w.ue(2).ue(0).ue(4)  # log2_max_frame_num 6, poc 0, lsb 8
    w.ue(1).u(1, 0).ue(10).ue(8).u(1, 1).u(1, 1).u(1, 0).u(1, 0)
    sps = parse_avc_sps(w.trailing().bytes())
    assert sps.error is None
    assert sps.profile_name == "Constrained Baseline" and sps.level == "1b"
    assert sps.log2_max_frame_num == 6 and sps.log2_max_pic_order_cnt_lsb == 8
    assert (sps.width, sps.height) == (176, 144)
    assert sps.vui_present is False and sps.frame_rate is None


def test_crafted_avc_sps_in_sequence_header_and_truncation():
    sps = crafted_avc_sps()
    body = b"\x17\x00\x00\x00\x00" + avcc(sps)
    v = parse_video(body)
    assert v.error is None
    assert v.summary() == "AVC sequence header High 4:2:2@4.0 1920x1080"
    assert_truncations_flagged(body, parse_video)
    # a truncated SPS (length field consistent) keeps the fields decoded so far
    short = sps[:20]
    v = parse_video(b"\x17\x00\x00\x00\x00" + avcc(short))
    assert v.error and "SPS" in v.error
    assert v.config.sps.profile_idc == 122 and v.config.sps.chroma_format_idc == 2


def test_avc_sps_wrong_nal_type():
    assert "not an SPS" in parse_avc_sps(b"\x68\xce\x3c\x80").error
    cfg = parse_avc_config(b"\x02\x64\x00\x1f\xff\xe0\x00")
    assert cfg.error and "configurationVersion" in cfg.error


# --------------------------------------------------------------------------
# HEVC

HEVC_FIXTURES = ["hevc_main_1080p.mp4", "hevc_main10_640x360.mp4",
                 "hevc_rext444_330x250.mp4", "hevc_rext422_330x250.mp4"]


def ex_video(frame_type: int, packet_type: int, fourcc: bytes, payload: bytes = b"") -> bytes:
    return bytes([0x80 | (frame_type << 4) | packet_type]) + fourcc + payload


@needs_fixtures
@pytest.mark.parametrize("name", HEVC_FIXTURES)
def test_hevc_sequence_start_matches_ffprobe(name):
    p = probe(name)
    hvcc = mp4_box(DATA / name, b"hvcC")
    v = parse_video(ex_video(1, 0, b"hvc1", hvcc))
    assert v.error is None, v.error
    assert v.enhanced and v.fourcc == "hvc1" and codec_name(v) == "HEVC"
    assert is_sequence_header(v) and not is_keyframe(v)
    cfg = v.config
    assert cfg.profile_name == p["profile"]
    assert cfg.general_level_idc == p["level"]
    assert (v.width, v.height) == (p["width"], p["height"])
    assert (cfg.chroma_format_idc, cfg.bit_depth_luma) == PIX_FMT[p["pix_fmt"]]
    sps = cfg.sps
    assert (sps.chroma_format_idc, sps.bit_depth_luma) == PIX_FMT[p["pix_fmt"]]
    assert sps.general_profile_idc == cfg.general_profile_idc
    assert sps.general_level_idc == cfg.general_level_idc
    assert Fraction(sps.frame_rate).limit_denominator(1001) == Fraction(p["r_frame_rate"])
    assert {nut for nut, _ in cfg.arrays} >= {32, 33, 34}
    assert v.summary().startswith("HEVC (hvc1) keyframe SequenceStart " + p["profile"])
    # same record through the non-standard legacy CodecID 12
    legacy = parse_video(b"\x1c\x00\x00\x00\x00" + hvcc)
    assert legacy.error is None and legacy.codec_id == 12 and codec_name(legacy) == "HEVC"
    assert (legacy.width, legacy.height) == (p["width"], p["height"])
    assert is_sequence_header(legacy)
    json.dumps(v.to_json())


@needs_fixtures
def test_hevc_conformance_window_and_sub_layers():
    sps = parse_video(ex_video(1, 0, b"hvc1", mp4_box(DATA / "hevc_rext422_330x250.mp4", b"hvcC"))).config.sps
    assert sps.conformance_window == (0, 3, 0, 6)  # 4:2:2: 2 samples wide, 1 high
    assert (sps.pic_width_in_luma_samples, sps.pic_height_in_luma_samples) == (336, 256)
    sps = parse_video(ex_video(1, 0, b"hvc1", mp4_box(DATA / "hevc_main10_640x360.mp4", b"hvcC"))).config.sps
    assert sps.max_sub_layers == 2 and len(sps.sub_layer_level_present) == 1


@needs_fixtures
def test_hevc_sequence_start_truncated_everywhere():
    body = ex_video(1, 0, b"hvc1", mp4_box(DATA / "hevc_main_1080p.mp4", b"hvcC"))
    assert_truncations_flagged(body, parse_video)


def crafted_hevc_sps() -> bytes:
    w = BitWriter()
    w.u(16, 0x4201)  # NAL header: type 33
    w.u(4, 0).u(3, 2).u(1, 1)  # vps 0, max_sub_layers_minus1 = 2, nesting
    # profile_tier_level: general Main, High tier, level 5.1
    w.u(2, 0).u(1, 1).u(5, 1).u(32, 0x60000000).u(4, 0b1001).u(43, 0).u(1, 0).u(8, 153)
    w.u(1, 1).u(1, 1)  # sub-layer 0: profile + level present
    w.u(1, 0).u(1, 1)  # sub-layer 1: level present only
    for _ in range(2, 8):
        w.u(2, 0)
    w.u(88, 0).u(8, 120)
    w.u(8, 90)
    w.ue(0)  # sps id
    w.ue(1)  # 4:2:0
    w.ue(1920).ue(1088)
    w.u(1, 1).ue(0).ue(0).ue(0).ue(4)  # conformance window bottom 4*2 = 8
    w.ue(0).ue(0)  # 8-bit
    w.ue(4)  # log2_max_poc_lsb = 8
    w.u(1, 1)
    for _ in range(3):
        w.ue(4).ue(2).ue(0)
    w.ue(0).ue(3).ue(0).ue(3).ue(1).ue(1)
    w.u(1, 1).u(1, 1)  # scaling_list_enabled + data present
    for size_id in range(4):
        for matrix_id in range(0, 6, 3 if size_id == 3 else 1):
            if (size_id + matrix_id) % 2 == 0:
                w.u(1, 0).ue(0)
            else:
                w.u(1, 1)
                if size_id > 1:
                    w.se(-4)
                for _ in range(min(64, 1 << (4 + (size_id << 1)))):
                    w.se(1)
    w.u(1, 1).u(1, 1)  # amp, sao
    w.u(1, 1).u(4, 7).u(4, 7).ue(0).ue(1).u(1, 0)  # pcm
    w.ue(3)  # num_short_term_ref_pic_sets
    w.ue(2).ue(1)  # set 0: 2 negative, 1 positive
    w.ue(0).u(1, 1).ue(1).u(1, 1).ue(0).u(1, 0)
    w.u(1, 1).u(1, 0).ue(0)  # set 1: inter predicted from set 0 -> 4 entries
    w.u(1, 1).u(1, 0).u(1, 0).u(1, 1).u(1, 1)  # used,(unused->use_delta 0),(unused->use_delta 1),used
    w.u(1, 1).u(1, 1).ue(1)  # set 2: inter predicted from set 1 (3 pocs -> 4 entries)
    w.u(1, 1).u(1, 1).u(1, 1).u(1, 0).u(1, 0)
    w.u(1, 1).ue(1).u(8, 17).u(1, 1)  # long-term: one entry (8 lsb bits + flag)
    w.u(1, 1).u(1, 1)  # temporal mvp, strong intra smoothing
    w.u(1, 1)  # vui
    w.u(1, 1).u(8, 1)  # SAR 1:1
    w.u(1, 0)
    w.u(1, 1).u(3, 5).u(1, 0).u(1, 1).u(8, 9).u(8, 16).u(8, 9)  # BT.2020 PQ
    w.u(1, 1).ue(2).ue(2)  # chroma loc
    w.u(3, 0)
    w.u(1, 1).ue(0).ue(0).ue(0).ue(0)  # default display window
    w.u(1, 1).u(32, 1).u(32, 50)  # timing: 50 fps (emulation prevention needed)
    w.u(1, 0).u(1, 0)
    w.u(1, 0)  # bitstream restriction
    w.u(1, 0)  # sps_extension
    return add_emulation_prevention(w.trailing().bytes())


def test_crafted_hevc_sps():
    raw = crafted_hevc_sps()
    assert b"\x00\x00\x03" in raw
    sps = parse_hevc_sps(raw)
    assert sps.error is None, sps.error
    assert sps.max_sub_layers == 3
    assert sps.sub_layer_profile_present == (True, False)
    assert sps.sub_layer_level_idc == (120, 90)
    assert sps.general_tier_flag == 1 and sps.general_level_idc == 153 and sps.level == "5.1"
    assert sps.profile_name == "Main"
    assert (sps.width, sps.height) == (1920, 1080)
    assert sps.num_short_term_ref_pic_sets == 3 and sps.long_term_ref_pics_present
    assert sps.colour_primaries == 9 and sps.transfer_characteristics == 16
    assert sps.frame_rate == 50.0
    assert sps.summary() == "Main@5.1 High tier 1920x1080"


def test_crafted_hevc_sps_truncated_keeps_prefix():
    raw = crafted_hevc_sps()
    sps = parse_hevc_sps(raw[:45])
    assert sps.error and sps.width == 1920 and sps.frame_rate is None


# --------------------------------------------------------------------------
# AV1 / VP9 / VP8 / VVC


@needs_fixtures
@pytest.mark.parametrize("name", ["av1_aom_640x360.mp4", "av1_svt10_426x240.mp4"])
def test_av1_sequence_start_matches_ffprobe(name):
    p = probe(name)
    av1c = mp4_box(DATA / name, b"av1C")
    v = parse_video(ex_video(1, 0, b"av01", av1c))
    assert v.error is None, v.error
    cfg = v.config
    assert cfg.profile_name == p["profile"]
    assert cfg.seq_level_idx_0 == p["level"]
    assert cfg.bit_depth == PIX_FMT[p["pix_fmt"]][1]
    assert cfg.chroma == "4:2:0" and not cfg.monochrome
    assert cfg.obu_types == (1,)
    assert (v.width, v.height) == (p["width"], p["height"])
    assert codec_name(v) == "AV1" and is_sequence_header(v)
    assert v.summary().startswith("AV1 (av01) keyframe SequenceStart Main@")
    # legacy CodecID 13 carries the same record
    legacy = parse_video(b"\x1d\x00\x00\x00\x00" + av1c)
    assert legacy.error is None and (legacy.width, legacy.height) == (p["width"], p["height"])
    # configOBUs are optional: the 4-byte record alone is valid
    assert_truncations_flagged(ex_video(1, 0, b"av01", av1c), parse_video, valid_prefixes={9})


def test_av1_coded_frames_obus():
    obus = b"\x12\x00" + b"\x32\x03\x10\x00\x00"  # temporal delimiter + frame OBU
    v = parse_video(ex_video(1, 1, b"av01", obus))
    assert v.error is None and v.units == (2, 6)
    assert v.composition_time is None  # no SI24 for av01
    assert is_keyframe(v)
    bad = parse_video(ex_video(1, 1, b"av01", b"\x32\x09\x00"))
    assert bad.error and "OBU" in bad.error


@needs_fixtures
def test_vp9_sequence_start():
    rec = mp4_box(DATA / "vp9_640x360.mp4", b"vpcC")  # FullBox: version/flags + record
    for payload, fullbox in ((rec, True), (rec[4:], False)):
        v = parse_video(ex_video(1, 0, b"vp09", payload))
        assert v.error is None
        cfg = v.config
        assert cfg.has_fullbox_header is fullbox
        assert cfg.profile == 0 and cfg.bit_depth == 8 and cfg.chroma.startswith("4:2:0")
        assert codec_name(v) == "VP9"
        assert "profile 0" in v.summary()
    assert_truncations_flagged(ex_video(1, 0, b"vp09", rec[4:]), parse_video)


def test_vp8_and_vp_record_fields():
    rec = bytes([1, 10, (10 << 4) | (2 << 1) | 1, 9, 16, 9, 0, 0])
    v = parse_video(ex_video(1, 0, b"vp08", rec))
    assert v.error is None and codec_name(v) == "VP8"
    cfg = v.config
    assert (cfg.profile, cfg.level_name, cfg.bit_depth, cfg.chroma, cfg.video_full_range) == \
        (1, "1.0", 10, "4:2:2", True)
    assert cfg.transfer_characteristics == 16
    assert parse_vp_config(rec[:7]).error
    assert parse_vp_config(rec[:6] + b"\x00\x05").error  # init data missing
    coded = parse_video(ex_video(2, 1, b"vp08", b"\x9d\x01\x2a"))
    assert coded.error is None and coded.composition_time is None and not is_keyframe(coded)


def test_vvc_passthrough():
    v = parse_video(ex_video(1, 0, b"vvc1", b"\xff\x00\x01"))
    assert v.error is None and v.config is None and v.config_length == 3 and codec_name(v) == "VVC"
    v = parse_video(ex_video(1, 1, b"vvc1", b"\x00\x00\x10" + nalu(b"\x00\x41\x00")))
    assert v.error is None and v.composition_time == 16 and v.units == (8,)


# --------------------------------------------------------------------------
# Enhanced RTMP video: packet types, ModEx, multitrack


@pytest.mark.parametrize("fourcc,name", [(b"avc1", "H.264"), (b"hvc1", "HEVC")])
def test_enhanced_coded_frames_with_cts(fourcc, name):
    nal = b"\x65\x88" if fourcc == b"avc1" else b"\x26\x01\xaf"
    v = parse_video(ex_video(1, 1, fourcc, b"\xff\xff\xec" + nalu(nal)))
    assert v.error is None
    assert v.composition_time == -20
    assert v.units == ((5,) if fourcc == b"avc1" else (19,))
    assert v.packet_type_name == "CodedFrames"
    assert v.summary() == f"{name} ({fourcc.decode()}) keyframe CodedFrames cts=-20"
    x = parse_video(ex_video(2, 3, fourcc, nalu(nal)))
    assert x.error is None and x.composition_time == 0 and x.frame_type_name == "inter"
    assert x.summary() == f"{name} ({fourcc.decode()}) inter CodedFramesX"
    assert not is_keyframe(x)


def test_enhanced_hevc_codedframesx_summary():
    v = parse_video(ex_video(1, 3, b"hvc1", nalu(b"\x26\x01\xaf")))
    assert v.summary() == "HEVC (hvc1) keyframe CodedFramesX"
    assert is_keyframe(v)


def test_enhanced_sequence_end_metadata_mpeg2ts():
    v = parse_video(ex_video(1, 2, b"av01"))
    assert v.error is None and v.packet_type_name == "SequenceEnd" and not is_sequence_header(v)
    amf = b"\x02\x00\x09colorInfo\x03\x00\x00\x09"
    m = parse_video(ex_video(0, 4, b"hvc1", amf))
    assert m.error is None and m.metadata_length == len(amf)
    assert m.summary() == f"HEVC (hvc1) Metadata {len(amf)} bytes"
    # frame type 5 is ignored for Metadata (no command byte)
    m5 = parse_video(ex_video(5, 4, b"hvc1", amf))
    assert m5.command is None and m5.metadata_length == len(amf)
    ts = parse_video(ex_video(1, 5, b"av01", b"\x80\x04\x01\x02"))
    assert ts.error is None and ts.packet_type_name == "MPEG2TSSequenceStart" and ts.config_length == 4
    assert is_sequence_header(ts)


def test_enhanced_command_frame():
    v = parse_video(bytes([0x80 | 0x50 | 1, 0x01]))
    assert v.enhanced and v.command == 1 and v.fourcc is None
    assert not is_keyframe(v)


def test_enhanced_unknown_packet_type_and_fourcc():
    v = parse_video(ex_video(1, 9, b"avc1"))
    assert v.error and "VideoPacketType 9" in v.error
    v = parse_video(ex_video(1, 1, b"xyz1", b"\x01\x02"))
    assert v.error is None and codec_name(v) == "unknown (xyz1)"


def test_modex_timestamp_offset_nano():
    # ModEx: size-1 = 2 -> 3 bytes of data, then type 0 (TimestampOffsetNano) | packet type 1
    body = bytes([0x80 | 0x10 | 7, 0x02, 0x07, 0xA1, 0x20, 0x01]) + b"avc1" + b"\x00\x00\x21" + nalu(b"\x65\x00")
    v = parse_video(body)
    assert v.error is None
    assert v.timestamp_offset_nano == 500000
    assert v.modex[0].type_name == "TimestampOffsetNano" and v.modex[0].data == b"\x07\xa1\x20"
    assert v.packet_type == 1 and v.composition_time == 33 and v.units == (5,)
    assert "+TimestampOffsetNano=500000ns" in v.summary()
    assert v.to_json()["modex"][0]["data"] == "07a120"
    assert_truncations_flagged(body, parse_video)


def test_modex_16bit_size_and_chained():
    data = bytes(300)
    body = (bytes([0x80 | 0x10 | 7, 0xFF]) + struct.pack(">H", 299) + data + bytes([0x17])  # type 1, ModEx again
            + bytes([0x02, 0x00, 0x00, 0x05, 0x03]) + b"hvc1" + nalu(b"\x26\x01"))
    v = parse_video(body)
    assert v.error is None, v.error
    assert len(v.modex) == 2 and len(v.modex[0].data) == 300 and v.modex[0].type == 1
    assert v.timestamp_offset_nano == 5
    assert v.packet_type == 3


def test_multitrack_one_track():
    body = bytes([0x80 | 0x10 | 6, 0x00 | 3]) + b"avc1" + bytes([7]) + nalu(b"\x65\x00")
    v = parse_video(body)
    assert v.error is None
    assert v.multitrack_type_name == "OneTrack" and v.packet_type == 3
    assert len(v.tracks) == 1 and v.tracks[0].track_id == 7 and v.tracks[0].units == (5,)
    assert v.fourcc == "avc1" and is_keyframe(v)


def test_multitrack_many_tracks_same_codec():
    t0 = b"\x00\x00\x00" + nalu(b"\x65\x01")
    t1 = b"\x00\x00\x14" + nalu(b"\x65\x02\x03")
    body = (bytes([0x80 | 0x10 | 6, 0x10 | 1]) + b"avc1"
            + bytes([0]) + len(t0).to_bytes(3, "big") + t0
            + bytes([1]) + len(t1).to_bytes(3, "big") + t1)
    v = parse_video(body)
    assert v.error is None, v.error
    assert v.multitrack_type_name == "ManyTracks"
    assert [t.track_id for t in v.tracks] == [0, 1]
    assert [t.composition_time for t in v.tracks] == [0, 20]
    assert "multitrack ManyTracks tracks=[0,1]" in v.summary()
    end0 = 1 + 1 + 4 + 1 + 3 + len(t0)
    assert_truncations_flagged(body, parse_video, valid_prefixes={end0})


@needs_fixtures
def test_multitrack_many_codecs_sequence_start():
    hvcc = mp4_box(DATA / "hevc_main_1080p.mp4", b"hvcC")
    avc = first_tag(DATA / "avc_baseline_320x240.flv", 9)[5:]
    body = (bytes([0x80 | 0x10 | 6, 0x20 | 0])
            + b"hvc1" + bytes([0]) + len(hvcc).to_bytes(3, "big") + hvcc
            + b"avc1" + bytes([1]) + len(avc).to_bytes(3, "big") + avc)
    v = parse_video(body)
    assert v.error is None, v.error
    assert v.multitrack_type_name == "ManyTracksManyCodecs"
    assert [(t.fourcc, t.track_id, t.width, t.height) for t in v.tracks] == \
        [("hvc1", 0, 1920, 1080), ("avc1", 1, 320, 240)]
    assert codec_name(v) == "HEVC/H.264"
    assert v.fourcc == "hvc1" and (v.width, v.height) == (1920, 1080)
    assert is_sequence_header(v)
    json.dumps(v.to_json())
    v = parse_video(body[:-3])
    assert v.error and len(v.tracks) == 2 and v.tracks[1].error and v.tracks[0].error is None


def test_multitrack_invalid_nesting_and_type():
    assert "inside multitrack" in parse_video(bytes([0x96, 0x06]) + b"avc1").error
    assert "AvMultitrackType" in parse_video(bytes([0x96, 0x31]) + b"avc1").error


# --------------------------------------------------------------------------
# Enhanced RTMP audio


def ex_audio(packet_type: int, fourcc: bytes, payload: bytes = b"") -> bytes:
    return bytes([0x90 | packet_type]) + fourcc + payload


@pytest.mark.parametrize("fourcc,name", [(b"mp4a", "AAC"), (b"Opus", "Opus"), (b"fLaC", "FLAC"),
                                         (b"ac-3", "AC-3"), (b"ec-3", "E-AC-3"), (b".mp3", "MP3")])
def test_enhanced_audio_coded_frames(fourcc, name):
    a = parse_audio(ex_audio(1, fourcc, b"\x0b\x77\x01\x02"))
    assert a.error is None
    assert a.enhanced and a.sound_format == 9 and a.fourcc == fourcc.decode()
    assert codec_name(a) == name
    assert a.packet_type_name == "CodedFrames" and a.payload_offset == 5 and a.payload_length == 4
    assert a.summary() == f"{name} coded frames"
    assert not is_sequence_header(a)
    e = parse_audio(ex_audio(2, fourcc))
    assert e.error is None and e.summary() == f"{name} sequence end"


def test_enhanced_aac_sequence_start():
    a = parse_audio(ex_audio(0, b"mp4a", b"\x12\x10"))
    assert a.error is None and is_sequence_header(a)
    assert a.summary() == "AAC sequence start LC 44100 Hz 2 ch"
    assert_truncations_flagged(ex_audio(0, b"mp4a", b"\x12\x10"), parse_audio)


@needs_fixtures
def test_enhanced_opus_sequence_start():
    ogg = (DATA / "opus_48000_stereo.ogg").read_bytes()
    i = ogg.find(b"OpusHead")
    head = ogg[i:i + 19]
    p = probe("opus_48000_stereo.ogg")
    a = parse_audio(ex_audio(0, b"Opus", head))
    assert a.error is None
    assert a.config.channels == p["channels"] and a.config.input_sample_rate == int(p["sample_rate"])
    assert a.config.layout == "OpusHead" and a.config.mapping_family == 0
    assert a.summary() == "Opus sequence start 48000 Hz 2 ch"
    # an empty Opus SequenceStart is allowed (defaults / MultichannelConfig)
    empty = parse_audio(ex_audio(0, b"Opus"))
    assert empty.error is None and empty.config is None and empty.summary() == "Opus sequence start"
    assert_truncations_flagged(ex_audio(0, b"Opus", head), parse_audio, valid_prefixes={5})


def test_opus_family1_and_dops():
    head = b"OpusHead" + bytes([1, 6]) + struct.pack("<HIhB", 312, 48000, 0, 1) + bytes([4, 2, 0, 4, 1, 2, 3, 5])
    a = parse_audio(ex_audio(0, b"Opus", head))
    assert a.error is None and a.config.stream_count == 4 and a.config.channel_mapping == (0, 4, 1, 2, 3, 5)
    assert parse_audio(ex_audio(0, b"Opus", head[:-1])).error
    dops = bytes([0, 2]) + struct.pack(">HIhB", 312, 44100, 0, 0)
    a = parse_audio(ex_audio(0, b"Opus", dops))
    assert a.error is None and a.config.layout == "dOps" and a.config.input_sample_rate == 44100
    assert "OpusHead" in parse_audio(ex_audio(0, b"Opus", b"\x01nonsense")).error


@needs_fixtures
def test_enhanced_flac_sequence_start():
    head = (DATA / "flac_44100_mono_header.bin").read_bytes()
    a = parse_audio(ex_audio(0, b"fLaC", head))
    assert a.error is None
    assert (a.config.sample_rate, a.config.channels, a.config.bits_per_sample) == (44100, 1, 16)
    assert a.summary() == "FLAC sequence start 44100 Hz 1 ch 16-bit"
    # bare STREAMINFO (no signature / block header) is accepted as well
    assert parse_audio(ex_audio(0, b"fLaC", head[8:])).config.sample_rate == 44100
    assert_truncations_flagged(ex_audio(0, b"fLaC", head), parse_audio)


def test_multichannel_config():
    custom = parse_audio(ex_audio(4, b"Opus", bytes([2, 3, 0, 1, 3])))
    assert custom.error is None
    mc = custom.multichannel
    assert (mc.channel_order_name, mc.channel_count, mc.channel_mapping) == ("Custom", 3, (0, 1, 3))
    assert custom.summary() == "Opus multichannel config 3 ch Custom"
    native = parse_audio(ex_audio(4, b"mp4a", bytes([1, 6]) + struct.pack(">I", 0x3F)))
    assert native.multichannel.channel_flags == 0x3F and native.multichannel.channel_order_name == "Native"
    unspec = parse_audio(ex_audio(4, b"ac-3", bytes([0, 2])))
    assert unspec.error is None and unspec.multichannel.channel_count == 2
    assert_truncations_flagged(ex_audio(4, b"Opus", bytes([2, 3, 0, 1, 3])), parse_audio)
    short = parse_audio(ex_audio(4, b"Opus", bytes([2, 3, 0])))
    assert short.error and short.multichannel.channel_count == 3


def test_enhanced_audio_modex_and_multitrack():
    body = bytes([0x97, 0x02, 0x00, 0x01, 0x00, 0x01]) + b"Opus" + b"\xfc\xff\xfe"
    a = parse_audio(body)
    assert a.error is None and a.timestamp_offset_nano == 256 and a.packet_type == 1
    assert_truncations_flagged(body[:10], parse_audio)  # the coded payload itself is opaque
    t0 = b"\x12\x10"
    t1 = b"\x11\x90"
    body = (bytes([0x95, 0x10 | 0]) + b"mp4a"
            + bytes([0]) + len(t0).to_bytes(3, "big") + t0
            + bytes([1]) + len(t1).to_bytes(3, "big") + t1)
    a = parse_audio(body)
    assert a.error is None
    assert [t.config.sampling_frequency for t in a.tracks] == [44100, 48000]
    assert a.config.sampling_frequency == 44100 and is_sequence_header(a)
    assert "multitrack ManyTracks tracks=[0,1]" in a.summary()
    body = (bytes([0x95, 0x20 | 1]) + b"Opus" + bytes([0, 0, 0, 2]) + b"\xfc\x00"
            + b".mp3" + bytes([1, 0, 0, 3]) + b"\xff\xfb\x90")
    a = parse_audio(body)
    assert a.error is None and [t.fourcc for t in a.tracks] == ["Opus", ".mp3"]
    assert codec_name(a) == "Opus/MP3"
    one = parse_audio(bytes([0x95, 0x01]) + b"ac-3" + bytes([4]) + b"\x0b\x77")
    assert one.error is None and one.tracks[0].track_id == 4 and one.payload_length == 2


def test_enhanced_audio_errors():
    assert "AudioPacketType 3" in parse_audio(ex_audio(3, b"mp4a")).error
    assert "inside multitrack" in parse_audio(bytes([0x95, 0x05]) + b"mp4a").error
    a = parse_audio(b"\x90mp4")
    assert a.error and "FourCC" in a.error and a.error_offset == 1


# --------------------------------------------------------------------------
# legacy audio / video fixtures from ffmpeg

AUDIO_FIXTURES = {
    "aac_lc_44100_stereo.flv": 10, "mp3_44100_stereo.flv": 2, "speex_16000.flv": 11,
    "nellymoser_8000.flv": 5, "nellymoser_16000.flv": 4, "nellymoser_22050.flv": 6,
    "adpcm_22050.flv": 1, "alaw_8000.flv": 7, "mulaw_8000.flv": 8,
    "pcm_s16le_11025.flv": 3, "pcm_u8_5512.flv": 0,
}


@needs_fixtures
@pytest.mark.parametrize("name", sorted(AUDIO_FIXTURES))
def test_legacy_audio_fixtures(name):
    p = probe(name)
    bodies = [b for t, _, b in flv_tags(DATA / name) if t == 8]
    infos = [parse_audio(b) for b in bodies]
    assert all(i.error is None for i in infos)
    assert {i.sound_format for i in infos} == {AUDIO_FIXTURES[name]}
    first = infos[0]
    if name.startswith("aac"):
        assert is_sequence_header(first) and not is_sequence_header(infos[1])
        assert first.config.sampling_frequency == int(p["sample_rate"])
        assert first.config.channels == p["channels"]
        assert first.config.profile == p["profile"]
        assert infos[1].summary() == "AAC raw"
    elif first.sound_format in (0, 1, 2, 3):
        assert first.sample_rate == int(p["sample_rate"])
        assert first.channels == p["channels"]
    else:
        assert first.channels == p["channels"]


@needs_fixtures
@pytest.mark.parametrize("name,codec_id", [("h263_160x120.flv", 2), ("screen_64x48.flv", 3),
                                           ("screen2_64x48.flv", 6)])
def test_legacy_video_fixtures(name, codec_id):
    p = probe(name)
    v = parse_video(first_tag(DATA / name, 9))
    assert v.error is None
    assert v.codec_id == codec_id and v.frame_type == 1 and is_keyframe(v)
    assert (v.width, v.height) == (p["width"], p["height"])


def test_h263_custom_sizes():
    # start code 17 bits, version 5, temporal ref 8, size 0 -> 8-bit w/h
    pic = BitWriter().u(17, 1).u(5, 0).u(8, 0).u(3, 0).u(8, 200).u(8, 100).pad().bytes()
    v = parse_video(b"\x12" + pic)
    assert (v.width, v.height) == (200, 100)
    pic = BitWriter().u(17, 1).u(5, 0).u(8, 0).u(3, 1).u(16, 1000).u(16, 700).pad().bytes()
    v = parse_video(b"\x22" + pic)
    assert (v.width, v.height) == (1000, 700)


# --------------------------------------------------------------------------
# robustness


def _valid_bodies() -> list[tuple[str, bytes]]:
    bodies = [
        ("audio", b"\xaf\x00\x12\x10"), ("audio", b"\xaf\x01\x21"),
        ("audio", ex_audio(4, b"Opus", bytes([2, 3, 0, 1, 3]))),
        ("video", b"\x17\x00\x00\x00\x00" + avcc(crafted_avc_sps())),
        ("video", b"\x27\x01\xff\xff\xd8" + nalu(b"\x41\x9a")),
        ("video", ex_video(1, 1, b"hvc1", b"\x00\x00\x01" + nalu(b"\x26\x01"))),
        ("video", ex_video(1, 0, b"vp09", bytes([0, 10, 0x82, 1, 1, 1, 0, 0]))),
    ]
    if EXPECTED:
        bodies += [
            ("video", ex_video(1, 0, b"hvc1", mp4_box(DATA / "hevc_main10_640x360.mp4", b"hvcC"))),
            ("video", ex_video(1, 0, b"av01", mp4_box(DATA / "av1_aom_640x360.mp4", b"av1C"))),
            ("video", first_tag(DATA / "avc_high_640x360.flv", 9)),
        ]
    return bodies


def test_random_bytes_never_raise():
    rng = random.Random(1234)
    for _ in range(3000):
        body = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 40)))
        for parse in (parse_audio, parse_video):
            info = parse(body)
            assert info.error is None or not info.error.startswith("internal"), (body.hex(), info.error)
            info.summary()
            json.dumps(info.to_json())


def test_mutated_valid_bodies_never_raise():
    rng = random.Random(99)
    for kind, body in _valid_bodies():
        parse = parse_audio if kind == "audio" else parse_video
        assert parse(body).error is None
        for _ in range(300):
            b = bytearray(body)
            for _ in range(rng.randrange(1, 4)):
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            info = parse(bytes(b))
            assert info.error is None or not info.error.startswith("internal"), (bytes(b).hex(), info.error)
            info.summary()
            json.dumps(info.to_json())


def test_results_are_frozen():
    v = parse_video(b"\x17\x02\x00\x00\x00")
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
        v.frame_type = 2  # type: ignore[misc]
    assert isinstance(v, VideoInfo) and isinstance(parse_audio(b"\x2f"), AudioInfo)
    assert not hasattr(v, "__dict__")


def test_helpers_on_foreign_objects():
    assert codec_name(object()) is None  # type: ignore[arg-type]
    assert not is_keyframe(object())  # type: ignore[arg-type]
    assert not is_sequence_header(object())  # type: ignore[arg-type]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([1, 2, 3, 4]))
def test_media_parsers_never_raise_on_random_bodies(body, nal_length_size):
    from rtmp_inspect.analysis.summary import summarize
    from rtmp_inspect.export.message_json import dumps

    audio = parse_audio(body)
    video = parse_video(body, nal_length_size=nal_length_size)
    for type_id, info in ((8, audio), (9, video)):
        assert isinstance(summarize(type_id, info), str)
        dumps(info.to_json())  # JSON-able whatever the bytes


# libx264 High 640x360: an AVC sequence header as ffmpeg sends it.
REAL_AVC_SEQUENCE_HEADER = bytes.fromhex("17000000000164001effe1001a6764001eacd940a02ff97011000003000100000300320f"
                                         "162d9601000668ebe04d2c8bfdf8f800")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(REAL_AVC_SEQUENCE_HEADER) - 1), st.integers(0, 7)),
                min_size=1, max_size=4),
       st.integers(0, len(REAL_AVC_SEQUENCE_HEADER)))
def test_bit_flips_and_truncation_of_a_real_sequence_header_never_raise(flips, keep):
    from rtmp_inspect.export.message_json import dumps

    body = bytearray(REAL_AVC_SEQUENCE_HEADER)
    for pos, bit in flips:
        body[pos] ^= 1 << bit
    for candidate in (bytes(body), bytes(body[:keep])):
        info = parse_video(candidate)
        assert info.error is None or isinstance(info.error, str)
        dumps(info.to_json())


def test_the_real_sequence_header_itself_decodes():
    info = parse_video(REAL_AVC_SEQUENCE_HEADER)
    assert info.error is None and (info.width, info.height) == (640, 360)


# --------------------------------------------------------------------------
# VP8 / VP9: the picture size is in each keyframe's header


def test_vp9_keyframe_gives_the_picture_size():
    """libvpx-vp9 output (tests/data/media): the keyframe's uncompressed header says 640x360, as ffprobe."""
    frame = mp4_box(DATA / "vp9_640x360.mp4", b"mdat")
    v = parse_video(ex_video(1, 3, b"vp09", frame))
    assert v.error is None and codec_name(v) == "VP9"
    assert (v.width, v.height) == (probe("vp9_640x360.mp4")["width"], probe("vp9_640x360.mp4")["height"])
    inter = parse_video(ex_video(2, 3, b"vp09", b"\x86\x00\x40" + bytes(20)))  # an inter frame: no size
    assert inter.width is None


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg (apt-get install ffmpeg) makes the VP8 frame")
def test_vp8_keyframe_gives_the_picture_size(tmp_path):
    out = tmp_path / "vp8.ivf"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=352x288:rate=25", "-frames:v", "2",
                    "-c:v", "libvpx", "-f", "ivf", str(out)], check=True, timeout=60)
    data = out.read_bytes()  # IVF: a 32-byte file header, then per frame its size (4), pts (8) and the frame
    size = int.from_bytes(data[32:36], "little")
    v = parse_video(ex_video(1, 3, b"vp08", data[44:44 + size]))
    assert v.error is None and codec_name(v) == "VP8" and (v.width, v.height) == (352, 288)


# --------------------------------------------------------------------------
# MP3: the rate and channels of the frame header


def test_mp3_rate_and_channels_from_the_frame_header():
    """ffmpeg's MP3 in FLV (tests/data/media): the frame header agrees with ffprobe."""
    body = first_tag(DATA / "mp3_44100_stereo.flv", 8)
    a = parse_audio(body)
    expected = probe("mp3_44100_stereo.flv")
    assert a.error is None and (a.sample_rate, a.channels) == (int(expected["sample_rate"]), expected["channels"])


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg (apt-get install ffmpeg) makes the MP3 frames")
def test_mp3_at_48_khz_mono_is_not_taken_for_what_the_tag_header_says(tmp_path):
    """The legacy tag header can only say 5.5/11/22/44 kHz; encoders write 44 for 48 kHz MP3."""
    out = tmp_path / "a.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                    "-t", "0.2", "-ac", "1", "-c:a", "libmp3lame", "-write_xing", "0", "-id3v2_version", "0",
                    "-f", "mp3", str(out)], check=True, timeout=60)
    frame = out.read_bytes()
    a = parse_audio(bytes([0x2E]) + frame)  # MP3, "44 kHz", 16-bit, mono
    assert a.error is None and (a.sample_rate, a.channels) == (48000, 1)


# AC-3 / E-AC-3 over Enhanced RTMP: no configuration record, the sync frame header has rate and channels

@pytest.mark.parametrize("name, fourcc, rate, channels", [
    ("ac3_48000_5.1.ac3", b"ac-3", 48000, 6), ("eac3_44100_stereo.eac3", b"ec-3", 44100, 2),
    ("ac3_32000_mono.ac3", b"ac-3", 32000, 1),
])
def test_ac3_and_eac3_rate_and_channels_come_from_the_sync_frame(name: str, fourcc: bytes, rate: int,
                                                                  channels: int):
    frames = (MEDIA / name).read_bytes()  # ffmpeg's ac3 / eac3 encoders (tests/data/make_media_fixtures.sh)
    info = parse_audio(bytes([0x90 | 1]) + fourcc + frames[:1536])  # ExAudioTagHeader, CodedFrames
    assert info.error is None and (info.sample_rate, info.channels) == (rate, channels)
    assert ac3_frame_format(frames[:8]) == (rate, channels)
    assert ac3_frame_format(frames[:7]) is None  # too short
    assert ac3_frame_format(b"\x0b\x78" + frames[2:8]) is None  # no sync word


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed (.ci/run installs ffmpeg)")
@pytest.mark.parametrize("name", ["ac3_48000_5.1.ac3", "eac3_44100_stereo.eac3", "ac3_32000_mono.ac3"])
def test_ac3_sync_frames_agree_with_ffprobe(name: str):
    frames = (MEDIA / name).read_bytes()
    probed = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=sample_rate,channels", "-of",
                             "csv=p=0", str(MEDIA / name)], capture_output=True, text=True, check=True)
    rate, channels = ac3_frame_format(frames[:8])
    assert probed.stdout.strip() == f"{rate},{channels}"


def test_an_ac3_publish_has_its_rate_and_channels_in_the_statistics_and_the_verdict():
    from tests.test_expert import publishing

    frame = (MEDIA / "ac3_48000_5.1.ac3").read_bytes()[:1536]  # (the first sync frame and a little more)
    conv = publishing()
    for i in range(40):
        conv.send("c2s", 8, bytes([0x90 | 1]) + b"ac-3" + frame, 1, i * 32, dt=0.0)
    conv.finish()
    [stream] = conv.session.to_json_summary()["media_streams"]
    audio = stream["audio"]
    assert (audio["codec"], audio["sample_rate"], audio["channels"]) == ("AC-3", 48000, 6)
    assert "AC-3 48 kHz" in conv.verdict()
