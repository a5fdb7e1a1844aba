"""Posting, editing and deleting the bot's messages, with the agent's Markdown as mrkdwn."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from knowrithm_bots.adapters.slack.errors import SlackRefused, translated
from knowrithm_bots.adapters.slack.stream_control import StreamStopper
from knowrithm_bots.adapters.slack.threads import MessageRef, ThreadKey
from knowrithm_bots.core.errors import PlatformError
from knowrithm_bots.core.markup import to_slack_mrkdwn

# What chat.update answers for a message that is a stream still open (PLATFORMS.md).
STREAM_OPEN = "streaming_state_conflict"


def render(text: str) -> str:
    """Slack mrkdwn for the agent's Markdown (Slack refuses an empty text with no_text)."""
    return to_slack_mrkdwn(text) or "…"


class Outbound:
    """Thin, translated wrappers around chat.postMessage / chat.update / chat.delete.

    A message that is a chat stream still open refuses updates and deletion, so ``edit``
    and ``delete`` stop such a stream first (``streams``): the ones this process started,
    and any other that Slack reports open.
    """

    def __init__(self, *, client: AsyncWebClient, streams: StreamStopper) -> None:
        self._client = client
        self._streams = streams

    async def post(
        self, *, thread: ThreadKey, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> MessageRef:
        with translated(action="chat.postMessage"):
            answer = await self._client.chat_postMessage(
                channel=thread.channel, text=render(text), thread_ts=thread.thread_ts, blocks=blocks
            )
        ts = answer.get("ts")
        if not ts:
            raise PlatformError("Slack accepted chat.postMessage but returned no message ts")
        return MessageRef(
            team=thread.team, channel=str(answer.get("channel") or thread.channel), ts=str(ts)
        )

    async def edit(
        self, *, message: MessageRef, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        """Replace the text; ``blocks`` too when given (``[]`` removes the message's)."""
        await self._streams.close_if_open(message)
        try:
            await self._update(message, text, blocks)
        except SlackRefused as exc:
            if exc.code != STREAM_OPEN:
                raise
            # A stream this process did not start (or lost track of): stop it, then edit.
            self._streams.opened(message)
            await self._streams.close_if_open(message)
            await self._update(message, text, blocks)

    async def _update(
        self, message: MessageRef, text: str, blocks: list[dict[str, Any]] | None
    ) -> None:
        with translated(action="chat.update"):
            await self._client.chat_update(
                channel=message.channel, ts=message.ts, text=render(text), blocks=blocks
            )

    async def delete(self, *, message: MessageRef) -> None:
        await self._streams.close_if_open(message)
        with translated(action="chat.delete"):
            await self._client.chat_delete(channel=message.channel, ts=message.ts)
