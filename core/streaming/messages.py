"""The platform messages of one reply, and the next call that brings them up to date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from knowrithm_bots.core.limits import CallKind


@dataclass(kw_only=True)
class Shown:
    """One platform message of the reply: what it shows and when it was last changed."""

    id: str
    text: str
    changed_at: float = float("-inf")
    stop_button: bool = False


@dataclass(frozen=True, kw_only=True)
class Step:
    """One platform call: ``post`` segment ``index``, ``edit`` it, or ``retire`` it."""

    kind: Literal["post", "edit", "delete", "retire"]
    index: int
    text: str = ""
    stop_button: bool = False

    @property
    def call_kind(self) -> CallKind:
        """The budget kind the call is charged to."""
        return "edit" if self.kind == "retire" else self.kind


def next_step(
    *,
    shown: Sequence[Shown],
    segments: Sequence[str],
    can_delete: bool,
    can_edit: bool = True,
    stop_button: bool = False,
) -> Step | None:
    """The first call that moves the platform towards ``segments``, or None when current.

    Earlier messages are fixed before later ones are posted, so the visible text never has a
    gap. Platforms reject messages of whitespace alone, so such segments are never posted,
    and a message whose segment became whitespace alone is retired, not edited. Without
    ``can_edit`` a posted message stays as it is: one that no longer matches is deleted (with
    everything after it, to be posted anew) where the platform allows, else left alone.

    With ``stop_button`` the last message carries a Stop button and no other does: a message
    showing the button where it should not (the answer rolled on, or ended) is edited even
    when its text is right, so the button never outlives the answer.
    """
    segments = [segment for segment in segments if segment.strip()]
    for index, segment in enumerate(segments):
        button = stop_button and index == len(segments) - 1
        if index >= len(shown):
            return Step(kind="post", index=index, text=segment, stop_button=button)
        if shown[index].text == segment and shown[index].stop_button == button:
            continue
        if can_edit:
            return Step(kind="edit", index=index, text=segment, stop_button=button)
        if can_delete:
            return Step(kind="delete", index=len(shown) - 1)
    if len(shown) > len(segments):
        if can_delete:
            return Step(kind="delete", index=len(segments))
        if can_edit:
            return Step(kind="retire", index=len(segments))
    return None
