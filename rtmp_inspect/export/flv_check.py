"""What a written FLV file lacks for a player: the decoder configuration (sequence header) its codecs need
before their first coded frame, and a video keyframe. Read back from the file (tag headers and the first bytes
of each tag only), so that one and several worker processes say the same.

A capture that starts mid-session gives files like that: the sequence headers were sent before the capture
began, and ffprobe and players reject the file.
"""

from __future__ import annotations

from typing import BinaryIO

_TAG_HEADER = 11
_AUDIO, _VIDEO = 8, 9
_CONFIGURED_VIDEO_IDS = {7: "H.264", 12: "HEVC", 13: "AV1"}  # legacy CodecIDs (12, 13: the common extensions)
_CONFIGURED_FOURCCS = {b"avc1": "H.264", b"hvc1": "HEVC", b"av01": "AV1", b"vp09": "VP9", b"vvc1": "VVC"}
_CONFIGURED_AUDIO_FOURCCS = {b"mp4a": "AAC", b"Opus": "Opus", b"fLaC": "FLAC"}


_VIDEO_MULTITRACK, _AUDIO_MULTITRACK = 6, 5  # E-RTMP v2 packet types
_MANY_CODECS = 2  # AvMultitrackType ManyTracksManyCodecs: a FourCC per track


def _video(head: bytes) -> tuple[str | None, bool, bool]:
    """(codec needing a configuration or None, is it the configuration, is it a keyframe)."""
    if not head:
        return None, False, False
    b0 = head[0]
    if b0 & 0x80:  # E-RTMP ExVideoTagHeader: frame type, packet type, then the FourCC (not for ModEx)
        packet_type = b0 & 0x0F
        fourcc = head[1:5]
        if packet_type == _VIDEO_MULTITRACK and len(head) > 1:  # the inner packet type, then the (first) FourCC
            packet_type, fourcc = head[1] & 0x0F, head[2:6]
        codec = _CONFIGURED_FOURCCS.get(fourcc)
        return codec, packet_type == 0, (b0 >> 4) & 0x07 == 1 and packet_type in (1, 3)
    codec = _CONFIGURED_VIDEO_IDS.get(b0 & 0x0F)
    is_config = codec is not None and len(head) > 1 and head[1] == 0
    return codec, is_config, b0 >> 4 == 1 and not is_config


def _audio(head: bytes) -> tuple[str | None, bool]:
    if not head:
        return None, False
    sound_format = head[0] >> 4
    if sound_format == 10:
        return "AAC", len(head) > 1 and head[1] == 0
    if sound_format == 9:  # E-RTMP ExAudioTagHeader: packet type, then the FourCC
        packet_type, fourcc = head[0] & 0x0F, head[1:5]
        if packet_type == _AUDIO_MULTITRACK and len(head) > 1:
            packet_type, fourcc = head[1] & 0x0F, head[2:6]
        return _CONFIGURED_AUDIO_FOURCCS.get(fourcc), packet_type == 0
    return None, False


def _is_multitrack(kind: int, head: bytes) -> bool:
    if kind == _VIDEO:
        return len(head) > 1 and head[0] & 0x80 != 0 and head[0] & 0x0F == _VIDEO_MULTITRACK
    return len(head) > 1 and head[0] >> 4 == 9 and head[0] & 0x0F == _AUDIO_MULTITRACK


def _track_ids(body: bytes) -> list[int]:
    """The track ids of a multitrack tag body (E-RTMP v2: OneTrack, ManyTracks, ManyTracksManyCodecs)."""
    multitrack_type = body[1] >> 4
    pos = 2 if multitrack_type == _MANY_CODECS else 6
    ids: list[int] = []
    while pos < len(body):
        if multitrack_type == _MANY_CODECS:
            pos += 4
        if pos >= len(body):
            break
        ids.append(body[pos])
        if multitrack_type == 0:  # OneTrack: no size, the rest is the track
            break
        pos += 4 + int.from_bytes(body[pos + 1:pos + 4], "big")
    return ids


def check_flv(path: str) -> tuple[list[str], list[str]]:
    """(what the file lacks, notes worth knowing about it), in words."""
    with open(path, "rb") as handle:
        return _scan(handle)


def _scan(handle: BinaryIO) -> tuple[list[str], list[str]]:
    header = handle.read(9)
    if len(header) < 9 or header[:3] != b"FLV":
        return ["not an FLV file"], []
    handle.seek(int.from_bytes(header[5:9], "big") + 4)
    state: dict[str, tuple[str, bool] | None] = {"video": None, "audio": None}  # (codec, configured first)
    video_frames = keyframes = 0
    tracks: dict[str, set[int]] = {"video": set(), "audio": set()}  # E-RTMP multitrack track ids seen
    while True:
        tag = handle.read(_TAG_HEADER)
        if len(tag) < _TAG_HEADER:
            break
        kind, size = tag[0] & 0x1F, int.from_bytes(tag[1:4], "big")
        head = handle.read(min(size, 6))
        if kind in (_AUDIO, _VIDEO) and _is_multitrack(kind, head):
            body = head + handle.read(size - len(head))
            tracks["video" if kind == _VIDEO else "audio"].update(_track_ids(body))
            handle.seek(4, 1)
        else:
            handle.seek(size - len(head) + 4, 1)  # the rest of the body and PreviousTagSize
        if kind == _VIDEO:
            codec, is_config, key = _video(head)
            if not is_config:
                video_frames += 1
                keyframes += key
        elif kind == _AUDIO:
            codec, is_config = _audio(head)
        else:
            continue
        name = "video" if kind == _VIDEO else "audio"
        if codec is not None and state[name] is None:
            state[name] = (codec, is_config)  # the first tag decides: configuration first, or a frame first
    out = []
    for name, found in state.items():
        if found is not None and not found[1]:
            out.append(f"no {found[0]} sequence header before its first {name} frame: players cannot decode the "
                       f"{name}")
    if video_frames and not keyframes:
        out.append(f"no video keyframe in {video_frames} video frames: no player can show a picture")
    notes = [f"E-RTMP multitrack {name} (tracks {', '.join(map(str, sorted(ids)))}) kept in one file as sent: one "
             "file per track would rewrite the tag bodies the peer received; players without E-RTMP v2 multitrack "
             "support cannot play it" for name, ids in tracks.items() if ids]
    return out, notes
