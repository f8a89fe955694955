#!/usr/bin/env python3
"""Build the benchmark captures: synthetic, but protocol-correct RTMP over TCP/IPv4/Ethernet, as pcap.

Self-contained (stdlib only, nothing imported from rtmp_inspect or tests). Writes pcap records directly.

  media.pcap         >= 100 MB: publishers and players, chunk size 4096, flows interleaved in time
  media128.pcap      the same traffic with the default chunk size 128 (no Set Chunk Size)
  sessions.pcap      10,000 short player sessions (connect, createStream, play, a little media, close)
  big.pcap           ~1 GB: media.pcap repeated with shifted ports and times

Every connection: SYN (MSS 1448 option) / SYN-ACK / ACK, handshake C0+C1 / S0+S1+S2 / C2, connect/_result,
(releaseStream, FCPublish,) createStream/_result, publish or play/onStatus, metadata, AVC and AAC sequence
headers, then AAC audio (~200 B every 23 ms) and H.264-like video (AVCC NAL units, 5-50 KB, a keyframe every
2 s) at 30 fps. Messages are chunked with fmt 0 (first message on a chunk stream), fmt 1 (new length or
type), fmt 2 (same length and type) and fmt 3 continuations. TCP: segments of at most 1448 payload bytes,
sequence and acknowledgement numbers consistent, the receiver ACKs every write, RTMP Acknowledgement
messages per window, FIN/FIN/ACK close. IPv4 header checksums are right; TCP checksums are left 0 (as
captures with checksum offload show them).

Usage: python benchmarks/make_inputs.py [--out DIR] [--only NAME ...] [--force] [--curve]
"""

from __future__ import annotations

import argparse
import heapq
import os
import random
import struct
import sys
import time as _time

MSS = 1448
SERVER_IP = bytes([10, 1, 0, 1])
SERVER_PORT = 1935
WINDOW_ACK = 2_500_000

_pool_rng = random.Random(1234)
POOL = bytes(_pool_rng.getrandbits(8) for _ in range(1 << 16)) * 64  # 4 MiB of noise for bodies
POOL_LEN = len(POOL)

AVC_CONFIG = bytes.fromhex(
    "17000000000142c00cffe100186742c00cd90141fb0110000003001000000301e0f142a48001000568cb83cb20"
)
AAC_CONFIG = bytes.fromhex("af001210")

# --------------------------------------------------------------------------- AMF0


def amf0(value) -> bytes:
    if value is None:
        return b"\x05"
    if isinstance(value, bool):
        return b"\x01" + bytes([value])
    if isinstance(value, (int, float)):
        return b"\x00" + struct.pack(">d", float(value))
    if isinstance(value, str):
        raw = value.encode()
        return b"\x02" + struct.pack(">H", len(raw)) + raw
    if isinstance(value, dict):
        out = [b"\x03"]
        for key, item in value.items():
            raw = key.encode()
            out.append(struct.pack(">H", len(raw)) + raw + amf0(item))
        out.append(b"\x00\x00\x09")
        return b"".join(out)
    if isinstance(value, list):  # ECMA array
        raise TypeError(value)
    raise TypeError(value)


def ecma(d: dict) -> bytes:
    out = [b"\x08", struct.pack(">I", len(d))]
    for key, item in d.items():
        raw = key.encode()
        out.append(struct.pack(">H", len(raw)) + raw + amf0(item))
    out.append(b"\x00\x00\x09")
    return b"".join(out)


def command(name: str, txn: float, *args) -> bytes:
    return amf0(name) + amf0(txn) + b"".join(amf0(a) for a in args)


# --------------------------------------------------------------------------- RTMP chunking


class ChunkWriter:
    """One direction's chunk-stream state: picks fmt 0/1/2/3 like real encoders."""

    def __init__(self) -> None:
        self.chunk_size = 128
        self.last: dict[int, tuple[int, int, int, int]] = {}  # csid -> (stream_id, length, type, timestamp)

    def message(self, csid: int, type_id: int, stream_id: int, timestamp: int, body: bytes) -> bytes:
        length = len(body)
        prev = self.last.get(csid)
        if prev is None or prev[0] != stream_id or timestamp < prev[3]:
            head = bytes([csid]) + struct.pack(">I", timestamp)[1:] + struct.pack(">I", length)[1:] + \
                bytes([type_id]) + struct.pack("<I", stream_id)
        else:
            delta = timestamp - prev[3]
            if prev[1] == length and prev[2] == type_id:
                head = bytes([0x80 | csid]) + struct.pack(">I", delta)[1:]
            else:
                head = bytes([0x40 | csid]) + struct.pack(">I", delta)[1:] + struct.pack(">I", length)[1:] + \
                    bytes([type_id])
        self.last[csid] = (stream_id, length, type_id, timestamp)
        size = self.chunk_size
        if length <= size:
            return head + body
        cont = bytes([0xC0 | csid])
        parts = [head, body[:size]]
        for start in range(size, length, size):
            parts.append(cont)
            parts.append(body[start:start + size])
        return b"".join(parts)


def set_chunk_size(w: ChunkWriter, size: int) -> bytes:
    out = w.message(2, 1, 0, 0, struct.pack(">I", size))
    w.chunk_size = size
    return out


# --------------------------------------------------------------------------- pcap / TCP

_ETH_HEAD = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
_ETH_HEAD_R = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
_REC = struct.Struct("<IIII")
_IP = struct.Struct("!BBHHHBBH4s4s")
_TCP = struct.Struct("!HHIIBBHHH")


def _ip_checksum(header: bytes) -> int:
    s = sum(struct.unpack("!10H", header))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Conn:
    """A TCP connection between a client and the server that turns app writes into timed packets."""

    def __init__(self, client_ip: bytes, client_port: int, rng: random.Random) -> None:
        self.ips = (client_ip, SERVER_IP)
        self.ports = (client_port, SERVER_PORT)
        self.seq = [rng.getrandbits(32), rng.getrandbits(32)]
        self.ipid = [rng.getrandbits(16), rng.getrandbits(16)]
        self.recv = [0, 0]  # bytes received by each side (RTMP acknowledgements)

    def packet(self, d: int, flags: int, payload: bytes = b"", options: bytes = b"") -> bytes:
        o = 1 - d
        seq = self.seq[d]
        ack = self.seq[o] if flags & 0x10 else 0
        thl = 20 + len(options)
        tcp = _TCP.pack(self.ports[d], self.ports[o], seq, ack, (thl // 4) << 4, flags, 65535 if d else 64240,
                        0, 0) + options
        total = 20 + thl + len(payload)
        self.ipid[d] = (self.ipid[d] + 1) & 0xFFFF
        ip = _IP.pack(0x45, 0, total, self.ipid[d], 0x4000, 64, 6, 0, self.ips[d], self.ips[o])
        ip = ip[:10] + struct.pack("!H", _ip_checksum(ip)) + ip[12:]
        seg_len = len(payload) + (1 if flags & 0x03 else 0)
        self.seq[d] = (seq + seg_len) & 0xFFFFFFFF
        return (_ETH_HEAD if d == 0 else _ETH_HEAD_R) + ip + tcp + payload

    def open(self, t: float):
        mss = b"\x02\x04" + struct.pack("!H", MSS)
        yield t, self.packet(0, 0x02, options=mss)
        yield t + 0.0002, self.packet(1, 0x12, options=mss)
        yield t + 0.0004, self.packet(0, 0x10)

    def write(self, t: float, d: int, data: bytes, ack: bool = True):
        """Yield the packets of one application write at time t (and the peer's ACK)."""
        n = len(data)
        for start in range(0, n, MSS):
            end = start + MSS
            flags = 0x18 if end >= n else 0x10
            yield t, self.packet(d, flags, data[start:end])
            t += 0.00001
        self.recv[1 - d] += n
        if ack:
            yield t + 0.0001, self.packet(1 - d, 0x10)

    def close(self, t: float):
        yield t, self.packet(0, 0x11)
        yield t + 0.0002, self.packet(1, 0x11)
        yield t + 0.0004, self.packet(0, 0x10)


# --------------------------------------------------------------------------- RTMP sessions


def handshake(conn: Conn, t: float, rng: random.Random):
    c1 = struct.pack(">II", 0, 0) + POOL[(o := rng.randrange(POOL_LEN - 1528)):o + 1528]
    s1 = struct.pack(">II", 0, 0) + POOL[(o := rng.randrange(POOL_LEN - 1528)):o + 1528]
    yield from conn.write(t, 0, b"\x03" + c1)
    yield from conn.write(t + 0.001, 1, b"\x03" + s1 + c1[:4] + struct.pack(">I", 1) + c1[8:])
    c2 = s1[:4] + struct.pack(">I", 2) + s1[8:]
    return c2, t + 0.002


class MediaSource:
    """AAC every 23 ms, H.264-like AVCC video at 30 fps with a keyframe every 2 s."""

    def __init__(self, rng: random.Random, small: bool = False) -> None:
        self.rng = rng
        self.small = small

    def audio(self) -> bytes:
        size = self.rng.randint(180, 220)
        o = self.rng.randrange(POOL_LEN - size)
        return b"\xaf\x01" + POOL[o:o + size]

    def video(self, keyframe: bool) -> bytes:
        rng = self.rng
        if self.small:
            size = rng.randint(2500, 3500) if keyframe else rng.randint(400, 900)
        else:
            size = rng.randint(40000, 50000) if keyframe else rng.randint(5000, 15000)
        parts = [b"\x17\x01" if keyframe else b"\x27\x01", struct.pack(">I", rng.randrange(0, 67))[1:]]
        if keyframe:
            sei = b"\x06\x05\x10" + POOL[:16] + b"\x80"
            parts.append(struct.pack(">I", len(sei)) + sei)
            nal = b"\x65"
        else:
            nal = b"\x41"
        o = rng.randrange(POOL_LEN - size)
        parts.append(struct.pack(">I", size + 1) + nal + POOL[o:o + size])
        return b"".join(parts)

    def frames(self, start: float, duration: float):
        """(time offset in s, RTMP timestamp ms, type_id, body) in time order."""
        a_step, v_step = 0.023, 1 / 30
        a_t, v_t, n = 0.0, 0.0, 0
        while a_t < duration or v_t < duration:
            if a_t <= v_t:
                yield start + a_t, int(a_t * 1000), 8, self.audio()
                a_t += a_step
            else:
                yield start + v_t, int(v_t * 1000), 9, self.video(n % 60 == 0)
                n += 1
                v_t += v_step


METADATA = {"duration": 0, "width": 320.0, "height": 240.0, "videodatarate": 2500.0, "framerate": 30.0,
            "videocodecid": 7.0, "audiodatarate": 64.0, "audiosamplerate": 44100.0, "audiosamplesize": 16.0,
            "stereo": True, "audiocodecid": 10.0, "encoder": "rtmp-inspect benchmarks"}


def _rtmp_ack(conn: Conn, d: int, acked: list, w: ChunkWriter, t: float):
    """The receiver of direction d sends an RTMP Acknowledgement each WINDOW_ACK bytes."""
    r = 1 - d
    if conn.recv[r] - acked[0] >= WINDOW_ACK:
        acked[0] = conn.recv[r]
        yield from conn.write(t, r, w.message(2, 3, 0, 0, struct.pack(">I", conn.recv[r] & 0xFFFFFFFF)), ack=False)


def session(kind: str, client_ip: bytes, client_port: int, start: float, duration: float, chunk_size: int,
            name: str, seed: int, small: bool = False):
    """Packets of one RTMP connection: kind 'publish' or 'play'."""
    rng = random.Random(seed)
    conn = Conn(client_ip, client_port, rng)
    cw, sw = ChunkWriter(), ChunkWriter()  # client -> server, server -> client
    t = start
    yield from conn.open(t)
    t += 0.001
    c2, t = yield from handshake(conn, t, rng)
    tc_url = "rtmp://10.1.0.1/live"
    out = c2
    if chunk_size != 128 and kind == "publish":
        out += set_chunk_size(cw, chunk_size)
    connect = cw.message(3, 20, 0, 0, command("connect", 1, {
        "app": "live", "type": "nonprivate", "flashVer": "FMLE/3.0 (compatible; FMSc/1.0)", "tcUrl": tc_url,
        "fpad": False, "capabilities": 239.0, "audioCodecs": 3575.0, "videoCodecs": 252.0,
        "videoFunction": 1.0, "objectEncoding": 0.0}))
    yield from conn.write(t, 0, out + connect)
    t += 0.002
    reply = sw.message(2, 5, 0, 0, struct.pack(">I", WINDOW_ACK)) + \
        sw.message(2, 6, 0, 0, struct.pack(">IB", WINDOW_ACK, 2))
    if chunk_size != 128:
        reply += set_chunk_size(sw, chunk_size)
    reply += sw.message(3, 20, 0, 0, command(
        "_result", 1, {"fmsVer": "FMS/3,0,1,123", "capabilities": 31.0},
        {"level": "status", "code": "NetConnection.Connect.Success", "description": "Connection succeeded.",
         "objectEncoding": 0.0}))
    yield from conn.write(t, 1, reply)
    t += 0.002
    if kind == "publish":
        req = cw.message(3, 20, 0, 0, command("releaseStream", 2, None, name)) + \
            cw.message(3, 20, 0, 0, command("FCPublish", 3, None, name)) + \
            cw.message(3, 20, 0, 0, command("createStream", 4, None))
    else:
        req = cw.message(3, 20, 0, 0, command("createStream", 2, None))
    yield from conn.write(t, 0, req)
    t += 0.002
    txn = 4 if kind == "publish" else 2
    yield from conn.write(t, 1, sw.message(3, 20, 0, 0, command("_result", txn, None, 1.0)))
    t += 0.002
    if kind == "publish":
        yield from conn.write(t, 0, cw.message(4, 20, 1, 0, command("publish", 5, None, name, "live")))
        t += 0.002
        yield from conn.write(t, 1, sw.message(5, 20, 1, 0, command("onStatus", 0, None, {
            "level": "status", "code": "NetStream.Publish.Start", "description": f"{name} is now published."})))
        t += 0.002
        d, w, csid_a, csid_v, csid_d = 0, cw, 4, 6, 4
        head = w.message(csid_d, 18, 1, 0, amf0("@setDataFrame") + amf0("onMetaData") + ecma(METADATA))
    else:
        yield from conn.write(t, 0, cw.message(8, 20, 1, 0, command("play", 3, None, name, -2.0)))
        t += 0.002
        w = sw
        head = (
            sw.message(2, 4, 0, 0, struct.pack(">HI", 0, 1))
            + sw.message(
                5,
                20,
                1,
                0,
                command(
                    "onStatus",
                    0,
                    None,
                    {
                        "level": "status",
                        "code": "NetStream.Play.Reset",
                        "description": f"Playing and resetting {name}.",
                    },
                ),
            )
            + sw.message(
                5,
                20,
                1,
                0,
                command(
                    "onStatus",
                    0,
                    None,
                    {"level": "status", "code": "NetStream.Play.Start", "description": f"Started playing {name}."},
                ),
            )
            + sw.message(5, 18, 1, 0, amf0("|RtmpSampleAccess") + amf0(False) + amf0(False))
            + sw.message(5, 18, 1, 0, amf0("onMetaData") + ecma(METADATA))
        )
        d, csid_a, csid_v = 1, 6, 7
    head += w.message(csid_v, 9, 1, 0, AVC_CONFIG) + w.message(csid_a, 8, 1, 0, AAC_CONFIG)
    yield from conn.write(t, d, head)
    acked = [0]
    src = MediaSource(rng, small)
    t0 = t + 0.005
    last = t0
    for ft, ts, type_id, body in src.frames(t0, duration):
        csid = csid_a if type_id == 8 else csid_v
        yield from conn.write(ft, d, w.message(csid, type_id, 1, ts, body))
        yield from _rtmp_ack(conn, d, acked, sw if d == 0 else cw, ft + 0.0002)
        last = ft
    t = last + 0.01
    if kind == "publish":
        bye = cw.message(3, 20, 0, 0, command("FCUnpublish", 6, None, name)) + \
            cw.message(3, 20, 0, 0, command("deleteStream", 7, None, 1.0))
    else:
        bye = cw.message(3, 20, 0, 0, command("deleteStream", 4, None, 1.0))
    yield from conn.write(t, 0, bye)
    yield from conn.close(t + 0.005)


# --------------------------------------------------------------------------- captures


class PcapWriter:
    def __init__(self, path: str) -> None:
        self.f = open(path, "wb", buffering=1 << 22)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.packets = 0
        self.last = 0.0

    def write_all(self, packets) -> None:
        write, pack = self.f.write, _REC.pack
        n = 0
        last = self.last
        for t, data in packets:
            if t < last:  # never go back in time
                t = last
            last = t
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            if usec >= 1_000_000:
                sec, usec = sec + 1, usec - 1_000_000
            size = len(data)
            write(pack(sec, usec, size, size))
            write(data)
            n += 1
        self.last = last
        self.packets += n

    def close(self) -> None:
        self.f.close()


BASE_TIME = 1_700_000_000.0


def media_sessions(chunk_size: int, publishers: int, players_per: int, duration: float, t0: float,
                   port_base: int, seed: int):
    gens = []
    k = 0
    for p in range(publishers):
        name = f"cam{p}"
        ip = bytes([10, 0, 1, 1 + p])
        gens.append(session("publish", ip, port_base + k, t0 + p * 0.37, duration, chunk_size, name, seed + k))
        k += 1
        for q in range(players_per):
            ip = bytes([10, 0, 2 + p, 1 + q])
            gens.append(session("play", ip, port_base + k, t0 + 1.0 + p * 0.37 + q * 0.53,
                                duration - 1.0, chunk_size, name, seed + k))
            k += 1
    return heapq.merge(*gens, key=lambda x: x[0])


def make_media(path: str, chunk_size: int, rounds: int = 1, duration: float = 30.0) -> None:
    w = PcapWriter(path)
    for r in range(rounds):
        w.write_all(media_sessions(chunk_size, 4, 2, duration, BASE_TIME + r * (duration + 1.0), 40000 + r * 100,
                                   r * 1000))
    w.close()


def make_sessions(path: str, count: int = 10_000) -> None:
    def gen():
        for i in range(count):
            ip = bytes([10, 2 + (i >> 16), (i >> 8) & 0xFF, i & 0xFF or 1])
            yield session("play", ip, 20000 + (i % 40000), BASE_TIME + i * 0.004, 0.1, 4096, f"s{i % 50}",
                          10_000 + i, small=True)

    # Sessions start 4 ms apart and last ~0.3 s: about 75 at once. Merge lazily, a window of starts at a time.
    w = PcapWriter(path)
    w.write_all(_lazy_merge(gen(), lookahead=1.0))
    w.close()


def _lazy_merge(session_gens, lookahead: float):
    """Merge packet generators that start in time order, without opening all of them at once."""
    heap: list = []
    counter = 0
    pending = None
    it = iter(session_gens)
    exhausted = False
    while True:
        # open sessions whose first packet is due within the lookahead of the heap's head
        while not exhausted:
            if pending is None:
                g = next(it, None)
                if g is None:
                    exhausted = True
                    break
                first = next(g, None)
                if first is None:
                    continue
                pending = (first, g)
            if heap and pending[0][0] > heap[0][0] + lookahead:
                break
            heapq.heappush(heap, (pending[0][0], counter, pending[0][1], pending[1]))
            counter += 1
            pending = None
        if not heap:
            if exhausted:
                return
            continue
        t, _, data, g = heapq.heappop(heap)
        yield t, data
        nxt = next(g, None)
        if nxt is not None:
            heapq.heappush(heap, (nxt[0], counter, nxt[1], g))
            counter += 1


INPUTS = {
    "media": lambda d: make_media(os.path.join(d, "media.pcap"), 4096),
    "media128": lambda d: make_media(os.path.join(d, "media128.pcap"), 128),
    "sessions": lambda d: make_sessions(os.path.join(d, "sessions.pcap")),
    "big": lambda d: make_media(os.path.join(d, "big.pcap"), 4096, rounds=9),
    # for the scaling curve (run.py --curve): 3 rounds of media, 1,000 and 3,000 sessions
    "media3": lambda d: make_media(os.path.join(d, "media3.pcap"), 4096, rounds=3),
    "sessions1k": lambda d: make_sessions(os.path.join(d, "sessions1k.pcap"), 1000),
    "sessions3k": lambda d: make_sessions(os.path.join(d, "sessions3k.pcap"), 3000),
}
DEFAULT = ["media", "media128", "sessions", "big"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    parser.add_argument("--only", nargs="*", choices=sorted(INPUTS), help="build only these inputs")
    parser.add_argument("--force", action="store_true", help="rebuild inputs that exist already")
    parser.add_argument("--curve", action="store_true", help="also build the inputs of the scaling curve")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for name in args.only or (list(INPUTS) if args.curve else DEFAULT):
        path = os.path.join(args.out, name + ".pcap")
        if os.path.exists(path) and not args.force:
            print(f"{path}: exists ({os.path.getsize(path) / 1e6:.0f} MB), kept (--force rebuilds)")
            continue
        began = _time.monotonic()
        INPUTS[name](args.out)
        print(f"{path}: {os.path.getsize(path) / 1e6:.0f} MB in {_time.monotonic() - began:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
