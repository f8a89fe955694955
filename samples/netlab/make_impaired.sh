#!/usr/bin/env bash
# make_impaired.sh OUTDIR NAME [impair.py options...] - a real RTMP session over an impaired path.
#
#   bash samples/netlab/make_impaired.sh /tmp/lab corrupt10 --corrupt 0.1 --direction b2a
#   CLIENT_RATE=400kbit bash samples/netlab/make_impaired.sh /tmp/lab slow   (the client's uplink shaped by tbf)
#   LIVE_ENCODE="-c:v libx264 -preset veryslow -threads 1" bash ... /tmp/lab slowenc   (a slow encoder instead)
#
# Two network namespaces of our own joined only by samples/netlab/impair.py (a user-space wire between two
# TAP devices: bit flips, loss, duplicates, reordering). In ri-server: nginx with Debian's RTMP module. In
# ri-client: ffmpeg publishes a 10 s H.264/AAC source, ffmpeg plays the stream back and writes the FLV it
# received, and tcpdump captures on the client's TAP device (after the impairment: what the client's stack
# was handed, corrupted frames included). Writes OUTDIR/NAME.pcap and OUTDIR/NAME.player.flv, and the logs
# in OUTDIR/NAME.logs/. Needs root, nginx + libnginx-mod-rtmp, ffmpeg, tcpdump, iproute2. About 20 s.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -ge 2 ] || { echo "usage: $0 OUTDIR NAME [impair.py options...]" >&2; exit 2; }
OUT=$(realpath -m "$1"); NAME=$2; shift 2
NC=ri-client
NS=ri-server
LOGS=$OUT/$NAME.logs
RTMP_SO=$(find /usr/lib/nginx/modules -name 'ngx_rtmp_module.so' 2>/dev/null | head -n1)
[ -n "$RTMP_SO" ] || { echo "$0: libnginx-mod-rtmp is not installed" >&2; exit 2; }
mkdir -p "$OUT" "$LOGS"
rm -f "$OUT/$NAME.pcap" "$OUT/$NAME.player.flv"

PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 0.5
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns pids "$NC" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$NC" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
wait_for() { local i; for i in $(seq 100); do "$@" && return 0; sleep 0.1; done; return 1; }

ip netns del "$NC" 2>/dev/null || true
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NC"
ip netns add "$NS"

python3 "$HERE/impair.py" "$NC" "$NS" --ready "$LOGS/ready" "$@" 2>"$LOGS/impair.log" &
PIDS+=($!)
wait_for test -f "$LOGS/ready" || { cat "$LOGS/impair.log" >&2; exit 1; }
ip -n "$NC" addr add 10.77.0.1/24 dev ritap-a
ip -n "$NS" addr add 10.77.0.2/24 dev ritap-b
for ns in "$NC" "$NS"; do ip -n "$ns" link set lo up; done
ip -n "$NC" link set ritap-a up
ip -n "$NS" link set ritap-b up
if [ -n "${CLIENT_RATE:-}" ]; then
    # The client's uplink limited to CLIENT_RATE (tc's units, e.g. 400kbit) by a token bucket: a slow path.
    ip netns exec "$NC" tc qdisc add dev ritap-a root tbf rate "$CLIENT_RATE" burst 16kb latency 2s
fi

cat >"$LOGS/nginx.conf" <<EOF
load_module $RTMP_SO;
worker_processes 1;
daemon off;
pid $LOGS/nginx.pid;
error_log $LOGS/nginx.error.log info;
events { worker_connections 64; }
rtmp {
  server {
    listen 10.77.0.2:1935;
    chunk_size 4096;
    application live { live on; play_restart on; wait_key on; wait_video on; }
  }
}
EOF
ip netns exec "$NS" nginx -p "$LOGS/" -c "$LOGS/nginx.conf" -e "$LOGS/nginx.error.log" >"$LOGS/nginx.out" 2>&1 &
PIDS+=($!)
wait_for sh -c "ip netns exec $NS ss -Hltn '( sport = :1935 )' | grep -q ." || { echo "nginx did not start" >&2; exit 1; }

FF=(ffmpeg -hide_banner -nostdin -loglevel warning)
"${FF[@]}" -y -f lavfi -i "testsrc2=size=640x360:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=44100" \
    -t 10 -map 0:v -map 1:a -c:v libx264 -threads 1 -preset veryfast -tune zerolatency -g 50 -pix_fmt yuv420p \
    -b:v 800k -maxrate 800k -bufsize 800k -c:a aac -b:a 64k -ac 1 -ar 44100 \
    -map_metadata -1 -fflags +bitexact -flags +bitexact -f flv "$LOGS/source.flv"

ip netns exec "$NC" tcpdump -i ritap-a -n --immediate-mode -B 65536 -U -s 0 -w "$OUT/$NAME.pcap" \
    'tcp port 1935' >"$LOGS/tcpdump.log" 2>&1 &
TCPDUMP=$!
PIDS+=($TCPDUMP)
wait_for grep -qs 'listening on' "$LOGS/tcpdump.log" || { echo "tcpdump did not start" >&2; exit 1; }

URL=rtmp://10.77.0.2/live/cam1
if [ -n "${LIVE_ENCODE:-}" ]; then
    # Encode while publishing (LIVE_ENCODE: ffmpeg's encoder options): a heavy setting makes a slow encoder.
    # shellcheck disable=SC2086
    ip netns exec "$NC" timeout -k 2 90 "${FF[@]}" -re -f lavfi -i "testsrc2=size=1920x1080:rate=25" \
        -re -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 10 -map 0:v -map 1:a $LIVE_ENCODE \
        -c:a aac -b:a 64k -f flv "$URL" >"$LOGS/publisher.log" 2>&1 &
else
    ip netns exec "$NC" timeout -k 2 60 "${FF[@]}" -re -i "$LOGS/source.flv" -map 0 -c copy -f flv "$URL" \
        >"$LOGS/publisher.log" 2>&1 &
fi
PUBLISHER=$!
sleep 1.5
ip netns exec "$NC" timeout -k 2 60 "${FF[@]}" -i "$URL" -map 0 -c copy -map_metadata -1 -fflags +bitexact \
    -flags +bitexact -f flv -y "$OUT/$NAME.player.flv" >"$LOGS/player.log" 2>&1 || true
wait "$PUBLISHER" || true
sleep 1
kill -TERM "$TCPDUMP" 2>/dev/null || true
wait "$TCPDUMP" 2>/dev/null || true
echo "$OUT/$NAME.pcap: $(stat -c %s "$OUT/$NAME.pcap") bytes; $OUT/$NAME.player.flv: $(stat -c %s "$OUT/$NAME.player.flv" 2>/dev/null || echo 0) bytes" >&2
