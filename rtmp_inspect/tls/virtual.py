"""A flow that exists only inside another protocol: the plaintext of a TLS connection, or an RTMPT tunnel
made of several HTTP connections. The analyzer treats it like a TCP flow (`id`, `endpoints`, events);
anything else asked of it (FIN seen, zero windows, ...) is answered by the TCP flow that carries it, if one.
Also the base of the sessions decoded from such flows.
"""

from __future__ import annotations

from typing import Any

from ..analysis.records import WarningRecord
from ..analysis.session import FlowSession


class VirtualFlow:
    virtual = True

    def __init__(self, flow_id: Any, endpoints: tuple, carrier: Any, tcp: Any = None,
                 session_class: Any = None) -> None:
        self.id = flow_id  # a tuple, so it never collides with a TCP flow id
        self.endpoints = endpoints
        self.carrier = carrier
        self.tcp = tcp
        self.session_class = session_class

    @property
    def forced_client(self) -> int | None:
        """The client direction when the flow must be listed even though no RTMP was seen in it."""
        return self.carrier.forced_client()

    def __getattr__(self, name: str) -> Any:
        tcp = self.__dict__.get("tcp")
        if tcp is None:
            raise AttributeError(name)
        return getattr(tcp, name)


class CarriedSession(FlowSession):
    """The RTMP session of a virtual flow. Its carrier (a TLS connection, an RTMPT tunnel) notes things of
    its own: those noted before the session existed become its first warnings, later ones reach
    streaming outputs with the records of the next call. `carrier.note_to_session` hands them over."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.carrier = self.tcp_flow.carrier
        self.carrier.session = self
        for code, severity, frame, message, direction in self.carrier.notes:
            self.warnings.append(WarningRecord(self.id, code, severity, frame, message, self._dir(direction)))
        self.carrier.notes.clear()
        self.pending: list[WarningRecord] = []

    def _dir(self, direction: int | str | None) -> str | None:
        """Carriers speak of TCP directions (0/1) or already of "c2s"/"s2c"."""
        return self.direction(direction) if isinstance(direction, int) else direction

    def note(self, code: str, severity: str, frame: int | None, message: str, direction: int | str | None) -> None:
        self.pending.append(self.warn(code, severity, frame, message, self._dir(direction)))

    def feed(self, tcp_direction: int, frame: int, time: float, data: bytes) -> list:
        return self._with_pending(super().feed(tcp_direction, frame, time, data))

    def gap(self, tcp_direction: int, frame: int, time: float, size: int) -> list:
        return self._with_pending(super().gap(tcp_direction, frame, time, size))

    def finish(self, reason: str, frame: int | None, time: float | None) -> list:
        return self._with_pending(super().finish(reason, frame, time))

    def _with_pending(self, records: list) -> list:
        if self.pending:
            records = self.pending + records
            self.pending = []
        return records
