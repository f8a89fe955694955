"""Read pcap / pcapng captures (optionally gzipped, or from stdin) as a stream of TCP segments.

Why not dpkt's readers (dpkt 1.9.8)?

* ``dpkt.pcap.Reader`` calls ``file.read(caplen)`` with the caplen straight from
  the record header; a buffered ``read(n)`` allocates ``n`` bytes up front, so a
  corrupt header claiming 4 GB allocates 4 GB.  A record cut short by the end of
  the file is yielded silently as a shorter packet (the damage is swallowed).
* ``dpkt.pcapng.Reader`` keeps the first interface's link type and timestamp
  resolution for the whole file (no multi-interface files with different link
  types or ``if_tsresol``), does not handle a second section, and also reads
  ``block_length`` bytes unchecked.
* Both build a header object per packet, which is slow on the hot path.

So the record reading is done here: the input is read in 1 MiB chunks into a
``bytes`` buffer, records are parsed with ``struct.unpack_from`` at an offset,
and the packet is decoded in place (``layers`` decoders take the buffer plus
start/end offsets), so the only per-packet copy is the TCP payload slice.
Memory stays bounded: a record may claim at most ``MAX_PACKET`` captured bytes
(Wireshark's 256 KiB limit) and a pcapng block we keep in memory at most
``MAX_BLOCK`` bytes; lengths are checked before anything is read for them, and
blocks we do not use (name resolution, statistics, decryption secrets, custom)
are skipped by streaming past them.

Damage in the middle of a capture (a truncated record, an implausible length, a
block whose trailing length does not match) ends the reading there with a
warning; every packet before it is kept.  Input unusable from the start raises
``CaptureError`` with a one-line message.
"""

from __future__ import annotations

import os
import stat
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO, Protocol

from .layers import decoder_for
from .segment import Packet, TcpSegment

CHUNK = 1 << 20
MAX_PACKET = 262144  # largest captured length accepted for one packet (as Wireshark)
MAX_BLOCK = 16 << 20  # largest pcapng block kept in memory (as Wireshark)

_PCAP_MAGICS = {
    # first four bytes: (byte order, fraction units per second, record header length)
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000, 16),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000, 16),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000, 16),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000, 16),
    b"\x34\xcd\xb2\xa1": ("<", 1_000_000, 24),  # Kuznetzov's modified pcap (extra 8 bytes per record)
    b"\xa1\xb2\xcd\x34": (">", 1_000_000, 24),
}
_PCAPNG_SHB = 0x0A0D0D0A
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_BOM_LE = b"\x4d\x3c\x2b\x1a"
_BOM_BE = b"\x1a\x2b\x3c\x4d"
_IDB, _PB, _SPB, _EPB = 1, 2, 3, 6
_KEPT_BLOCKS = frozenset((_IDB, _PB, _SPB, _EPB))
_MIN_BLOCK = {_IDB: 20, _PB: 32, _SPB: 16, _EPB: 32}


class CaptureError(Exception):
    """The input cannot be read as a capture at all; str() is a one-line user-facing message."""


# --------------------------------------------------------------------------- byte sources


class ByteSource(Protocol):
    """Where a capture's bytes come from: a chunk per ``read()``, ``b""`` at the end."""

    def read(self) -> bytes: ...

    def close(self) -> None: ...


class _FileSource:
    """Chunks of a file or of stdin.  A read error after the start ends the input with a warning."""

    def __init__(self, stream: BinaryIO, close: bool, name: str, warnings: list[str]) -> None:
        self._stream = stream
        self._close = close
        self._name = name
        self._warnings = warnings
        # a pipe: hand on what has arrived
        self._read: Callable[[int], bytes] = getattr(stream, "read1", None) or stream.read
        self._offset = 0
        self.read_size = CHUNK

    def read(self) -> bytes:
        try:
            chunk = self._read(self.read_size)
        except OSError as exc:
            if self._offset == 0:
                raise CaptureError(f"{self._name}: cannot read ({exc.strerror or exc})") from None
            self._warnings.append(f"read error after {self._offset} bytes ({exc.strerror or exc}): stopped there")
            self._read = lambda _size: b""
            return b""
        self._offset += len(chunk)
        return chunk

    @property
    def bytes_read(self) -> int:
        return self._offset

    def size(self) -> int | None:
        """The file's size when it is a regular file (for progress), else None."""
        try:
            info = os.fstat(self._stream.fileno())
        except (OSError, AttributeError, ValueError):
            return None
        return info.st_size if stat.S_ISREG(info.st_mode) else None

    def close(self) -> None:
        if self._close:
            self._stream.close()


class _GzipSource:
    """Gunzips another source chunk by chunk (multi-member files included)."""

    def __init__(self, inner: ByteSource, first: bytes, name: str, warnings: list[str]) -> None:
        self._inner = inner
        self._pending = first
        self._name = name
        self._warnings = warnings
        self._z = zlib.decompressobj(wbits=31)
        self._produced = 0
        self._done = False

    def read(self) -> bytes:
        while not self._done:
            if self._z.eof:  # end of a gzip member: another may follow (zero padding is ignored)
                rest = self._z.unused_data.lstrip(b"\x00")
                while not rest:
                    more = self._inner.read()
                    if not more:
                        self._done = True
                        return b""
                    rest = more.lstrip(b"\x00")
                if rest[:2] != b"\x1f\x8b":
                    self.warnings_append("data after the end of the gzip stream ignored")
                    self._done = True
                    return b""
                self._z = zlib.decompressobj(wbits=31)
                self._pending = rest
            if not self._pending:
                self._pending = self._inner.read()
                if not self._pending:  # input ends inside a member
                    self._done = True
                    try:
                        out = self._z.flush()
                    except zlib.error:
                        out = b""
                    if self._produced == 0 and not out:
                        raise CaptureError(f"{self._name}: gzip data ends before any capture data")
                    self.warnings_append("gzip data is truncated: decoded what it held")
                    self._produced += len(out)
                    return out
            try:
                out = self._z.decompress(self._pending, CHUNK)
            except zlib.error as exc:
                self._done = True
                if self._produced == 0:
                    raise CaptureError(f"{self._name}: gzip-compressed but cannot be decompressed ({exc})") from None
                self.warnings_append(f"gzip data is corrupt after {self._produced} bytes ({exc}): stopped there")
                return b""
            self._pending = self._z.unconsumed_tail
            if out:
                self._produced += len(out)
                return out
        return b""

    def warnings_append(self, text: str) -> None:
        self._warnings.append(text)

    def close(self) -> None:
        self._inner.close()


def open_failure(path: str, exc: OSError, kind: str) -> str:
    """One line saying why the `kind` file ("capture file", "key log file") at `path` did not open."""
    if isinstance(exc, FileNotFoundError):
        return f"{path}: no such file"
    if isinstance(exc, IsADirectoryError):
        return f"{path}: is a directory, not a {kind}"
    if isinstance(exc, PermissionError):
        return f"{path}: permission denied"
    return f"{path}: cannot open ({exc.strerror or exc})"


def _open_source(path: str, warnings: list[str]) -> tuple[ByteSource, str]:
    if path == "-":
        return _FileSource(sys.stdin.buffer, False, "stdin", warnings), "stdin"
    try:
        stream = open(path, "rb", buffering=0)
    except OSError as exc:
        raise CaptureError(open_failure(path, exc, "capture file")) from None
    return _FileSource(stream, True, path, warnings), path


def _media_file_kind(data: bytes) -> str | None:
    """'an FLV file' or 'an MP4 file' for the media files people hand over instead of a capture."""
    if data[:3] == b"FLV" and len(data) >= 4 and data[3] == 1:
        return "an FLV file"
    if data[4:8] == b"ftyp":
        return "an MP4 file"
    return None


def _looks_like_text(data: bytes) -> bool:
    sample = data[:512]
    return bool(sample) and all(b in b"\t\n\r" or 32 <= b < 127 for b in sample)


# --------------------------------------------------------------------------- the reader


class _Interface:
    __slots__ = ("link_type", "decode", "units", "offset")

    def __init__(self, link_type: int, units: int = 1_000_000, offset: int = 0) -> None:
        self.link_type = link_type
        self.decode = decoder_for(link_type)
        self.units = units
        self.offset = offset


class _Section:
    """A pcapng section being read: its byte order, the structs that read its blocks, its interfaces."""

    __slots__ = ("order", "block_hdr", "epb_hdr", "epb_full", "u32", "interfaces", "bad_interfaces")

    def __init__(self, order: str) -> None:
        self.order = order
        self.block_hdr = struct.Struct(order + "II").unpack_from  # type, length
        self.epb_hdr = struct.Struct(order + "IIIII").unpack_from  # interface, timestamp, lengths
        self.epb_full = struct.Struct(order + "IIIIIII").unpack_from  # both, for the fast path
        self.u32 = struct.Struct(order + "I").unpack_from
        self.interfaces: list[_Interface] = []
        self.bad_interfaces: set[int] = set()  # interface ids already warned about


class _EndOfCapture(Exception):
    """Reading a pcapng file ends here (at the end of the input or at damage, whose warning is recorded)."""


class CaptureReader:
    """A capture being read.  ``segments()`` is a single pass over the file.

    Attributes: ``format`` ("pcap" or "pcapng"), ``packets`` (packets read so far,
    TCP or not), ``start`` (epoch seconds of the first packet, or None),
    ``warnings`` (damage found and things skipped, as sentences), ``link_types``
    (link type of each interface met, in order), ``name`` (path or "stdin").
    """

    # Set when the file's header has been read (_open_pcap, _open_pcapng) and as a pcapng file is read.
    _pcap: tuple[str, int, int, _Interface]  # byte order, fraction units per second, record header length
    _order: str
    _section: _Section
    _last_time: float  # of the last packet with a timestamp, for simple packet blocks

    def __init__(self, source: ByteSource, name: str, warnings: list[str]) -> None:
        self.name = name
        self.format: str = ""
        self.packets = 0
        self.start: float | None = None
        self.warnings = warnings
        self.link_types: list[int] = []
        self._src = source
        self._buf = b""
        self._pos = 0
        self._unsupported: set[int] = set()
        self._started = False

    def progress(self) -> tuple[int, int | None]:
        """(bytes of the file read so far, file size or None), for a progress display."""
        source = getattr(self._src, "_inner", self._src)  # gzip: progress through the compressed file
        size = source.size() if hasattr(source, "size") else None
        return getattr(source, "bytes_read", 0), size

    # ------------------------------------------------------------------ plumbing

    def _more(self, buf: bytes, pos: int, need: int) -> bytes:
        """``buf[pos:]`` extended with input until it holds ``need`` bytes (or the input ends)."""
        have = len(buf) - pos
        parts = [buf[pos:]] if have > 0 else []
        read = self._src.read
        while have < need:
            chunk = read()
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        return b"".join(parts)

    def _take(self, buf: bytes, pos: int, need: int) -> tuple[bytes, bytes, int]:
        """For a record that runs past the end of ``buf``: (its ``need`` bytes, buffer, position after it).

        Only the straddling record is copied (the next chunk is not joined onto the
        leftover); the piece is shorter than ``need`` if the input ends first.
        """
        have = len(buf) - pos
        if have >= need:
            return buf[pos : pos + need], buf, pos + need
        parts: list[bytes | memoryview] = [memoryview(buf)[pos:]] if have > 0 else []
        read = self._src.read
        while True:
            chunk = read()
            if not chunk:
                return b"".join(parts), b"", 0
            size = len(chunk)
            if have + size >= need:
                cut = need - have
                parts.append(memoryview(chunk)[:cut])
                return b"".join(parts), chunk, cut
            parts.append(chunk)
            have += size

    def _discard(self, buf: bytes, pos: int, count: int) -> tuple[bytes, int] | None:
        """Skip ``count`` bytes without holding them; returns (buf, pos) or None at end of input."""
        avail = len(buf) - pos
        if avail >= count:
            return buf, pos + count
        count -= avail
        read = self._src.read
        while True:
            chunk = read()
            if not chunk:
                return None
            if len(chunk) >= count:
                return chunk, count
            count -= len(chunk)

    def _warn_link_type(self, link_type: int, where: str) -> None:
        if link_type not in self._unsupported:
            self._unsupported.add(link_type)
            self.warnings.append(f"link type {link_type} ({where}) is not supported: its packets are skipped")

    def _truncated(self, frame: int) -> None:
        done = frame - 1
        self.warnings.append(f"capture truncated in the middle of packet {frame}: "
                             f"decoded the {done} packet{'s' if done != 1 else ''} before it")

    def _corrupt(self, what: str) -> None:
        done = self.packets
        self.warnings.append(
            f"{what}: the capture is corrupt from there; decoded the {done} packet{'s' if done != 1 else ''} before it"
        )

    def close(self) -> None:
        self._src.close()
        self._buf = b""

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ opening

    def _open(self) -> None:
        buf = self._more(b"", 0, 4)
        if not buf:
            raise CaptureError(f"{self.name}: empty file")
        if buf[:2] == b"\x1f\x8b":
            self._src = _GzipSource(self._src, buf, self.name, self.warnings)
            buf = self._more(b"", 0, 4)
            if not buf:
                raise CaptureError(f"{self.name}: empty file (after gunzip)")
        magic = buf[:4]
        if magic in _PCAP_MAGICS:
            self._open_pcap(buf)
        elif magic == _PCAPNG_MAGIC:
            self._open_pcapng(buf)
        elif _looks_like_text(buf):
            raise CaptureError(f"{self.name}: not a pcap or pcapng capture (it looks like a text file)")
        elif _media_file_kind(buf) is not None:
            raise CaptureError(f"{self.name}: this is {_media_file_kind(buf)}, not a capture: rtmp-inspect reads the "
                               "pcap or pcapng files of tcpdump, Wireshark and tshark")
        else:
            raise CaptureError(f"{self.name}: not a pcap or pcapng capture (unknown magic number 0x{magic.hex()})")

    def _open_pcap(self, buf: bytes) -> None:
        self.format = "pcap"
        buf = self._more(buf, 0, 24)
        if len(buf) < 24:
            raise CaptureError(f"{self.name}: pcap file header is truncated ({len(buf)} of 24 bytes)")
        order, units, rec_len = _PCAP_MAGICS[buf[:4]]
        network = struct.unpack_from(order + "I", buf, 20)[0]
        link_type = network & 0xFFFF  # the upper bits may carry an FCS length
        self.link_types.append(link_type)
        self._pcap = (order, units, rec_len, _Interface(link_type))
        if decoder_for(link_type) is None:
            self._warn_link_type(link_type, "pcap file")
        self._buf, self._pos = buf, 24

    def _open_pcapng(self, buf: bytes) -> None:
        self.format = "pcapng"
        buf = self._more(buf, 0, 12)
        err, order, blen = _check_shb(buf, 0)
        if err:
            raise CaptureError(f"{self.name}: {err}")
        buf = self._more(buf, 0, blen)
        if len(buf) < blen:
            raise CaptureError(f"{self.name}: pcapng section header block is truncated")
        if struct.unpack_from(order + "I", buf, blen - 4)[0] != blen:
            raise CaptureError(f"{self.name}: pcapng section header block is corrupt (length fields differ)")
        self._order = order
        self._buf, self._pos = buf, blen

    # ------------------------------------------------------------------ reading

    def decoded(self) -> Iterator[Packet]:
        """Yield a TcpSegment for every decodable TCP packet and a UdpDatagram for every UDP one that is not
        GTP-U, in file order (single pass)."""
        if self._started:
            return iter(())
        self._started = True
        gen = self._pcap_segments() if self.format == "pcap" else self._pcapng_segments()
        return gen

    def segments(self) -> Iterator[TcpSegment]:
        """Yield a TcpSegment for every decodable TCP packet, in file order (single pass)."""
        return (packet for packet in self.decoded() if type(packet) is TcpSegment)

    __iter__ = segments

    def _pcap_segments(self) -> Iterator[Packet]:
        order, units, hlen, iface = self._pcap
        decode = iface.decode
        unpack = struct.Struct(order + "IIII").unpack_from
        take = self._take
        buf, pos = self._buf, self._pos
        size = len(buf)
        self._buf = b""
        frame = 0
        try:
            while True:
                if size - pos >= hlen:
                    head, hpos = buf, pos
                    pos += hlen
                else:
                    head, buf, pos = take(buf, pos, hlen)
                    size = len(buf)
                    hpos = 0
                    if len(head) < hlen:
                        if head:
                            self._truncated(frame + 1)
                        break
                sec, frac, caplen, _origlen = unpack(head, hpos)
                if caplen > MAX_PACKET:
                    self._corrupt(f"packet {frame + 1} claims {caplen} captured bytes (more than {MAX_PACKET})")
                    break
                end = pos + caplen
                if end <= size:
                    data, start = buf, pos
                    pos = end
                else:
                    data, buf, pos = take(buf, pos, caplen)
                    size = len(buf)
                    start, end = 0, caplen
                    if len(data) < caplen:
                        self._truncated(frame + 1)
                        break
                frame += 1
                self.packets = frame
                time = (sec * units + frac) / units
                if frame == 1:
                    self.start = time
                if decode is not None:
                    seg = decode(data, start, end, frame, time)
                    if seg is not None:
                        yield seg
        finally:
            self.close()

    def _pcapng_segments(self) -> Iterator[Packet]:
        buf, pos = self._buf, self._pos
        size = len(buf)
        self._buf = b""
        section = self._section = _Section(self._order)
        # The fast path's state in locals; the general steps keep theirs on the reader (self.packets, the
        # frame count; self._last_time; self._section), copied back here after each of them.
        epb_full, u32, interfaces = section.epb_full, section.u32, section.interfaces
        frame = 0
        last_time = 0.0
        try:
            while True:
                if size - pos >= 28:
                    # Fast path: a well-formed enhanced packet block wholly inside the buffer (nearly every
                    # block of a capture), decoded here without a call.
                    btype, blen, ifid, ts_hi, ts_lo, caplen, _origlen = epb_full(buf, pos)
                    end = pos + blen
                    if (
                        btype == _EPB
                        and end <= size
                        and 32 <= blen
                        and not blen & 3
                        and caplen <= blen - 32
                        and caplen <= MAX_PACKET
                        and ifid < len(interfaces)
                        and u32(buf, end - 4)[0] == blen
                    ):
                        frame += 1
                        self.packets = frame
                        iface = interfaces[ifid]
                        time = ((ts_hi << 32) | ts_lo) / iface.units
                        if iface.offset:
                            time += iface.offset
                        last_time = time
                        if frame == 1:
                            self.start = time
                        start = pos + 28
                        pos = end
                        decode = iface.decode
                        if decode is not None:
                            seg = decode(buf, start, start + caplen, frame, time)
                            if seg is not None:
                                yield seg
                        continue
                # General path: any block, one step at a time.
                self._last_time = last_time
                seg, buf, pos = self._pcapng_block(buf, pos)
                size = len(buf)
                frame = self.packets
                last_time = self._last_time
                section = self._section
                epb_full, u32, interfaces = section.epb_full, section.u32, section.interfaces
                if seg is not None:
                    yield seg
        except _EndOfCapture:
            pass
        finally:
            self.close()

    # The general path's steps. Each one that finds the input ending, or damage, records the warning and
    # raises _EndOfCapture: reading ends there, every packet before it kept.

    def _pcapng_block(self, buf: bytes, pos: int) -> tuple[Packet | None, bytes, int]:
        """Read the block at ``pos``: (the TCP segment of its packet or None, buffer, position after it)."""
        head, hpos, buf, pos = self._block_start(buf, pos)
        btype, blen = self._section.block_hdr(head, hpos)
        if btype == _PCAPNG_SHB:
            blen = self._start_section(head, hpos)
        elif blen < 12 or blen & 3 or blen > MAX_BLOCK or blen < _MIN_BLOCK.get(btype, 12):
            self._corrupt(f"pcapng block after packet {self.packets} has an impossible length {blen}")
            raise _EndOfCapture
        if btype not in _KEPT_BLOCKS and btype != _PCAPNG_SHB:
            buf, pos = self._skip_block(head, hpos, buf, pos, blen)
            return None, buf, pos
        data, start, buf, pos = self._whole_block(btype, head, buf, pos, blen)
        seg = None
        if btype == _EPB or btype == _PB:
            seg = self._packet_block(btype, data, start, blen)
        elif btype == _SPB:
            seg = self._simple_packet_block(data, start, blen)
        elif btype == _IDB:
            self._interface_block(data, start, blen)
        return seg, buf, pos

    def _block_start(self, buf: bytes, pos: int) -> tuple[bytes, int, bytes, int]:
        """The block's first 12 bytes, enough for its type, length and (for a section header) its byte-order
        magic: (``head``, their position in it, buffer, position). ``head`` is ``buf`` itself when they are in
        it (the position is then still the block's); else a copy, the position just past them."""
        if len(buf) - pos >= 12:
            return buf, pos, buf, pos
        head, buf, pos = self._take(buf, pos, 12)
        frame = self.packets
        if len(head) < 8:
            if head:
                self._truncated_block(frame)
            raise _EndOfCapture
        if len(head) < 12:  # the input ends inside this block (shorter than 12 bytes)
            btype = self._section.block_hdr(head, 0)[0]
            if btype in (_EPB, _SPB, _PB):
                self._truncated(frame + 1)
            else:
                self._truncated_block(frame)
            raise _EndOfCapture
        return head, 0, buf, pos

    def _start_section(self, head: bytes, hpos: int) -> int:
        """A section header block: byte order and interfaces start afresh. Its length."""
        err, order, blen = _check_shb(head, hpos)
        if err:
            self._corrupt(f"{err} after packet {self.packets}")
            raise _EndOfCapture
        self._section = _Section(order)
        return blen

    def _skip_block(self, head: bytes, hpos: int, buf: bytes, pos: int, blen: int) -> tuple[bytes, int]:
        """A block we have no use for: stream past it (never holding it), then check its trailing length.
        ``head`` holds its first 12 bytes. (buffer, position after the block)."""
        if head is buf:
            pos += 12
        if blen == 12:
            tail = head[hpos + 8 : hpos + 12]
        else:
            skipped = self._discard(buf, pos, blen - 16)
            if skipped is None:
                self._truncated_block(self.packets)
                raise _EndOfCapture
            buf, pos = skipped
            tail, buf, pos = self._take(buf, pos, 4)
            if len(tail) < 4:
                self._truncated_block(self.packets)
                raise _EndOfCapture
        if self._section.u32(tail, 0)[0] != blen:
            self._corrupt(f"pcapng block after packet {self.packets} is corrupt (its length fields differ)")
            raise _EndOfCapture
        return buf, pos

    def _whole_block(self, btype: int, head: bytes, buf: bytes, pos: int, blen: int) -> tuple[bytes, int, bytes, int]:
        """The whole block, checked: (``data``, where the block starts in it, buffer, position after the block).
        A block that straddles a read boundary is gathered into a copy of its own."""
        if head is not buf:  # the block straddles a read boundary: gather the rest of it
            rest, buf, pos = self._take(buf, pos, blen - 12)
            data = head + rest
            start = 0
        else:
            start = pos
            pos += blen
            data = buf
            if pos > len(buf):
                data, buf, pos = self._take(buf, start, blen)
                start = 0
        if len(data) - start < blen:
            if btype in (_EPB, _SPB, _PB):
                self._truncated(self.packets + 1)
            else:
                self._truncated_block(self.packets)
            raise _EndOfCapture
        if self._section.u32(data, start + blen - 4)[0] != blen:
            self._corrupt(f"pcapng block after packet {self.packets} is corrupt (its length fields differ)")
            raise _EndOfCapture
        return data, start, buf, pos

    def _packet_block(self, btype: int, data: bytes, start: int, blen: int) -> Packet | None:
        """An enhanced packet block (one the fast path did not take) or an obsolete packet block."""
        section = self._section
        ifid: int
        if btype == _EPB:
            ifid, ts_hi, ts_lo, caplen, _origlen = section.epb_hdr(data, start + 8)
        else:
            ifid_drops, ts_hi, ts_lo, caplen, _origlen = section.epb_hdr(data, start + 8)
            ifid = (ifid_drops >> 16) if section.order == ">" else (ifid_drops & 0xFFFF)
        frame = self.packets
        if caplen > MAX_PACKET or caplen > blen - 32:
            self._corrupt(f"packet {frame + 1} claims {caplen} captured bytes in a {blen}-byte block")
            raise _EndOfCapture
        frame += 1
        self.packets = frame
        interfaces = section.interfaces
        if ifid >= len(interfaces):
            self._bad_interface(ifid, frame, section.bad_interfaces)
            return None
        iface = interfaces[ifid]
        time = ((ts_hi << 32) | ts_lo) / iface.units
        if iface.offset:
            time += iface.offset
        self._last_time = time
        if frame == 1:
            self.start = time
        decode = iface.decode
        if decode is None:
            return None
        return decode(data, start + 28, start + 28 + caplen, frame, time)

    def _simple_packet_block(self, data: bytes, start: int, blen: int) -> Packet | None:
        """A simple packet block: interface 0, and no timestamp (the last one is reused)."""
        origlen = self._section.u32(data, start + 8)[0]
        caplen = min(origlen, blen - 16, MAX_PACKET)
        frame = self.packets = self.packets + 1
        interfaces = self._section.interfaces
        if not interfaces:
            self._bad_interface(0, frame, self._section.bad_interfaces)
            return None
        last_time = self._last_time
        if frame == 1:
            self.start = last_time
        decode = interfaces[0].decode
        if decode is None:
            return None
        return decode(data, start + 12, start + 12 + caplen, frame, last_time)

    def _interface_block(self, data: bytes, start: int, blen: int) -> None:
        """An interface description block: the section's next interface."""
        iface = _parse_idb(data, start, blen, self._section.order)
        interfaces = self._section.interfaces
        interfaces.append(iface)
        self.link_types.append(iface.link_type)
        if iface.decode is None:
            self._warn_link_type(iface.link_type, f"interface {len(interfaces) - 1}")

    def _truncated_block(self, frame: int) -> None:
        self.warnings.append(
            f"capture truncated in the middle of a pcapng block after packet {frame}: "
            f"decoded the {frame} packet{'s' if frame != 1 else ''} before it"
        )

    def _bad_interface(self, ifid: int, frame: int, warned: set[int]) -> None:
        if ifid not in warned:
            warned.add(ifid)
            self.warnings.append(f"packet {frame} refers to interface {ifid}, which the capture does not "
                                 "describe: such packets are skipped")


def _check_shb(buf: bytes, pos: int) -> tuple[str | None, str, int]:
    """Validate a section header block's start: (error or None, byte order, block length)."""
    if len(buf) - pos < 12:
        return "pcapng section header block is truncated", "<", 0
    bom = buf[pos + 8 : pos + 12]
    if bom == _BOM_LE:
        order = "<"
    elif bom == _BOM_BE:
        order = ">"
    else:
        return "pcapng section header has an invalid byte-order magic", "<", 0
    blen = struct.unpack_from(order + "I", buf, pos + 4)[0]
    if blen < 28 or blen & 3 or blen > MAX_BLOCK:
        return f"pcapng section header block has an impossible length {blen}", order, 0
    return None, order, blen


def _parse_idb(buf: bytes, pos: int, blen: int, order: str) -> _Interface:
    link_type, _reserved, _snaplen = struct.unpack_from(order + "HHI", buf, pos + 8)
    units = 1_000_000
    offset = 0
    p = pos + 16
    end = pos + blen - 4
    opt = struct.Struct(order + "HH").unpack_from
    while p + 4 <= end:
        code, length = opt(buf, p)
        p += 4
        if code == 0 or p + length > end:
            break
        if code == 9 and length >= 1:  # if_tsresol
            v = buf[p]
            units = (1 << (v & 0x7F)) if v & 0x80 else 10 ** min(v, 30)
        elif code == 14 and length >= 8:  # if_tsoffset, seconds
            offset = struct.unpack_from(order + "q", buf, p)[0]
        p += (length + 3) & ~3
    return _Interface(link_type, units, offset)


def open_capture(path: str) -> CaptureReader:
    """Open a pcap or pcapng capture (gzipped or not; "-" for stdin) for reading.

    Raises CaptureError if the input is unusable from the start.
    """
    warnings: list[str] = []
    source, name = _open_source(path, warnings)
    reader = CaptureReader(source, name, warnings)
    try:
        reader._open()
    except CaptureError:
        reader.close()
        raise
    except OSError as exc:
        reader.close()
        raise CaptureError(f"{name}: cannot read ({exc.strerror or exc})") from None
    return reader
