"""Slack's chat streams (chat.startStream / appendStream / stopStream) as a NativeStream.

The raw methods are used rather than slack-sdk's ``chat_stream()`` helper: the helper keeps
text in a buffer that it only clears after a successful call, so when the engine repeats an
``append`` after a 429 the piece would be sent twice; its buffering would also hide text the
engine believes visible and pace a second time on top of the engine's own pacing. Calling
the methods directly gives one call per ``append``, an exact record of what Slack shows, and
a clean hand-over to post + edit when Slack refuses or expires the stream.

What Slack's streams do that shapes this (PLATFORMS.md, "Slack chat streams"): an open
stream refuses ``chat.update``, so before the engine takes a message over with edits the
stream is stopped; ``stopped_by_user`` means the person pressed stop, so nothing more is
written in that message, neither by the stream nor by edits; a refusal that means "not in
this channel" or "not in this workspace" is reported to the adapter, which stops trying
streams there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from knowrithm_bots.adapters.slack.errors import StreamRefused, translated
from knowrithm_bots.adapters.slack.stream_control import CLOSED, StreamStopper
from knowrithm_bots.adapters.slack.threads import MessageRef, ThreadKey
from knowrithm_bots.core.adapter import NativeStream, Posted
from knowrithm_bots.core.errors import NativeStreamUnavailable, PlatformError

log = logging.getLogger(__name__)

# Refusals meaning the workspace has no streams (for now), and ones meaning this channel
# cannot hold one (Slack's chat.startStream / appendStream reference lists the latter).
WORKSPACE_REFUSALS = frozenset(
    {"feature_not_enabled", "not_allowed", "method_deprecated", "unknown_method"}
)
CHANNEL_REFUSALS = frozenset({"channel_type_not_supported"})
STOPPED_BY_USER = "stopped_by_user"
NOT_STREAMING = "message_not_in_streaming_state"


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
    and rolls the rest over into new messages. ``on_refused`` hears each refusal code that
    says streams are not available in the thread's channel or workspace.
    """

    def __init__(
        self,
        *,
        client: Callable[[], AsyncWebClient],
        thread: ThreadKey,
        recipient: Recipient | None,
        limit: int,
        stopper: StreamStopper,
        on_refused: Callable[[ThreadKey, str], None],
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
        self._stopper = stopper
        self._on_refused = on_refused
        self._on_posted = on_posted
        self._ts: str | None = None
        self._shown = ""
        self._failed = False
        self._stopped_by_user = False

    @property
    def _message(self) -> MessageRef | None:
        if self._ts is None:
            return None
        return MessageRef(team=self._thread.team, channel=self._thread.channel, ts=self._ts)

    async def append(self, *, text: str) -> None:
        self._check_usable()
        if not text or self._stopped_by_user:
            return  # the person stopped this answer: what follows is not shown
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
            if self._stopped_by_user:
                return
        self._shown += text

    async def finish(self, *, text: str) -> Sequence[Posted]:
        self._check_usable()
        message = self._message
        if self._stopped_by_user and message is not None:
            # The message stays as the person stopped it: not completed, not edited.
            return [Posted(id=message.encode())]
        if len(text) > self._limit:
            await self._give_up("the answer is longer than one streamed message")
        if not text.startswith(self._shown):
            await self._give_up("the final answer differs from the streamed text")
        rest = text[len(self._shown) :]
        if self._ts is None:
            await self._start(rest)
            self._shown, rest = text, ""
        message = self._message
        assert message is not None
        try:
            await self._stopper.stop(message, markdown_text=rest or None)
        except StreamRefused as exc:
            if exc.code == NOT_STREAMING and not rest:
                # Slack closed the stream itself (idle ~30 s, PLATFORMS.md "Slack chat
                # streams"; e.g. while stops queue at Tier 2) after it showed the whole
                # answer: nothing is left to show, and handing over to post + edit would
                # post the answer a second time.
                return [Posted(id=message.encode())]
            await self._refused(exc)
            if self._stopped_by_user:
                return [Posted(id=message.encode())]
            raise
        self._shown = text
        return [Posted(id=message.encode())]

    def leftover(self) -> Posted | None:
        message = self._message
        if message is None or not self._shown:
            return None
        return Posted(id=message.encode())

    @property
    def stopped_by_user(self) -> bool:
        """The person pressed stop: the message stays as it was then, never written again."""
        return self._stopped_by_user

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
        self._stopper.opened(message)
        self._on_posted(message, self._thread)

    async def _call(self, method: str, call: Awaitable[AsyncSlackResponse]) -> dict[str, Any]:
        """One stream method; a refusal is sorted out (``_refused``) before it reaches the
        engine, except that of a person who stopped the answer, which ends appending."""
        try:
            with translated(action=method, stream=True):
                answer = await call
        except StreamRefused as exc:
            await self._refused(exc)
            if self._stopped_by_user:
                return {}
            raise
        return dict(answer.data) if isinstance(answer.data, dict) else {}

    async def _refused(self, exc: StreamRefused) -> None:
        """Mark the stream failed, tell the adapter where streams are not available, and
        make sure no stream is left open for the engine's edits to run into."""
        message = self._message
        if exc.code == STOPPED_BY_USER:
            log.info("the answer in %s was stopped by the person reading it", self._thread.encode())
            self._stopped_by_user = True
        else:
            self._failed = True
        if exc.code in WORKSPACE_REFUSALS or exc.code in CHANNEL_REFUSALS:
            self._on_refused(self._thread, exc.code)
        if message is None:
            return
        if exc.code in CLOSED:
            self._stopper.closed(message)
        else:
            await self._stopper.close_if_open(message)

    async def _give_up(self, reason: str) -> None:
        """Stop the stream where it is and hand the message over to post + edit."""
        self._failed = True
        message = self._message
        if message is not None:
            try:
                await self._stopper.stop(message)
            except PlatformError as exc:
                log.info("could not stop the stream in %s: %s", self._thread.encode(), exc)
        raise NativeStreamUnavailable(reason)
