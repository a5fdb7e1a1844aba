"""Cuts a growing answer into platform messages, freezing each one once it has rolled over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.markup.split import split_for_rollover


def _remaining_source(source: str, tail: str) -> tuple[str, str]:
    """Split ``tail`` into (reopened fence line, the part that is still a suffix of ``source``)."""
    if source.endswith(tail):
        return "", tail
    newline = tail.find("\n")
    if newline >= 0 and source.endswith(tail[newline + 1 :]):
        return tail[: newline + 1], tail[newline + 1 :]
    raise AssertionError("split_for_rollover broke its reassembly invariant")


@dataclass
class Layout:
    """Which part of the answer each platform message shows.

    ``frozen`` holds the texts of messages that have rolled over: they were cut from
    ``frozen_source`` and stay as they are while the answer keeps starting with it. The last
    message shows ``carry`` (a code fence reopened by the roll-over) plus the rest.
    """

    limit: int
    measure: Callable[[str], int] = len
    frozen: list[str] = field(default_factory=list)
    frozen_source: str = ""
    carry: str = ""

    def segments(self, text: str) -> list[str]:
        """The message texts for ``text``, rolling over (and freezing) as needed."""
        if not text.startswith(self.frozen_source):
            # The authoritative text disagrees with what was frozen: lay it out afresh.
            self.frozen, self.frozen_source, self.carry = [], "", ""
        while True:
            current = self.carry + text[len(self.frozen_source) :]
            if self.measure(current) <= self.limit:
                return [*self.frozen, current]
            head, tail = split_for_rollover(current, limit=self.limit, measure=self.measure)
            reopen, rest = _remaining_source(current, tail)
            self.frozen.append(head)
            self.frozen_source = text[: len(text) - len(rest)]
            self.carry = reopen
