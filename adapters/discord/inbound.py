"""Turns gateway events into Inbound and Reaction events: routing, threads, and who is external."""

from __future__ import annotations

import itertools
import logging
import uuid
from dataclasses import dataclass

import discord

from knowrithm_bots.adapters.discord.attachments import read_files, replied_context, thread_context
from knowrithm_bots.adapters.discord.config import DiscordConfig
from knowrithm_bots.adapters.discord.errors import translated
from knowrithm_bots.adapters.discord.members import Membership
from knowrithm_bots.adapters.discord.messages import (
    author_of,
    content_hidden,
    is_user_message,
    mentions_bot,
    text_for_agent,
    thread_name,
)
from knowrithm_bots.adapters.discord.poison import PoisonLog
from knowrithm_bots.adapters.discord.threads import Kind, MessageRef, ThreadKey, conversation_of
from knowrithm_bots.core.adapter import EventSink
from knowrithm_bots.core.bounded import Lru
from knowrithm_bots.core.commands import parse_command
from knowrithm_bots.core.config.models import ContextSettings, FileSettings
from knowrithm_bots.core.errors import PlatformAuthError, PlatformError
from knowrithm_bots.core.events import Author, ContextMessage, Inbound, Origin, Reaction
from knowrithm_bots.core.thread_queue import Job, ThreadQueue

log = logging.getLogger(__name__)

THREAD_ALREADY_CREATED = 160004
MAX_HINTED = 10_000
# Gateway events translated at once across channels (each may await a REST call).
TRANSLATING_AT_ONCE = 32


@dataclass(frozen=True)
class Identity:
    """Who the bot is, known after login."""

    bot_id: int
    application_id: int


def hint_text(*, bot_id: int) -> str:
    return (
        f"I can only read messages here that mention me: start yours with <@{bot_id}> "
        "and I will answer in this thread."
    )


def no_thread_text(error: PlatformError) -> str:
    if isinstance(error, PlatformAuthError):
        return (
            "I cannot start a thread for your question here: I need the Create Public "
            "Threads permission in this channel. Ask an admin, or send me a direct message."
        )
    return "I could not start a thread for your question; please try again in a moment."


class InboundHandler:
    """Decides what each gateway event means and hands it to the sink.

    Messages: the bot's own and other bots' are ignored; DMs are one conversation per DM
    channel; in guilds only allowed guilds/channels count, a mention in a text channel
    starts a Discord thread from that message, and messages in the bot's threads (or that
    mention it in any thread) continue the thread's conversation.

    Order: discord.py runs each event handler as its own task, and translating a message
    may await Discord (starting a thread, checking membership), so a quick second event
    could overtake the first. Each event is therefore queued on its channel in a
    ``ThreadQueue`` before anything is awaited, and reaches the sink in gateway order.
    Notices (no thread could be started, content hidden) go through ``sink.on_notice``.
    """

    def __init__(
        self,
        *,
        config: DiscordConfig,
        identity: Identity,
        sink: EventSink,
        client: discord.Client,
        membership: Membership,
        poison: PoisonLog,
        context: ContextSettings | None = None,
        files: FileSettings | None = None,
    ) -> None:
        self._config = config
        self._context = context or ContextSettings()
        self._files = files or FileSettings()
        self._poison = poison
        self._me = identity
        self._sink = sink
        self._client = client
        self._membership = membership
        self._queue = ThreadQueue(concurrency=TRANSLATING_AT_ONCE)
        self._hinted: Lru[int, bool] = Lru(size=MAX_HINTED)
        self._run = uuid.uuid4().hex[:8]
        self._serial = itertools.count(1)
        self._allowed_guilds = (
            frozenset(config.allowed_guilds) if config.allowed_guilds is not None else None
        )
        self._allowed_channels = (
            frozenset(config.allowed_channels) if config.allowed_channels is not None else None
        )

    def _key(self, kind: Kind, channel_id: int) -> str:
        return ThreadKey(
            application_id=self._me.application_id, kind=kind, channel_id=channel_id
        ).encode()

    def _own(self, kind: Kind, channel_id: int, message: discord.Message) -> str:
        """The key of the conversation ``message`` belongs to in that place: its author's own
        with ``group_sessions: per_user``, else the one everybody there shares."""
        place = ThreadKey(application_id=self._me.application_id, kind=kind, channel_id=channel_id)
        per_user = self._config.group_sessions == "per_user"
        return conversation_of(place, user_id=message.author.id, per_user=per_user).encode()

    def _in_order(self, channel_id: int, job: Job) -> None:
        """Run ``job`` after the channel's earlier events; called before any await."""
        if not self._queue.closed:
            self._queue.submit(thread=str(channel_id), job=job)

    async def close(self) -> None:
        """Drop the events not yet translated and stop every task translating one."""
        await self._queue.cancel()

    # --- messages ------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        if message.author.id == self._me.bot_id:
            return  # Discord echoes every message the bot posts
        self._in_order(message.channel.id, lambda: self._handle(message))

    async def _handle(self, message: discord.Message) -> None:
        try:
            await self._route(message)
        except PlatformError as exc:
            log.warning("could not handle Discord message %s: %s", message.id, exc)
        except Exception as exc:
            # A field discord.py let through with the wrong type (content that is a number):
            # the message is skipped, and the channel's next events go on.
            self._poison.skipped(
                event="MESSAGE_CREATE",
                data={"id": message.id},
                error=exc,
                reason="the adapter cannot read it",
            )

    async def _route(self, message: discord.Message) -> None:
        if message.author.bot:
            log.debug("ignored message %s from bot %s", message.id, message.author.id)
            return
        if not is_user_message(message):
            return
        channel = message.channel
        if message.guild is None:
            if self._config.direct_messages:
                await self._direct(message)
            return
        if not self._allowed(guild_id=message.guild.id, channel_ids=_ids_of(channel)):
            log.debug("ignored message %s outside the allowed guilds/channels", message.id)
            return
        mentioned = mentions_bot(message, bot_id=self._me.bot_id)
        if isinstance(channel, discord.Thread):
            if mentioned or channel.owner_id == self._me.bot_id:
                await self._in_thread(message, channel)
        elif isinstance(channel, discord.TextChannel) and mentioned:
            await self._in_channel(message, channel)

    async def _direct(self, message: discord.Message) -> None:
        shares = await self._membership.shares_guild(message.author.id)
        origin = Origin(adapter="discord", channel_id=str(message.channel.id), is_direct=True)
        await self._deliver(
            message,
            key=self._key("dm", message.channel.id),
            origin=origin,
            author=author_of(message.author, external=not shares),
        )

    async def _in_thread(self, message: discord.Message, thread: discord.Thread) -> None:
        if content_hidden(message, intent_on=self._config.message_content_intent):
            await self._hint(message, thread)
            return
        parent = thread.parent
        origin = Origin(
            adapter="discord",
            channel_id=str(thread.parent_id),
            workspace_id=str(thread.guild.id),
            thread_id=str(thread.id),
            channel_name=parent.name if parent is not None else None,
        )
        context: tuple[ContextMessage, ...] = ()
        if self._context.enabled:
            context = await thread_context(
                message,
                thread=thread,
                bot_id=self._me.bot_id,
                count=self._context.history_messages,
            )
        await self._deliver(
            message, key=self._own("thread", thread.id, message), origin=origin, context=context
        )

    async def _in_channel(self, message: discord.Message, channel: discord.TextChannel) -> None:
        text = text_for_agent(message, bot_id=self._me.bot_id)
        origin = Origin(
            adapter="discord",
            channel_id=str(channel.id),
            workspace_id=str(channel.guild.id),
            channel_name=channel.name,
        )
        if not text or parse_command(text) is not None:
            # Nothing to converse about: answer beside the mention, start no thread.
            await self._deliver(
                message, key=self._own("channel", channel.id, message), origin=origin
            )
            return
        thread_id = await self._start_thread(message, text=text)
        if thread_id is None:
            return
        origin = Origin(
            adapter="discord",
            channel_id=str(channel.id),
            workspace_id=str(channel.guild.id),
            thread_id=str(thread_id),
            channel_name=channel.name,
        )
        await self._deliver(message, key=self._own("thread", thread_id, message), origin=origin)

    async def _start_thread(self, message: discord.Message, *, text: str) -> int | None:
        """The id of the thread started from ``message``; None (user told) if impossible."""
        name = thread_name(text, author=message.author.display_name)
        try:
            with translated(action="starting a thread"):
                try:
                    thread = await message.create_thread(
                        name=name, auto_archive_duration=self._config.thread_auto_archive_minutes
                    )
                except discord.HTTPException as exc:
                    if exc.code != THREAD_ALREADY_CREATED:
                        raise
                    # A mention seen again (a replay): its thread exists, with its id.
                    return message.id
                return thread.id
        except PlatformError as error:
            log.warning("could not start a thread in channel %s: %s", message.channel.id, error)
            await self._sink.on_notice(
                thread=self._key("channel", message.channel.id),
                text=no_thread_text(error),
                reply_to=MessageRef(message_id=message.id).encode(),
            )
            return None

    async def _hint(self, message: discord.Message, thread: discord.Thread) -> None:
        """Tell a thread once that the bot only reads mentions there."""
        if thread.id in self._hinted:
            return
        self._hinted.put(thread.id, value=True)
        await self._sink.on_notice(
            thread=self._key("thread", thread.id),
            text=hint_text(bot_id=self._me.bot_id),
            reply_to=MessageRef(message_id=message.id).encode(),
        )

    async def _deliver(
        self,
        message: discord.Message,
        *,
        key: str,
        origin: Origin,
        author: Author | None = None,
        context: tuple[ContextMessage, ...] | None = None,
    ) -> None:
        ref = MessageRef(message_id=message.id).encode()
        if context is None:
            # Outside a thread the one earlier message a person points at is the one replied to.
            enabled = self._context.enabled
            context = await replied_context(message, bot_id=self._me.bot_id) if enabled else ()
        files = await read_files(message, settings=self._files) if message.attachments else ()
        await self._sink.on_message(
            Inbound(
                thread=key,
                event_id=ref,
                text=text_for_agent(message, bot_id=self._me.bot_id),
                author=author or author_of(message.author),
                origin=origin,
                message_id=ref,
                context=context,
                files=files,
            )
        )

    def _allowed(self, *, guild_id: int | None, channel_ids: frozenset[int]) -> bool:
        if self._allowed_guilds is not None and guild_id not in self._allowed_guilds:
            return False
        return self._allowed_channels is None or not channel_ids.isdisjoint(self._allowed_channels)

    # --- reactions -----------------------------------------------------------------------

    async def on_reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        if payload.user_id == self._me.bot_id:
            return
        self._in_order(payload.channel_id, lambda: self._reaction(payload, added=added))

    async def _reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        try:
            await self._react(payload, added=added)
        except PlatformError as exc:
            log.warning("could not handle a reaction on message %s: %s", payload.message_id, exc)
        except Exception as exc:
            self._poison.skipped(
                event="MESSAGE_REACTION_ADD" if added else "MESSAGE_REACTION_REMOVE",
                data={"message_id": payload.message_id},
                error=exc,
                reason="the adapter cannot read it",
            )

    async def _react(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        emoji = payload.emoji
        if emoji.id is not None or not emoji.name:
            return  # custom emoji carry no rating
        if payload.message_author_id not in (None, self._me.bot_id):
            return  # only the bot's answers can be rated
        user = payload.member or self._client.get_user(payload.user_id)
        if user is not None and user.bot:
            return
        place = self._reaction_place(payload)
        if place is None:
            return
        key, origin = place
        action = "add" if added else "remove"
        await self._sink.on_reaction(
            Reaction(
                thread=key,
                # Discord has no id for reactions and only replays them on RESUME, which the
                # library sequences; each delivery is therefore its own event.
                event_id=f"{payload.message_id}:{payload.user_id}:{emoji.name}:{action}:"
                f"{self._run}-{next(self._serial)}",
                message_id=MessageRef(message_id=payload.message_id).encode(),
                emoji=emoji.name,
                added=added,
                author=Author(
                    id=str(payload.user_id),
                    display_name=user.display_name if user is not None else "",
                ),
                origin=origin,
            )
        )

    def _reaction_place(self, payload: discord.RawReactionActionEvent) -> tuple[str, Origin] | None:
        if payload.guild_id is None:
            if not self._config.direct_messages:
                return None
            origin = Origin(adapter="discord", channel_id=str(payload.channel_id), is_direct=True)
            return self._key("dm", payload.channel_id), origin
        channel = self._client.get_channel(payload.channel_id)
        ids = _ids_of(channel) if channel is not None else frozenset({payload.channel_id})
        if not self._allowed(guild_id=payload.guild_id, channel_ids=ids):
            return None
        workspace = str(payload.guild_id)
        if isinstance(channel, discord.TextChannel):
            origin = Origin(
                adapter="discord",
                channel_id=str(channel.id),
                workspace_id=workspace,
                channel_name=channel.name,
            )
            return self._key("channel", channel.id), origin
        parent = channel.parent_id if isinstance(channel, discord.Thread) else None
        origin = Origin(
            adapter="discord",
            channel_id=str(parent or payload.channel_id),
            workspace_id=workspace,
            thread_id=str(payload.channel_id),
        )
        return self._key("thread", payload.channel_id), origin


def _ids_of(channel: object) -> frozenset[int]:
    """The ids an allow list may name for ``channel``: its own and its parent's."""
    ids = (getattr(channel, "id", None), getattr(channel, "parent_id", None))
    return frozenset(i for i in ids if isinstance(i, int))
