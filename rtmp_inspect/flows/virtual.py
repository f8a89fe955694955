"""Flows that are not one TCP connection: the plaintext of a TLS connection, an RTMPT tunnel made of several
HTTP connections, an RTMFP (UDP) endpoint pair. The analyzer treats them like a TCP flow (`id`, `endpoints`,
events); anything else asked of one (FIN seen, zero windows, ...) is answered by the TCP flow that carries
it, if one.
"""

from __future__ import annotations

from typing import Any


class VirtualFlow:
    """A flow carried inside other flows. `protocol` ("rtmps", "rtmpt") says which kind of session it holds;
    `carrier` is what makes its events (tls.carrier.TlsCarrier, rtmpt.carrier.Tunnel)."""

    virtual = True

    def __init__(self, flow_id: Any, endpoints: tuple, carrier: Any, protocol: str, tcp: Any = None) -> None:
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

    def __init__(self, key: tuple, endpoints: tuple) -> None:
        self.id = key
        self.endpoints = endpoints
