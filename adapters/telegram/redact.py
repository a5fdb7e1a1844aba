"""Keeps the bot token out of log records: python-telegram-bot and httpx both can leak it.

httpx logs every request URL at INFO (the URL holds the token) and python-telegram-bot's
``InvalidToken`` repeats the token in its message. A filter on each logger those libraries
write to rewrites the record before any handler formats it.
"""

from __future__ import annotations

import logging
import traceback

REDACTED = "<bot-token>"
_LIBRARY_LOGGERS = ("httpx", "httpcore", "telegram", "tornado")


def redact(text: str, *, secret: str) -> str:
    """``text`` with every occurrence of ``secret`` (and its numeric-id-free tail) hidden."""
    if not secret:
        return text
    text = text.replace(secret, REDACTED)
    _, _, tail = secret.partition(":")
    # A token's secret half is meaningless alone but still a secret.
    return text.replace(tail, REDACTED) if len(tail) >= 16 else text


class TokenRedactor(logging.Filter):
    """Rewrites records that mention the token; never drops a record."""

    def __init__(self, *, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        cleaned = redact(message, secret=self._secret)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            formatted = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact(formatted, secret=self._secret)
            record.exc_info = None
        return True


class RedactionScope:
    """Installs a ``TokenRedactor`` on the library loggers and removes it again."""

    def __init__(self, *, secret: str) -> None:
        self._filter = TokenRedactor(secret=secret)
        self._loggers: list[logging.Logger] = []

    def install(self) -> None:
        if self._loggers:
            return
        names = [
            name
            for name in list(logging.root.manager.loggerDict)
            if name.split(".")[0] in _LIBRARY_LOGGERS
        ]
        for name in sorted({*names, *_LIBRARY_LOGGERS}):
            logger = logging.getLogger(name)
            logger.addFilter(self._filter)
            self._loggers.append(logger)

    def remove(self) -> None:
        for logger in self._loggers:
            logger.removeFilter(self._filter)
        self._loggers.clear()
