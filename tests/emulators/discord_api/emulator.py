"""DiscordEmulator: a local Discord (REST + gateway) that the real discord.py can talk to."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import yarl
from aiohttp import web

from knowrithm_bots.bots.local_site import LocalService, LocalSite

from .app_commands import AppCommandUses, CommandUse
from .calls import CallLog, CallPredicate
from .effects import Effects
from .gateway import Gateway
from .interactions import Interaction, Interactions
from .modals import submit
from .models import (
    GUILD_MEMBERS,
    MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    AttachmentSpec,
    Call,
    ChannelInfo,
    GuildInfo,
    InjectedFailure,
    ReactionEvent,
    SnowflakeFactory,
    StoredMessage,
    TypingEvent,
    UserInfo,
)
from .ratelimit import ChannelRateLimiter, RateLimitRule
from .rest import API_PREFIX, RestApi
from .world import World

APP_FLAG_GUILD_MEMBERS_LIMITED = 1 << 15
APP_FLAG_MESSAGE_CONTENT_LIMITED = 1 << 19


class DiscordEmulator(LocalService):
    """Serves Discord's REST API and gateway on 127.0.0.1 with an in-memory world.

    Build the world (guilds, channels, users) before or after `start()`; READY and
    GUILD_CREATE are built when the client identifies. Typical use::

        async with DiscordEmulator() as emu:
            guild = emu.add_guild(name="g")
            channel = emu.add_text_channel(guild_id=guild.id, name="general")
            alice = emu.add_user(username="alice")
            with patched_discord_py(emu):
                client = discord.Client(intents=..., guild_ready_timeout=0.05,
                                        chunk_guilds_at_startup=False)
                task = asyncio.create_task(client.start(emu.token))
                ...  # wait for on_ready, then emu.dispatch_message(...)
                await client.close()
                await task
    """

    def __init__(
        self,
        *,
        token: str = "emulator-bot-token",
        bot_username: str = "knowbot",
        application_id: int | None = None,
        heartbeat_interval_ms: int = 1000,
        rate_limit: RateLimitRule | None = None,
        advertise_rate_limits: bool = True,
        clock: Callable[[], float] = time.monotonic,
        allowed_privileged_intents: int = PRIVILEGED_INTENTS,
        application_flags: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.ids = SnowflakeFactory()
        bot = UserInfo(id=self.ids.next(), username=bot_username, bot=True)
        self.world = World(ids=self.ids, bot=bot, application_id=application_id or bot.id)
        self.clock = clock
        self.rate_limits = ChannelRateLimiter(default=rate_limit or RateLimitRule(), clock=clock)
        self.advertise_rate_limits = advertise_rate_limits
        self.allowed_privileged_intents = allowed_privileged_intents
        if application_flags is None:
            application_flags = 0
            if allowed_privileged_intents & MESSAGE_CONTENT:
                application_flags |= APP_FLAG_MESSAGE_CONTENT_LIMITED
            if allowed_privileged_intents & GUILD_MEMBERS:
                application_flags |= APP_FLAG_GUILD_MEMBERS_LIMITED
        self.application_flags = application_flags
        self.gateway = Gateway(
            world=self.world,
            token=token,
            heartbeat_interval_ms=heartbeat_interval_ms,
            allowed_privileged_intents=allowed_privileged_intents,
            application_flags=application_flags,
            resume_url=lambda: str(self.gateway_url / "resume"),
        )
        self.call_log = CallLog(clock=clock)
        self.effects = Effects(
            world=self.world,
            gateway=self.gateway,
            clock=clock,
            attachment_base=lambda: self.base_url,
            allowed_privileged_intents=allowed_privileged_intents,
        )
        self._host = host
        self._site = LocalSite(host=host)
        self.attachment_bytes: dict[str, bytes] = {}
        self.interactions = Interactions(emulator=self)
        self.app_commands = AppCommandUses(emulator=self)
        self.attachment_downloads: list[tuple[str, str | None]] = []

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        RestApi(emulator=self).install(app)
        self.interactions.install(app)
        self.app_commands.install(app)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway/resume", self.gateway.handle)
        app.router.add_get("/attachments/{attachment_id}/{filename}", self._serve_attachment)
        await self._site.start(app)

    async def _serve_attachment(self, request: web.Request) -> web.Response:
        """Attachments are plain HTTPS downloads from Discord's CDN (docs: Reference, "Image
        Formatting" / Attachment object ``url``): no bot token is sent or needed."""
        self.attachment_downloads.append(
            (request.match_info["filename"], request.headers.get("Authorization"))
        )
        found = self.attachment_bytes.get(request.match_info["attachment_id"])
        if found is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=found, content_type="application/octet-stream")

    async def stop(self) -> None:
        if not self._site.running:
            return
        await self.gateway.close_all()
        await self._site.stop()
        self.call_log.cancel_waiters()

    @property
    def port(self) -> int:
        return self._site.port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def api_base(self) -> str:
        """The value for `discord.http.Route.BASE`."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> yarl.URL:
        """The value for `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`."""
        return yarl.URL(f"ws://{self._host}:{self.port}/gateway")

    # -- the world ------------------------------------------------------------------------

    @property
    def bot_user(self) -> UserInfo:
        return self.world.bot

    @property
    def application_id(self) -> int:
        return self.world.application_id

    def add_guild(self, *, name: str) -> GuildInfo:
        return self.world.add_guild(name=name)

    def add_text_channel(self, *, guild_id: int, name: str) -> ChannelInfo:
        return self.world.add_text_channel(guild_id=guild_id, name=name)

    def add_user(
        self,
        *,
        username: str,
        bot: bool = False,
        global_name: str | None = None,
        guilds: Sequence[int] | None = None,
    ) -> UserInfo:
        """Add a human or another bot; a member of every guild unless ``guilds`` is given."""
        return self.world.add_user(
            username=username, bot=bot, global_name=global_name, guilds=guilds
        )

    def add_thread(self, *, channel_id: int, name: str, owner_id: int | None = None) -> ChannelInfo:
        """An existing thread (with its starter message), as READY's GUILD_CREATE lists it.

        World building: nothing is dispatched. ``owner_id`` defaults to the bot.
        """
        owner = self.world.bot.id if owner_id is None else owner_id
        starter = self.effects.store_message(
            channel=self.world.channel(channel_id),
            author_id=owner,
            content=name,
            embeds=[],
            attachments=[],
            components=[],
            mention_ids=None,
            mention_everyone=False,
            reference_id=None,
            nonce=None,
        )
        return self.world.create_thread(
            channel_id=channel_id, message_id=starter.id, name=name, owner_id=owner, archive=1440
        )

    def add_dm_channel(self, *, user_id: int) -> ChannelInfo:
        return self.world.dm_channel_for(user_id=user_id)

    @property
    def messages(self) -> dict[int, StoredMessage]:
        return self.world.messages

    @property
    def threads(self) -> dict[int, ChannelInfo]:
        return {cid: c for cid, c in self.world.channels.items() if c.is_thread}

    @property
    def commands(self) -> dict[int | None, list[dict[str, Any]]]:
        """Registered application commands: key None is global, else the guild id."""
        return self.world.commands

    def messages_in(self, *, channel_id: int, include_deleted: bool = False) -> list[StoredMessage]:
        return [
            m
            for m in self.world.messages.values()
            if m.channel_id == channel_id and (include_deleted or not m.deleted)
        ]

    def reactions_on(self, *, message_id: int) -> dict[str, list[int]]:
        """Current reactions of a message: emoji -> user ids."""
        state = self.world.reaction_state.get(message_id, {})
        return {emoji: list(users) for emoji, users in state.items() if users}

    # -- configuration and faults ---------------------------------------------------------

    @property
    def rate_limits_enabled(self) -> bool:
        return self.rate_limits.enabled

    @rate_limits_enabled.setter
    def rate_limits_enabled(self, value: bool) -> None:
        self.rate_limits.enabled = value

    def set_rate_limit(self, *, rule: RateLimitRule, channel_id: int | None = None) -> None:
        """Change one channel's message-write limit, or the default when no channel given."""
        self.rate_limits.set_rule(channel_id=channel_id, rule=rule)

    def fail_next(
        self,
        *,
        status: int,
        method: str | None = None,
        route: str | None = None,
        path: str | None = None,
        code: int = 0,
        message: str | None = None,
        retry_after: float = 0.1,
        is_global: bool = False,
        times: int = 1,
    ) -> None:
        """Answer the next `times` matching requests with `status` (429 is Discord-shaped).

        `route` matches the route template (`/channels/{channel_id}/messages`), `path` the
        concrete path (`/channels/123/messages`); both are relative to `/api/v10`.
        """
        failure = InjectedFailure(
            status=status,
            method=method.upper() if method else None,
            route=route,
            path=path,
            code=code,
            message=message,
            retry_after=retry_after,
            is_global=is_global,
        )
        self.call_log.queue_failure(failure, times=times)

    # -- gateway --------------------------------------------------------------------------

    @property
    def identify_count(self) -> int:
        return self.gateway.identify_count

    @property
    def resume_count(self) -> int:
        return self.gateway.resume_count

    @property
    def replayed_dispatches(self) -> list[tuple[str, dict[str, Any]]]:
        """(event name, data) of every dispatch a RESUME sent again, oldest first."""
        return [(frame["t"], frame["d"]) for frame in self.gateway.replayed_frames]

    @property
    def intents(self) -> int | None:
        """The intents of the current gateway session (None before IDENTIFY)."""
        return self.gateway.intents

    async def wait_until_connected(self, *, timeout_s: float = 5.0) -> None:
        """Wait until a socket has finished READY or RESUMED and receives dispatches live."""
        await self.gateway.wait_connected(timeout_s=timeout_s)

    async def drop_gateway(
        self, *, invalidate_session: bool = False, code: int | None = None
    ) -> bool:
        """Cut the live gateway socket (TCP abort, or a close frame with `code`).

        Dispatches made while the client is away are replayed when it resumes; with
        `invalidate_session` the resume is refused (op 9) and the client identifies anew.
        """
        return await self.gateway.drop(invalidate=invalidate_session, code=code)

    async def request_reconnect(self) -> bool:
        """Send op 7 RECONNECT on the live socket."""
        return await self.gateway.request_reconnect()

    # -- injection ------------------------------------------------------------------------

    async def dispatch_message(
        self,
        *,
        channel_id: int,
        author_id: int,
        content: str = "",
        mentions: Sequence[int] | None = None,
        mention_everyone: bool = False,
        attachments: Sequence[AttachmentSpec] = (),
        embeds: Sequence[dict[str, Any]] = (),
        reply_to: int | None = None,
    ) -> StoredMessage:
        """A user (or another bot) posts a message: store it and send MESSAGE_CREATE.

        Mentions default to the `<@id>` tokens in `content`.
        """
        channel = self.world.channel(channel_id)
        if author_id not in self.world.users:
            raise KeyError(f"unknown user {author_id}")
        message = self.effects.store_message(
            channel=channel,
            author_id=author_id,
            content=content,
            embeds=list(embeds),
            attachments=[self._attachment(a) for a in attachments],
            components=[],
            mention_ids=mentions,
            mention_everyone=mention_everyone,
            reference_id=reply_to,
            nonce=None,
        )
        await self.effects.emit_message(event="MESSAGE_CREATE", message=message, required=True)
        return message

    def _attachment(self, spec: AttachmentSpec) -> dict[str, Any]:
        size = spec.size if spec.data is None else len(spec.data)
        data = self.effects.attachment_json(
            filename=spec.filename, size=size, content_type=spec.content_type, url=spec.url
        )
        if spec.data is not None:
            self.attachment_bytes[str(data["id"])] = spec.data
        return data

    async def dispatch_reaction_add(
        self, *, channel_id: int, message_id: int, user_id: int, emoji: str = "👍"
    ) -> ReactionEvent:
        """A user adds a reaction: MESSAGE_REACTION_ADD."""
        return await self._inject_reaction(
            action="add", channel_id=channel_id, message_id=message_id, user_id=user_id, emoji=emoji
        )

    async def dispatch_reaction_remove(
        self, *, channel_id: int, message_id: int, user_id: int, emoji: str = "👍"
    ) -> ReactionEvent:
        """A user removes a reaction: MESSAGE_REACTION_REMOVE."""
        return await self._inject_reaction(
            action="remove",
            channel_id=channel_id,
            message_id=message_id,
            user_id=user_id,
            emoji=emoji,
        )

    async def click(
        self,
        *,
        channel_id: int,
        message_id: int,
        user_id: int,
        custom_id: str | None = None,
        emoji: str | None = None,
    ) -> Interaction:
        """A user clicks a button of a message: INTERACTION_CREATE (see ``interactions``)."""
        return await self.interactions.click(
            channel_id=channel_id,
            message_id=message_id,
            user_id=user_id,
            custom_id=custom_id,
            emoji=emoji,
        )

    async def submit_modal(self, *, opened_by: Interaction, values: dict[str, str]) -> Interaction:
        """The person whose interaction ``opened_by`` was answered with a modal submits it
        with ``values`` by input custom_id: INTERACTION_CREATE of type 5 (see ``modals``)."""
        return await submit(self, opened_by=opened_by, values=values)

    async def use_command(
        self,
        *,
        channel_id: int,
        user_id: int,
        name: str,
        options: dict[str, Any] | None = None,
    ) -> CommandUse:
        """A user runs a registered application command: INTERACTION_CREATE of type 2 (see
        ``app_commands``)."""
        return await self.app_commands.use(
            channel_id=channel_id, user_id=user_id, name=name, options=options
        )

    async def create_user_thread(
        self, *, channel_id: int, message_id: int, name: str, owner_id: int
    ) -> ChannelInfo:
        """A user starts a thread from a message: THREAD_CREATE."""
        return await self.effects.start_thread(
            channel_id=channel_id, message_id=message_id, name=name, owner_id=owner_id, archive=1440
        )

    # -- raw gateway events ---------------------------------------------------------------

    async def dispatch_raw(self, *, event: str, data: Any) -> None:
        """Send one dispatch exactly as given, however malformed (for poison tests).

        It is sequenced and kept for RESUME like any other; intents do not filter it.
        """
        await self.gateway.dispatch_raw(event=event, data=data)

    async def send_raw_frame(self, text: str) -> bool:
        """Send a gateway frame that is not even a dispatch (text that is no JSON, say)."""
        return await self.gateway.send_raw_frame(text)

    def message_payload(self, *, channel_id: int, author_id: int, content: str) -> dict[str, Any]:
        """The MESSAGE_CREATE payload of a new message, stored but not dispatched."""
        message = self.effects.store_message(
            channel=self.world.channel(channel_id),
            author_id=author_id,
            content=content,
            embeds=[],
            attachments=[],
            components=[],
            mention_ids=None,
            mention_everyone=False,
            reference_id=None,
            nonce=None,
        )
        return self.world.message_json(message, with_member=True)

    def reaction_payload(
        self, *, channel_id: int, message_id: int, user_id: int, emoji: str = "👍", added: bool
    ) -> dict[str, Any]:
        """The MESSAGE_REACTION_ADD (or _REMOVE) payload of a reaction, not dispatched."""
        event = ReactionEvent(
            action="add" if added else "remove",
            channel_id=channel_id,
            message_id=message_id,
            user_id=user_id,
            emoji=emoji,
            time=self.clock(),
        )
        return self.effects.reaction_json(event, channel=self.world.channel(channel_id))

    def thread_payload(self, *, thread_id: int) -> dict[str, Any]:
        """The THREAD_CREATE payload of a known thread, not dispatched."""
        return self.world.thread_json(self.world.channel(thread_id), newly_created=True)

    # -- inspection -----------------------------------------------------------------------

    async def wait_for_call(
        self,
        *,
        method: str | None = None,
        route: str | None = None,
        path: str | None = None,
        predicate: CallPredicate | None = None,
        since: int = 0,
        timeout_s: float = 5.0,
    ) -> Call:
        """Return the first call from index `since` on that matches; wait for it if needed.

        `route` is the template (`/channels/{channel_id}/messages`), `path` the concrete path;
        both are relative to `/api/v10`.
        """

        def matches(call: Call) -> bool:
            return (
                (method is None or call.method == method.upper())
                and (route is None or call.route == route)
                and (path is None or call.path == path)
                and (predicate is None or predicate(call))
            )

        described = f"method={method} route={route} path={path}"
        return await self.call_log.wait_for(
            matches=matches, since=since, timeout_s=timeout_s, described=described
        )

    async def _inject_reaction(
        self, *, action: str, channel_id: int, message_id: int, user_id: int, emoji: str
    ) -> ReactionEvent:
        channel = self.world.channel(channel_id)
        if user_id not in self.world.users:
            raise KeyError(f"unknown user {user_id}")
        if self.gateway.intents is None:
            raise RuntimeError("no gateway session: the client has not identified yet")
        return await self.effects.react(
            action=action, channel=channel, message_id=message_id, user_id=user_id, emoji=emoji
        )

    @property
    def calls(self) -> list[Call]:
        """Every REST request answered, oldest first."""
        return self.call_log.calls

    @property
    def typing(self) -> list[TypingEvent]:
        return self.effects.typing

    @property
    def reactions(self) -> list[ReactionEvent]:
        """Reactions added/removed by the bot (REST) or injected for users, oldest first."""
        return self.effects.reactions
