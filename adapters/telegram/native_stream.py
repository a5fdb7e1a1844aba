"""Streams an answer into a private chat as an animated message draft (sendMessageDraft)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from knowrithm_bots.adapters.telegram.outbound import Sender
from knowrithm_bots.core.adapter import NativeStream, Posted
from knowrithm_bots.core.streaming import Layout


def new_draft_id() -> int:
    """A fresh non-zero id: Telegram animates changes between drafts with the same id."""
    return secrets.randbelow(2**31 - 1) + 1


class DraftStream(NativeStream):
    """A draft that shows the growing answer; it leaves nothing lasting behind.

    A draft holds at most one message's worth of text, so once the answer is longer it
    shows the part that will become the last message. ``finish`` returns no messages: the
    reply engine then sends the final text with ordinary ``sendMessage`` calls.
    """

    def __init__(
        self, *, sender: Sender, chat_id: int, topic_id: int | None, layout: Layout
    ) -> None:
        self._sender = sender
        self._chat_id = chat_id
        self._topic_id = topic_id
        self._layout = layout
        self._draft_id = new_draft_id()
        self._text = ""

    async def append(self, *, text: str) -> None:
        candidate = self._text + text
        segment = self._layout.segments(candidate)[-1]
        # A refusal raises NativeStreamUnavailable; a 429 or an outage is waited out by the
        # engine, which then calls again with the same piece.
        await self._sender.draft(
            chat_id=self._chat_id,
            topic_id=self._topic_id,
            draft_id=self._draft_id,
            markdown=segment,
        )
        # Only a shown piece counts: a retried append must not add its text twice.
        self._text = candidate

    async def finish(self, *, text: str) -> Sequence[Posted]:
        return []

    def leftover(self) -> Posted | None:
        return None  # a draft vanishes on its own; nothing remains to edit
