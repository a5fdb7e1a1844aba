"""Small helpers several test packages share."""

from __future__ import annotations

import logging

from core.events import Inbound, Reaction


class NullSink:
    """An event sink that drops everything, for adapters started only to be called."""

    async def on_message(self, event: Inbound) -> None:
        return None

    async def on_reaction(self, event: Reaction) -> None:
        return None


class CollectLogs(logging.Handler):
    """Keeps each record as formatted text, traceback included, as a log file would show it."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
