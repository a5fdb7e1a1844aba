"""The emulated Discord world: users, guilds, channels, messages, and their JSON shapes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .models import (
    DM,
    FLAG_HAS_THREAD,
    GUILD_TEXT,
    MESSAGE_DEFAULT,
    MESSAGE_REPLY,
    PUBLIC_THREAD,
    ChannelInfo,
    GuildInfo,
    SnowflakeFactory,
    StoredMessage,
    UserInfo,
    iso_now,
)

# Everything except administrator: enough for the library's own permission checks.
EVERYONE_PERMISSIONS = str((1 << 41) - 1 - (1 << 3))


class ApiError(Exception):
    """A Discord REST error with the status, JSON code and message Discord would answer."""

    def __init__(
        self, *, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            data["errors"] = self.errors
        return data


def unknown_channel() -> ApiError:
    return ApiError(status=404, code=10003, message="Unknown Channel")


def unknown_message() -> ApiError:
    return ApiError(status=404, code=10008, message="Unknown Message")


def emoji_json(emoji: str) -> dict[str, Any]:
    """Turn the emoji text of a reaction route (`👍` or `name:id`) into an emoji object."""
    parts = emoji.split(":")
    if len(parts) >= 2 and parts[-1].isdigit():
        return {"id": parts[-1], "name": parts[-2], "animated": parts[0] == "a"}
    return {"id": None, "name": emoji}


class World:
    """Mutable state of the emulated Discord; shapes it into the JSON Discord sends."""

    def __init__(self, *, ids: SnowflakeFactory, bot: UserInfo, application_id: int) -> None:
        self.ids = ids
        self.bot = bot
        self.application_id = application_id
        self.created_at = iso_now()
        self.users: dict[int, UserInfo] = {bot.id: bot}
        self.guilds: dict[int, GuildInfo] = {}
        self.channels: dict[int, ChannelInfo] = {}
        self.messages: dict[int, StoredMessage] = {}
        # message id -> emoji -> user ids, in the order they reacted
        self.reaction_state: dict[int, dict[str, list[int]]] = {}
        # None holds global commands, a guild id that guild's commands
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        # Users restricted to some guilds; everyone else is a member of every guild.
        self.member_of: dict[int, frozenset[int]] = {}

    # -- building the world -------------------------------------------------------------

    def add_user(
        self,
        *,
        username: str,
        bot: bool = False,
        global_name: str | None = None,
        guilds: Sequence[int] | None = None,
    ) -> UserInfo:
        """Add a user; ``guilds`` limits their memberships (None: every guild, even later ones)."""
        user = UserInfo(id=self.ids.next(), username=username, bot=bot, global_name=global_name)
        self.users[user.id] = user
        if guilds is not None:
            unknown = [g for g in guilds if g not in self.guilds]
            if unknown:
                raise KeyError(f"unknown guild {unknown[0]}")
            self.member_of[user.id] = frozenset(guilds)
        return user

    def add_guild(self, *, name: str) -> GuildInfo:
        guild = GuildInfo(id=self.ids.next(), name=name, owner_id=self.bot.id)
        self.guilds[guild.id] = guild
        return guild

    def add_text_channel(self, *, guild_id: int, name: str) -> ChannelInfo:
        if guild_id not in self.guilds:
            raise KeyError(f"unknown guild {guild_id}")
        position = sum(1 for c in self.channels.values() if c.guild_id == guild_id)
        channel = ChannelInfo(
            id=self.ids.next(), type=GUILD_TEXT, name=name, guild_id=guild_id, position=position
        )
        self.channels[channel.id] = channel
        return channel

    def dm_channel_for(self, *, user_id: int) -> ChannelInfo:
        """Return the DM channel between the bot and a user, opening it on first use."""
        if user_id not in self.users or user_id == self.bot.id:
            raise ApiError(status=400, code=50007, message="Cannot send messages to this user")
        for channel in self.channels.values():
            if channel.type == DM and channel.recipient_id == user_id:
                return channel
        channel = ChannelInfo(id=self.ids.next(), type=DM, recipient_id=user_id)
        self.channels[channel.id] = channel
        return channel

    def create_thread(
        self, *, channel_id: int, message_id: int, name: str, owner_id: int, archive: int
    ) -> ChannelInfo:
        """Start a thread from a message; the thread takes the message's id, as on Discord."""
        parent = self.channel(channel_id)
        message = self.message(channel_id=channel_id, message_id=message_id)
        if parent.type != GUILD_TEXT:
            raise ApiError(
                status=400, code=50024, message="Cannot execute action on this channel type"
            )
        if message.thread_id is not None:
            raise ApiError(
                status=400,
                code=160004,
                message="A thread has already been created for this message",
            )
        thread = ChannelInfo(
            id=message.id,
            type=PUBLIC_THREAD,
            name=name,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=owner_id,
            auto_archive_duration=archive,
        )
        self.channels[thread.id] = thread
        message.thread_id = thread.id
        message.flags |= FLAG_HAS_THREAD
        return thread

    # -- lookups --------------------------------------------------------------------------

    def channel(self, channel_id: int) -> ChannelInfo:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise unknown_channel() from None

    def message(self, *, channel_id: int, message_id: int) -> StoredMessage:
        found = self.messages.get(message_id)
        if found is None or found.deleted or found.channel_id != channel_id:
            raise unknown_message()
        return found

    def user(self, user_id: int) -> UserInfo:
        try:
            return self.users[user_id]
        except KeyError:
            raise ApiError(status=404, code=10013, message="Unknown User") from None

    def is_member(self, *, guild_id: int, user_id: int) -> bool:
        if user_id not in self.users or guild_id not in self.guilds:
            return False
        restricted = self.member_of.get(user_id)
        return restricted is None or guild_id in restricted

    def members_of(self, guild_id: int) -> list[UserInfo]:
        # Users belong to every guild unless added with `guilds=`: test worlds are small.
        return [u for u in self.users.values() if self.is_member(guild_id=guild_id, user_id=u.id)]

    # -- JSON shapes ----------------------------------------------------------------------

    def partial_member_json(self) -> dict[str, Any]:
        return {
            "roles": [],
            "joined_at": self.created_at,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "premium_since": None,
            "pending": False,
            "nick": None,
        }

    def member_json(self, user_id: int) -> dict[str, Any]:
        return {"user": self.users[user_id].to_json(), **self.partial_member_json()}

    def channel_json(
        self, channel: ChannelInfo, *, in_guild_create: bool = False
    ) -> dict[str, Any]:
        last = self._last_message_id(channel.id)
        if channel.type == DM:
            assert channel.recipient_id is not None
            return {
                "id": str(channel.id),
                "type": DM,
                "last_message_id": last,
                "flags": 0,
                "recipients": [self.users[channel.recipient_id].to_json()],
            }
        if channel.type == PUBLIC_THREAD:
            return self.thread_json(channel)
        data: dict[str, Any] = {
            "id": str(channel.id),
            "type": channel.type,
            "name": channel.name,
            "position": channel.position,
            "topic": None,
            "nsfw": False,
            "last_message_id": last,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "permission_overwrites": [],
            "flags": 0,
        }
        if not in_guild_create:
            data["guild_id"] = str(channel.guild_id)
        return data

    def thread_json(self, thread: ChannelInfo, *, newly_created: bool = False) -> dict[str, Any]:
        count = sum(1 for m in self.messages.values() if m.channel_id == thread.id)
        data: dict[str, Any] = {
            "id": str(thread.id),
            "type": PUBLIC_THREAD,
            "guild_id": str(thread.guild_id),
            "parent_id": str(thread.parent_id),
            "owner_id": str(thread.owner_id),
            "name": thread.name,
            "last_message_id": self._last_message_id(thread.id),
            "rate_limit_per_user": 0,
            "message_count": count,
            "total_message_sent": count,
            "member_count": 1,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": thread.auto_archive_duration,
                "archive_timestamp": thread.created_at,
                "locked": False,
                "create_timestamp": thread.created_at,
            },
        }
        if thread.owner_id == self.bot.id:
            data["member"] = {
                "id": str(thread.id),
                "user_id": str(self.bot.id),
                "join_timestamp": thread.created_at,
                "flags": 0,
            }
        if newly_created:
            data["newly_created"] = True
        return data

    def guild_create_json(self, guild: GuildInfo) -> dict[str, Any]:
        members = self.members_of(guild.id)
        channels = [c for c in self.channels.values() if c.guild_id == guild.id]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "preferred_locale": "en-US",
            "features": [],
            "roles": [
                {
                    "id": str(guild.id),
                    "name": "@everyone",
                    "permissions": EVERYONE_PERMISSIONS,
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "emojis": [],
            "stickers": [],
            "joined_at": self.created_at,
            "large": False,
            "unavailable": False,
            "member_count": len(members),
            "members": [self.member_json(u.id) for u in members],
            "channels": [
                self.channel_json(c, in_guild_create=True) for c in channels if not c.is_thread
            ],
            "threads": [self.thread_json(c) for c in channels if c.is_thread],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def message_json(
        self, message: StoredMessage, *, hide_content: bool = False, with_member: bool = False
    ) -> dict[str, Any]:
        in_guild = message.guild_id is not None
        data: dict[str, Any] = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "author": self.users[message.author_id].to_json(),
            "content": "" if hide_content else message.content,
            "timestamp": message.timestamp,
            "edited_timestamp": message.edited_timestamp,
            "tts": False,
            "mention_everyone": message.mention_everyone,
            "mentions": [
                self._mention_json(uid, with_member=in_guild and with_member)
                for uid in message.mention_ids
            ],
            "mention_roles": [],
            "attachments": [] if hide_content else list(message.attachments),
            "embeds": [] if hide_content else list(message.embeds),
            "components": [] if hide_content else list(message.components),
            "pinned": False,
            "type": MESSAGE_REPLY if message.reference_id is not None else MESSAGE_DEFAULT,
            "flags": message.flags,
        }
        if in_guild:
            data["guild_id"] = str(message.guild_id)
            if with_member:
                data["member"] = self.partial_member_json()
        if message.nonce is not None:
            data["nonce"] = message.nonce
        reactions = self._reactions_json(message.id)
        if reactions:
            data["reactions"] = reactions
        if message.reference_id is not None:
            data["message_reference"] = {
                "type": 0,
                "message_id": str(message.reference_id),
                "channel_id": str(message.channel_id),
                **({"guild_id": str(message.guild_id)} if in_guild else {}),
            }
            referenced = self.messages.get(message.reference_id)
            data["referenced_message"] = (
                None
                if referenced is None or referenced.deleted
                else self.message_json(referenced, hide_content=hide_content)
            )
        if message.thread_id is not None and message.thread_id in self.channels:
            data["thread"] = self.thread_json(self.channels[message.thread_id])
        return data

    def _mention_json(self, user_id: int, *, with_member: bool) -> dict[str, Any]:
        user = self.users.get(user_id)
        data = (user or UserInfo(id=user_id, username=f"user{user_id}")).to_json()
        if with_member:
            data["member"] = self.partial_member_json()
        return data

    def _reactions_json(self, message_id: int) -> list[dict[str, Any]]:
        result = []
        for emoji, users in self.reaction_state.get(message_id, {}).items():
            if users:
                result.append(
                    {
                        "emoji": emoji_json(emoji),
                        "count": len(users),
                        "count_details": {"burst": 0, "normal": len(users)},
                        "me": self.bot.id in users,
                        "me_burst": False,
                        "burst_colors": [],
                    }
                )
        return result

    def _last_message_id(self, channel_id: int) -> str | None:
        ids = [m.id for m in self.messages.values() if m.channel_id == channel_id]
        return str(max(ids)) if ids else None
