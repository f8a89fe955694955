#!/usr/bin/env bash
# Regenerates the tiny media fixtures used by tests/test_media.py.
#
#   bash tests/data/make_media_fixtures.sh
#
# Needs ffmpeg/ffprobe (Debian 12's ffmpeg 5.1 was used: libx264, libx265,
# libaom, libsvtav1, libvpx, libmp3lame, libspeex, libopus) and python3.
# ffmpeg 5.1 cannot mux HEVC/AV1/VP9 into FLV, so those are written as MP4
# and the tests lift the hvcC/av1C/vpcC record out of it to build Enhanced
# RTMP bodies.  ffprobe's view of every file goes to media/expected.json so
# the tests can compare our decoders against it.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
out="$here/media"
mkdir -p "$out"
cd "$out"

ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
x265="log-level=error"

# --- H.264 in FLV (legacy CodecID 7) ---------------------------------------
ff -f lavfi -i testsrc=size=640x360:rate=25 -t 0.2 -pix_fmt yuv420p \
   -c:v libx264 -profile:v high -crf 45 -bf 2 -f flv avc_high_640x360.flv
ff -f lavfi -i color=c=black:size=1920x1080:rate=30 -frames:v 2 \
   -c:v libx264 -profile:v main -f flv avc_main_1080p.flv
ff -f lavfi -i color=c=blue:size=1920x1080:rate=25 -frames:v 2 \
   -c:v libx264 -flags +ildct+ilme -x264-params interlaced=1 -f flv avc_high_1080i.flv
ff -f lavfi -i color=c=red:size=330x250:rate=30000/1001 -frames:v 2 -pix_fmt yuv444p \
   -c:v libx264 -profile:v high444 -f flv avc_high444_330x250.flv
ff -f lavfi -i color=c=red:size=352x288:rate=50 -frames:v 2 -pix_fmt yuv420p10le \
   -c:v libx264 -profile:v high10 -f flv avc_high10_352x288.flv
ff -f lavfi -i color=c=red:size=320x240:rate=15 -frames:v 2 \
   -c:v libx264 -profile:v baseline -f flv avc_baseline_320x240.flv

# --- other legacy video codecs in FLV ----------------------------------------
ff -f lavfi -i color=c=green:size=160x120:rate=10 -frames:v 1 -c:v flv -f flv h263_160x120.flv
ff -f lavfi -i color=c=green:size=64x48:rate=10 -frames:v 1 -c:v flashsv -f flv screen_64x48.flv
ff -f lavfi -i color=c=green:size=64x48:rate=10 -frames:v 1 -c:v flashsv2 -f flv screen2_64x48.flv

# --- HEVC / AV1 / VP9 configuration records (from MP4) -----------------------
ff -f lavfi -i color=c=green:size=1920x1080:rate=30 -frames:v 1 \
   -c:v libx265 -x265-params "$x265" -tag:v hvc1 -f mp4 hevc_main_1080p.mp4
ff -f lavfi -i color=c=green:size=640x360:rate=25 -frames:v 1 -pix_fmt yuv420p10le \
   -c:v libx265 -x265-params "$x265:temporal-layers=1" -tag:v hvc1 -f mp4 hevc_main10_640x360.mp4
ff -f lavfi -i color=c=green:size=330x250:rate=30 -frames:v 1 -pix_fmt yuv444p \
   -c:v libx265 -x265-params "$x265" -tag:v hvc1 -f mp4 hevc_rext444_330x250.mp4
ff -f lavfi -i color=c=green:size=330x250:rate=30 -frames:v 1 -pix_fmt yuv422p10le \
   -c:v libx265 -x265-params "$x265" -tag:v hvc1 -f mp4 hevc_rext422_330x250.mp4
ff -f lavfi -i color=c=green:size=640x360:rate=24 -frames:v 1 \
   -c:v libaom-av1 -cpu-used 8 -f mp4 av1_aom_640x360.mp4
ff -f lavfi -i color=c=green:size=426x240:rate=30 -frames:v 1 -pix_fmt yuv420p10le \
   -c:v libsvtav1 -f mp4 av1_svt10_426x240.mp4 2>/dev/null
ff -f lavfi -i color=c=green:size=640x360:rate=30 -frames:v 1 \
   -c:v libvpx-vp9 -f mp4 vp9_640x360.mp4

# --- legacy audio in FLV -------------------------------------------------------
aud() { local name=$1 rate=$2; shift 2; ff -f lavfi -i "sine=sample_rate=$rate" -t 0.05 "$@" -f flv "$name.flv"; }
aud aac_lc_44100_stereo 44100 -ac 2 -c:a aac
aud mp3_44100_stereo 44100 -ac 2 -c:a libmp3lame
aud speex_16000 16000 -c:a libspeex
aud nellymoser_8000 8000 -c:a nellymoser
aud nellymoser_16000 16000 -c:a nellymoser
aud nellymoser_22050 22050 -c:a nellymoser
aud adpcm_22050 22050 -c:a adpcm_swf
aud alaw_8000 8000 -c:a pcm_alaw
aud mulaw_8000 8000 -c:a pcm_mulaw
aud pcm_s16le_11025 11025 -c:a pcm_s16le
aud pcm_u8_5512 5512 -c:a pcm_u8

# --- AC-3 / E-AC-3 elementary streams (E-RTMP CodedFrames carry their sync frames) --------
ff -f lavfi -i sine=frequency=440:sample_rate=48000 -t 0.2 -af "pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0" \
   -c:a ac3 -f ac3 ac3_48000_5.1.ac3
ff -f lavfi -i sine=frequency=440:sample_rate=44100 -t 0.2 -ac 2 -c:a eac3 -f eac3 eac3_44100_stereo.eac3
ff -f lavfi -i sine=frequency=440:sample_rate=32000 -t 0.2 -ac 1 -c:a ac3 -f ac3 ac3_32000_mono.ac3

# --- Enhanced RTMP audio sequence-start payloads ------------------------------
ff -f lavfi -i sine=sample_rate=48000 -t 0.02 -ac 2 -c:a libopus -f ogg opus_48000_stereo.ogg
ff -f lavfi -i sine=sample_rate=44100 -t 0.02 -c:a flac -f flac "$out/flac_full.tmp"
head -c 42 "$out/flac_full.tmp" > flac_44100_mono_header.bin   # 'fLaC' + STREAMINFO block
rm -f "$out/flac_full.tmp"

# --- what ffprobe says ---------------------------------------------------------
python3 - "$out" <<'PY'
import json, pathlib, subprocess, sys
out = pathlib.Path(sys.argv[1])
facts = {}
for f in sorted(out.iterdir()):
    if f.suffix not in (".flv", ".mp4", ".ogg"):
        continue
    r = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "stream=codec_type,codec_name,profile,level,width,height,pix_fmt,r_frame_rate,"
         "sample_rate,channels,bits_per_raw_sample",
         "-of", "json", str(f)], capture_output=True, text=True, check=True)
    facts[f.name] = json.loads(r.stdout)["streams"]
(out / "expected.json").write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
PY
ls -l "$out"
