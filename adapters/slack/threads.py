"""Thread keys and message ids: where a conversation lives in Slack, as round-trip strings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Self

from knowrithm_bots.core.thread_key import key_fields

PREFIX = "slack"

# Marks the user part of a per-person key, so that it cannot be read as anything else.
_USER = "u"


@dataclass(frozen=True)
class ThreadKey:
    """One conversation's place: a thread (``thread_ts`` = its root) or a whole DM channel,
    and the person whose conversation it is when each person in a thread has their own.

    ``slack:<team>:<bot user>:<channel>:<thread root ts>`` (an empty ts for a whole DM
    channel), then ``:u<user id>`` for one person's conversation (``group_sessions:
    per_user``). The key holds the workspace and the bot user, so several workspaces (or two
    Slack apps sharing one store) never share a conversation. The user part only separates
    conversations: posts, budgets and engaged threads follow ``shared``, the thread itself.
    """

    team: str
    bot: str
    channel: str
    thread_ts: str | None
    user: str | None = None

    @property
    def shared(self) -> Self:
        """The thread itself, as everyone in it shares it (no user part)."""
        return replace(self, user=None)

    def encode(self) -> str:
        key = f"{PREFIX}:{self.team}:{self.bot}:{self.channel}:{self.thread_ts or ''}"
        return key if self.user is None else f"{key}:{_USER}{self.user}"

    @classmethod
    def decode(cls, thread: str) -> Self:
        """The key ``thread`` names; ``ValueError`` when ``encode`` could not have made it."""
        fields = key_fields(thread, prefix=PREFIX, counts=(4, 5))
        user = fields.pop() if len(fields) == 5 else None
        team, bot, channel, thread_ts = fields
        if user is not None:
            if not user.startswith(_USER) or len(user) == len(_USER):
                raise ValueError(f"{thread!r} is not a Slack thread key")
            user = user[len(_USER) :]
        if not (team and bot and channel):
            raise ValueError(f"{thread!r} is not a Slack thread key")
        return cls(team=team, bot=bot, channel=channel, thread_ts=thread_ts or None, user=user)


@dataclass(frozen=True)
class MessageRef:
    """A Slack message, as ``<team>:<channel>:<ts>``: what ``Posted.id``, ``Inbound.message_id``
    and reactions carry."""

    team: str
    channel: str
    ts: str

    def encode(self) -> str:
        return f"{self.team}:{self.channel}:{self.ts}"

    @classmethod
    def decode(cls, message_id: str) -> Self:
        """The message ``message_id`` names; ``ValueError`` when ``encode`` could not make it."""
        parts = message_id.split(":")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"{message_id!r} is not a Slack message id")
        team, channel, ts = parts
        return cls(team=team, channel=channel, ts=ts)
