"""The thread-key codec every adapter implements: a typed place on the platform as one string."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol, Self, runtime_checkable


@runtime_checkable
class ThreadKeyCodec(Protocol):
    """A frozen value naming where one conversation lives, and its string form.

    The core stores and compares only the string (``Inbound.thread``); the adapter that made
    it is the only reader. ``encode`` returns ``"<adapter name>:<fields>"``; ``decode`` turns
    such a string back into an equal value and raises ``ValueError`` for any string
    ``encode`` could not have produced (another adapter's key, a key cut short, a field of
    the wrong shape), never anything else. ``decode(key.encode()) == key`` always holds; the
    conformance kit checks it on every event an adapter delivers.
    """

    def encode(self) -> str:
        """The key as the core stores it, starting with ``"<adapter name>:"``."""
        ...

    @classmethod
    def decode(cls, thread: str) -> Self:
        """The key ``thread`` names; ``ValueError`` when it is not one of this adapter's."""
        ...


def key_fields(thread: str, *, prefix: str, counts: Collection[int]) -> list[str]:
    """The ``:``-separated fields of ``thread`` after ``prefix``; ``ValueError`` unless there
    are as many as one of ``counts``.

    A helper for ``ThreadKeyCodec.decode``: it checks the shape, the codec checks each field.
    """
    name, sep, rest = thread.partition(":")
    fields = rest.split(":") if sep else []
    if name != prefix or len(fields) not in counts:
        raise ValueError(f"{thread!r} is not a {prefix} thread key")
    return fields
