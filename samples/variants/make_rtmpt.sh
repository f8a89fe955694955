#!/usr/bin/env bash
# make_rtmpt.sh - a real RTMPT capture with its plain-RTMP twin.
#
#   bash samples/variants/make_rtmpt.sh [OUTDIR]      (default: this folder)
#
# ffmpeg publishes over rtmpt:// (RTMP in HTTP POSTs) to rtmpt_gateway.py, the project's own small RTMPT server
# (no packaged server speaks RTMPT), which relays each tunnel session over one plain RTMP connection to
# nginx-rtmp. tcpdump captures both sides on loopback: the HTTP side (port 19080) and the gateway -> nginx
# RTMP twin (port 19350). Output: rtmpt.pcap. Needs root (netns, tcpdump); ~15 s.
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(realpath -m "${1:-$HERE}")
NS=rtmpvariantst
WORK=$(mktemp -d /tmp/rtmpvariantst.XXXXXX)
PIDS=()
log() { printf '[make_rtmpt] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (network namespace, tcpdump)"
RTMP_SO=/usr/lib/nginx/modules/ngx_rtmp_module.so
if [ ! -f "$RTMP_SO" ] || ! command -v ffmpeg >/dev/null || ! command -v tcpdump >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx libnginx-mod-rtmp ffmpeg tcpdump iproute2
fi
cleanup() {
    local rc=$? p
    trap - EXIT
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
    if [ "$rc" = 0 ]; then rm -rf "$WORK"; else log "failed; logs in $WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up mtu 1500
ip netns exec "$NS" ip link set lo gso_max_size 1500 gso_max_segs 1 2>/dev/null || true
listening() { [ -n "$(ip netns exec "$NS" ss -Hltn "( sport = :$1 )")" ]; }

cat >"$WORK/nginx.conf" <<CONF
load_module $RTMP_SO;
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/error.log info;
events { worker_connections 64; }
rtmp {
  server {
    listen 127.0.0.1:19350;
    chunk_size 4096;
    application live { live on; }
  }
}
CONF
# ip netns exec execs the command: $! is the process itself, so signals reach it
ip netns exec "$NS" nginx -p "$WORK/" -c "$WORK/nginx.conf" -e "$WORK/error.log" >"$WORK/nginx.out" 2>&1 &
PIDS+=($!)
ip netns exec "$NS" python3 "$HERE/rtmpt_gateway.py" --listen 127.0.0.1:19080 --rtmp 127.0.0.1:19350 \
    >"$WORK/gateway.log" 2>&1 &
PIDS+=($!)
for i in $(seq 50); do listening 19350 && listening 19080 && break; sleep 0.1; done
listening 19080 || die "gateway did not start (see $WORK/gateway.log)"

ip netns exec "$NS" tcpdump -i lo -s 0 -U -w "$WORK/rtmpt.pcap" "tcp port 19080 or tcp port 19350" \
    >"$WORK/tcpdump.log" 2>&1 &
TCPDUMP=$!
PIDS+=("$TCPDUMP")
sleep 1
ip netns exec "$NS" timeout 60 ffmpeg -hide_banner -loglevel error -nostdin \
    -re -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=44100 -t 3 \
    -c:v libx264 -preset veryfast -g 25 -b:v 200k -c:a aac -b:a 64k -f flv "rtmpt://127.0.0.1:19080/live/cam1" \
    >"$WORK/ffmpeg.log" 2>&1 &
FFMPEG=$!
PIDS+=("$FFMPEG")
# a player over RTMPT too (librtmp's client): a second tunnel, on its own HTTP connection
sleep 1
ip netns exec "$NS" timeout 4 rtmpdump -q -r "rtmpt://127.0.0.1:19080/live/cam1" --live -o "$WORK/play.flv" \
    >"$WORK/rtmpdump.log" 2>&1 || true
wait "$FFMPEG" || { cat "$WORK/ffmpeg.log" >&2; die "ffmpeg failed"; }
log "player got $(stat -c %s "$WORK/play.flv" 2>/dev/null || echo 0) bytes of FLV"
sleep 1
kill -INT "$TCPDUMP"
for i in $(seq 50); do kill -0 "$TCPDUMP" 2>/dev/null || break; sleep 0.1; done
mkdir -p "$OUT"
cp "$WORK/rtmpt.pcap" "$OUT/"
log "rtmpt.pcap: $(stat -c %s "$OUT/rtmpt.pcap") bytes"
