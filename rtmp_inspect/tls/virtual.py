"""A flow that exists only inside another protocol: the plaintext of a TLS connection, or an RTMPT tunnel
made of several HTTP connections. The analyzer treats it like a TCP flow (`id`, `endpoints`, events);
anything else asked of it (FIN seen, zero windows, ...) is answered by the TCP flow that carries it, if one.
"""

from __future__ import annotations

from typing import Any


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
