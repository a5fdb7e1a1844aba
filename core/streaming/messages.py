"""The platform messages of one reply, and the next call that brings them up to date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Shown:
    """One platform message of the reply: what it shows and when it was last changed."""

    id: str
    text: str
    changed_at: float = float("-inf")


@dataclass(frozen=True)
class Step:
    """One platform call: ``post`` segment ``index``, ``edit`` it, or ``retire`` it."""

    kind: str
    index: int
    text: str = ""

    @property
    def call_kind(self) -> str:
        """The budget kind the call is charged to."""
        return "edit" if self.kind == "retire" else self.kind


def next_step(shown: Sequence[Shown], segments: Sequence[str], *, can_delete: bool) -> Step | None:
    """The first call that moves the platform towards ``segments``, or None when current.

    Earlier messages are fixed before later ones are posted, so the visible text never has a
    gap; a message is posted only once it has something besides whitespace to show.
    """
    for index, segment in enumerate(segments):
        if index < len(shown):
            if shown[index].text != segment:
                return Step("edit", index, segment)
        elif segment.strip():
            return Step("post", index, segment)
        else:
            return None
    if len(shown) > len(segments):
        return Step("retire" if not can_delete else "delete", len(segments))
    return None
