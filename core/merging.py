"""Gathers the messages a person sends while their thread's answer is written into one question."""

from __future__ import annotations

import dataclasses

from knowrithm_bots.core.events import Inbound

# How merged messages are joined into the one question Knowrithm receives.
SEPARATOR = "\n\n"


class Batch:
    """Messages of one thread to be answered together, in arrival order."""

    def __init__(self, first: Inbound) -> None:
        self.events: list[Inbound] = [first]

    @property
    def length(self) -> int:
        return sum(len(e.text.strip()) for e in self.events) + len(SEPARATOR) * (
            len(self.events) - 1
        )

    def merged(self) -> Inbound:
        """One message holding every text, carried by the last event (the answer quotes it)."""
        last = self.events[-1]
        if len(self.events) == 1:
            return last
        text = SEPARATOR.join(e.text.strip() for e in self.events)
        # The thread as the first message found it, and every file any of them carried.
        files = tuple(file for e in self.events for file in e.files)
        return dataclasses.replace(last, text=text, context=self.events[0].context, files=files)


class Batches:
    """The batch still open to newcomers per thread and person: from its first message until
    its answer starts, or until something that must not be merged (a command) comes after it
    in the thread. Only one person's messages are merged: in a group, Ada's question and
    Bob's are two questions."""

    def __init__(self, *, max_chars: int) -> None:
        self._open: dict[tuple[str, str], Batch] = {}
        self._max_chars = max_chars

    def join(self, event: Inbound) -> Batch | None:
        """Add ``event`` to its author's open batch in its thread; the new batch it opened
        (to be answered by a job of the caller), or None when it joined one already waiting."""
        key = (event.thread, event.author.id)
        batch = self._open.get(key)
        fits = (
            batch is not None
            and batch.length + len(SEPARATOR) + len(event.text.strip()) <= self._max_chars
        )
        if batch is not None and fits:
            batch.events.append(event)
            return None
        batch = Batch(event)
        self._open[key] = batch
        return batch

    def close(self, thread: str) -> None:
        """Let nothing more join any batch open in ``thread``."""
        for key in [key for key in self._open if key[0] == thread]:
            del self._open[key]

    def started(self, batch: Batch) -> None:
        """``batch`` is being answered: later messages start a new one."""
        first = batch.events[0]
        key = (first.thread, first.author.id)
        if self._open.get(key) is batch:
            del self._open[key]
