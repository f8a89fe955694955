"""Ingest profiles (`--profile`, analysis/ingest_profiles.py): each rule on a crafted publish, the built-in
profiles on a real one, and a user's own TOML file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rtmp_inspect.analysis.ingest_profiles import ProfileError, builtin_profiles, load_profile
from tests.support.media_files import MEDIA, flv_tags, mp4_box
from tests.test_expert import Conversation, _ex_video, aac_frame, hevc_frame, publishing, send_media

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = str(ROOT / "samples" / "publish_play.pcap")  # ffmpeg -> nginx: H.264 640x360 25 fps, AAC mono


def checked(conv: Conversation, profile: str) -> Conversation:
    conv.session.check_against(load_profile(profile))
    return conv


def profile_findings(conv: Conversation) -> list:
    return [w for w in conv.session.warnings if w.code.startswith("profile.")]


@pytest.mark.parametrize("keyint_s, profile, severity", [
    (5.0, "youtube", "warning"), (3.0, "youtube", "info"), (2.0, "youtube", None),
    (3.0, "twitch", "warning"), (2.0, "twitch", None), (5.0, "facebook", "warning"), (2.0, "generic", None),
])
def test_keyframe_interval_against_each_platform(keyint_s: float, profile: str, severity: str | None):
    """The issue's example: keyframes every 5.0 s were "ok, no findings"; YouTube warns above 4 s."""
    conv = checked(publishing(), profile)
    send_media(conv, seconds=12.0, keyint_s=keyint_s)
    conv.cmd("c2s", "deleteStream", 4, None, 1)
    conv.finish()
    found = [w for w in profile_findings(conv) if w.code == "profile.keyframe-interval"]
    assert [w.severity for w in found] == ([severity] if severity else [])
    if profile == "youtube" and severity == "warning":
        assert found[0].message == (
            "stream 1: keyframe interval 5.0 s; YouTube: keyframe frequency: recommended 2 seconds, do not exceed "
            "4 seconds (https://support.google.com/youtube/answer/2853702)")
    checks = conv.session.to_json_summary()["profile"]["checks"]
    assert [c["measured"] for c in checks if c["rule"] == "keyframe-interval"] == [keyint_s]


def _hevc(enhanced: bool) -> Conversation:
    conv = checked(publishing(), "youtube")
    if enhanced:
        hvcc = mp4_box(MEDIA / "hevc_main10_640x360.mp4", b"hvcC")
        conv.send("c2s", 9, _ex_video(1, 0, b"hvc1", hvcc), 1)
        for i in range(60):
            conv.send("c2s", 9, _ex_video(1 if i % 25 == 0 else 2, 3, b"hvc1", hevc_frame(i % 25 == 0)[5:]), 1,
                      i * 40, dt=0.0)
    else:
        for i in range(60):
            conv.send("c2s", 9, hevc_frame(i % 25 == 0), 1, i * 40, dt=0.0)
    conv.finish()
    return conv


def test_hevc_needs_enhanced_rtmp_on_youtube():
    [finding] = [w for w in profile_findings(_hevc(False)) if w.code == "profile.enhanced-rtmp"]
    assert finding.severity == "warning" and "HEVC sent with a legacy codec id" in finding.message
    assert not [w for w in profile_findings(_hevc(True)) if w.code == "profile.enhanced-rtmp"]


def test_codecs_the_platform_does_not_take():
    conv = checked(publishing(), "twitch")
    for i in range(60):
        conv.send("c2s", 9, hevc_frame(i % 25 == 0), 1, i * 40, dt=0.0)
    mp3 = [body for kind, _, body in flv_tags(MEDIA / "mp3_44100_stereo.flv") if kind == 8]
    for i, body in enumerate(mp3 * 10):
        conv.send("c2s", 8, body, 1, i * 26, dt=0.0)
    conv.finish()
    codes = {w.code: w.message for w in profile_findings(conv)}
    assert codes["profile.video-codec"].startswith("stream 1: video codec HEVC; Twitch: H.264")
    assert codes["profile.audio-codec"].startswith("stream 1: audio codec MP3; Twitch: AAC-LC")


def test_audio_sample_rate_and_channels():
    conv = checked(publishing(), "facebook")
    conv.send("c2s", 8, bytes([0xAF, 0x00, 0x13, 0x88]), 1)  # AAC LC, 22.05 kHz (index 7), mono
    for i in range(300):
        conv.send("c2s", 8, aac_frame(), 1, i * 46, dt=0.0)
    conv.finish()
    codes = {w.code: w for w in profile_findings(conv)}
    assert codes["profile.audio-sample-rate"].message.startswith("stream 1: audio sample rate 22.05 kHz; Facebook")
    assert codes["profile.audio-channels"].message.startswith("stream 1: 1 audio channel(s); Facebook")


def test_a_real_publish_against_the_built_in_profiles():
    """ffmpeg's 4 s, 640x360 25 fps, ~440 kbit/s H.264 with mono AAC: below YouTube's 3 Mbit/s range (info),
    not stereo for Facebook (warning), fine for Twitch."""
    results = {}
    for profile in builtin_profiles():
        done = subprocess.run([sys.executable, "-m", "rtmp_inspect", SAMPLE, "--check", "--format", "json",
                               "--profile", profile], capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr
        [check] = json.loads(done.stdout)["check"]
        results[profile] = sorted((f["code"], f["severity"]) for flow in check["flows"] for f in flow["findings"]
                                  if f["code"].startswith("profile."))
    assert results == {"facebook": [("profile.audio-channels", "warning")], "generic": [], "twitch": [],
                       "youtube": [("profile.video-bitrate", "info")]}


def test_a_users_own_profile_file(tmp_path: Path):
    own = tmp_path / "cdn.toml"
    own.write_text('name = "Our CDN"\nsource = "https://wiki.example/ingest"\n'
                   '[video]\nmax_kbps = 300\nsays = "at most 300 kbit/s of video"\n')
    done = subprocess.run([sys.executable, "-m", "rtmp_inspect", SAMPLE, "--check", "--profile", str(own)],
                          capture_output=True, timeout=120)
    assert b"profile.video-bitrate c2s: stream 1: video bitrate 437 kbit/s; Our CDN: at most 300 kbit/s of video " \
           b"(https://wiki.example/ingest)" in done.stdout


@pytest.mark.parametrize("text, says", [
    ("[video\n", "not valid TOML"),
    ("frames = 3\n", "unknown key 'frames'"),
    ("video = 3\n", "[video] must be a table"),
])
def test_a_bad_profile_is_one_line_and_exit_2(tmp_path: Path, text: str, says: str):
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    with pytest.raises(ProfileError, match=says.replace("[", "\\[")):
        load_profile(str(bad))
    done = subprocess.run([sys.executable, "-m", "rtmp_inspect", SAMPLE, "--profile", str(bad)],
                          capture_output=True, timeout=60)
    assert done.returncode == 2 and done.stderr.count(b"\n") == 1 and b"--profile:" in done.stderr
    done = subprocess.run([sys.executable, "-m", "rtmp_inspect", SAMPLE, "--profile", "myspace"],
                          capture_output=True, timeout=60)
    assert done.returncode == 2 and b"built in: facebook, generic, twitch, youtube" in done.stderr
