"""The words every layer shares: RTMP message types and the two directions of a connection.
(Severities are with the findings catalogue, rtmp_inspect/findings.py.)

Enums whose values are the plain ints and strings the JSON output has always carried (an IntEnum is an int,
a StrEnum a str), so using them changes no output.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

RTMP_PORT = 1935  # IANA's port for RTMP (and RTMFP over UDP)


class MessageType(IntEnum):
    """Message type ids (RTMP 1.0 sections 5.4, 6.2, 7.1)."""

    SET_CHUNK_SIZE = 1
    ABORT = 2
    ACKNOWLEDGEMENT = 3
    USER_CONTROL = 4
    WINDOW_ACK_SIZE = 5
    SET_PEER_BANDWIDTH = 6
    AUDIO = 8
    VIDEO = 9
    DATA_AMF3 = 15
    SHARED_OBJECT_AMF3 = 16
    COMMAND_AMF3 = 17
    DATA_AMF0 = 18
    SHARED_OBJECT_AMF0 = 19
    COMMAND_AMF0 = 20
    AGGREGATE = 22

    @property
    def wire_name(self) -> str:
        """The name outputs use ("set_chunk_size", "command_amf0", ...)."""
        return self.name.lower()


PROTOCOL_CONTROL = frozenset((MessageType.SET_CHUNK_SIZE, MessageType.ABORT, MessageType.ACKNOWLEDGEMENT,
                              MessageType.WINDOW_ACK_SIZE, MessageType.SET_PEER_BANDWIDTH))
MEDIA = frozenset((MessageType.AUDIO, MessageType.VIDEO))
COMMANDS = frozenset((MessageType.COMMAND_AMF0, MessageType.COMMAND_AMF3))
DATA = frozenset((MessageType.DATA_AMF0, MessageType.DATA_AMF3))
SHARED_OBJECTS = frozenset((MessageType.SHARED_OBJECT_AMF0, MessageType.SHARED_OBJECT_AMF3))
AMF3_TYPES = frozenset((MessageType.DATA_AMF3, MessageType.SHARED_OBJECT_AMF3, MessageType.COMMAND_AMF3))


class Direction(StrEnum):
    """Which way a message went: from the client (the side that sent C0/C1) or from the server."""

    C2S = "c2s"
    S2C = "s2c"

    @property
    def other(self) -> Direction:
        return Direction.S2C if self is Direction.C2S else Direction.C2S

    @property
    def side(self) -> str:
        """The peer that sent it: "client" or "server"."""
        return "client" if self is Direction.C2S else "server"
