"""Posting, editing and deleting the bot's messages, with the agent's Markdown as mrkdwn."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from knowrithm_bots.adapters.slack.errors import translated
from knowrithm_bots.adapters.slack.threads import MessageRef, ThreadKey
from knowrithm_bots.core.errors import PlatformError
from knowrithm_bots.core.markup import to_slack_mrkdwn


def render(text: str) -> str:
    """Slack mrkdwn for the agent's Markdown (Slack refuses an empty text with no_text)."""
    return to_slack_mrkdwn(text) or "…"


class Outbound:
    """Thin, translated wrappers around chat.postMessage / chat.update / chat.delete."""

    def __init__(self, *, client: AsyncWebClient) -> None:
        self._client = client

    async def post(self, *, thread: ThreadKey, text: str) -> MessageRef:
        with translated(action="chat.postMessage"):
            answer = await self._client.chat_postMessage(
                channel=thread.channel, text=render(text), thread_ts=thread.thread_ts
            )
        ts = answer.get("ts")
        if not ts:
            raise PlatformError("Slack accepted chat.postMessage but returned no message ts")
        return MessageRef(
            team=thread.team, channel=str(answer.get("channel") or thread.channel), ts=str(ts)
        )

    async def edit(self, *, message: MessageRef, text: str) -> None:
        with translated(action="chat.update"):
            await self._client.chat_update(
                channel=message.channel, ts=message.ts, text=render(text)
            )

    async def delete(self, *, message: MessageRef) -> None:
        with translated(action="chat.delete"):
            await self._client.chat_delete(channel=message.channel, ts=message.ts)
