"""SlackAdapter: bolt's AsyncApp in, chat.postMessage / chat.update / chat streams out."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar

import aiohttp
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from knowrithm_bots.adapters.slack.config import SlackConfig
from knowrithm_bots.adapters.slack.controls import (
    STOP_ACTION,
    THANKS_FOR_REASON,
    WHY_CALLBACK,
    nothing_to_stop,
    read_reason,
    read_stop,
    reason_view,
    stop_blocks,
    stop_target,
)
from knowrithm_bots.adapters.slack.engagement import Engagement
from knowrithm_bots.adapters.slack.errors import translated
from knowrithm_bots.adapters.slack.event_check import EventScreen
from knowrithm_bots.adapters.slack.feedback import (
    Click,
    RememberingStream,
    Shown,
    add_buttons,
    read_click,
    tell_clicker,
    thanks,
)
from knowrithm_bots.adapters.slack.files import FileReader
from knowrithm_bots.adapters.slack.history import thread_history
from knowrithm_bots.adapters.slack.inbound import (
    Identity,
    Incoming,
    IncomingReaction,
    channel_allowed,
    read_message,
    read_reaction,
)
from knowrithm_bots.adapters.slack.native_stream import (
    CHANNEL_REFUSALS,
    Recipient,
    SlackNativeStream,
)
from knowrithm_bots.adapters.slack.outbound import Outbound, render
from knowrithm_bots.adapters.slack.people import Directory, Person, author_for
from knowrithm_bots.adapters.slack.redaction import redaction_scope
from knowrithm_bots.adapters.slack.sdk import SDK_LOGGER, sdk_logger, web_client
from knowrithm_bots.adapters.slack.slash_commands import (
    Invocation,
    SlashTargets,
    as_text,
    help_text,
    read_invocation,
    stop_result,
    tell_user,
)
from knowrithm_bots.adapters.slack.status import ThinkingStatus
from knowrithm_bots.adapters.slack.stream_control import StreamStopper
from knowrithm_bots.adapters.slack.text import to_plain
from knowrithm_bots.adapters.slack.threads import MessageRef, ThreadKey
from knowrithm_bots.adapters.slack.transport import HttpTransport, SocketTransport, Transport
from knowrithm_bots.core.adapter import (
    Adapter,
    Budget,
    Capabilities,
    EventSink,
    Limits,
    NativeStream,
    Posted,
    UserEmails,
)
from knowrithm_bots.core.bounded import Lru
from knowrithm_bots.core.errors import (
    MessageNotFound,
    PlatformAuthError,
    PlatformError,
    PlatformUnavailable,
)
from knowrithm_bots.core.events import (
    Author,
    ContextMessage,
    Inbound,
    InboundFile,
    Origin,
    Reaction,
)
from knowrithm_bots.core.store import Store
from knowrithm_bots.core.thread_queue import ThreadQueue
from knowrithm_bots.core.user_messages import STOPPED

log = logging.getLogger(__name__)

MEMORY_SIZE = 10_000  # threads, recipients and posted messages remembered in-process
STREAM_REFUSAL_BACKOFF = 600.0  # after feature_not_enabled, post + edit for this long
# Events being looked up and handed to the sink at once (each costs a users.info at most).
EVENT_CONCURRENCY = 64
NOT_RUNNING = "the Slack adapter is not running (it was not started, or it was stopped)"


class SlackAdapter(Adapter):
    """One Slack app (bot token) in Socket Mode or HTTP Events mode; see docs/adapters/slack.md."""

    name: ClassVar[str] = "slack"
    # Slack's published limits as budgets the reply engine shares among all replies:
    # posting ~1 message/s per channel; chat.update and chat.delete Tier 3 (~50/min per
    # workspace); chat.appendStream Tier 4 (~100/min; the engine charges every stream call
    # to it, chat.stopStream included, which StreamStopper also holds to its own Tier 2,
    # ~20/min). Streams are capped at 12,000 characters per call, so that is also where a
    # long answer rolls over into a new message.
    limits: ClassVar[Limits] = Limits(
        max_message_length=12_000,
        # Limits are per channel and workspace (the budgets), not per message.
        edit_interval=0.0,
        budgets=(
            # Slack allows short bursts but publishes no size; 2 keeps a call's worth of
            # margin below the 3 the emulator models, for arrival jitter the pacers' reserve
            # does not cover (several instances on busy hosts met 429s at 3).
            Budget(scope="chat", rate=1.0, per=1.0, burst=2, kinds=("post",)),
            Budget(scope="workspace", rate=50.0, per=60.0, burst=10, kinds=("edit",)),
            Budget(scope="workspace", rate=50.0, per=60.0, burst=10, kinds=("delete",)),
            Budget(scope="workspace", rate=100.0, per=60.0, burst=20, kinds=("append",)),
        ),
        # The "typing" notice is the assistant thread status, which Slack keeps for two
        # minutes (assistant.threads.setStatus); ThinkingStatus renews it no more often.
        typing_shows_for=120.0,
    )
    capabilities: ClassVar[Capabilities] = Capabilities(
        edit=True, reactions=True, typing=True, native_stream=True, delete=True
    )
    config_model: ClassVar[type[SlackConfig]] = SlackConfig
    thread_codec: ClassVar[type[ThreadKey]] = ThreadKey
    # profile.email comes only with the users:read.email scope; user ids are per workspace.
    user_emails: ClassVar[UserEmails] = "maybe"
    user_ids_per_workspace: ClassVar[bool] = True

    def __init__(self, *, config: SlackConfig) -> None:
        self._config = config
        self._redaction = redaction_scope(config=config)
        self._sink: EventSink | None = None
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None
        self._outbound: Outbound | None = None
        self._status: ThinkingStatus | None = None
        self._directory: Directory | None = None
        self._files: FileReader | None = None
        self._home: Identity | None = None
        self._transport: Transport | None = None
        self._events: ThreadQueue | None = None
        self._engaged = Engagement(size=MEMORY_SIZE, days=config.engaged_thread_days)
        self._recipients: Lru[str, Recipient] = Lru(size=MEMORY_SIZE)
        self._posted: Lru[str, str] = Lru(size=MEMORY_SIZE)
        # What each answer message shows, to keep it shown when the buttons are added.
        self._shown: Lru[str, Shown] = Lru(size=MEMORY_SIZE)
        # Answer messages showing the Stop button, whose blocks the next edit must clear.
        self._stoppable: Lru[str, bool] = Lru(size=MEMORY_SIZE)
        self._refused_until: dict[str, float] = {}
        # Channels where Slack said streams are not available: post + edit there for good.
        self._no_streams: Lru[str, bool] = Lru(size=MEMORY_SIZE)
        self._streams: StreamStopper | None = None
        self._slash = SlashTargets(size=MEMORY_SIZE)

    @classmethod
    def from_config(cls, *, config: Mapping[str, Any]) -> SlackAdapter:
        return cls(config=cls.config_model.load(config, prefix=f"adapters.{cls.name}"))

    def use_store(self, *, store: Store) -> None:
        """``SupportsStore``: the threads the bot takes part in are shared through ``store``."""
        self._engaged.use_store(store)

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def events_url(self) -> str | None:
        """Where the HTTP Events API server listens (None in Socket Mode or when stopped)."""
        if not isinstance(self._transport, HttpTransport) or self._transport.bound_port is None:
            return None
        host = "127.0.0.1" if self._config.host in ("0.0.0.0", "") else self._config.host
        return f"http://{host}:{self._transport.bound_port}{self._config.path}"

    async def start(self, *, sink: EventSink) -> None:
        if self._sink is not None:
            return
        self._sink = sink
        self._events = ThreadQueue(concurrency=EVENT_CONCURRENCY)
        try:
            await self._connect()
        except BaseException:
            await self.stop()
            raise

    async def _connect(self) -> None:
        config = self._config
        self._redaction.install()
        logger = sdk_logger()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=config.timeout))
        client = web_client(config=config, session=self._session, logger=logger)
        self._client = client
        self._streams = StreamStopper(client=self._web)
        self._outbound = Outbound(client=client, streams=self._streams)
        self._status = ThinkingStatus(client=client, text=config.thinking_status)
        self._directory = Directory(client=client)
        self._files = FileReader(
            session=self._session,
            token=config.bot_token.get_secret_value(),
            api_base_url=config.api_base_url,
        )
        self._home = await self._whoami(client)
        app = AsyncApp(
            client=client,
            logger=logger,
            # Bolt logs each request under the app's name (by default the caller's file
            # name); under the SDK logger those records are covered by the redaction.
            name=f"{SDK_LOGGER}.app",
            signing_secret=(
                config.signing_secret.get_secret_value() if config.signing_secret else ""
            ),
            process_before_response=True,  # the listeners only queue work: ack right after
            request_verification_enabled=config.mode == "http",
            attaching_conversation_kwargs_enabled=False,
        )
        self._register(app)
        screen = EventScreen()
        transport: Transport
        if config.mode == "socket":
            assert config.app_token is not None
            transport = SocketTransport(
                app=app,
                screen=screen,
                app_token=config.app_token.get_secret_value(),
                logger=logger,
                timeout=config.timeout,
            )
        else:
            assert config.signing_secret is not None
            transport = HttpTransport(
                app=app,
                host=config.host,
                port=config.port,
                path=config.path,
                signing_secret=config.signing_secret.get_secret_value(),
                screen=screen,
            )
        self._transport = transport
        await transport.start()
        log.info(
            "Slack adapter running in %s mode for workspace %s as %s",
            config.mode,
            self._home.team,
            self._home.bot_user_id,
        )

    async def _whoami(self, client: AsyncWebClient) -> Identity:
        try:
            with translated(action="auth.test"):
                answer = await client.auth_test()
        except PlatformAuthError:
            raise PlatformAuthError(
                "Slack refused the bot token: check adapters.slack.bot_token"
            ) from None
        team, user = answer.get("team_id"), answer.get("user_id")
        if not team or not user:
            raise PlatformError("Slack's auth.test did not name the bot's team and user")
        return Identity(
            team=str(team),
            bot_user_id=str(user),
            bot_id=str(answer.get("bot_id") or "") or None,
            enterprise=str(answer.get("enterprise_id") or "") or None,
        )

    async def stop(self) -> None:
        if self._sink is None:
            return
        transport, self._transport = self._transport, None
        if transport is not None:
            try:
                await transport.stop()
            except Exception as exc:  # a half-closed socket must not stop the shutdown
                log.warning("closing the Slack connection failed: %s", type(exc).__name__)
        events, self._events = self._events, None
        if events is not None:
            await events.cancel()
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        self._redaction.remove()
        self._client = self._outbound = self._status = self._directory = None
        self._files = None
        self._streams = None
        self._sink = None

    @property
    def connected(self) -> bool:
        """The Socket Mode connection is open, or the HTTP Events API server is up."""
        transport = self._transport
        return transport is not None and transport.connected

    async def settled(self) -> None:
        """Return once every event received so far was handed to the sink or dropped."""
        if self._events is not None:
            await self._events.drain()

    # --- inbound -------------------------------------------------------------------------

    def _register(self, app: AsyncApp) -> None:
        async def on_message(body: dict[str, Any], context: AsyncBoltContext) -> None:
            self._take_message(body, context)

        async def on_reaction(body: dict[str, Any], context: AsyncBoltContext) -> None:
            self._take_reaction(body, context)

        async def ignore() -> None:
            return None

        async def on_click(
            ack: Callable[[], Awaitable[None]], body: dict[str, Any], context: AsyncBoltContext
        ) -> None:
            await ack()
            self._take_click(body, context)
            await self._ask_why(body, context)

        async def on_stop_click(
            ack: Callable[[], Awaitable[None]], body: dict[str, Any], context: AsyncBoltContext
        ) -> None:
            await ack()
            self._take_stop(body, context)

        async def on_reason(
            ack: Callable[[], Awaitable[None]], body: dict[str, Any], context: AsyncBoltContext
        ) -> None:
            await ack()  # closes the modal
            self._take_reason(body, context)

        app.event("message")(on_message)
        app.event("app_mention")(on_message)
        app.event("reaction_added")(on_reaction)
        app.event("reaction_removed")(on_reaction)
        app.action(re.compile(r"^knowrithm_rate_(up|down)$"))(on_click)
        app.action(STOP_ACTION)(on_stop_click)
        app.view(WHY_CALLBACK)(on_reason)
        if self._config.slash_command is not None:

            async def on_slash(
                ack: Callable[..., Awaitable[None]],
                body: dict[str, Any],
                context: AsyncBoltContext,
            ) -> None:
                # Within Slack's 3 seconds: only checks here, the command itself is queued.
                answer = self._take_slash(body, context)
                await (ack(text=answer) if answer else ack())

            app.command(self._config.slash_command)(on_slash)
        # Sent to AI apps when a user opens the assistant pane; nothing to answer yet.
        app.event("assistant_thread_started")(ignore)
        app.event("assistant_thread_context_changed")(ignore)

    def _identity(self, context: AsyncBoltContext) -> Identity:
        home = self._home
        assert home is not None
        return Identity(
            team=context.team_id or home.team,
            bot_user_id=context.bot_user_id or home.bot_user_id,
            bot_id=context.bot_id or home.bot_id,
            enterprise=context.enterprise_id or home.enterprise,
        )

    def _take_message(self, body: Mapping[str, Any], context: AsyncBoltContext) -> None:
        """Runs before the ack: decide synchronously, queue the rest."""
        event = body.get("event")
        if not isinstance(event, Mapping) or self._home is None:
            return
        who = self._identity(context)
        # Whether the bot takes part in a thread may only be known to the store (another
        # instance was mentioned there): that look-up waits for the queued part.
        incoming = read_message(event, who=who, config=self._config, engaged=lambda _: True)
        if incoming is None:
            return
        thread = incoming.thread.encode()
        if incoming.mentioned and not incoming.is_direct:
            self._engaged.note(thread)
        if self._needs_engagement(incoming) and not self._engaged.known_here(thread):
            self._submit(thread, lambda: self._deliver_if_engaged(incoming, who))
            return
        self._submit(thread, lambda: self._deliver_message(incoming, who))

    def _needs_engagement(self, incoming: Incoming) -> bool:
        """A channel reply answered only because the bot already takes part in its thread."""
        return (
            not incoming.is_direct
            and not incoming.mentioned
            and self._config.channel_messages == "mentions"
        )

    async def _deliver_if_engaged(self, incoming: Incoming, who: Identity) -> None:
        if await self._engaged.knows(incoming.thread.encode()):
            await self._deliver_message(incoming, who)

    def _take_reaction(self, body: Mapping[str, Any], context: AsyncBoltContext) -> None:
        event = body.get("event")
        if not isinstance(event, Mapping) or self._home is None:
            return
        who = self._identity(context)
        reaction = read_reaction(event, who=who)
        if reaction is None:
            return
        message = reaction.message
        thread = (
            self._posted.get(message.encode())
            or ThreadKey(
                team=who.team, bot=who.bot_user_id, channel=message.channel, thread_ts=message.ts
            ).encode()
        )
        event_id = str(
            body.get("event_id") or f"{message.encode()}:{reaction.user}:{event.get('event_ts')}"
        )
        self._submit(thread, lambda: self._deliver_reaction(reaction, who, thread, event_id))

    def _take_click(self, body: Mapping[str, Any], context: AsyncBoltContext) -> None:
        """A click on a rating button: rated like a reaction, then told to the clicker."""
        click = read_click(body)
        if click is None or self._home is None:
            return
        who = self._identity(context)
        message = MessageRef(team=who.team, channel=click.channel, ts=click.message_ts)
        thread = (
            self._posted.get(message.encode())
            or ThreadKey(
                team=who.team,
                bot=who.bot_user_id,
                channel=click.channel,
                thread_ts=click.thread_ts or click.message_ts,
            ).encode()
        )
        reaction = IncomingReaction(
            message=message,
            emoji=click.emoji,
            added=True,
            user=click.user,
            user_team=click.user_team,
        )

        async def rate() -> None:
            await self._deliver_reaction(reaction, who, thread, click.event_id)
            await self._tell(click, thanks(click.emoji))

        self._submit(thread, rate)

    async def _ask_why(self, body: Mapping[str, Any], context: AsyncBoltContext) -> None:
        """After a 👎 click, the "Tell us why" modal: opened at once, as its trigger_id is
        good for 3 seconds only."""
        click = read_click(body)
        trigger = body.get("trigger_id")
        if click is None or click.emoji != "👎" or not isinstance(trigger, str):
            return
        who = self._identity(context)
        message = MessageRef(team=who.team, channel=click.channel, ts=click.message_ts)
        thread = (
            self._posted.get(message.encode())
            or ThreadKey(
                team=who.team,
                bot=who.bot_user_id,
                channel=click.channel,
                thread_ts=click.thread_ts or click.message_ts,
            ).encode()
        )
        view = reason_view(message_id=message.encode(), thread=thread)
        try:
            with translated(action="views.open"):
                await self._web().views_open(trigger_id=trigger, view=view)
        except PlatformError as exc:
            log.warning("could not ask %s why: %s", click.user, exc)  # the 👎 stands

    def _take_reason(self, body: Mapping[str, Any], context: AsyncBoltContext) -> None:
        """A submitted "Tell us why": the 👎 again, with the reason as its feedback."""
        reason = read_reason(body)
        if reason is None or self._home is None:
            return
        who = self._identity(context)
        try:
            message = MessageRef.decode(reason.message_id)
        except ValueError:
            return
        reaction = IncomingReaction(
            message=message,
            emoji="👎",
            added=True,
            user=reason.user,
            user_team=reason.user_team,
        )

        async def rate() -> None:
            await self._deliver_reaction(
                reaction, who, reason.thread, reason.event_id, feedback=reason.text
            )
            try:
                with translated(action="chat.postEphemeral"):
                    await self._web().chat_postEphemeral(
                        channel=message.channel,
                        user=reason.user,
                        text=THANKS_FOR_REASON,
                        thread_ts=ThreadKey.decode(reason.thread).thread_ts,
                    )
            except (PlatformError, ValueError) as exc:
                log.warning("could not thank %s for their reason: %s", reason.user, exc)

        self._submit(reason.thread, rate)

    def _take_stop(self, body: Mapping[str, Any], context: AsyncBoltContext) -> None:
        """A click on a Stop button: the thread's answer stops, as with /stop. Slack shows
        the button only to people who can see the channel."""
        click = read_stop(body)
        if click is None or self._home is None or self._sink is None:
            return
        who = self._identity(context)
        message = MessageRef(team=who.team, channel=click.channel, ts=click.message_ts)
        thread = (
            self._posted.get(message.encode())
            or ThreadKey(
                team=who.team,
                bot=who.bot_user_id,
                channel=click.channel,
                thread_ts=click.thread_ts or click.message_ts,
            ).encode()
        )
        # As the clicker's own /stop: with a conversation per person, the one of theirs.
        thread = stop_target(thread, user=click.user, config=self._config)
        sink = self._sink

        async def stop() -> None:
            _, author = await self._author(click.user, team=click.user_team, who=who)
            stopped = await sink.on_stop(thread=thread, by=author, message_id=message.encode())
            note = STOPPED if stopped else nothing_to_stop(self._config)
            try:
                with translated(action="chat.postEphemeral"):
                    await self._web().chat_postEphemeral(
                        channel=click.channel, user=click.user, text=note, thread_ts=click.thread_ts
                    )
            except PlatformError as exc:
                log.warning("could not tell %s about their stop: %s", click.user, exc)

        self._submit(thread, stop)

    async def _tell(self, click: Click, text: str) -> None:
        try:
            await tell_clicker(client=self._web(), click=click, text=text)
        except PlatformError as exc:
            log.warning("could not tell %s about their rating: %s", click.user, exc)

    def _take_slash(self, body: Mapping[str, Any], context: AsyncBoltContext) -> str | None:
        """A slash command: the sentence for the user alone, or None once it is queued."""
        name = self._config.slash_command or ""
        if self._home is None:
            return None
        who = self._identity(context)
        invocation = read_invocation(body, team=who.team)
        if invocation is None:
            return None
        if not isinstance(invocation, Invocation):
            return str(invocation)
        if invocation.command.name == "help":
            return help_text(name)
        if invocation.is_direct and self._config.direct_messages == "off":
            return "Direct messages with the agent are turned off in this workspace."
        whole_dm = self._config.direct_messages == "channel"
        thread = self._slash.target(
            invocation,
            bot=who.bot_user_id,
            whole_dm=whole_dm,
            per_user=self._config.group_sessions == "per_user",
        )
        self._submit(thread.encode(), lambda: self._deliver_slash(invocation, thread, who))
        return None

    async def _deliver_slash(
        self, invocation: Invocation, thread: ThreadKey, who: Identity
    ) -> None:
        assert self._directory is not None and self._sink is not None
        name: str | None = None
        if not invocation.is_direct:
            name = await self._directory.channel_name(thread.channel)
            if not channel_allowed(self._config, channel_id=thread.channel, name=name):
                log.info("refused a slash command in %s: not in allowed_channels", thread.channel)
                await self._tell_user(invocation, "The agent does not answer in this channel.")
                return
        _, author = await self._author(invocation.user, team=None, who=who)
        if invocation.command.name == "stop":
            # Stopped at once, as the bridge does for a typed /stop; told to the user alone.
            stopped = await self._sink.on_stop(thread=thread.encode(), by=author)
            await self._tell_user(invocation, stop_result(stopped=stopped))
            return
        self._slash.asked(invocation)
        await self._sink.on_message(
            Inbound(
                thread=thread.encode(),
                event_id=invocation.event_id,
                text=as_text(invocation.command),
                author=author,
                origin=Origin(
                    adapter=self.name,
                    channel_id=thread.channel,
                    workspace_id=who.team,
                    thread_id=thread.thread_ts,
                    channel_name=name or invocation.channel_name,
                    is_direct=invocation.is_direct,
                ),
                message_id=invocation.message_id,
            )
        )

    async def _tell_user(self, invocation: Invocation, text: str) -> bool:
        return await tell_user(invocation=invocation, text=render(text), session=self._session)

    def _submit(self, thread: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` after the thread's earlier events, so a thread keeps its order.

        The adapter's one ordering mechanism: translating an event awaits look-ups
        (users.info, conversations.info), during which a quick second message of the same
        thread must not overtake the first.
        """
        if self._events is None:
            return

        # Failures are logged here, under a logger the redaction covers, not by the queue.
        async def job() -> None:
            try:
                await work()
            except PlatformError as exc:
                log.warning("could not handle a Slack event: %s", exc)
            except Exception:
                log.exception("unexpected failure while handling a Slack event")

        self._events.submit(thread=thread, job=job)

    async def _author(
        self, user: str, *, team: str | None, who: Identity
    ) -> tuple[Person | None, Author]:
        """The user's directory entry (None when unknown) and the Author made of it."""
        assert self._directory is not None
        person = await self._directory.person(user)
        author = author_for(
            user_id=user,
            person=person,
            event_team=team,
            home_team=who.team,
            home_enterprise=who.enterprise,
        )
        return person, author

    async def _deliver_message(self, incoming: Incoming, who: Identity) -> None:
        assert self._directory is not None and self._sink is not None
        thread = incoming.thread
        key = thread.encode()
        name: str | None = None
        if not incoming.is_direct:
            name = await self._directory.channel_name(thread.channel)
            if not channel_allowed(self._config, channel_id=thread.channel, name=name):
                # Silent by design: outside allowed_channels the bot says nothing at all.
                log.info("ignored a message in %s: not in allowed_channels", thread.channel)
                self._engaged.forget(key)
                return
        if incoming.mentioned and not incoming.is_direct:
            await self._engaged.record(key)
        self._slash.saw(thread=thread, user=incoming.user)
        person, author = await self._author(incoming.user, team=incoming.user_team, who=who)
        if author.is_bot:
            return
        user_team = (person.team if person else None) or incoming.user_team or who.team
        self._recipients.put(key, value=Recipient(user=incoming.user, team=user_team))
        context = await self._history(incoming, who)
        files: tuple[InboundFile, ...] = ()
        if incoming.files and self._files is not None:
            files = await self._files.read(incoming.files, settings=self.file_settings)
        await self._sink.on_message(
            Inbound(
                thread=key,
                event_id=incoming.message.encode(),
                text=to_plain(incoming.raw_text, bot_user_id=who.bot_user_id),
                author=author,
                origin=Origin(
                    adapter=self.name,
                    channel_id=thread.channel,
                    workspace_id=who.team,
                    thread_id=thread.thread_ts,
                    channel_name=name,
                    is_direct=incoming.is_direct,
                ),
                message_id=incoming.message.encode(),
                context=context,
                files=files,
            )
        )

    async def _history(self, incoming: Incoming, who: Identity) -> tuple[ContextMessage, ...]:
        """The earlier messages of the thread a message replies in (none for a new thread)."""
        root, ts = incoming.thread.thread_ts, incoming.message.ts
        settings = self.context_settings
        if not settings.enabled or root is None or root == ts or self._directory is None:
            return ()
        directory = self._directory

        async def name_of(user: str) -> str:
            person = await directory.person(user)
            if person is None:
                return user
            return person.display_name or person.real_name or person.name or user

        return await thread_history(
            client=self._web(),
            channel=incoming.thread.channel,
            thread_ts=root,
            before_ts=ts,
            bot_user_id=who.bot_user_id,
            bot_id=who.bot_id,
            count=settings.history_messages,
            name_of=name_of,
        )

    async def _deliver_reaction(
        self,
        reaction: IncomingReaction,
        who: Identity,
        thread: str,
        event_id: str,
        *,
        feedback: str | None = None,
    ) -> None:
        assert self._sink is not None
        _, author = await self._author(reaction.user, team=reaction.user_team, who=who)
        channel = reaction.message.channel
        await self._sink.on_reaction(
            Reaction(
                thread=thread,
                event_id=event_id,
                message_id=reaction.message.encode(),
                emoji=reaction.emoji,
                added=reaction.added,
                author=author,
                origin=Origin(
                    adapter=self.name,
                    channel_id=channel,
                    workspace_id=who.team,
                    is_direct=channel.startswith("D"),
                ),
                feedback=feedback,
            )
        )

    # --- outbound ------------------------------------------------------------------------

    def _web(self) -> AsyncWebClient:
        if self._client is None:
            raise PlatformUnavailable(NOT_RUNNING)
        return self._client

    def _out(self) -> Outbound:
        if self._outbound is None:
            raise PlatformUnavailable(NOT_RUNNING)
        return self._outbound

    def _remember_post(self, message: MessageRef, thread: ThreadKey) -> None:
        key = thread.encode()
        self._posted.put(message.encode(), value=key)
        # In memory only: the bot answers in a channel thread after a mention, recorded then.
        self._engaged.note(key)

    @staticmethod
    def _thread(thread: str) -> ThreadKey:
        try:
            return ThreadKey.decode(thread)
        except ValueError:
            raise PlatformError(
                f"{thread!r} is not a Slack thread key (slack:<team>:<bot>:<channel>:<ts>)"
            ) from None

    @staticmethod
    def _message(message_id: str) -> MessageRef:
        try:
            return MessageRef.decode(message_id)
        except ValueError:
            raise MessageNotFound(f"{message_id!r} is not a Slack message id") from None

    def stop_button_in(self, *, thread: str) -> bool:
        """``SupportsStopButton``: on answers posted and edited (chat streams carry none)
        unless ``stop_button: false``."""
        return self._config.stop_button

    async def post(
        self, *, thread: str, text: str, reply_to: str | None = None, stop_button: bool = False
    ) -> Posted:
        # reply_to is not used: every answer already goes into the thread of the message it
        # answers (or, in a whole-DM conversation, right below it); Slack's API has no quoting.
        key = self._thread(thread)
        invocation = self._slash.private(reply_to=reply_to, text=text)
        if invocation is not None and await self._tell_user(invocation, text):
            # Seen by the user alone: nothing in the channel to edit, rate or remember.
            return Posted(id=f"{invocation.message_id}.reply")
        blocks = stop_blocks(render(text)) if stop_button else None
        message = await self._out().post(thread=key, text=text, blocks=blocks)
        if stop_button:
            self._stoppable.put(message.encode(), value=True)
        self._remember_post(message, key)
        self._shown.put(message.encode(), value=Shown(text=render(text)))
        return Posted(id=message.encode())

    async def edit(
        self, *, thread: str, message_id: str, text: str, stop_button: bool = False
    ) -> None:
        self._thread(thread)
        blocks = None
        if stop_button:
            blocks = stop_blocks(render(text))
        elif message_id in self._stoppable:
            blocks = []  # the same update takes the button (and its copy of the text) away
        await self._out().edit(message=self._message(message_id), text=text, blocks=blocks)
        if stop_button:
            self._stoppable.put(message_id, value=True)
        else:
            self._stoppable.pop(message_id)
        self._shown.put(message_id, value=Shown(text=render(text)))

    def feedback_buttons_in(self, *, thread: str) -> bool:
        """``SupportsFeedbackButtons``: unless ``feedback_buttons: false``."""
        return self._config.feedback_buttons

    async def offer_feedback(self, *, thread: str, message_id: str) -> None:
        """``SupportsFeedbackButtons``: 👍 and 👎 buttons under the answer, by chat.update."""
        if not self._config.feedback_buttons:
            return
        self._thread(thread)
        message = self._message(message_id)
        shown = self._shown.get(message_id)
        if shown is None:
            # Not written by this process: adding blocks would hide a text unknown here.
            log.info("no rating buttons on %s: its text is not known here", message_id)
            return
        await add_buttons(client=self._web(), message=message, shown=shown)

    async def delete(self, *, thread: str, message_id: str) -> None:
        self._thread(thread)
        await self._out().delete(message=self._message(message_id))

    async def typing(self, *, thread: str) -> None:
        key = self._thread(thread)
        if self._status is None:
            raise PlatformUnavailable(NOT_RUNNING)
        await self._status.show(key)

    async def reply_done(self, *, thread: str, message_ids: Sequence[str]) -> None:
        status = self._status
        if status is None:
            return
        key = self._thread(thread)
        if message_ids:
            status.forget(key)  # Slack clears the status when the bot replies
            return
        try:
            await status.clear(key)
        except PlatformError as exc:
            log.info("could not clear the thinking status in %s: %s", thread, exc)

    async def open_native_stream(self, *, thread: str) -> NativeStream | None:
        key = self._thread(thread)
        if self._client is None:
            raise PlatformUnavailable(NOT_RUNNING)
        if not self._config.native_streaming or key.thread_ts is None:
            return None
        if self._refused_until.get(key.team, 0.0) > time.monotonic():
            return None
        if f"{key.team}:{key.channel}" in self._no_streams:
            return None
        recipient = self._recipients.get(thread)
        if recipient is None and not key.channel.startswith("D"):
            return None  # channels need a recipient; without one, post + edit
        stream = SlackNativeStream(
            client=self._web,
            thread=key,
            recipient=recipient,
            limit=self.limits.max_message_length,
            stopper=self._stream_stopper(),
            on_refused=self._streaming_refused,
            on_posted=self._remember_post,
        )
        return RememberingStream(
            stream, shown=lambda message_id, shown: self._shown.put(message_id, value=shown)
        )

    def _stream_stopper(self) -> StreamStopper:
        if self._streams is None:
            raise PlatformUnavailable(NOT_RUNNING)
        return self._streams

    def _streaming_refused(self, thread: ThreadKey, code: str) -> None:
        if code in CHANNEL_REFUSALS:
            log.info(
                "Slack has no streams in channel %s (%s); posting and editing there instead",
                thread.channel,
                code,
            )
            self._no_streams.put(f"{thread.team}:{thread.channel}", value=True)
            return
        log.info(
            "Slack refused streaming in workspace %s; posting and editing instead", thread.team
        )
        self._refused_until[thread.team] = time.monotonic() + STREAM_REFUSAL_BACKOFF

    def measure(self, text: str) -> int:
        return len(render(text))

    def budget_keys(self, *, thread: str) -> Mapping[str, str]:
        try:
            key = ThreadKey.decode(thread)
        except ValueError:
            return super().budget_keys(thread=thread)  # post() then names the garbled key
        return {
            "thread": key.shared.encode(),  # one person's conversation posts in the thread
            "chat": f"{key.team}:{key.channel}",
            "workspace": key.team,
            "bot": f"{key.team}:{key.bot}",
        }
