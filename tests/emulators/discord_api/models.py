"""Value objects, constants and small helpers shared by the Discord emulator."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000

# Gateway intent bits (the subset the emulator cares about).
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

# Channel types.
GUILD_TEXT = 0
DM = 1
PUBLIC_THREAD = 11

# Message types and flags.
MESSAGE_DEFAULT = 0
MESSAGE_REPLY = 19
FLAG_HAS_THREAD = 1 << 5

MAX_CONTENT_LENGTH = 2000


class SnowflakeFactory:
    """Hands out strictly increasing Discord-shaped snowflakes based on wall time."""

    def __init__(self) -> None:
        self._last = 0
        self._increment = itertools.count()

    def next(self) -> int:
        stamp = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        candidate = stamp | (next(self._increment) & 0xFFF)
        self._last = max(self._last + 1, candidate)
        return self._last


def iso_now() -> str:
    """Return the current UTC time the way Discord formats timestamps."""
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass(frozen=True)
class UserInfo:
    """A Discord user: a human or a bot account."""

    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass(frozen=True)
class GuildInfo:
    """A guild (server) of the emulated world."""

    id: int
    name: str
    owner_id: int


@dataclass(frozen=True)
class ChannelInfo:
    """A text channel, DM channel or thread of the emulated world."""

    id: int
    type: int
    name: str | None = None
    guild_id: int | None = None
    parent_id: int | None = None
    owner_id: int | None = None
    recipient_id: int | None = None
    position: int = 0
    auto_archive_duration: int = 1440
    created_at: str = field(default_factory=iso_now)

    @property
    def is_thread(self) -> bool:
        return self.type == PUBLIC_THREAD


@dataclass(frozen=True)
class AttachmentSpec:
    """An attachment on an injected user message."""

    filename: str
    size: int = 1024
    content_type: str | None = None
    url: str | None = None
    # The file's bytes, served at its CDN URL (``size`` then is their length).
    data: bytes | None = None


@dataclass(frozen=True)
class Call:
    """One REST request the emulator answered."""

    method: str
    path: str
    route: str
    json: Any
    query: dict[str, str]
    status: int
    time: float
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class TypingEvent:
    """A POST /channels/{id}/typing the bot made."""

    channel_id: int
    time: float


@dataclass(frozen=True)
class ReactionEvent:
    """A reaction added or removed, by the bot through REST or injected for a user."""

    action: str
    channel_id: int
    message_id: int
    user_id: int
    emoji: str
    time: float


@dataclass(frozen=True)
class InjectedFailure:
    """A failure `fail_next` will answer to the next matching request."""

    status: int
    method: str | None
    route: str | None
    path: str | None
    code: int
    message: str | None
    retry_after: float
    is_global: bool


@dataclass
class StoredMessage:
    """The emulator's record of one message; mutated by edits, deletes and threads."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str
    timestamp: str
    versions: list[str]
    embeds: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    mention_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    reference_id: int | None = None
    nonce: str | int | None = None
    edited_timestamp: str | None = None
    flags: int = 0
    thread_id: int | None = None
    deleted: bool = False

    @property
    def edit_count(self) -> int:
        return len(self.versions) - 1


def iter_mention_ids(content: str) -> Iterator[int]:
    """Yield user ids written as <@id> or <@!id> in message text."""
    start = 0
    while True:
        begin = content.find("<@", start)
        if begin < 0:
            return
        end = content.find(">", begin)
        if end < 0:
            return
        token = content[begin + 2 : end].lstrip("!")
        if token.isdigit():
            yield int(token)
        start = end + 1
