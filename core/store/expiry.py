"""How backends wrap values with an expiry time, shared so every backend agrees."""

from __future__ import annotations

from collections.abc import Callable

from core.store.base import JSON


def wrap(value: JSON, *, ttl: float | None, now: Callable[[], float]) -> JSON:
    """The stored form: the value and its absolute expiry (None for never)."""
    return {"v": value, "exp": None if ttl is None else now() + ttl}


def unwrap(stored: JSON, *, now: Callable[[], float]) -> tuple[bool, JSON]:
    """(alive, value) of a stored form; a malformed record reads as absent, not as a crash."""
    if not isinstance(stored, dict) or "v" not in stored:
        return False, None
    exp = stored.get("exp")
    if isinstance(exp, int | float) and exp <= now():
        return False, None
    return True, stored["v"]
