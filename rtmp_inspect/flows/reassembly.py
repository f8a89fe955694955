"""Reassembly of one direction of a TCP connection into a byte stream.

Modelled on aioquic's stream reassembly by offset: every sequence number is
turned into a 64-bit *stream offset* (0 = first data byte), bytes at the
expected offset are delivered at once, bytes ahead of it are held, keyed by
offset, until the hole before them fills.

Rules (the receiver's point of view, as its TCP stack would see it):

* First copy wins.  Bytes already delivered or already held are never
  replaced; a later copy of them counts the segment as a retransmission and,
  if its bytes differ, yields an OverlapMismatch.  Delivered bytes are
  compared against a bounded history of recently delivered payloads (kept by
  reference, not copied); older ones are dropped unchecked.
* SYN and FIN each take one sequence number; data in a SYN segment starts
  after it.  A FIN that ends before bytes already delivered is an old copy
  (a receiver ignores it), not the end of the stream.  A direction whose SYN is not in the capture starts at its first
  segment's sequence number.
* Sequence numbers wrap at 2**32; each one is read as the offset nearest to
  the next expected one (within +-2**31).
* Sequence and acknowledgement numbers far (MAX_AHEAD) beyond anything the
  connection showed are corrupted numbers, not evidence of missing bytes: such
  a segment or ACK is counted and not used, unless the next far segment
  continues exactly where it ended (the capture did lose that much).
* A segment cut by the snap length (`missing > 0`) delivers what it has;
  the cut-off bytes are known lost and become a gap when reached (a later
  full copy, if any arrives first, fills them instead).
* A hole that never fills becomes a StreamGap, and delivery resumes with the
  held bytes after it, when
    - the peer's ACK acknowledges bytes past the hole and the sender was
      seen sending bytes past it (the receiver got them; the capture did not),
    - the held bytes exceed `max_buffer` bytes or `max_pieces` pieces (the
      first hole goes),
    - the stream is finished (`finish()`: end of flow / end of capture).
      Bytes the capture never saw at all at the end of the stream (seen
      only through later sequence numbers or the peer's ACK) are a final
      gap; when no FIN was seen one sequence number of such evidence is held
      back, since it may be an unseen FIN.

Event frame/time: those of the segment whose arrival made bytes deliverable
(the segment that filled the hole, or the ACK that made it a gap).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import deque
from typing import cast

from rtmp_inspect.flows.events import Flow, FlowEvent, OverlapMismatch, StreamData, StreamGap

SYN = 0x02
FIN = 0x01
RST = 0x04

MASK = 0xFFFFFFFF
HALF = 0x80000000

MAX_AHEAD = 1 << 24  # data or an ACK this far beyond anything the connection showed is a corrupted number
DEFAULT_MAX_BUFFER = 32 * 1024 * 1024  # out-of-order bytes held per direction
DEFAULT_MAX_PIECES = 65536  # out-of-order pieces held per direction
DEFAULT_HISTORY = 256 * 1024  # delivered bytes kept (by reference) to check retransmissions


class StreamReassembler:
    """One direction of a TCP flow.

    `feed()` takes one segment of this direction, `ack()` an ACK number sent
    by the peer, `finish()` ends the stream; each appends events to `out`
    (a list the caller owns) and returns nothing.  `flow` and `direction`
    are only copied into the events (the reassembler works without a flow).
    """

    __slots__ = (
        "flow",
        "direction",
        "max_buffer",
        "max_pieces",
        "history_limit",
        # sequence space
        "isn",
        "syn_seen",
        "fin_offset",
        "_base",
        "_next",
        "_next_seq",
        "_suspect_end",
        "implausible",
        "implausible_acks",
        # evidence of bytes sent / received beyond what the capture delivered
        "_high",
        "_hint",
        "_acked",
        # out-of-order pieces: sorted starts, start -> (end, bytes | None=lost)
        "_starts",
        "_pieces",
        "_pending_bytes",
        # recently delivered payloads (offset, bytes), for mismatch checks
        "_hist",
        "_hist_bytes",
        "finished",
        # counters
        "retransmissions",
        "gaps",
        "gap_bytes",
        "mismatches",
        "mismatch_bytes",
        "keepalives",
        "segments",
    )

    def __init__(
        self,
        flow: Flow = None,
        direction: int = 0,
        *,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        max_pieces: int = DEFAULT_MAX_PIECES,
        history: int = DEFAULT_HISTORY,
    ) -> None:
        self.flow = flow
        self.direction = direction
        self.max_buffer = max_buffer
        self.max_pieces = max_pieces
        self.history_limit = history
        self.isn: int | None = None
        self.syn_seen = False
        self.fin_offset: int | None = None
        self._base: int | None = None
        self._next = 0
        self._next_seq: int | None = None
        self._suspect_end: int | None = None  # where the last implausible segment ended (see _feed_slow)
        self.implausible = 0  # segments far beyond anything the connection allows: not used
        self.implausible_acks = 0  # ACKs of bytes far beyond anything the sender was seen sending: not used
        self._high = 0
        self._hint = 0
        self._acked = 0
        self._starts: list[int] = []
        self._pieces: dict[int, tuple[int, bytes | None]] = {}
        self._pending_bytes = 0
        self._hist: deque[tuple[int, bytes]] = deque()
        self._hist_bytes = 0
        self.finished = False
        self.retransmissions = 0
        self.gaps = 0
        self.gap_bytes = 0
        self.mismatches = 0
        self.mismatch_bytes = 0
        self.keepalives = 0
        self.segments = 0

    # ------------------------------------------------------------------ state

    @property
    def started(self) -> bool:
        return self._base is not None

    @property
    def base_seq(self) -> int | None:
        """Sequence number of stream offset 0 (ISN+1, or first seen seq)."""
        return self._base

    @property
    def next_seq(self) -> int | None:
        """Sequence number of the next byte to deliver (None before the first segment)."""
        return self._next_seq

    @property
    def next_offset(self) -> int:
        """Offset of the next byte to deliver (= bytes delivered + gap bytes)."""
        return self._next

    @property
    def pending_bytes(self) -> int:
        """Out-of-order bytes held."""
        return self._pending_bytes

    @property
    def pending_pieces(self) -> int:
        return len(self._starts)

    @property
    def complete(self) -> bool:
        """FIN seen and every byte before it delivered or declared a gap."""
        return self.fin_offset is not None and self._next >= self.fin_offset

    def offset_of(self, seq: int) -> int:
        """Stream offset of sequence number `seq` (nearest to the next expected)."""
        if self._next_seq is None:
            raise ValueError("stream not started")
        return self._next + (((seq - self._next_seq + HALF) & MASK) - HALF)

    # ------------------------------------------------------------- segments

    def feed(self, seq: int, flags: int, payload: bytes, missing: int, frame: int, time: float,
             out: list[FlowEvent]) -> None:
        """One segment of this direction."""
        self.segments += 1
        # In-order fast path: no copy, no buffering, one event.
        if seq == self._next_seq and not (flags & 0x07) and not missing and not self._starts:
            if payload:
                nxt = self._next
                n = len(payload)
                out.append(StreamData(self.flow, self.direction, frame, time, payload, nxt))
                self._next = nxt + n
                self._next_seq = (seq + n) & MASK
                limit = self.history_limit
                if limit:
                    hist = self._hist
                    hist.append((nxt, payload))
                    hb = self._hist_bytes + n
                    while hb > limit:
                        hb -= len(hist.popleft()[1])
                    self._hist_bytes = hb
            return
        self._feed_slow(seq, flags, payload, missing, frame, time, out)

    def _feed_slow(self, seq: int, flags: int, payload: bytes, missing: int, frame: int, time: float,
                   out: list[FlowEvent]) -> None:
        next_seq = self._next_seq
        if next_seq is None:  # (as is _base: the two are set together)
            # First segment of this direction: it defines offset 0.
            base = (seq + 1) & MASK if flags & SYN else seq
            self._base = base
            self._next_seq = next_seq = base
        nxt = self._next
        off = nxt + (((seq - next_seq + HALF) & MASK) - HALF)
        n = len(payload)
        dup = False
        if flags & SYN:
            if off == -1:
                if self.syn_seen:
                    dup = True  # retransmitted SYN
                else:
                    self.syn_seen = True
                    self.isn = seq
            off += 1
        elif n <= 1 and off == nxt - 1 and off >= 0 and self._high <= nxt and not missing and not flags & (FIN | RST):
            # Keep-alive: one sequence number below everything the sender has
            # sent (all of it delivered), carrying zero or one garbage byte.
            # Not data; an old byte that is not compared either.
            self.keepalives += 1
            return
        if (n or missing or flags & FIN) and off > max(self._high, self._acked, nxt) + MAX_AHEAD:
            # Far beyond anything the connection showed: a corrupted sequence number, not a gap, unless the
            # next such segment continues this one (the capture really lost that much).
            if off != self._suspect_end:
                self._suspect_end = off + n + missing
                self.implausible += 1
                return
        end = off + n
        if n:
            if self._insert(off, payload, frame, time, out):
                dup = True
        if missing:
            self._mark_lost(end, missing, frame, time, out)
            end += missing
        if n or missing:
            if end > self._high:
                self._high = end
        elif not flags & RST and off > self._hint:
            # An empty segment: the sender had sent everything before `off`
            # (or everything before `off - 1` and a FIN).
            self._hint = off
        if flags & FIN:
            fin = self.fin_offset
            if fin is None and end < self._next:
                dup = True  # a FIN behind delivered bytes is an old copy (or a flipped bit): not the end
            elif fin is None:
                self.fin_offset = end
                if end > self._high:
                    self._high = end
            elif fin == end and not n:
                dup = True  # retransmitted FIN
        if dup:
            self.retransmissions += 1
        if self._starts:
            if self._starts[0] == self._next:
                self._drain(frame, time, out)
            lim = min(self._acked, self._high)
            if lim > self._next:
                self._resolve(lim, frame, time, out)
            if self._pending_bytes > self.max_buffer or len(self._starts) > self.max_pieces:
                self._enforce_bound(frame, time, out)
        else:
            lim = min(self._acked, self._high)
            if lim > self._next:
                self._resolve(lim, frame, time, out)

    def ack(self, ackno: int, frame: int, time: float, out: list[FlowEvent]) -> None:
        """The peer acknowledged everything before sequence number `ackno`."""
        if self._next_seq is None:
            return
        a = ((ackno - self._next_seq + HALF) & MASK) - HALF
        if a <= 0:
            return
        acked = self._next + a
        if acked > max(self._high, self._next) + MAX_AHEAD:
            self.implausible_acks += 1  # far beyond anything the sender was seen sending: a corrupted number
            return
        if acked > self._acked:
            self._acked = acked
            lim = acked if acked < self._high else self._high
            if lim > self._next:
                self._resolve(lim, frame, time, out)

    def finish(self, frame: int, time: float, out: list[FlowEvent]) -> None:
        """End of this stream: every remaining hole becomes a gap."""
        if self.finished:
            return
        starts = self._starts
        while starts:
            first = starts[0]
            if first > self._next:
                self._gap(first - self._next, frame, time, out)
            self._drain(frame, time, out)
        if self._base is not None:
            hint = self._hint if self._hint > self._acked else self._acked
            fin = self.fin_offset
            if fin is not None:
                limit = min(max(self._high, hint), fin)
            else:
                limit = max(self._high, hint - 1)
            if limit > self._next:
                self._gap(limit - self._next, frame, time, out)
        self.finished = True
        self._hist.clear()
        self._hist_bytes = 0

    # ------------------------------------------------------------- internals

    def _set_next(self, nxt: int) -> None:
        self._next = nxt
        base = cast(int, self._base)  # set by the first segment, before anything can be delivered
        self._next_seq = (base + nxt) & MASK

    def _emit_data(self, data: bytes, frame: int, time: float, out: list[FlowEvent]) -> None:
        nxt = self._next
        out.append(StreamData(self.flow, self.direction, frame, time, data, nxt))
        n = len(data)
        self._set_next(nxt + n)
        limit = self.history_limit
        if limit:
            hist = self._hist
            hist.append((nxt, data))
            hb = self._hist_bytes + n
            while hb > limit:
                hb -= len(hist.popleft()[1])
            self._hist_bytes = hb

    def _gap(self, size: int, frame: int, time: float, out: list[FlowEvent]) -> None:
        nxt = self._next
        out.append(StreamGap(self.flow, self.direction, frame, time, nxt, size))
        self.gaps += 1
        self.gap_bytes += size
        self._set_next(nxt + size)

    def _insert(self, off: int, data: bytes, frame: int, time: float, out: list[FlowEvent]) -> bool:
        """Data at `off`; True if any of it was already captured."""
        nxt = self._next
        end = off + len(data)
        dup = False
        if off < nxt:
            dup = True
            self._check_history(off, data, min(end, nxt), frame, out)
            if end <= nxt:
                return True
            data = data[nxt - off :]
            off = nxt
        if off == nxt and not self._starts:
            self._emit_data(data, frame, time, out)
            return dup
        return self._store(off, end, data, frame, out) or dup

    def _mark_lost(self, off: int, size: int, frame: int, time: float, out: list[FlowEvent]) -> None:
        """Bytes [off, off+size) are known lost (snap length)."""
        end = off + size
        nxt = self._next
        if end <= nxt:
            return
        if off < nxt:
            off = nxt
        if off == nxt and not self._starts:
            self._gap(end - off, frame, time, out)
            return
        self._store(off, end, None, frame, out)

    def _store(self, off: int, end: int, data: bytes | None, frame: int, out: list[FlowEvent]) -> bool:
        """Hold [off, end) (data, or None = known lost); off >= next.

        Existing data wins over anything new; new data replaces lost markers.
        Returns True if new data overlapped held data.
        """
        starts = self._starts
        pieces = self._pieces
        i = bisect_right(starts, off)
        if i and pieces[starts[i - 1]][0] > off:
            i -= 1
        cur = off
        adds: list[tuple[int, int, bytes | None]] = []
        removes: list[int] = []
        dup = False
        mis: list[list[int]] = []
        count = len(starts)
        while i < count:
            ps = starts[i]
            if ps >= end:
                break
            pe, pd = pieces[ps]
            if ps > cur:
                adds.append((cur, ps, None if data is None else data[cur - off : ps - off]))
                cur = ps
            hi = pe if pe < end else end
            if pd is None:
                if data is not None:
                    removes.append(ps)
                    if ps < cur:
                        adds.append((ps, cur, None))
                    adds.append((cur, hi, data[cur - off : hi - off]))
                    if hi < pe:
                        adds.append((hi, pe, None))
            elif data is not None:
                dup = True
                if pd[cur - ps : hi - ps] != data[cur - off : hi - off]:
                    if mis and mis[-1][1] == cur:
                        mis[-1][1] = hi
                    else:
                        mis.append([cur, hi])
            cur = hi
            i += 1
        if cur < end:
            adds.append((cur, end, None if data is None else data[cur - off :]))
        for ps in removes:
            del pieces[ps]
            del starts[bisect_left(starts, ps)]
        added = 0
        for s, e, d in adds:
            pieces[s] = (e, d)
            insort(starts, s)
            if d is not None:
                added += e - s
        self._pending_bytes += added
        for lo, hi in mis:
            self._mismatch(lo, hi - lo, frame, out)
        return dup

    def _check_history(self, off: int, data: bytes, end: int, frame: int, out: list[FlowEvent]) -> None:
        """Compare a new copy of delivered bytes [off, end) with the first copy."""
        mis: list[list[int]] = []
        for ho, hd in reversed(self._hist):
            he = ho + len(hd)
            if he <= off:
                break
            if ho >= end:
                continue
            lo = ho if ho > off else off
            hi = he if he < end else end
            if hd[lo - ho : hi - ho] != data[lo - off : hi - off]:
                if mis and mis[-1][0] == hi:
                    mis[-1][0] = lo
                else:
                    mis.append([lo, hi])
        for lo, hi in reversed(mis):
            self._mismatch(lo, hi - lo, frame, out)

    def _mismatch(self, offset: int, size: int, frame: int, out: list[FlowEvent]) -> None:
        self.mismatches += 1
        self.mismatch_bytes += size
        out.append(OverlapMismatch(self.flow, self.direction, frame, offset, size))

    def _drain(self, frame: int, time: float, out: list[FlowEvent]) -> None:
        """Deliver held pieces contiguous with the next offset."""
        starts = self._starts
        pieces = self._pieces
        nxt = self._next
        k = 0
        count = len(starts)
        run: list[bytes] = []
        while k < count and starts[k] == nxt:
            e, d = pieces.pop(nxt)
            if d is None:
                if run:
                    self._emit_run(run, frame, time, out)
                    run = []
                self._gap(e - nxt, frame, time, out)
            else:
                run.append(d)
            nxt = e
            k += 1
        if run:
            self._emit_run(run, frame, time, out)
        del starts[:k]

    def _emit_run(self, run: list[bytes], frame: int, time: float, out: list[FlowEvent]) -> None:
        data = run[0] if len(run) == 1 else b"".join(run)
        self._pending_bytes -= len(data)
        self._emit_data(data, frame, time, out)

    def _resolve(self, limit: int, frame: int, time: float, out: list[FlowEvent]) -> None:
        """Bytes before `limit` are certainly lost where the capture lacks them."""
        starts = self._starts
        while self._next < limit:
            if starts:
                first = starts[0]
                if first == self._next:
                    self._drain(frame, time, out)
                    continue
                hole_end = first if first < limit else limit
            else:
                hole_end = limit
            self._gap(hole_end - self._next, frame, time, out)
        if starts and starts[0] == self._next:
            self._drain(frame, time, out)

    def _enforce_bound(self, frame: int, time: float, out: list[FlowEvent]) -> None:
        starts = self._starts
        while starts and (self._pending_bytes > self.max_buffer or len(starts) > self.max_pieces):
            if starts[0] > self._next:
                self._gap(starts[0] - self._next, frame, time, out)
            self._drain(frame, time, out)
