"""Knobs that tests flip to make the local server misbehave on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class InjectedFailure:
    """What one failing request answers."""

    status: int
    body: str | None
    retry_after: float | None


@dataclass
class _FailureRule:
    method: str | None
    path_contains: str
    failure: InjectedFailure
    remaining: int


class Faults:
    """Mutable at any time; the server reads every knob on each request or reply.

    Each knob defaults to the documented behaviour; the comments say what the less obvious
    ones spoil when set.
    """

    def __init__(self) -> None:
        self.streaming_enabled: bool = True
        self.emit_chunks: bool = True
        self.cut_stream_after_chunks: int | None = None
        self.chat_mode: Literal["task", "sync"] = "task"
        self.start_mode: Literal["object", "task"] = "object"
        # Streams write events of these names with data that is not JSON.
        self.unreadable_events: frozenset[str] = frozenset()
        # Streams write chat_response events without these fields (task results keep them).
        self.response_missing: frozenset[str] = frozenset()
        # Streams leave out events of these names entirely (the event log keeps them).
        self.omitted_events: frozenset[str] = frozenset()
        # Streams write each chat_chunk's content through this function; chat_response and
        # task results keep the agent's text, as a service whose deltas differ from its answer.
        self.rewrite_chunks: Callable[[str], str] | None = None
        # A stream resumed with Last-Event-ID also repeats this many events it already sent,
        # as a sloppy server does.
        self.replay_overlap: int = 0
        # Metadata stored with every assistant reply (cited sources, say); it travels in
        # chat_response events, task results and the history.
        self.reply_metadata: dict[str, Any] = {}
        # When set, start-mode "task" handles end failed with this error instead of completing.
        self.task_error: str | None = None
        self._rules: list[_FailureRule] = []
        # Chat POSTs that are taken in (message stored, reply started) and then answered with
        # an error, each entry one (status, remaining count).
        self._after_storing: list[list[int]] = []
        # (method, path part) of requests read and then never answered, as a hung service.
        self._unanswered: list[tuple[str | None, str]] = []
        self._answer_again = asyncio.Event()
        self._reply_gate: asyncio.Event | None = None
        self._hold_after_words = 0
        self._release_on_path: str | None = None

    def fail_next(
        self,
        *,
        method: str | None = None,
        path_contains: str,
        status: int,
        body: str | None = None,
        retry_after: float | None = None,
        count: int = 1,
    ) -> None:
        """Make the next `count` requests whose path contains `path_contains` answer `status`.

        `body` is sent raw (default: a JSON error body); `retry_after` adds a Retry-After header.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        self._rules.append(
            _FailureRule(
                method=method.upper() if method else None,
                path_contains=path_contains,
                failure=InjectedFailure(status=status, body=body, retry_after=retry_after),
                remaining=count,
            )
        )

    def take_failure(self, *, method: str, path: str) -> InjectedFailure | None:
        """Consume and return the first armed failure matching this request, if any."""
        for rule in self._rules:
            if rule.method not in (None, method.upper()) or rule.path_contains not in path:
                continue
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._rules.remove(rule)
            return rule.failure
        return None

    def fail_after_storing(self, *, status: int = 500, count: int = 1) -> None:
        """Make the next `count` chat POSTs store the message and start the reply as usual,
        then answer `status` instead of the acceptance.

        This models a proxy or gateway in front of the service that gives up (a 502/504, or a
        500 of its own) after the service itself has accepted the request: the client sees a
        failure although Knowrithm holds the question and is writing its answer.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        self._after_storing.append([status, count])

    def take_after_storing(self) -> int | None:
        """Consume one armed `fail_after_storing`: the status to answer, or None."""
        if not self._after_storing:
            return None
        armed = self._after_storing[0]
        armed[1] -= 1
        if armed[1] <= 0:
            self._after_storing.pop(0)
        return armed[0]

    def never_answer(self, *, path_contains: str, method: str | None = None) -> None:
        """Accept requests whose path contains `path_contains`, read them, answer nothing.

        Their connections stay open, as with a service that hangs, until the client gives
        up, `answer_again()` or the server stops (they then get a 503).
        """
        if self._answer_again.is_set():
            self._answer_again = asyncio.Event()
        self._unanswered.append((method.upper() if method else None, path_contains))

    async def wait_if_unanswered(self, *, method: str, path: str) -> bool:
        """For a request `never_answer` matches, wait until released and return True."""
        if not any(m in (None, method.upper()) and part in path for m, part in self._unanswered):
            return False
        await self._answer_again.wait()
        return True

    def take_stream_cut(self) -> int | None:
        """Consume the one-shot stream cut for the reply that is starting."""
        cut, self.cut_stream_after_chunks = self.cut_stream_after_chunks, None
        return cut

    def hold_replies(self, *, after_words: int = 0, until_request: str | None = None) -> None:
        """Make replies stop before word number `after_words` until `release_replies()`.

        0 holds them before their first word; `until_request` also releases them on the
        first request whose path contains it (a client's status poll, say). Lets a test act
        while a reply is certainly still being written, instead of racing a delay.
        """
        if after_words < 0:
            raise ValueError("after_words must be at least 0")
        self._hold_after_words = after_words
        self._release_on_path = until_request
        if self._reply_gate is None:
            self._reply_gate = asyncio.Event()

    def note_request(self, *, path: str) -> None:
        """Called for every request: releases held replies when it is the one awaited."""
        if self._release_on_path is not None and self._release_on_path in path:
            self.release_replies()

    def release_replies(self) -> None:
        """Let held replies (and later ones) go on at once."""
        gate, self._reply_gate = self._reply_gate, None
        self._release_on_path = None
        if gate is not None:
            gate.set()

    async def wait_while_held(self, *, words_written: int) -> None:
        """Return at once unless replies are held at this word; then when they are released."""
        gate = self._reply_gate
        if gate is not None and words_written == self._hold_after_words:
            await gate.wait()

    def answer_again(self) -> None:
        """Undo `never_answer`: the requests left waiting get a 503, later ones an answer."""
        self._unanswered.clear()
        self._answer_again.set()

    def clear(self) -> None:
        """Disarm every pending injected failure, and `answer_again`."""
        self._rules.clear()
        self._after_storing.clear()
        self.answer_again()
