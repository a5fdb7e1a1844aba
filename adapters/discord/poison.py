"""Gateway events nobody can read are logged once and skipped; the connection stays up.

discord.py turns each gateway dispatch into objects in its ``ConnectionState`` parsers,
called straight from the socket's read loop: a payload missing a field it indexes (a
MESSAGE_CREATE without ``author``, a reaction without ``emoji``) raises there, ends
``Client.connect`` and with it the bot. Each parser is wrapped so that such an event is
reported once, by its type and id (never its content), and dropped. The sequence number
was already taken before the parser ran, so a later RESUME neither repeats nor misses it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, MutableMapping
from typing import Any

from knowrithm_bots.core.bounded import Lru

log = logging.getLogger(__name__)

_REPORTED = 4096
# Where each kind of dispatch keeps the id worth naming in a log line.
_ID_FIELDS = ("message_id", "id")

Parser = Callable[[Any], None]


def _snowflake(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    return None


def event_id(data: object) -> str | None:
    """The id a dispatch is about (its message, thread or channel), when it has a sound one."""
    if not isinstance(data, dict):
        return None
    for field in _ID_FIELDS:
        found = _snowflake(data.get(field))
        if found is not None:
            return found
    return None


def _fingerprint(data: object) -> str:
    text = json.dumps(data, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class PoisonLog:
    """Reports each skipped event once: a replay after RESUME logs nothing new."""

    def __init__(self) -> None:
        self._reported: Lru[tuple[str, str], bool] = Lru(size=_REPORTED)

    def skipped(self, *, event: str, data: object, error: Exception, reason: str) -> None:
        ident = event_id(data)
        key = (event, ident or _fingerprint(data))
        if key in self._reported:
            return
        self._reported.put(key, value=True)
        log.warning(
            "Discord %s event %s was skipped: %s (%s)",
            event,
            ident or "without an id",
            reason,
            type(error).__name__,
        )


def guard_parsers(parsers: MutableMapping[str, Parser], *, poison: PoisonLog) -> None:
    """Wrap every parser of a discord.py ``ConnectionState`` so none can end the connection."""
    for event, parse in list(parsers.items()):
        parsers[event] = _guarded(event, parse, poison)


def _guarded(event: str, parse: Parser, poison: PoisonLog) -> Parser:
    def guarded(data: Any) -> None:
        try:
            parse(data)
        except Exception as exc:
            poison.skipped(event=event, data=data, error=exc, reason="discord.py cannot read it")

    return guarded
