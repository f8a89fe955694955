"""MSB-first bit reader with Exp-Golomb support, for codec header parsing.

Used by the H.264/HEVC SPS, AAC AudioSpecificConfig and AV1 sequence header
decoders in :mod:`rtmp_inspect.rtmp.codec_config`.  Reading past the end
raises :class:`BitstreamError` (never ``IndexError``) so callers can turn it
into a "truncated at bit N" diagnostic.
"""

from __future__ import annotations

__all__ = ["BitReader", "BitstreamError", "remove_emulation_prevention"]


class BitstreamError(ValueError):
    """Raised when a bitstream is truncated or holds an impossible value."""

    def __init__(self, message: str, bit_pos: int) -> None:
        super().__init__(message)
        self.bit_pos = bit_pos


class BitReader:
    """Read big-endian (MSB-first) bit fields from a byte string."""

    __slots__ = ("_data", "_pos", "_end")

    def __init__(self, data: bytes, bit_pos: int = 0) -> None:
        self._data = bytes(data)
        self._pos = bit_pos
        self._end = len(self._data) * 8

    # -- position -------------------------------------------------------
    @property
    def pos(self) -> int:
        """Current position in bits from the start of the data."""
        return self._pos

    @property
    def byte_pos(self) -> int:
        """Byte containing the current position."""
        return self._pos >> 3

    @property
    def bits_left(self) -> int:
        return self._end - self._pos

    def byte_align(self) -> None:
        self._pos = (self._pos + 7) & ~7

    def _need(self, n: int) -> None:
        if n < 0:
            raise BitstreamError(f"negative bit count {n}", self._pos)
        if self._pos + n > self._end:
            raise BitstreamError(
                f"truncated: need {n} bit(s) at bit {self._pos}, only {self._end - self._pos} left",
                self._pos,
            )

    # -- fixed width ----------------------------------------------------
    def u(self, n: int) -> int:
        """Read an ``n``-bit unsigned integer (n may be 0)."""
        self._need(n)
        value = 0
        pos = self._pos
        remaining = n
        data = self._data
        while remaining:
            byte = data[pos >> 3]
            offset = pos & 7
            take = min(8 - offset, remaining)
            shift = 8 - offset - take
            value = (value << take) | ((byte >> shift) & ((1 << take) - 1))
            pos += take
            remaining -= take
        self._pos = pos
        return value

    def flag(self) -> bool:
        return bool(self.u(1))

    def skip(self, n: int) -> None:
        self._need(n)
        self._pos += n

    # -- variable width -------------------------------------------------
    def ue(self, max_bits: int = 32) -> int:
        """Unsigned Exp-Golomb code ue(v)."""
        start = self._pos
        zeros = 0
        while True:
            if self._pos >= self._end:
                raise BitstreamError(f"truncated Exp-Golomb code at bit {start}", start)
            if self.u(1):
                break
            zeros += 1
            if zeros > max_bits:
                raise BitstreamError(f"Exp-Golomb code longer than {max_bits} bits at bit {start}", start)
        if zeros == 0:
            return 0
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        """Signed Exp-Golomb code se(v)."""
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)

    def leb128(self) -> int:
        """AV1 leb128(): little-endian base-128, up to 8 bytes (byte aligned)."""
        value = 0
        for i in range(8):
            byte = self.u(8)
            value |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                break
        return value

    def uvlc(self) -> int:
        """AV1 uvlc()."""
        start = self._pos
        zeros = 0
        while True:
            if self._pos >= self._end:
                raise BitstreamError(f"truncated uvlc at bit {start}", start)
            if self.u(1):
                break
            zeros += 1
        if zeros >= 32:
            return (1 << 32) - 1
        return self.u(zeros) + (1 << zeros) - 1


def remove_emulation_prevention(data: bytes) -> bytes:
    """Strip H.264/HEVC emulation prevention bytes (00 00 03 -> 00 00)."""
    if b"\x00\x00\x03" not in data:
        return bytes(data)
    out = bytearray()
    zeros = 0
    for byte in data:
        if zeros >= 2 and byte == 0x03:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)
