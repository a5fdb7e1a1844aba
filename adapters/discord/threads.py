"""Thread keys: ``discord:<application id>:<kind>:<channel id>``, and back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PREFIX = "discord"

Kind = Literal["thread", "dm", "channel"]
_KINDS: tuple[Kind, ...] = ("thread", "dm", "channel")


@dataclass(frozen=True)
class ThreadKey:
    """Where one conversation lives on Discord.

    ``thread``: a Discord thread (the bot's own, started from a mention, or one it was
    mentioned in); ``dm``: a direct-message channel; ``channel``: a text channel itself,
    used only for answers that start no conversation (commands, empty mentions).
    ``channel_id`` is the channel to post in: the thread, the DM channel or the channel.
    """

    application_id: int
    kind: Kind
    channel_id: int

    def encode(self) -> str:
        return f"{PREFIX}:{self.application_id}:{self.kind}:{self.channel_id}"

    @classmethod
    def decode(cls, thread: str) -> ThreadKey:
        """Read a key made by ``encode``; ValueError for anything else."""
        parts = thread.split(":")
        if len(parts) != 4 or parts[0] != PREFIX:
            raise ValueError(f"not a Discord thread key: {thread!r}")
        _, app, kind, channel = parts
        if not (app.isdigit() and channel.isdigit()):
            raise ValueError(f"not a Discord thread key: {thread!r}")
        for known in _KINDS:
            if kind == known:
                return cls(application_id=int(app), kind=known, channel_id=int(channel))
        raise ValueError(f"unknown kind {kind!r} in Discord thread key {thread!r}")
