#!/usr/bin/env bash
# make_rtmps.sh - a real RTMPS capture with its plain-RTMP twin, and the TLS key log to decrypt it.
#
#   bash samples/variants/make_rtmps.sh [OUTDIR]      (default: this folder)
#
# ffmpeg publishes over rtmps:// to nginx's stream module, which terminates TLS (self-signed certificate)
# and passes the plaintext on to nginx-rtmp over plain RTMP. tcpdump captures both legs on loopback, so
# one capture holds the TLS connection (port 19443 for TLS 1.3, 19444 for TLS 1.2) and the plain twin
# (port 19350) carrying the very same RTMP bytes. The URL names the host (localhost), so the ClientHello carries
# SNI (nginx listens on 127.0.0.1 and ::1, whichever ffmpeg picks for localhost; here it took 127.0.0.1). ffmpeg here is built with GnuTLS, which writes the NSS
# key log named by SSLKEYLOGFILE (GnuTLS >= 3.6.13 reads that variable itself: no LD_PRELOAD, no patching).
# Outputs: rtmps_tls13.pcap, rtmps_tls12.pcap and their .keys. Needs root (netns, tcpdump); ~20 s.
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(realpath -m "${1:-$HERE}")
NS=rtmpvariants
WORK=$(mktemp -d /tmp/rtmpvariants.XXXXXX)
PIDS=()
log() { printf '[make_rtmps] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (network namespace, tcpdump)"

RTMP_SO=/usr/lib/nginx/modules/ngx_rtmp_module.so
STREAM_SO=/usr/lib/nginx/modules/ngx_stream_module.so
if [ ! -f "$RTMP_SO" ] || [ ! -f "$STREAM_SO" ] || ! command -v ffmpeg >/dev/null || ! command -v tcpdump >/dev/null; then
    log "installing packages (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx libnginx-mod-rtmp libnginx-mod-stream ffmpeg tcpdump \
        openssl iproute2
fi
ffmpeg -hide_banner -buildconf 2>/dev/null | grep -q -- --enable-gnutls \
    || log "WARNING: this ffmpeg is not built with GnuTLS; its TLS library may not write SSLKEYLOGFILE"

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
# one TCP segment per packet (no GSO super-packets): TLS records then span several frames, as on a network
ip netns exec "$NS" ip link set lo gso_max_size 1500 gso_max_segs 1 2>/dev/null || true
nsx() { ip netns exec "$NS" "$@"; }

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rtmps.test -keyout "$WORK/key.pem" -out "$WORK/cert.pem" \
    >/dev/null 2>&1
cat >"$WORK/nginx.conf" <<CONF
load_module $RTMP_SO;
load_module $STREAM_SO;
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/error.log info;
events { worker_connections 64; }
stream {
  server {
    listen 127.0.0.1:19443 ssl;
    listen [::1]:19443 ssl;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.3;
    proxy_pass 127.0.0.1:19350;
  }
  server {
    listen 127.0.0.1:19444 ssl;
    listen [::1]:19444 ssl;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.2;
    ssl_ciphers ECDHE-RSA-AES256-GCM-SHA384;
    proxy_pass 127.0.0.1:19350;
  }
}
rtmp {
  server {
    listen 127.0.0.1:19350;
    chunk_size 4096;
    application live { live on; }
  }
}
CONF
nsx nginx -t -p "$WORK/" -c "$WORK/nginx.conf" -e "$WORK/error.log" >"$WORK/nginx-t.log" 2>&1 \
    || { cat "$WORK/nginx-t.log" >&2; die "bad nginx config"; }
ip netns exec "$NS" nginx -p "$WORK/" -c "$WORK/nginx.conf" -e "$WORK/error.log" >"$WORK/nginx.out" 2>&1 &
PIDS+=($!)
for i in $(seq 50); do [ -n "$(nsx ss -Hltn '( sport = :19443 )')" ] && break; sleep 0.1; done

capture() {  # capture NAME PORT
    local name=$1 port=$2 tcpdump_pid
    rm -f "$WORK/$name.keys"
    # ip netns exec execs tcpdump: $! is tcpdump itself, so SIGINT reaches it (a shell function would not)
    ip netns exec "$NS" tcpdump -i lo -s 0 -U -w "$WORK/$name.pcap" "tcp port $port or tcp port 19350" \
        >"$WORK/$name.tcpdump.log" 2>&1 &
    tcpdump_pid=$!
    PIDS+=("$tcpdump_pid")
    sleep 1
    SSLKEYLOGFILE="$WORK/$name.keys" nsx timeout 30 ffmpeg -hide_banner -loglevel error -nostdin \
        -re -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=44100 -t 3 \
        -c:v libx264 -preset veryfast -g 25 -b:v 200k -c:a aac -b:a 64k -f flv "rtmps://localhost:$port/live/cam1" \
        >"$WORK/$name.ffmpeg.log" 2>&1 || { cat "$WORK/$name.ffmpeg.log" >&2; die "ffmpeg failed ($name)"; }
    sleep 1
    kill -INT "$tcpdump_pid"
    for i in $(seq 50); do kill -0 "$tcpdump_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$tcpdump_pid" 2>/dev/null || true; wait "$tcpdump_pid" 2>/dev/null || true
    [ -s "$WORK/$name.keys" ] || die "no key log written through SSLKEYLOGFILE ($name)"
    cp "$WORK/$name.pcap" "$WORK/$name.keys" "$OUT/"
    log "$name: $(stat -c %s "$OUT/$name.pcap") bytes, key log $(wc -l <"$OUT/$name.keys") lines"
}
mkdir -p "$OUT"
capture rtmps_tls13 19443
capture rtmps_tls12 19444
