"""State changes that Discord also announces on the gateway: messages, threads, reactions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .gateway import Gateway
from .models import (
    DIRECT_MESSAGE_REACTIONS,
    DIRECT_MESSAGES,
    DM,
    GUILD_MESSAGE_REACTIONS,
    GUILD_MESSAGES,
    GUILDS,
    MESSAGE_CONTENT,
    ChannelInfo,
    ReactionEvent,
    StoredMessage,
    TypingEvent,
    iso_now,
    iter_mention_ids,
)
from .world import World, emoji_json


class Effects:
    """Applies a change to the world and dispatches the event Discord would send for it."""

    def __init__(
        self,
        *,
        world: World,
        gateway: Gateway,
        clock: Callable[[], float],
        attachment_base: Callable[[], str],
        allowed_privileged_intents: int,
    ) -> None:
        self._world = world
        self._gateway = gateway
        self._clock = clock
        self._attachment_base = attachment_base
        self._allowed_privileged = allowed_privileged_intents
        self.typing: list[TypingEvent] = []
        self.reactions: list[ReactionEvent] = []

    # -- content visibility ---------------------------------------------------------------

    def content_hidden(self, message: StoredMessage, *, intents: int) -> bool:
        """Discord blanks content without MESSAGE_CONTENT, except DMs, mentions, own messages."""
        bot_id = self._world.bot.id
        return not (
            intents & MESSAGE_CONTENT
            or message.guild_id is None
            or message.author_id == bot_id
            or bot_id in message.mention_ids
        )

    def rest_content_hidden(self, message: StoredMessage) -> bool:
        """Over REST the app's approved intents decide, not the gateway session's."""
        return self.content_hidden(message, intents=self._allowed_privileged)

    # -- messages -------------------------------------------------------------------------

    def attachment_json(
        self, *, filename: str, size: int, content_type: str | None, url: str | None = None
    ) -> dict[str, Any]:
        attachment_id = self._world.ids.next()
        location = url or f"{self._attachment_base()}/attachments/{attachment_id}/{filename}"
        data: dict[str, Any] = {
            "id": str(attachment_id),
            "filename": filename,
            "size": size,
            "url": location,
            "proxy_url": location,
        }
        if content_type is not None:
            data["content_type"] = content_type
        return data

    def store_message(
        self,
        *,
        channel: ChannelInfo,
        author_id: int,
        content: str,
        embeds: list[dict[str, Any]],
        attachments: list[dict[str, Any]],
        components: list[dict[str, Any]],
        mention_ids: Sequence[int] | None,
        mention_everyone: bool,
        reference_id: int | None,
        nonce: str | int | None,
    ) -> StoredMessage:
        """Record a new message; mentions default to the `<@id>` tokens of its content."""
        message = StoredMessage(
            id=self._world.ids.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            content=content,
            timestamp=iso_now(),
            versions=[content],
            embeds=embeds,
            attachments=attachments,
            components=components,
            mention_ids=(
                list(iter_mention_ids(content)) if mention_ids is None else list(mention_ids)
            ),
            mention_everyone=mention_everyone,
            reference_id=reference_id,
            nonce=nonce,
        )
        self._world.messages[message.id] = message
        return message

    def apply_edit(
        self, *, message: StoredMessage, payload: dict[str, Any], content: str | None
    ) -> None:
        if content is not None:
            message.content = content
            message.versions.append(content)
            message.mention_ids = list(iter_mention_ids(content))
        if "embeds" in payload:
            message.embeds = list(payload["embeds"] or [])
        if "components" in payload:
            message.components = list(payload["components"] or [])
        if "attachments" in payload:
            keep = {str(a.get("id")) for a in payload["attachments"] or []}
            message.attachments = [a for a in message.attachments if a["id"] in keep]
        message.edited_timestamp = iso_now()

    async def emit_message(
        self, *, event: str, message: StoredMessage, required: bool = False
    ) -> None:
        """Dispatch MESSAGE_CREATE/UPDATE, blanking content as the session's intents dictate."""
        intents = self._gateway.intents
        if intents is None:
            if required:
                raise RuntimeError("no gateway session: the client has not identified yet")
            return
        hidden = self.content_hidden(message, intents=intents)
        data = self._world.message_json(message, hide_content=hidden, with_member=True)
        intent = GUILD_MESSAGES if message.guild_id is not None else DIRECT_MESSAGES
        await self._gateway.dispatch(event=event, data=data, intent=intent)

    async def delete_message(self, message: StoredMessage) -> None:
        message.deleted = True
        if self._gateway.intents is None:
            return
        data: dict[str, Any] = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        intent = GUILD_MESSAGES if message.guild_id is not None else DIRECT_MESSAGES
        await self._gateway.dispatch(event="MESSAGE_DELETE", data=data, intent=intent)

    def record_typing(self, *, channel_id: int) -> None:
        self.typing.append(TypingEvent(channel_id=channel_id, time=self._clock()))

    # -- threads --------------------------------------------------------------------------

    async def start_thread(
        self, *, channel_id: int, message_id: int, name: str, owner_id: int, archive: int
    ) -> ChannelInfo:
        thread = self._world.create_thread(
            channel_id=channel_id,
            message_id=message_id,
            name=name,
            owner_id=owner_id,
            archive=archive,
        )
        if self._gateway.intents is not None:
            await self._gateway.dispatch(
                event="THREAD_CREATE",
                data=self._world.thread_json(thread, newly_created=True),
                intent=GUILDS,
            )
        return thread

    # -- reactions ------------------------------------------------------------------------

    async def react(
        self, *, action: str, channel: ChannelInfo, message_id: int, user_id: int, emoji: str
    ) -> ReactionEvent:
        """Add or remove one user's reaction; dispatch only when the state really changed."""
        users = self._world.reaction_state.setdefault(message_id, {}).setdefault(emoji, [])
        changed = (user_id not in users) if action == "add" else (user_id in users)
        if changed and action == "add":
            users.append(user_id)
        elif changed:
            users.remove(user_id)
        event = ReactionEvent(
            action=action,
            channel_id=channel.id,
            message_id=message_id,
            user_id=user_id,
            emoji=emoji,
            time=self._clock(),
        )
        self.reactions.append(event)
        if changed and self._gateway.intents is not None:
            await self._dispatch_reaction(event, channel=channel)
        return event

    async def _dispatch_reaction(self, event: ReactionEvent, *, channel: ChannelInfo) -> None:
        data = self.reaction_json(event, channel=channel)
        intent = GUILD_MESSAGE_REACTIONS if channel.type != DM else DIRECT_MESSAGE_REACTIONS
        name = "MESSAGE_REACTION_ADD" if event.action == "add" else "MESSAGE_REACTION_REMOVE"
        await self._gateway.dispatch(event=name, data=data, intent=intent)

    def reaction_json(self, event: ReactionEvent, *, channel: ChannelInfo) -> dict[str, Any]:
        """The MESSAGE_REACTION_ADD / _REMOVE payload of one reaction change."""
        data: dict[str, Any] = {
            "user_id": str(event.user_id),
            "channel_id": str(channel.id),
            "message_id": str(event.message_id),
            "emoji": emoji_json(event.emoji),
            # discord.py reads `type` unconditionally: without it the client task crashes.
            "type": 0,
            "burst": False,
        }
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        if event.action == "add":
            data["burst_colors"] = []
            message = self._world.messages.get(event.message_id)
            if message is not None:
                data["message_author_id"] = str(message.author_id)
            if channel.guild_id is not None:
                data["member"] = self._world.member_json(event.user_id)
        return data
