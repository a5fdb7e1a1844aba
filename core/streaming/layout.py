"""Cuts a growing answer into platform messages, freezing each one once it has rolled over."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from knowrithm_bots.core.markup.split import split_for_rollover


def _common_prefix(first: str, second: str) -> int:
    if second.startswith(first):
        return len(first)  # the usual case (the message shows an older prefix), in C
    # Character by character is what is wanted here: these are texts, not paths.
    return len(os.path.commonprefix([first, second]))  # noqa: RUF071


def _remaining_source(source: str, tail: str) -> tuple[str, str]:
    """Split ``tail`` into (reopened fence line, the part that is still a suffix of ``source``)."""
    if source.endswith(tail):
        return "", tail
    newline = tail.find("\n")
    if newline >= 0 and source.endswith(tail[newline + 1 :]):
        return tail[: newline + 1], tail[newline + 1 :]
    raise AssertionError("split_for_rollover broke its reassembly invariant")


@dataclass(kw_only=True)
class Layout:
    """Which part of the answer each platform message shows.

    ``frozen`` holds the texts of messages that have rolled over: they were cut from
    ``frozen_source`` and stay as they are while the answer keeps starting with it. The last
    message shows ``carry`` (a code fence reopened by the roll-over) plus the rest.
    ``cuts`` holds, for each frozen message, where in the answer the next one begins.

    ``measure`` may be costly (adapters render the whole markup to measure it), and a reply
    asks for the same text's layout several times per platform call, so the last text's
    segments are remembered.
    """

    limit: int
    measure: Callable[[str], int] = len
    frozen: list[str] = field(default_factory=list)
    frozen_source: str = ""
    carry: str = ""
    cuts: list[int] = field(default_factory=list)
    _last: tuple[str, list[str]] | None = field(default=None, init=False, repr=False, compare=False)

    def segments(self, text: str) -> list[str]:
        """The message texts for ``text``, rolling over (and freezing) as needed."""
        last = self._last
        if last is None or last[0] != text:
            # Laying out the same text again changes nothing: the state is already its own.
            last = self._last = (text, self._lay_out(text))
        return list(last[1])

    def _lay_out(self, text: str) -> list[str]:
        if not text.startswith(self.frozen_source):
            # The authoritative text disagrees with what was frozen: lay it out afresh.
            self.frozen, self.frozen_source, self.carry, self.cuts = [], "", "", []
        while True:
            current = self.carry + text[len(self.frozen_source) :]
            if self.measure(current) <= self.limit:
                return [*self.frozen, current]
            head, tail = split_for_rollover(current, limit=self.limit, measure=self.measure)
            reopen, rest = _remaining_source(current, tail)
            self.frozen.append(head)
            self.frozen_source = text[: len(text) - len(rest)]
            self.cuts.append(len(self.frozen_source))
            self.carry = reopen

    def shown_upto(self, shown: Sequence[str], *, text: str) -> int:
        """How many characters of ``text`` the platform shows in order while its messages
        hold ``shown`` (a fence line a roll-over added is not counted apart)."""
        segments = self.segments(text)
        start = 0
        for index, segment in enumerate(segments):
            last = index == len(segments) - 1
            end = len(text) if last else self.cuts[index]
            if index >= len(shown):
                return start
            if shown[index] != segment:
                common = _common_prefix(shown[index], segment)
                lead = len(self.carry) if last else 0
                return start + min(max(0, common - lead), end - start)
            start = end
        return start
