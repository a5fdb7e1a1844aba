"""Thread keys and message ids: where a conversation lives in Slack, as round-trip strings."""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "slack"


@dataclass(frozen=True)
class ThreadRef:
    """One conversation's place: a thread (``thread_ts`` = its root) or a whole DM channel.

    The key holds the workspace and the bot user, so several workspaces (or two Slack apps
    sharing one store) never share a conversation.
    """

    team: str
    bot: str
    channel: str
    thread_ts: str | None

    @property
    def key(self) -> str:
        return f"{PREFIX}:{self.team}:{self.bot}:{self.channel}:{self.thread_ts or ''}"

    @classmethod
    def parse(cls, key: str) -> ThreadRef:
        parts = key.split(":")
        if len(parts) != 5 or parts[0] != PREFIX or not all(parts[1:4]):
            raise ValueError(f"{key!r} is not a Slack thread key")
        return cls(team=parts[1], bot=parts[2], channel=parts[3], thread_ts=parts[4] or None)


@dataclass(frozen=True)
class MessageRef:
    """A message the bot posted; its ``id`` is what ``Posted.id`` and reactions carry."""

    team: str
    channel: str
    ts: str

    @property
    def id(self) -> str:
        return f"{self.team}:{self.channel}:{self.ts}"

    @classmethod
    def parse(cls, message_id: str) -> MessageRef:
        parts = message_id.split(":")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{message_id!r} is not a Slack message id")
        return cls(team=parts[0], channel=parts[1], ts=parts[2])
