"""A pipeline sink for tests: it keeps everything."""

from __future__ import annotations


class CollectingSink:
    """A pipeline sink that keeps everything it is handed (sessions, messages, warnings, handshake parts)."""

    def __init__(self) -> None:
        self.messages: list = []
        self.warnings: list = []
        self.handshakes: list = []
        self.sessions: list = []

    def flow_started(self, session) -> None:
        self.sessions.append(session)

    def message(self, session, record) -> None:
        self.messages.append(record)

    def warning(self, session, record) -> None:
        self.warnings.append(record)

    def handshake(self, session, record) -> None:
        self.handshakes.append(record)

    def flow_finished(self, session) -> None:
        pass
