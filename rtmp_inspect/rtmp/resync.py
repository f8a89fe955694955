"""Finding chunk boundaries without context: captures that start mid-session, and after TCP gaps.

Chunk headers carry no marker, so a boundary is found by trying candidate positions and chunk sizes
and keeping the one whose following headers look most like RTMP (known type ids, sane lengths,
small message stream ids, no new header in the middle of a message). Wireshark decodes such
captures as garbage; this decodes them with the chunk size and header state marked inferred.
"""

from __future__ import annotations

PLAUSIBLE_TYPES = frozenset((1, 2, 3, 4, 5, 6, 8, 9, 15, 16, 17, 18, 19, 20, 22))
# Chunk sizes seen in the wild, most common first: nginx-rtmp / librtmp 4096, the default 128, SRS 60000.
COMMON_CHUNK_SIZES = (4096, 128, 60000, 65536, 1024, 2048, 8192, 16384, 32768, 256, 512, 1400, 1460, 4000)
MAX_PLAUSIBLE_LENGTH = 8 * 1024 * 1024
MAX_PLAUSIBLE_STREAM_ID = 0xFFFF
# How many chunks a candidate must parse cleanly to be believed, and how many start positions to try.
CONFIDENT_HEADERS = 12
MAX_START_CANDIDATES = 400
_HEADER = (11, 7, 3, 0)


def find_chunk_boundary(
    buf: bytearray, start: int, chunk_size: int | None, final: bool, min_headers: int | None = None,
    end: int | None = None,
) -> tuple[int, int, bool] | None:
    """Return (position, chunk size, size inferred?) of the most plausible chunk start in buf[start:end]
    (end: the whole buffer by default); only those bytes are looked at.
    `min_headers`: clean headers needed to believe a candidate (default: many, or 2 at the end of the data)."""
    sizes = (chunk_size,) if chunk_size else COMMON_CHUNK_SIZES
    if end is None:
        end = len(buf)
    tried = 0
    best: tuple[int, int, int] | None = None  # (score, position, size)
    for p in range(start, end - 12):
        if not _plausible_start(buf, p, end):
            continue
        tried += 1
        for size in sizes:
            score, exercised = _trial(buf, p, size, end)
            if score <= 0:
                continue
            # Prefer a size the bytes actually exercised (a message longer than the chunk size was split there).
            ranked = score * 2 + (1 if exercised else 0)
            if best is None or ranked > best[0]:
                best = (ranked, p, size)
        if best is not None and best[0] >= CONFIDENT_HEADERS * 2:
            break
        if tried >= MAX_START_CANDIDATES:
            break
    if best is None:
        return None
    needed = min_headers or (CONFIDENT_HEADERS if not final else 2)
    if best[0] // 2 < needed:
        return None
    return best[1], best[2], chunk_size is None


def _plausible_start(buf: bytearray, p: int, end: int) -> bool:
    """A fmt 0 or fmt 1 header, wholly before `end`, with a known type and a sane length."""
    b0 = buf[p]
    fmt = b0 >> 6
    if fmt > 1:
        return False
    csid = b0 & 0x3F
    h = p + (2 if csid == 0 else 3 if csid == 1 else 1)
    if h + _HEADER[fmt] > end:
        return False
    if buf[h + 6] not in PLAUSIBLE_TYPES:
        return False
    length = (buf[h + 3] << 16) | (buf[h + 4] << 8) | buf[h + 5]
    if length > MAX_PLAUSIBLE_LENGTH:
        return False
    if fmt == 0 and int.from_bytes(buf[h + 7 : h + 11], "little") > MAX_PLAUSIBLE_STREAM_ID:
        return False
    return True


def _trial(buf: bytearray, p: int, size: int, end: int) -> tuple[int, bool]:
    """Parse chunks from p with chunk size `size`. Score: clean headers seen; 0 if anything is implausible."""
    remaining: dict[int, int] = {}  # csid -> bytes left in its message (0: between messages)
    lengths: dict[int, int] = {}
    headers = 0
    exercised = False
    while p < end:
        b0 = buf[p]
        fmt = b0 >> 6
        csid = b0 & 0x3F
        head = 1
        if csid == 0:
            if p + 1 >= end:
                break
            csid = 64 + buf[p + 1]
            head = 2
        elif csid == 1:
            if p + 2 >= end:
                break
            csid = 64 + buf[p + 1] + (buf[p + 2] << 8)
            head = 3
        h = p + head
        if h + _HEADER[fmt] > end:
            break
        left = remaining.get(csid)
        if fmt <= 1:
            if left:  # a new header in the middle of a message
                return 0, False
            if not _plausible_start(buf, p, end):
                return 0, False
            length = (buf[h + 3] << 16) | (buf[h + 4] << 8) | buf[h + 5]
            lengths[csid] = length
            left = length
            headers += 1
        elif left is None or (left == 0 and csid not in lengths):
            left = size  # a continuation of a message that began before the window: assume a full chunk
        elif left == 0:
            left = lengths[csid]  # a new message with the previous header's length
            headers += 1
        payload = min(left, size)
        if left > size:
            exercised = True
        remaining[csid] = left - payload
        ts_bytes = buf[h : h + 3] if fmt < 3 else b""
        extra = 4 if ts_bytes == b"\xff\xff\xff" else 0
        p = h + _HEADER[fmt] + extra + payload
    return headers, exercised
