"""How backends wrap values with an expiry time and tell unreadable records apart, shared."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from itertools import count
from typing import Literal

from knowrithm_bots.core.store.base import JSON

log = logging.getLogger("knowrithm_bots.core.store")

QUARANTINE_PREFIX = "quarantine:"

State = Literal["absent", "expired", "unreadable", "live"]


class Unreadable:
    """A stored record this version cannot read, kept byte for byte so it can be moved aside.

    Records written by another program or version (a pickle, JSON without the wrapper) are
    someone's data: backends never overwrite or delete them, they move them to a quarantine key.
    """

    __slots__ = ("raw",)

    def __init__(self, raw: object) -> None:
        self.raw = raw

    def __repr__(self) -> str:
        # The contents may hold anything; they never belong in a log line.
        return "Unreadable(...)"


Stored = dict[str, JSON] | Unreadable


def wrap(value: JSON, *, ttl: float | None, now: Callable[[], float]) -> dict[str, JSON]:
    """The stored form: the value and its absolute expiry (None for never)."""
    return {"v": value, "exp": None if ttl is None else now() + ttl}


def parse(raw: object) -> Stored:
    """Decode a stored row; anything that is not a record this store wrote is Unreadable."""
    if not isinstance(raw, str | bytes):
        return Unreadable(raw)
    try:
        stored = json.loads(raw)
    except ValueError:
        return Unreadable(raw)
    if not isinstance(stored, dict) or "v" not in stored:
        return Unreadable(raw)
    exp = stored.get("exp")
    if exp is not None and (isinstance(exp, bool) or not isinstance(exp, int | float)):
        return Unreadable(raw)
    return stored


def unwrap(stored: Stored | None, *, now: Callable[[], float]) -> tuple[State, JSON]:
    """The state of a stored record and, when live, its value."""
    if stored is None:
        return "absent", None
    if isinstance(stored, Unreadable):
        return "unreadable", None
    exp = stored.get("exp")
    if isinstance(exp, int | float) and exp <= now():
        return "expired", None
    return "live", stored["v"]


def quarantine_keys(key: str) -> Iterator[str]:
    """Candidate keys to move ``key``'s record to; the backend takes the first one unused."""
    yield QUARANTINE_PREFIX + key
    for n in count(2):
        yield f"{QUARANTINE_PREFIX}{key}#{n}"


def warn_unreadable(key: str) -> None:
    log.warning(
        "store key %s holds a record this version cannot read; it is treated as absent "
        "and will be moved to a quarantine: key, not overwritten, when the key is written",
        key,
    )


def warn_moved(key: str, *, target: str) -> None:
    log.warning(
        "store key %s held a record this version cannot read; it was moved to %s and kept",
        key,
        target,
    )
