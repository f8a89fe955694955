"""Sessions of flows that other protocols carry: RTMP inside TLS (RTMPS) or RTMPT tunnels, and RTMFP.

Their carriers (tls/, rtmpt/) note what they see of their own (a TLS alert, an HTTP error, a gap) in a list
of notes; a carried session takes the notes at each call and reports them before that call's records, and
those made before it existed become its first warnings.
"""

from __future__ import annotations

from typing import Any

from ..flows.virtual import Note
from ..rtmp.vocabulary import Direction
from .records import Record, WarningRecord
from .session import FlowSession


class CarriedSession(FlowSession):
    """The RTMP session of a virtual flow (flows.virtual.VirtualFlow)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.carrier = self.tcp_flow.carrier
        for code, severity, frame, message, direction in self._take_notes():
            self.warnings.append(WarningRecord(self.id, code, severity, frame, message, self._dir(direction)))

    def _take_notes(self) -> list[Note]:
        notes: list[Note] = self.carrier.notes
        if not notes:
            return notes
        self.carrier.notes = []
        return notes

    def _dir(self, direction: int | str | None) -> str | None:
        """Carriers speak of TCP directions (0/1) or already of "c2s"/"s2c"."""
        return self.direction(direction) if isinstance(direction, int) else direction

    def _noted(self) -> list[WarningRecord]:
        return [self.warn(code, severity, frame, message, self._dir(direction))
                for code, severity, frame, message, direction in self._take_notes()]

    def feed(self, tcp_direction: int, frame: int, time: float, data: bytes) -> list[Record]:
        noted = self._noted()
        records = super().feed(tcp_direction, frame, time, data)
        return noted + records if noted else records

    def gap(self, tcp_direction: int, frame: int, time: float, size: int) -> list[Record]:
        noted = self._noted()
        records = super().gap(tcp_direction, frame, time, size)
        return noted + records if noted else records

    def finish(self, reason: str, frame: int | None, time: float | None) -> list[Record]:
        noted = self._noted()
        records = super().finish(reason, frame, time)
        return noted + records if noted else records


class TlsSession(CarriedSession):
    """An RTMP session inside TLS: the same decoding, plus what the TLS layer saw."""

    @property
    def undecoded_reason(self) -> str | None:
        """For one-line verdicts: why nothing inside was decoded (None once decrypted)."""
        return None if any(self.carrier.plaintext) else self.outcome()

    def outcome(self) -> str:
        carrier = self.carrier
        if not any(carrier.plaintext):
            if carrier.midstream:
                return "RTMPS (capture starts inside TLS), not decrypted: the TLS handshake is not in the capture"
            return f"RTMPS ({carrier.summary()}), not decrypted: " + \
                ("keys needed (--tls-keylog)" if carrier.keys in ("missing", "unknown") else carrier.keys)
        return "RTMPS: " + super().outcome()

    def to_json_header(self) -> dict[str, Any]:
        out = super().to_json_header()
        out["protocol"] = "rtmps"
        out["tls"] = self.carrier.to_json()
        return out


class RtmptSession(CarriedSession):
    """An RTMP session carried by an RTMPT tunnel."""

    @property
    def tunnel(self) -> Any:
        return self.carrier

    def outcome(self) -> str:
        return f"RTMPT (session {self.tunnel.session_id}): " + super().outcome()

    def to_json_header(self) -> dict[str, Any]:
        out = super().to_json_header()
        out["protocol"] = "rtmpt"
        out["rtmpt"] = self.tunnel.to_json()
        return out


class RtmfpSession(FlowSession):
    """An RTMFP flow: listed with what its packets show; nothing in it is decoded as RTMP."""

    def __init__(self, *args: Any, recognised_by: str = "handshake", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recognised_by = recognised_by
        self.handshake_seen: list[dict[str, Any]] = []
        self.packets = {Direction.C2S: 0, Direction.S2C: 0}
        self.warn("rtmfp.not-decoded", "info", None,
                  "RTMFP (UDP): recognised and listed; its sessions are encrypted with keys negotiated in the "
                  "handshake and are not decoded", None)

    def datagram(self, direction: int, payload: bytes, frame: int, time: float,
                 handshake: dict[str, Any] | None) -> None:
        dir = Direction.C2S if direction == 0 else Direction.S2C
        self.connection.count(direction, frame, time, len(payload))  # (a pure-Python one: nothing to decode)
        self.packets[dir] += 1
        if handshake is not None:
            self.handshake_seen.append({"dir": dir, "frame": frame, **handshake})

    @property
    def undecoded_reason(self) -> str:
        """For one-line verdicts: RTMFP is never decoded."""
        return self.outcome()

    def outcome(self) -> str:
        chunks = " ".join(h["chunk"] for h in self.handshake_seen[:4])
        return f"RTMFP (UDP, not decoded){': ' + chunks if chunks else ''}"

    def to_json_header(self) -> dict[str, Any]:
        out = super().to_json_header()
        out["protocol"] = "rtmfp"
        out["rtmfp"] = {
            "recognised_by": self.recognised_by,
            "handshake": list(self.handshake_seen),
            "packets": dict(self.packets),
        }
        return out


SESSION_CLASSES: dict[str, type[FlowSession]] = {"rtmps": TlsSession, "rtmpt": RtmptSession}
