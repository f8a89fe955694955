"""Flows that are not one TCP connection: the plaintext of a TLS connection, an RTMPT tunnel made of several
HTTP connections, an RTMFP (UDP) endpoint pair. The analyzer treats them like a TCP flow (`id`, `endpoints`,
events); anything else asked of one (FIN seen, zero windows, ...) is answered by the TCP flow that carries
it, if one.
"""

from __future__ import annotations

from typing import Any, Protocol

from .events import Endpoint, Endpoints

# What a carrier notes of its own, taken by the session (analysis/carried.py): (code, severity, frame, message,
# direction: a TCP direction (0/1), "c2s"/"s2c", or None).
Note = tuple[str, str, int | None, str, int | str | None]

# A UDP flow's id: ("udp", the lower endpoint, the higher one).
UdpKey = tuple[str, Endpoint, Endpoint]


class Carrier(Protocol):
    """What a virtual flow asks of its carrier."""

    def forced_client(self) -> int | None: ...


class VirtualFlow:
    """A flow carried inside other flows. `protocol` ("rtmps", "rtmpt") says which kind of session it holds;
    `carrier` is what makes its events (tls.carrier.TlsCarrier, rtmpt.carrier.Tunnel)."""

    virtual = True

    def __init__(self, flow_id: tuple[str, int], endpoints: Endpoints, carrier: Carrier, protocol: str,
                 tcp: Any = None) -> None:
        self.id = flow_id  # a tuple, so it never collides with a TCP flow id
        self.endpoints = endpoints
        self.carrier = carrier
        self.protocol = protocol
        self.tcp = tcp

    @property
    def forced_client(self) -> int | None:
        """The client direction when the flow must be listed even though no RTMP was seen in it."""
        return self.carrier.forced_client()

    def __getattr__(self, name: str) -> Any:
        tcp = self.__dict__.get("tcp")
        if tcp is None:
            raise AttributeError(name)
        return getattr(tcp, name)


class UdpFlow:
    """A UDP endpoint pair (RTMFP): an id and the endpoints, client first."""

    virtual = True
    protocol = "rtmfp"

    def __init__(self, key: UdpKey, endpoints: Endpoints) -> None:
        self.id = key
        self.endpoints = endpoints
