"""Rating buttons under answers: a Block Kit actions block, and its clicks read back.

Slack (https://api.slack.com/reference/block-kit/blocks#actions, .../block-elements#button):
the buttons are added with ``chat.update``, which replaces the message's ``blocks``; once a
message has blocks Slack shows them instead of its ``text`` (then only the notification
text), so the answer is repeated in the blocks: mrkdwn in section blocks (3,000 characters
each) for a posted answer, a ``markdown`` block for a streamed one (whose text is Markdown).
A click arrives as a ``block_actions`` interaction payload (Socket Mode envelope type
``interactive``, or a signed form POST with ``payload`` to the Request URL); bolt acks it,
and the clicker alone is told with ``chat.postEphemeral``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from knowrithm_bots.adapters.slack.errors import translated
from knowrithm_bots.adapters.slack.native_stream import SlackNativeStream
from knowrithm_bots.adapters.slack.threads import MessageRef
from knowrithm_bots.core.adapter import NativeStream, Posted

UP, DOWN = "knowrithm_rate_up", "knowrithm_rate_down"
EMOJI = {UP: "👍", DOWN: "👎"}
BLOCK_ID = "knowrithm_feedback"
SECTION_LIMIT = 3000  # characters of text in one section block


def thanks(emoji: str) -> str:
    return f"Thanks, rated {emoji}"


@dataclass(frozen=True)
class Shown:
    """What an answer message shows: mrkdwn (posted) or Markdown (a chat stream)."""

    text: str
    markdown: bool = False


def _pieces(text: str, *, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut after a line where one ends
    close enough, so mrkdwn rarely breaks mid-line."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind("\n", limit // 2, limit)
        cut = limit if cut < 0 else cut + 1
        pieces.append(text[:cut])
        text = text[cut:]
    return [*pieces, text] if text else pieces


# The Stop button's blocks show the answer the same way.
pieces = _pieces


def _button(action_id: str, emoji: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": emoji, "emoji": True},
        "value": value,
    }


def blocks_for(shown: Shown) -> list[dict[str, Any]]:
    """The answer as blocks, then the row of 👍 and 👎 buttons."""
    if shown.markdown:
        body: list[dict[str, Any]] = [{"type": "markdown", "text": shown.text}]
    else:
        body = [
            {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
            for piece in _pieces(shown.text, limit=SECTION_LIMIT)
        ]
    actions = {
        "type": "actions",
        "block_id": BLOCK_ID,
        "elements": [_button(UP, "👍", "up"), _button(DOWN, "👎", "down")],
    }
    return [*body, actions]


async def add_buttons(*, client: AsyncWebClient, message: MessageRef, shown: Shown) -> None:
    """Put the buttons under ``message``, which keeps showing ``shown``."""
    with translated(action="chat.update"):
        await client.chat_update(
            channel=message.channel, ts=message.ts, text=shown.text, blocks=blocks_for(shown)
        )


@dataclass(frozen=True)
class Click:
    """One click on a rating button, as the ``block_actions`` payload tells it."""

    emoji: str
    user: str
    user_team: str | None
    channel: str
    message_ts: str
    thread_ts: str | None
    # Unique per click, the same when Slack delivers the payload again.
    event_id: str


def read_click(body: Mapping[str, Any]) -> Click | None:
    """The rating click in a ``block_actions`` payload, or None when it holds none."""
    actions = body.get("actions")
    user, container = body.get("user"), body.get("container")
    if not (
        isinstance(actions, list) and isinstance(user, Mapping) and isinstance(container, Mapping)
    ):
        return None
    action = next(
        (a for a in actions if isinstance(a, Mapping) and a.get("action_id") in EMOJI), None
    )
    user_id, channel = user.get("id"), container.get("channel_id")
    message_ts = container.get("message_ts")
    if action is None or not all(isinstance(v, str) for v in (user_id, channel, message_ts)):
        return None
    message = body.get("message")
    thread_ts = container.get("thread_ts") or (
        message.get("thread_ts") if isinstance(message, Mapping) else None
    )
    team = user.get("team_id")
    stamp = body.get("trigger_id") or action.get("action_ts") or ""
    return Click(
        emoji=EMOJI[str(action["action_id"])],
        user=str(user_id),
        user_team=team if isinstance(team, str) else None,
        channel=str(channel),
        message_ts=str(message_ts),
        thread_ts=thread_ts if isinstance(thread_ts, str) else None,
        event_id=f"{channel}:{message_ts}:{user_id}:click:{stamp}",
    )


async def tell_clicker(*, client: AsyncWebClient, click: Click, text: str) -> None:
    """A note only the clicker sees, in the thread of the answer."""
    with translated(action="chat.postEphemeral"):
        await client.chat_postEphemeral(
            channel=click.channel, user=click.user, text=text, thread_ts=click.thread_ts
        )


class RememberingStream(NativeStream):
    """A chat stream that reports the text its message ends up showing, so the buttons can
    be added without hiding it. A stream the person stopped reports nothing: its message is
    never written again, buttons included."""

    def __init__(self, inner: SlackNativeStream, *, shown: Callable[[str, Shown], None]) -> None:
        self._inner = inner
        self._shown = shown

    async def append(self, *, text: str) -> None:
        await self._inner.append(text=text)

    async def finish(self, *, text: str) -> Sequence[Posted]:
        posted = await self._inner.finish(text=text)
        if posted and not self._inner.stopped_by_user:
            self._shown(posted[-1].id, Shown(text=text, markdown=True))
        return posted

    def leftover(self) -> Posted | None:
        return self._inner.leftover()
