"""Slack's chat streams (chat.startStream / appendStream / stopStream) as a NativeStream.

The raw methods are used rather than slack-sdk's ``chat_stream()`` helper: the helper keeps
text in a buffer that it only clears after a successful call, so when the engine repeats an
``append`` after a 429 the piece would be sent twice; its buffering would also hide text the
engine believes visible and pace a second time on top of the engine's own pacing. Calling
the methods directly gives one call per ``append``, an exact record of what Slack shows, and
a clean hand-over to post + edit when Slack refuses or expires the stream.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from knowrithm_bots.adapters.slack.errors import StreamRefused, translated
from knowrithm_bots.adapters.slack.threads import MessageRef, ThreadKey
from knowrithm_bots.core.adapter import NativeStream, Posted
from knowrithm_bots.core.errors import NativeStreamUnavailable, PlatformError

log = logging.getLogger(__name__)

REFUSALS = frozenset({"feature_not_enabled", "not_allowed", "method_deprecated", "unknown_method"})


@dataclass(frozen=True)
class Recipient:
    """Whom a stream in a channel is for (Slack requires it outside DMs)."""

    user: str
    team: str


class SlackNativeStream(NativeStream):
    """One streamed answer in a thread; ``limit`` caps its length in characters.

    The message is started with the first piece of text. Beyond ``limit`` (or when the final
    text is not a continuation of what was streamed) the stream is stopped and
    NativeStreamUnavailable raised, so the engine takes the message over with chat.update
    and rolls the rest over into new messages.
    """

    def __init__(
        self,
        *,
        client: Callable[[], AsyncWebClient],
        thread: ThreadKey,
        recipient: Recipient | None,
        limit: int,
        on_refused: Callable[[str], None],
        on_posted: Callable[[MessageRef, ThreadKey], None],
    ) -> None:
        if thread.thread_ts is None:
            raise ValueError("Slack streams are replies in a thread")
        # Asked for on every call: it raises PlatformUnavailable once the adapter stopped.
        self._client = client
        self._thread = thread
        self._thread_ts: str = thread.thread_ts
        self._recipient = recipient
        self._limit = limit
        self._on_refused = on_refused
        self._on_posted = on_posted
        self._ts: str | None = None
        self._shown = ""
        self._failed = False

    @property
    def _message(self) -> MessageRef | None:
        if self._ts is None:
            return None
        return MessageRef(team=self._thread.team, channel=self._thread.channel, ts=self._ts)

    async def append(self, *, text: str) -> None:
        self._check_usable()
        if not text:
            return
        if len(self._shown) + len(text) > self._limit:
            await self._give_up("the answer is longer than one streamed message")
        if self._ts is None:
            await self._start(text)
        else:
            await self._call(
                "chat.appendStream",
                self._client().chat_appendStream(
                    channel=self._thread.channel, ts=self._ts, markdown_text=text
                ),
            )
        self._shown += text

    async def finish(self, *, text: str) -> Sequence[Posted]:
        self._check_usable()
        if len(text) > self._limit:
            await self._give_up("the answer is longer than one streamed message")
        if not text.startswith(self._shown):
            await self._give_up("the final answer differs from the streamed text")
        rest = text[len(self._shown) :]
        if self._ts is None:
            await self._start(rest)
            self._shown, rest = text, ""
        assert self._ts is not None
        await self._call(
            "chat.stopStream",
            self._client().chat_stopStream(
                channel=self._thread.channel, ts=self._ts, markdown_text=rest or None
            ),
        )
        self._shown = text
        message = self._message
        assert message is not None
        return [Posted(id=message.encode())]

    def leftover(self) -> Posted | None:
        message = self._message
        if message is None or not self._shown:
            return None
        return Posted(id=message.encode())

    # --- internals -------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._failed:
            raise NativeStreamUnavailable("this Slack stream already failed")

    async def _start(self, text: str) -> None:
        recipient = self._recipient
        answer = await self._call(
            "chat.startStream",
            self._client().chat_startStream(
                channel=self._thread.channel,
                thread_ts=self._thread_ts,
                markdown_text=text or None,
                recipient_user_id=recipient.user if recipient else None,
                recipient_team_id=recipient.team if recipient else None,
            ),
        )
        ts = answer.get("ts")
        if not ts:
            self._failed = True
            raise NativeStreamUnavailable("chat.startStream answered without a message ts")
        self._ts = str(ts)
        message = self._message
        assert message is not None
        self._on_posted(message, self._thread)

    async def _call(self, method: str, call: Awaitable[AsyncSlackResponse]) -> dict[str, Any]:
        """One stream method; a refusal marks the stream failed (and, where it says the
        workspace has no streams, tells the adapter) before it reaches the engine."""
        try:
            with translated(action=method, stream=True):
                answer = await call
        except StreamRefused as exc:
            self._failed = True
            if exc.code in REFUSALS:
                self._on_refused(self._thread.team)
            raise
        return dict(answer.data) if isinstance(answer.data, dict) else {}

    async def _give_up(self, reason: str) -> None:
        """Stop the stream where it is and hand the message over to post + edit."""
        self._failed = True
        if self._ts is not None:
            try:
                with translated(action="chat.stopStream", stream=True):
                    await self._client().chat_stopStream(channel=self._thread.channel, ts=self._ts)
            except PlatformError as exc:
                log.info("could not stop the stream in %s: %s", self._thread.encode(), exc)
        raise NativeStreamUnavailable(reason)
