"""E-RTMP v2 multitrack (Twitch Enhanced Broadcasting, OBS multitrack video): statistics, checks and verdict
per track, keyed by (direction, stream, audio/video, track id).

The streams are built per the v2 spec (veovera/enhanced-rtmp, "Multitrack") around real encoder output: the
H.264 renditions are ffmpeg's (tests/data/media, three sizes), HEVC is ffmpeg's hvcC.
"""

from __future__ import annotations

import struct

from rtmp_inspect.rtmp.media import parse_video, track_views
from tests.support.media_files import MEDIA, flv_tags, mp4_box
from tests.test_expert import AAC_CONFIG, CONNECT_OK, Conversation, aac_frame

FPS = 30
MULTITRACK = 6  # VideoPacketType.Multitrack
ONE_TRACK, MANY_TRACKS, MANY_TRACKS_MANY_CODECS = 0, 1, 2
SEQUENCE_START, CODED_FRAMES = 0, 1


def _rendition(name: str) -> tuple[bytes, bytes, bytes]:
    """(avcC, the keyframe's NAL units, an inter frame's NAL units) of one of ffmpeg's H.264 files."""
    bodies = [body for tag_type, _, body in flv_tags(MEDIA / f"{name}.flv") if tag_type == 9]
    config = next(b for b in bodies if b[:2] == b"\x17\x00")
    key = next(b for b in bodies if b[:2] == b"\x17\x01")
    inter = next(b for b in bodies if b[:2] == b"\x27\x01")
    return config[5:], key[5:], inter[5:]


RENDITIONS = [_rendition(n) for n in ("avc_main_1080p", "avc_high_640x360", "avc_baseline_320x240")]


def multitrack_video(frame_type: int, packet_type: int, multitrack_type: int,
                     tracks: list[tuple[int, bytes, bytes]], fourcc: bytes = b"avc1") -> bytes:
    """A multitrack VIDEODATA body: tracks as (track id, FourCC, payload); one FourCC unless ManyTracksManyCodecs."""
    body = bytes([0x80 | frame_type << 4 | MULTITRACK, multitrack_type << 4 | packet_type])
    if multitrack_type != MANY_TRACKS_MANY_CODECS:
        body += fourcc
    for track_id, track_fourcc, payload in tracks:
        if multitrack_type == MANY_TRACKS_MANY_CODECS:
            body += track_fourcc
        body += bytes([track_id])
        if multitrack_type != ONE_TRACK:
            body += len(payload).to_bytes(3, "big")
        body += payload
    return body


def _frames(payload: bytes, packet_type: int) -> bytes:
    return (b"\x00\x00\x00" + payload) if packet_type == CODED_FRAMES else payload  # CompositionTime 0


def publish_renditions(metadata: dict, seconds: float = 4.0, keyint_s: float = 2.0,
                       capabilities: dict | None = None) -> Conversation:
    """OBS-style multitrack publish: three H.264 renditions in ManyTracks messages on track 0 (1080p), 1
    (640x360) and 2 (320x240), AAC audio in ordinary messages."""
    conv = Conversation()
    conv.cmd("c2s", "connect", 1, {"app": "live", "tcUrl": "rtmp://example.net/live",
                                   **(capabilities or {"fourCcList": ["avc1"], "capsEx": 2.0})})
    conv.cmd("s2c", "_result", 1, {"fmsVer": "FMS/3,0,1,123", "capsEx": 2.0}, CONNECT_OK)
    conv.create_stream()
    conv.cmd("c2s", "publish", 3, None, "cam1", "live", stream_id=1)
    conv.cmd("s2c", "onStatus", 0, None, {"level": "status", "code": "NetStream.Publish.Start",
                                          "description": "cam1"}, stream_id=1)
    from tests.support.rtmp_builder import amf0
    conv.send("c2s", 18, amf0("@setDataFrame") + amf0("onMetaData") + amf0(metadata), 1)
    conv.send("c2s", 9, multitrack_video(1, SEQUENCE_START, MANY_TRACKS,
                                         [(i, b"avc1", r[0]) for i, r in enumerate(RENDITIONS)]), 1)
    conv.send("c2s", 8, AAC_CONFIG, 1)
    for i in range(int(seconds * FPS) + 1):
        ts = round(i * 1000 / FPS)
        key = i % round(keyint_s * FPS) == 0
        tracks = [(n, b"avc1", _frames(r[1] if key else r[2], CODED_FRAMES)) for n, r in enumerate(RENDITIONS)]
        conv.send("c2s", 9, multitrack_video(1 if key else 2, CODED_FRAMES, MANY_TRACKS, tracks), 1, ts,
                  dt=1 / FPS)
        conv.send("c2s", 8, aac_frame(), 1, ts, dt=0.0)
    conv.cmd("c2s", "deleteStream", 4, None, 1)
    conv.finish()
    return conv


METADATA = {"width": 1920.0, "height": 1080.0, "videocodecid": 7.0, "framerate": 30.0,
            "videoTrackIdInfoMap": {"1": {"width": 640.0, "height": 360.0}, "2": {"width": 320.0, "height": 240.0}}}


def test_track_views_give_each_track_its_own_codec_size_and_payload():
    hvcc = mp4_box(MEDIA / "hevc_main10_640x360.mp4", b"hvcC")
    body = multitrack_video(1, SEQUENCE_START, MANY_TRACKS_MANY_CODECS,
                            [(0, b"avc1", RENDITIONS[1][0]), (3, b"hvc1", hvcc)])
    info = parse_video(body)
    assert info.error is None and len(info.tracks) == 2
    (id0, avc), (id3, hevc) = track_views(info)
    assert (id0, id3) == (0, 3)
    assert (avc.codec, avc.width, avc.height) == ("H.264", 640, 360)
    assert (hevc.codec, hevc.width, hevc.height) == ("HEVC", 640, 360)
    assert hevc.payload_length == len(hvcc) and body[hevc.payload_offset:][:len(hvcc)] == hvcc
    # a message that is not multitrack is the default track, unchanged
    plain = parse_video(b"\x17\x00\x00\x00\x00" + RENDITIONS[0][0])
    assert track_views(plain) == [(0, plain)]


def test_renditions_are_tracks_with_their_own_statistics():
    conv = publish_renditions(METADATA)
    [stream] = conv.session.to_json_summary()["media_streams"]
    video = stream["video"]
    assert (video["width"], video["height"], video["config_changes"]) == (1920, 1080, 0)
    others = stream["tracks"]
    assert [(t["kind"], t["track_id"], t["width"], t["height"]) for t in others] == \
        [("video", 1, 640, 360), ("video", 2, 320, 240)]
    for track in [video, *others]:
        assert track["frames"]["total"] == 121 and track["keyframes"]["count"] == 3
        assert track["config_changes"] == 0 and track["frame_rate"] == 30.0
    # each track's bytes (and bitrate) from its own payloads: configuration and NAL units, not the message's sum
    sizes = [len(r[0]) + len(r[1]) * 3 + len(r[2]) * 118 for r in RENDITIONS]
    assert [t["bytes"] for t in [video, *others]] == sizes
    assert others[0]["metadata"] == {"width": 640.0, "height": 360.0}
    assert "video track 1: H.264" in stream["description"] and "640x360" in stream["description"]


def test_renditions_raise_no_false_findings_and_the_verdict_names_the_tracks():
    conv = publish_renditions(METADATA)
    assert conv.codes() == []  # before: media.metadata-mismatch (1080p against the last header's size)
    text = conv.verdict()
    assert text.startswith("publish live/cam1: ok, 4.0 s, H.264 1920x1080 30 fps + AAC 44.1 kHz (+ track 1: H.264 "
                           "640x360 30 fps; track 2: H.264 320x240 30 fps)"), text
    tracks = conv.session.expert.to_json()["expert"]["media"]
    assert [(t.get("track_id", 0), t["video"]["width"]) for t in tracks] == [(0, 1920), (1, 640), (2, 320)]


def test_a_track_map_entry_that_disagrees_is_a_mismatch_of_that_track():
    metadata = {**METADATA, "videoTrackIdInfoMap": {"1": {"width": 1280.0, "height": 720.0}}}
    conv = publish_renditions(metadata)
    found = conv.findings("media.metadata-mismatch")
    assert [f.message for f in found] == [
        "stream 1: onMetaData declares videoTrackIdInfoMap[1].width=1280 but the stream has 640",
        "stream 1: onMetaData declares videoTrackIdInfoMap[1].height=720 but the stream has 360"]


def test_top_level_metadata_is_checked_against_the_default_track():
    conv = publish_renditions({**METADATA, "width": 1280.0})
    [finding] = conv.findings("media.metadata-mismatch")
    assert finding.message == "stream 1: onMetaData declares width=1280 but the stream has 1920"


def _two_codecs(change_track_1_to_av1: bool) -> Conversation:
    conv = Conversation()
    conv.connect()
    conv.create_stream()
    conv.cmd("c2s", "publish", 3, None, "cam1", "live", stream_id=1)
    conv.cmd("s2c", "onStatus", 0, None, {"level": "status", "code": "NetStream.Publish.Start",
                                          "description": "cam1"}, stream_id=1)
    hvcc = mp4_box(MEDIA / "hevc_main10_640x360.mp4", b"hvcC")
    av1c = mp4_box(MEDIA / "av1_aom_640x360.mp4", b"av1C")
    conv.send("c2s", 9, multitrack_video(1, SEQUENCE_START, MANY_TRACKS_MANY_CODECS,
                                         [(0, b"avc1", RENDITIONS[1][0]), (1, b"hvc1", hvcc)]), 1)
    hevc_key = struct.pack(">I", 3) + bytes([19 << 1, 1, 0xAF])
    hevc_inter = struct.pack(">I", 3) + bytes([1 << 1, 1, 0xAF])
    for i in range(60):
        key = i % 30 == 0
        second = (b"av01", b"\x12\x00") if change_track_1_to_av1 and i >= 30 else \
            (b"hvc1", _frames(hevc_key if key else hevc_inter, CODED_FRAMES))
        if change_track_1_to_av1 and i == 30:
            conv.send("c2s", 9, multitrack_video(1, SEQUENCE_START, MANY_TRACKS_MANY_CODECS,
                                                 [(1, b"av01", av1c)]), 1, round(i * 1000 / FPS))
        tracks = [(0, b"avc1", _frames(RENDITIONS[1][1] if key else RENDITIONS[1][2], CODED_FRAMES)),
                  (1, *second)]
        conv.send("c2s", 9, multitrack_video(1 if key else 2, CODED_FRAMES, MANY_TRACKS_MANY_CODECS, tracks), 1,
                  round(i * 1000 / FPS), dt=1 / FPS)
    conv.cmd("c2s", "deleteStream", 4, None, 1)
    conv.finish()
    return conv


def test_two_codecs_on_two_tracks_are_not_a_codec_change():
    conv = _two_codecs(False)
    assert not conv.findings("media.codec-change")  # before: "changed from H.264/HEVC to ..." per message
    [stream] = conv.session.to_json_summary()["media_streams"]
    assert stream["video"]["codec"] == "H.264" and stream["tracks"][0]["codec"] == "HEVC"


def test_a_codec_change_on_one_track_is_still_found_and_names_the_track():
    [finding] = _two_codecs(True).findings("media.codec-change")
    assert finding.message.startswith("video codec of c2s stream 1 track 1 changed from HEVC to AV1")


def test_one_stream_without_multitrack_keeps_its_shape():
    conv = publish_renditions(METADATA, seconds=0.5)
    plain = Conversation()
    plain.connect()
    assert conv.session.to_json_summary()["media_streams"][0]["tracks"]  # multitrack: listed
    assert plain.session.to_json_summary()["media_streams"] == []


def _flv(tags: list[tuple[int, int, bytes]]) -> bytes:
    out = b"FLV\x01\x05" + (9).to_bytes(4, "big") + b"\x00\x00\x00\x00"
    for tag_type, ts, body in tags:
        out += bytes([tag_type]) + len(body).to_bytes(3, "big") + (ts & 0xFFFFFF).to_bytes(3, "big") \
            + bytes([ts >> 24]) + b"\x00\x00\x00" + body + (11 + len(body)).to_bytes(4, "big")
    return out


def test_an_extracted_multitrack_file_is_one_file_with_a_note_and_no_false_warning(tmp_path):
    from rtmp_inspect.export.flv_check import check_flv

    config = multitrack_video(1, SEQUENCE_START, MANY_TRACKS, [(i, b"avc1", r[0]) for i, r in enumerate(RENDITIONS)])
    frames = [multitrack_video(1 if i % 30 == 0 else 2, CODED_FRAMES, MANY_TRACKS,
                               [(n, b"avc1", _frames(r[1] if i % 30 == 0 else r[2], CODED_FRAMES))
                                for n, r in enumerate(RENDITIONS)]) for i in range(40)]
    path = tmp_path / "multitrack.flv"
    path.write_bytes(_flv([(9, 0, config)] + [(9, i * 33, f) for i, f in enumerate(frames)]))
    missing, notes = check_flv(str(path))
    assert missing == []  # before: "no video keyframe in 40 video frames" (the multitrack header was not read)
    assert notes == ["E-RTMP multitrack video (tracks 0, 1, 2) kept in one file as sent: one file per track "
                     "would rewrite the tag bodies the peer received; players without E-RTMP v2 multitrack support "
                     "cannot play it"]
    # frames before the configuration are still found inside multitrack tags
    path.write_bytes(_flv([(9, i * 33, f) for i, f in enumerate(frames)]))
    assert check_flv(str(path))[0][0].startswith("no H.264 sequence header before its first video frame")
