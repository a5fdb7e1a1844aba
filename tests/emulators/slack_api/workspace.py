"""The emulated workspace: identity and mutable state shared by Web API, events and sockets."""

from dataclasses import dataclass, field
from typing import Any

from . import ids
from .clock import Clock
from .records import (
    AssistantStatus,
    MessageVersion,
    SlackChannel,
    SlackMessage,
    SlackUser,
    infer_channel,
)


@dataclass(frozen=True)
class Identity:
    """Who the app is and which secrets it holds (secrets stay out of reprs)."""

    team_id: str = ids.TEAM_ID
    team_name: str = ids.TEAM_NAME
    team_domain: str = ids.TEAM_DOMAIN
    enterprise_id: str | None = None
    bot_user_id: str = ids.BOT_USER_ID
    bot_id: str = ids.BOT_ID
    app_id: str = ids.APP_ID
    bot_name: str = ids.BOT_NAME
    bot_token: str = field(default=ids.BOT_TOKEN, repr=False)
    app_token: str = field(default=ids.APP_TOKEN, repr=False)
    signing_secret: str = field(default=ids.SIGNING_SECRET, repr=False)
    verification_token: str = field(default=ids.VERIFICATION_TOKEN, repr=False)


class Workspace:
    """Messages, reactions, statuses, users and channels of one workspace."""

    def __init__(self, *, identity: Identity, clock: Clock) -> None:
        self.identity = identity
        self.clock = clock
        self.messages: dict[tuple[str, str], SlackMessage] = {}
        self.reactions: dict[tuple[str, str], dict[str, list[str]]] = {}
        self.statuses: list[AssistantStatus] = []
        self.users: dict[str, SlackUser] = {}
        self.channels: dict[str, SlackChannel] = {}
        self.streaming_enabled = True
        self.stream_ttl: float | None = None
        self.stream_idle_ttl: float | None = None
        # Channels where chat.startStream is refused, with the error Slack gives there.
        self.streams_refused: dict[str, str] = {}
        self._sequence = 0
        self.add_user(
            SlackUser(
                id=identity.bot_user_id,
                real_name=identity.bot_name,
                name=identity.bot_name,
                team_id=identity.team_id,
                is_bot=True,
                bot_id=identity.bot_id,
            )
        )

    def add_user(self, user: SlackUser) -> SlackUser:
        self.users[user.id] = user
        return user

    def add_channel(self, channel: SlackChannel) -> SlackChannel:
        self.channels[channel.id] = channel
        return channel

    def channel(self, channel_id: str) -> SlackChannel:
        return self.channels.get(channel_id) or infer_channel(channel_id)

    def next_ts(self) -> str:
        """A unique, increasing message timestamp in Slack's "seconds.micro" form."""
        self._sequence += 1
        return f"{int(self.clock())}.{self._sequence % 1_000_000:06d}"

    def thread(self, channel: str, thread_ts: str) -> list[SlackMessage]:
        """The parent and its replies, oldest first."""
        found = [
            message
            for (chan, ts), message in self.messages.items()
            if chan == channel and (ts == thread_ts or message.thread_ts == thread_ts)
        ]
        return sorted(found, key=lambda message: float(message.ts))

    def bot_messages(self, channel: str | None = None) -> list[SlackMessage]:
        return [
            message
            for message in self.messages.values()
            if message.bot_id == self.identity.bot_id and channel in (None, message.channel)
        ]

    def expire_streams(self) -> list[SlackMessage]:
        expired = [m for m in self.messages.values() if m.stream_state == "streaming"]
        for message in expired:
            message.stream_state = "expired"
        return expired

    def expire_old_streams(self) -> None:
        """Close the streams Slack would report stopped by now (PLATFORMS.md, "Slack chat
        streams": after ~30 s without an append, or ~5 min in all)."""
        now = self.clock()
        for message in self.messages.values():
            if message.stream_state != "streaming":
                continue
            too_old = self.stream_ttl is not None and now - message.started_at > self.stream_ttl
            idle = (
                self.stream_idle_ttl is not None
                and now - message.last_streamed_at > self.stream_idle_ttl
            )
            if too_old or idle:
                message.stream_state = "expired"

    def edit(self, message: SlackMessage, *, text: str, blocks: list[Any] | None) -> None:
        message.history.append(
            MessageVersion(text=message.text, blocks=message.blocks, time=self.clock())
        )
        message.text = text
        message.blocks = blocks

    def record_inbound(self, event: dict[str, Any]) -> None:
        """Remember user messages Slack delivered, so reactions and threads can refer to them."""
        kind, subtype = event.get("type"), event.get("subtype")
        channel = event.get("channel")
        if kind not in ("message", "app_mention") or not isinstance(channel, str):
            return
        if subtype in (None, "file_share", "thread_broadcast", "bot_message"):
            key = (channel, str(event.get("ts")))
            if key not in self.messages:
                self.messages[key] = SlackMessage(
                    channel=channel,
                    ts=key[1],
                    text=str(event.get("text") or ""),
                    user=str(event.get("user") or ""),
                    bot_id=event.get("bot_id"),
                    thread_ts=event.get("thread_ts"),
                    blocks=event.get("blocks"),
                )
        elif subtype == "message_changed":
            changed = event.get("message") or {}
            existing = self.messages.get((channel, str(changed.get("ts"))))
            if existing is not None:
                new_text = str(changed.get("text") or "")
                self.edit(existing, text=new_text, blocks=changed.get("blocks"))
        elif subtype == "message_deleted":
            existing = self.messages.get((channel, str(event.get("deleted_ts"))))
            if existing is not None:
                existing.deleted = True
