"""The agents that write the local server's replies: a protocol, an echo, a scripted one and a
counting one (for load tests)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from knowrithm_bots.bots.local_knowrithm.records import StoredMessage


class Agent(Protocol):
    """Writes one reply.

    Called by the server once per accepted chat message, on the event loop, with the
    question and the conversation's messages before it (oldest first). Must return quickly
    and deterministically; an exception marks that reply's task as failed.
    """

    def reply(self, *, question: str, history: Sequence[StoredMessage]) -> str: ...


class EchoAgent:
    """Quotes the question and the history, so the same input always gets the same answer."""

    def reply(self, *, question: str, history: Sequence[StoredMessage]) -> str:
        """A few sentences that show what the server received."""
        earlier = [message for message in history if message.role == "user"]
        text = f'You asked: "{question}". This is message {len(earlier) + 1} of this conversation'
        if earlier:
            text += f'; before this you said "{earlier[-1].content}"'
        return (
            text + ". I am the local Knowrithm agent, so the same question always gets the same"
            " answer. Point knowrithm.base_url at a real agent to get real answers."
        )


class ScriptedAgent:
    """Answers with whatever a function of (question, history) returns; for tests."""

    def __init__(self, script: Callable[[str, Sequence[StoredMessage]], str]) -> None:
        self._script = script

    def reply(self, *, question: str, history: Sequence[StoredMessage]) -> str:
        """The script's answer."""
        return self._script(question, history)


class CountingAgent:
    """Answers ``words`` numbered words (``w1 w2 ...``) after the question, so a load test can
    tell from any piece of text which words of the answer it holds."""

    def __init__(self, *, words: int) -> None:
        if words < 1:
            raise ValueError("a counting agent answers at least one word")
        self._tail = " ".join(f"w{index}" for index in range(1, words + 1))

    def reply(self, *, question: str, history: Sequence[StoredMessage]) -> str:
        """``question`` then the numbered words."""
        return f"{question}: {self._tail}"
