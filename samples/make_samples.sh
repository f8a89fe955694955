#!/usr/bin/env bash
# make_samples.sh - make real RTMP captures with real peers, on loopback,
# inside a network namespace of our own.
#
#   bash samples/make_samples.sh [OUTDIR]            (default: the samples/ folder)
#   bash samples/make_samples.sh --report [OUTDIR]   (only print the tables)
#
# Server: nginx + Debian's RTMP module (libnginx-mod-rtmp), own config/pid/log
# in a temp dir. Publisher: ffmpeg (FLV source file made first, then sent with
# -re -c copy). Players: ffmpeg and rtmpdump. Capturer: tcpdump (pcap).
# Needs root (netns, tcpdump). Takes about a minute. See samples/README.md.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPORT_ONLY=0
if [ "${1:-}" = --report ]; then REPORT_ONLY=1; shift; fi
OUT=$(realpath -m "${1:-$HERE}")
NS=rtmpsamples
MEDIA_SECONDS=4          # length of the synthetic source
VIDEO_BITRATE=400k
AUDIO_BITRATE=64k
CLIENT_TIMEOUT=25        # hard limit for any one client process (seconds)
T0=$(date +%s)

log()  { printf '[make_samples %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
die()  { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- report
# report DIR : markdown tables of the captures (tshark) and FLVs (ffprobe)
report() {
    local dir=$1 f n frames maxlen msgs av cmds dur st tmp
    local da=()
    tmp=$(mktemp)
    echo
    echo "| capture | bytes | frames | max frame | RTMP msgs | a/v msgs | commands |"
    echo "|---|---|---|---|---|---|---|"
    for f in "$dir"/*.pcap; do
        n=$(basename "$f" .pcap)
        case $n in big_chunk) da=(-d tcp.port==19350,rtmpt) ;; port_other) da=(-d tcp.port==8935,rtmpt) ;; *) da=() ;; esac
        # one pass: every frame, with its length and what tshark decodes as RTMP
        tshark -r "$f" "${da[@]}" -T fields -e frame.len -e rtmpt.header.typeid -e amf.string \
            >"$tmp" 2>/dev/null || true
        frames=$(wc -l <"$tmp")
        maxlen=$(cut -f1 "$tmp" | sort -n | tail -n1)
        msgs=$(cut -f2 "$tmp" | tr ',' '\n' | grep -c . || true)
        av=$(cut -f2 "$tmp" | tr ',' '\n' | grep -cE '^0x0(8|9)$' || true)
        cmds=$(cut -f3 "$tmp" | tr ',' '\n' \
            | grep -E '^(connect|createStream|publish|play|deleteStream|FCPublish|FCUnpublish|releaseStream|_result|_error|onStatus|getStreamLength|FCSubscribe|NetStream\.[A-Za-z.]+|NetConnection\.[A-Za-z.]+)$' \
            | sort | uniq -c | awk '{printf "%s%s×%s", (NR>1?", ":""), $2, $1}' || true)
        echo "| $n.pcap | $(stat -c %s "$f") | $frames | $maxlen | $msgs | $av | $cmds |"
    done
    echo
    echo "| flv | bytes | duration | streams |"
    echo "|---|---|---|---|"
    for f in "$dir"/*.flv; do
        dur=$(ffprobe -v error -show_entries format=duration -of default=nw=1:nk=1 "$f" || true)
        st=$(ffprobe -v error -show_entries stream=codec_name,width,height,sample_rate -of csv=p=0 "$f" | tr '\n' ' ' || true)
        echo "| $(basename "$f") | $(stat -c %s "$f") | $dur | $st |"
    done
    rm -f "$tmp"
}

if [ "$REPORT_ONLY" = 1 ]; then report "$OUT"; exit 0; fi

[ "$(id -u)" = 0 ] || die "must run as root (network namespace, tcpdump)"

# ---------------------------------------------------------------- packages
RTMP_SO=/usr/lib/nginx/modules/ngx_rtmp_module.so
need_install=0
for c in nginx ffmpeg ffprobe rtmpdump tcpdump ip ss tshark; do
    command -v "$c" >/dev/null 2>&1 || need_install=1
done
[ -f "$RTMP_SO" ] || need_install=1
if [ "$need_install" = 1 ]; then
    log "installing packages (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q nginx libnginx-mod-rtmp ffmpeg rtmpdump tcpdump iproute2 tshark
fi
[ -f "$RTMP_SO" ] || RTMP_SO=$(find /usr/lib/nginx/modules -name 'ngx_rtmp_module.so' | head -n1)
[ -f "$RTMP_SO" ] || die "ngx_rtmp_module.so not found"

# ---------------------------------------------------------------- state / cleanup
mkdir -p "$OUT"
exec 9>/tmp/rtmpsamples.lock
flock -n 9 || die "another make_samples.sh is running (lock /tmp/rtmpsamples.lock)"
WORK=$(mktemp -d /tmp/rtmpsamples.XXXXXX)
USE_NS=0

cleanup() {
    local rc=$? p left
    trap - EXIT INT TERM
    # only children not yet waited for (jobs -p), so no PID can have been reused
    left=$(jobs -p)
    for p in $left; do kill -TERM "$p" 2>/dev/null || true; done
    [ -n "$left" ] && sleep 0.3
    for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
    for p in $left; do wait "$p" 2>/dev/null || true; done
    if [ "$USE_NS" = 1 ]; then
        # anything still inside the namespace was started by us
        for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
        ip netns del "$NS" 2>/dev/null || true
    fi
    if [ "$rc" != 0 ]; then
        log "failed (rc=$rc); logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- namespace
if ip netns list 2>/dev/null | grep -qw "^$NS"; then
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
fi
if ip netns add "$NS" 2>/dev/null && ip netns exec "$NS" ip link set lo up mtu 1500; then
    USE_NS=1
    # loopback hands TCP super-packets (GSO, up to 64 KiB) to the capture;
    # one segment per packet gives Ethernet-sized frames as on a real network.
    ip netns exec "$NS" ip link set lo gso_max_size 1500 gso_max_segs 1 2>/dev/null \
        || log "WARNING: could not limit GSO on lo; frames may exceed 1514 bytes"
    log "network namespace $NS ready (lo mtu 1500)"
else
    ip netns del "$NS" 2>/dev/null || true
    log "WARNING: no network namespace possible; using the host loopback (mtu 65536)"
fi
nsx() { if [ "$USE_NS" = 1 ]; then ip netns exec "$NS" "$@"; else "$@"; fi; }

# ---------------------------------------------------------------- helpers
LAST_PID=
bg() {  # bg LOGFILE cmd... : start in the namespace, in the background
    local logf=$1; shift
    # no shell function in between: $! is the process itself (ip netns exec
    # execs the command), so signals reach it
    if [ "$USE_NS" = 1 ]; then
        ip netns exec "$NS" "$@" >"$logf" 2>&1 &
    else
        "$@" >"$logf" 2>&1 &
    fi
    LAST_PID=$!
}
WRC=0
wait_rc() {  # wait_rc PID : exit status of a background process in WRC, never fails
    WRC=0
    wait "$1" || WRC=$?
}
stop() {  # stop PID [SIGNAL] : signal, give it 3 s, then KILL
    local pid=$1 sig=${2:-TERM} i
    kill "-$sig" "$pid" 2>/dev/null || return 0
    for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
wait_for() {  # wait_for SECONDS cmd... : poll until cmd succeeds
    local t=$1 i; shift
    for i in $(seq $((t * 20))); do "$@" && return 0; sleep 0.05; done
    return 1
}
count_in() { grep -c -- "$2" "$1" 2>/dev/null || true; }
log_has()  { [ "$(count_in "$1" "$2")" -ge "$3" ]; }

NGINX_PID=
start_nginx() {  # start_nginx DIR LISTEN CHUNK_SIZE APPLICATIONS...
    local dir=$1 listen=$2 chunk=$3; shift 3
    mkdir -p "$dir"
    {
        echo "load_module $RTMP_SO;"
        echo "worker_processes 1;"
        echo "daemon off;"
        echo "pid $dir/nginx.pid;"
        echo "error_log $dir/error.log info;"
        echo "events { worker_connections 64; }"
        echo "rtmp {"
        echo "  server {"
        echo "    listen $listen;"
        echo "    chunk_size $chunk;"
        local a; for a in "$@"; do echo "    $a"; done
        echo "  }"
        echo "}"
    } >"$dir/nginx.conf"
    nsx nginx -t -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" >"$dir/nginx-t.log" 2>&1 \
        || { cat "$dir/nginx-t.log" >&2; die "bad nginx config $dir/nginx.conf"; }
    not_listening "${listen##*:}" || die "port ${listen##*:} already in use"
    bg "$dir/nginx.out" nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log"
    NGINX_PID=$LAST_PID
    local port=${listen##*:}
    wait_for 5 listening "$port" || die "nginx did not listen on $listen (see $dir/error.log)"
}
listening() { [ -n "$(nsx ss -Hltn "( sport = :$1 )")" ]; }
not_listening() { ! listening "$1"; }
stop_nginx() {  # stop_nginx PORT : fast shutdown (nginx-rtmp hangs on graceful QUIT)
    local workers w
    workers=$(pgrep -P "$NGINX_PID" || true)
    stop "$NGINX_PID" TERM
    for w in $workers; do
        [ "$(cat "/proc/$w/comm" 2>/dev/null)" = nginx ] && kill -KILL "$w" 2>/dev/null || true
    done
    wait_for 5 not_listening "$1" || die "port $1 still in use after nginx stopped"
}

TCPDUMP_PID=
CAP_LOG=
start_capture() {  # start_capture PCAP PORT
    # --immediate-mode: no packet waits in the kernel ring when tcpdump is
    # stopped; -B 65536 (KiB): room for the bursts of -re, so none is dropped.
    CAP_LOG=$1.tcpdump.log
    bg "$CAP_LOG" tcpdump -i lo -n --immediate-mode -B 65536 -U -s 0 -Z root -w "$1" "tcp port $2"
    TCPDUMP_PID=$LAST_PID
    wait_for 5 grep -qs 'listening on' "$CAP_LOG" || die "tcpdump did not start"
}
# SIGTERM, not SIGINT: background jobs of a script start with SIGINT ignored
stop_capture() { sleep 0.5; stop "$TCPDUMP_PID" TERM; }
capture_lost() {  # capture_lost PCAP : packets tcpdump dropped + segments tshark misses
    local dropped lost=0
    dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$CAP_LOG")
    if command -v tshark >/dev/null 2>&1; then
        lost=$(tshark -r "$1" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' 2>/dev/null | wc -l)
    fi
    echo $(( ${dropped:-0} + lost ))
}

# Clients. Every one is wrapped in timeout so that nothing can hang the script.
FF=(ffmpeg -hide_banner -nostdin -loglevel warning)
BITEXACT=(-map_metadata -1 -fflags +bitexact -flags +bitexact)
PUBLISH_EXTRA=()
publisher() {  # publisher LOG URL  (background)
    bg "$1" timeout -k 2 "$CLIENT_TIMEOUT" "${FF[@]}" -re -i "$SRC" -map 0 -c copy "${PUBLISH_EXTRA[@]}" "${BITEXACT[@]}" -f flv "$2"
}
ffplayer() {   # ffplayer LOG URL OUTFLV  (background)
    bg "$1" timeout -k 2 "$CLIENT_TIMEOUT" "${FF[@]}" -i "$2" -map 0 -c copy "${BITEXACT[@]}" -f flv -y "$3"
}
rdplayer() {   # rdplayer LOG URL OUTFLV [extra rtmpdump args]  (background)
    local logf=$1 url=$2 flv=$3; shift 3
    bg "$logf" timeout -k 2 "$CLIENT_TIMEOUT" rtmpdump -r "$url" -v --stop 30 -m 10 -o "$flv" "$@"
}

# ---------------------------------------------------------------- source
SRC=$OUT/publish_play.source.flv
log "encoding ${MEDIA_SECONDS}s synthetic source -> $SRC"
"${FF[@]}" -y \
    -f lavfi -i "testsrc2=size=640x360:rate=25" \
    -f lavfi -i "sine=frequency=440:sample_rate=44100" \
    -t "$MEDIA_SECONDS" -map 0:v -map 1:a \
    -c:v libx264 -threads 1 -preset veryfast -tune zerolatency -g 50 -pix_fmt yuv420p \
    -b:v "$VIDEO_BITRATE" -maxrate "$VIDEO_BITRATE" -bufsize "$VIDEO_BITRATE" \
    -c:a aac -b:a "$AUDIO_BITRATE" -ac 1 -ar 44100 \
    "${BITEXACT[@]}" -f flv "$SRC"

# ---------------------------------------------------------------- scenarios
SUMMARY=$WORK/summary.txt
: >"$SUMMARY"
SC=            # current scenario name
D=             # its work dir
note() { echo "$SC: $*" >>"$D/notes"; log "$SC: $*"; }

run() {  # run NAME FUNCTION [ARGS] : a scenario, again (up to 3 times) if the capture lost packets
    local name=$1 try lost f; shift
    SC=$name
    for try in 1 2 3; do
        D=$WORK/$name
        rm -rf "$D"; mkdir -p "$D"
        if [ "$try" = 1 ]; then log "scenario $name"; else log "scenario $name (try $try)"; fi
        "$@"
        lost=$(capture_lost "$D/$name.pcap")
        [ "$lost" = 0 ] && break
        log "$name: the capture lost $lost packet(s) (tcpdump drop or segment missing); again"
        [ "$try" = 3 ] && die "$name: capture lost packets 3 times"
    done
    mv -f "$D/$name.pcap" "$OUT/$name.pcap"
    for f in "$D"/*.flv; do [ -e "$f" ] && mv -f "$f" "$OUT/"; done
    cat "$D/notes" >>"$SUMMARY"
}

# Applications used by the scenarios.
# play_restart on: nginx sends NetStream.Play.Stop + StreamEOF to players when
# the publisher stops, so ffmpeg and rtmpdump players leave by themselves
# (without it they wait forever). wait_key/wait_video: a player's media starts
# with a key frame, audio only after the first video.
APP_LIVE='application live { live on; play_restart on; wait_key on; wait_video on; }'

# Players connect one at a time (so the order of connections is the same every
# run) and wait, then the publisher sends the source in real time; at its end
# nginx sends the players Play.Stop and they leave.
play_and_publish() {  # PORT URL PLAYER... (PLAYER: ff:OUT.flv | rd:OUT.flv[:rtmpdump args])
    local port=$1 url=$2; shift 2
    local p kind flv n=0 pub i pids=() kinds=() extra
    start_capture "$D/$SC.pcap" "$port"
    for p in "$@"; do
        kind=${p%%:*}; flv=${p#*:}; extra=()
        if [ "$kind" = ff ]; then
            ffplayer "$D/player$n.log" "$url" "$D/$flv"
        else
            if [[ $flv == *:* ]]; then read -r -a extra <<<"${flv#*:}"; flv=${flv%%:*}; fi
            rdplayer "$D/player$n.log" "$url" "$D/$flv" "${extra[@]}"
        fi
        pids+=("$LAST_PID"); kinds+=("$kind")
        n=$((n + 1))
        wait_for 10 log_has "$D/error.log" "play: name=" "$n" || die "$SC: player $n did not play"
    done
    sleep 0.3
    publisher "$D/publisher.log" "$url"; pub=$LAST_PID
    wait_rc "$pub"; note "publisher (ffmpeg) exit $WRC"
    for i in "${!pids[@]}"; do
        wait_rc "${pids[$i]}"
        note "player $((i + 1)) ($([ "${kinds[$i]}" = ff ] && echo ffmpeg || echo rtmpdump)) exit $WRC"
    done
    stop_capture
    stop_nginx "$port"
}

first_error() { grep -m1 -iE "$2" "$1" | sed 's/\[[a-z]* @ 0x[0-9a-f]*\] //' || true; }

# 1. publish_play: one publisher, an ffmpeg and an rtmpdump player at once.
sc_publish_play() {
    start_nginx "$D" 127.0.0.1:1935 4096 "$APP_LIVE"
    play_and_publish 1935 rtmp://127.0.0.1:1935/live/cam1 \
        ff:publish_play.ffmpeg.flv rd:publish_play.rtmpdump.flv
}

# 2. big_chunk: nginx chunk_size 60000 (> 32768, as SRS uses) on port 19350.
sc_big_chunk() {
    start_nginx "$D" 127.0.0.1:19350 60000 "$APP_LIVE"
    play_and_publish 19350 rtmp://127.0.0.1:19350/live/cam1 ff:big_chunk.ffmpeg.flv
}

# 3. port_other: port 8935, rtmpdump player. The player adds extra connect
#    arguments (-C: boolean, string, object with number/string/boolean
#    members, null) as Flash applications do, and nginx has a small
#    ack_window so the player sends Acknowledgement messages.
sc_port_other() {
    start_nginx "$D" 127.0.0.1:8935 4096 "ack_window 65536;" "$APP_LIVE"
    play_and_publish 8935 rtmp://127.0.0.1:8935/live/cam1 \
        "rd:port_other.rtmpdump.flv:-C B:1 -C S:sample-token -C O:1 -C NN:width:640 -C NS:lang:en -C NB:hd:0 -C O:0 -C Z:"
}

# 4. ipv6: everything over [::1]. rtmpdump 2.4 cannot (librtmp takes no IPv6
#    literal: "Problem accessing the DNS. (addr: [)"), so both are ffmpeg.
sc_ipv6() {
    start_nginx "$D" '[::1]:1935' 4096 "$APP_LIVE"
    play_and_publish 1935 'rtmp://[::1]:1935/live/cam1' ff:ipv6.ffmpeg.flv
}

# 5a. play_missing: plays of a stream nobody publishes, in an application with
#     idle_streams off (nginx answers NetStream.Play.StreamNotFound and
#     closes): first rtmpdump, then ffmpeg.
sc_play_missing() {
    start_nginx "$D" 127.0.0.1:1935 4096 'application live { live on; idle_streams off; }'
    start_capture "$D/$SC.pcap" 1935
    rdplayer "$D/rtmpdump.log" rtmp://127.0.0.1:1935/live/nothere "$D/unused.flv"
    wait_rc "$LAST_PID"; note "rtmpdump exit $WRC: $(first_error "$D/rtmpdump.log" error)"
    ffplayer "$D/ffmpeg.log" rtmp://127.0.0.1:1935/live/nothere "$D/unused2.flv"
    wait_rc "$LAST_PID"; note "ffmpeg exit $WRC: $(first_error "$D/ffmpeg.log" error)"
    stop_capture; stop_nginx 1935
    rm -f "$D"/*.flv
}

# 5b. play_idle: the same play with nginx's default idle_streams on: accepted
#     (Play.Start), then nothing; rtmpdump gives up after its 2 s inactivity
#     timeout (-m 2) and sends deleteStream.
sc_play_idle() {
    start_nginx "$D" 127.0.0.1:1935 4096 'application live { live on; }'
    start_capture "$D/$SC.pcap" 1935
    bg "$D/rtmpdump.log" timeout -k 2 "$CLIENT_TIMEOUT" \
        rtmpdump -r rtmp://127.0.0.1:1935/live/nothere -v -m 2 -o "$D/unused.flv"
    wait_rc "$LAST_PID"; note "rtmpdump exit $WRC: $(first_error "$D/rtmpdump.log" 'error|incomplete')"
    stop_capture; stop_nginx 1935
    rm -f "$D"/*.flv
}

# 5c. publish_rejected: publish to an application that allows publishing only
#     from 10.0.0.1 (only a rule: no traffic goes there).
sc_publish_rejected() {
    start_nginx "$D" 127.0.0.1:1935 4096 \
        'application live { live on; allow publish 10.0.0.1; deny publish all; allow play all; }'
    start_capture "$D/$SC.pcap" 1935
    publisher "$D/publisher.log" rtmp://127.0.0.1:1935/live/cam1
    wait_rc "$LAST_PID"; note "publisher exit $WRC: $(first_error "$D/publisher.log" 'error|broken|reset')"
    stop_capture; stop_nginx 1935
}

# 5d. connect_rejected: publish to an application nginx does not have.
sc_connect_rejected() {
    start_nginx "$D" 127.0.0.1:1935 4096 "$APP_LIVE"
    start_capture "$D/$SC.pcap" 1935
    publisher "$D/publisher.log" rtmp://127.0.0.1:1935/nosuchapp/cam1
    wait_rc "$LAST_PID"; note "publisher exit $WRC: $(first_error "$D/publisher.log" error)"
    stop_capture; stop_nginx 1935
}

# 6. midsession: an ffmpeg player and the publisher run; tcpdump starts 1 s
#    after them, so the capture has no handshake, connect, play or publish.
sc_midsession() {
    local pl pub
    start_nginx "$D" 127.0.0.1:1935 4096 "$APP_LIVE"
    ffplayer "$D/player.log" rtmp://127.0.0.1:1935/live/cam1 "$D/midsession.ffmpeg.flv"; pl=$LAST_PID
    wait_for 10 log_has "$D/error.log" "play: name=" 1 || die "midsession: player did not play"
    publisher "$D/publisher.log" rtmp://127.0.0.1:1935/live/cam1; pub=$LAST_PID
    sleep 1
    start_capture "$D/$SC.pcap" 1935
    wait_rc "$pub"; note "publisher (ffmpeg) exit $WRC"
    wait_rc "$pl"; note "player (ffmpeg) exit $WRC"
    stop_capture; stop_nginx 1935
}

# 7. chunk128: server chunk_size 128 (the protocol's default: many chunks).
sc_chunk128() {
    start_nginx "$D" 127.0.0.1:1935 128 "$APP_LIVE"
    play_and_publish 1935 rtmp://127.0.0.1:1935/live/cam1 rd:chunk128.rtmpdump.flv
}

# 8. ext_timestamp: the publisher shifts its timestamps by 16780 s, past
#    0xFFFFFF ms (16777.215 s): every chunk header that carries an absolute
#    timestamp (type 0) uses the extended timestamp field.
sc_ext_timestamp() {
    start_nginx "$D" 127.0.0.1:1935 4096 "$APP_LIVE"
    PUBLISH_EXTRA=(-output_ts_offset 16780)
    play_and_publish 1935 rtmp://127.0.0.1:1935/live/cam1 rd:ext_timestamp.rtmpdump.flv
    PUBLISH_EXTRA=()
}

run publish_play     sc_publish_play
run big_chunk        sc_big_chunk
run port_other       sc_port_other
run ipv6             sc_ipv6
run play_missing     sc_play_missing
run play_idle        sc_play_idle
run publish_rejected sc_publish_rejected
run connect_rejected sc_connect_rejected
run midsession       sc_midsession
run chunk128         sc_chunk128
run ext_timestamp    sc_ext_timestamp

# ---------------------------------------------------------------- report
log "captures done in $(( $(date +%s) - T0 ))s; what the clients did:"
cat "$SUMMARY" >&2
report "$OUT"
