"""Keeps secrets out of log records made by chosen loggers, tracebacks and children included.

``Redactor`` is the one way secrets are hidden in text, in logs and error messages alike.
While a ``RedactionScope`` is installed, a wrapper around the process's log record factory
cleans every record of a covered logger as it is created. A filter on one logger would miss
its children's records (filters do not apply to propagated records) and loggers that
libraries copy or create later; the record factory sees them all.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Iterable
from typing import Any

Clean = Callable[[str], str]

REDACTED = "[redacted]"
# Shorter values would redact ordinary words; real keys are long.
_SHORTEST_SECRET = 4


class Redactor:
    """Replaces each known secret, in any letter case, and each match of ``patterns``.

    ``patterns`` are regular expressions for secrets of a known shape that were not
    configured (another workspace's token, say).
    """

    def __init__(
        self, secrets: Iterable[str | None], *, mask: str = REDACTED, patterns: Iterable[str] = ()
    ) -> None:
        found = sorted(
            {s for s in secrets if s and len(s) >= _SHORTEST_SECRET}, key=len, reverse=True
        )
        # Case-blind: a service may echo a key upper- or lower-cased; longest first, so a
        # secret that contains another is removed whole.
        alternatives = [*(re.escape(s) for s in found), *patterns]
        self._pattern = re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None
        self._mask = mask

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda _found: self._mask, text)


def clean_record(record: logging.LogRecord, *, clean: Clean) -> None:
    """Rewrite ``record``'s message, traceback and stack with ``clean``; never raises."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format must not break the caller's log call
        message = str(record.msg)
    cleaned = clean(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[1] is not None:
        try:
            formatted = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        except Exception:
            formatted = f"{type(record.exc_info[1]).__name__} (traceback unavailable)"
        scrubbed = clean(formatted)
        if scrubbed != formatted:
            # Handlers format exc_info themselves; only the cleaned text may reach them.
            record.exc_text, record.exc_info = scrubbed, None
    elif record.exc_text:
        record.exc_text = clean(record.exc_text)
    if record.stack_info:
        record.stack_info = clean(record.stack_info)


def covered(name: str, *, roots: Iterable[str]) -> bool:
    """Whether logger ``name`` is one of ``roots`` or a descendant of one."""
    return any(name == root or name.startswith(f"{root}.") for root in roots)


class _CleaningFactory:
    """A log record factory that cleans the records of covered loggers, then hands them on."""

    def __init__(
        self, *, previous: Callable[..., logging.LogRecord], roots: tuple[str, ...], clean: Clean
    ) -> None:
        self.previous = previous
        self.active = True
        self._roots = roots
        self._clean = clean

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(*args, **kwargs)
        if self.active and covered(record.name, roots=self._roots):
            clean_record(record, clean=self._clean)
        return record


class RedactionScope:
    """Cleans records of ``loggers`` (and their children) between ``install`` and ``remove``.

    It wraps the record factory found at ``install`` and puts it back on ``remove``. When
    somebody wrapped the factory again in between, restoring would drop their wrapper, so
    this one then only goes inert and stays in the chain.
    """

    def __init__(self, *, clean: Clean, loggers: Iterable[str]) -> None:
        self._clean = clean
        self._roots = tuple(loggers)
        self._factory: _CleaningFactory | None = None

    def install(self) -> None:
        if self._factory is not None:
            return
        self._factory = _CleaningFactory(
            previous=logging.getLogRecordFactory(), roots=self._roots, clean=self._clean
        )
        logging.setLogRecordFactory(self._factory)

    def remove(self) -> None:
        factory, self._factory = self._factory, None
        if factory is None:
            return
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(factory.previous)
        else:
            factory.active = False
