"""Breakages for the malformed-input catalogues: set or remove one field, or replace it all."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

Breakage = Callable[[dict[str, Any]], Any]
_DELETE = object()


def set_path(path: str, value: Any) -> Breakage:
    """Set (or, with ``_DELETE``, remove) the field at a dotted path; list items by index.

    Removing a field the sound payload lacks raises KeyError: a catalogue entry that breaks
    nothing would test nothing.
    """

    def breakage(payload: dict[str, Any]) -> Any:
        broken = copy.deepcopy(payload)
        *parents, last = path.split(".")
        node: Any = broken
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is _DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
        return broken

    return breakage


def drop_path(path: str) -> Breakage:
    return set_path(path, _DELETE)


def whole(value: Any) -> Breakage:
    """Replace the whole payload (not an object, an empty object ...)."""
    return lambda _payload: copy.deepcopy(value)
