"""Wire-level Discord emulator (REST + gateway WebSocket) for testing with the real discord.py."""

from .emulator import DiscordEmulator
from .malformed import (
    MALFORMED_DISPATCHES,
    POISON_MARKER,
    MalformedDispatch,
    Places,
    malformed_dispatch,
)
from .models import (
    DIRECT_MESSAGE_REACTIONS,
    DIRECT_MESSAGES,
    GUILD_MESSAGE_REACTIONS,
    GUILD_MESSAGES,
    GUILDS,
    MESSAGE_CONTENT,
    AttachmentSpec,
    Call,
    ChannelInfo,
    GuildInfo,
    ReactionEvent,
    StoredMessage,
    TypingEvent,
    UserInfo,
)
from .patching import discord_emulator, patched_discord_py
from .ratelimit import RateLimitRule

__all__ = [
    "DIRECT_MESSAGES",
    "DIRECT_MESSAGE_REACTIONS",
    "GUILDS",
    "GUILD_MESSAGES",
    "GUILD_MESSAGE_REACTIONS",
    "MALFORMED_DISPATCHES",
    "MESSAGE_CONTENT",
    "POISON_MARKER",
    "AttachmentSpec",
    "Call",
    "ChannelInfo",
    "DiscordEmulator",
    "GuildInfo",
    "MalformedDispatch",
    "Places",
    "RateLimitRule",
    "ReactionEvent",
    "StoredMessage",
    "TypingEvent",
    "UserInfo",
    "discord_emulator",
    "malformed_dispatch",
    "patched_discord_py",
]
