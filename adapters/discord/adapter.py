"""DiscordAdapter: discord.py's gateway client in, posts and edits out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import discord

from knowrithm_bots.adapters.discord.app_commands import AppCommands, register_commands
from knowrithm_bots.adapters.discord.client import GatewayClient, gateway_client
from knowrithm_bots.adapters.discord.config import DiscordConfig
from knowrithm_bots.adapters.discord.controls import stop_view
from knowrithm_bots.adapters.discord.endpoint import Endpoint, claim, release
from knowrithm_bots.adapters.discord.errors import is_connection_failure, translate, translated
from knowrithm_bots.adapters.discord.feedback import FeedbackButtons
from knowrithm_bots.adapters.discord.inbound import Identity, InboundHandler
from knowrithm_bots.adapters.discord.members import Membership
from knowrithm_bots.adapters.discord.outbound import MAX_CONTENT, Outbound, measure
from knowrithm_bots.adapters.discord.threads import MessageRef, ThreadKey
from knowrithm_bots.core.adapter import Adapter, Budget, Capabilities, EventSink, Limits, Posted
from knowrithm_bots.core.errors import (
    MessageNotFound,
    PlatformAuthError,
    PlatformError,
    PlatformUnavailable,
)

log = logging.getLogger(__name__)

# The gateway connection may fail this many times within CRASH_WINDOW seconds and be opened
# anew; one more failure ends the adapter for good (a supervisor restarting the process is
# then the better cure). Connection losses discord.py resumes by itself do not count.
MAX_CRASHES = 3
CRASH_WINDOW = 300.0


def _message_id(message_id: str) -> int:
    """The snowflake in a ``Posted.id`` this adapter returned; MessageNotFound otherwise."""
    try:
        return MessageRef.decode(message_id).message_id
    except ValueError as exc:
        raise MessageNotFound(str(exc)) from None


async def _close_socket(client: discord.Client) -> None:
    """Close what is left of a failed gateway socket before a new connection is opened."""
    ws = client.ws
    if ws is not None:
        with contextlib.suppress(Exception):
            await ws.close(code=1000)


def _reply_target(key: ThreadKey, reply_to: str | None) -> int | None:
    """The message a post in ``key`` replies to natively, if any.

    In a text channel itself, and in one person's conversation (``group_sessions:
    per_user``): many people talk there, and the reply shows whose message the answer or
    notice is for. A thread or a DM shared as one conversation has its answers in order, so
    a reply there would only repeat the question above it. The message a bot thread was
    started from is in the parent channel, so the thread's first answer does not reply.
    """
    if reply_to is None or (key.kind != "channel" and key.user_id is None):
        return None
    try:
        target = MessageRef.decode(reply_to).message_id
    except ValueError:
        log.debug("not replying to %r: not a Discord message id", reply_to)
        return None
    # A thread started from a message takes that message's id.
    return None if target == key.channel_id else target


class DiscordAdapter(Adapter):
    """Discord through discord.py 2.x; docs/adapters/discord.md describes the behaviour."""

    name: ClassVar[str] = "discord"
    limits: ClassVar[Limits] = Limits(
        max_message_length=MAX_CONTENT,
        # Discord publishes no figure; about one edit per second per channel is the
        # common safe pace, and message writes share a ~5 per 5 s bucket per channel: the
        # budgets pace every call, none is needed per message.
        edit_interval=0.0,
        budgets=(
            # Typing is a route of its own (POST /channels/{id}/typing), not a message write;
            # only the bot-wide limit, which counts every request, charges it.
            Budget(scope="chat", rate=5.0, per=5.0, burst=5, kinds=("post", "edit", "delete")),
            # A 429 in one channel must not pause the whole bot.
            Budget(scope="bot", rate=50.0, per=1.0, burst=50, shared_backoff=False),
        ),
        # discord.com/developers/docs/resources/channel#trigger-typing-indicator: the
        # indicator lasts 10 seconds, or until the bot's message arrives.
        typing_shows_for=10.0,
    )
    capabilities: ClassVar[Capabilities] = Capabilities(
        edit=True, reactions=True, typing=True, delete=True
    )
    config_model: ClassVar[type[DiscordConfig]] = DiscordConfig
    thread_codec: ClassVar[type[ThreadKey]] = ThreadKey

    def __init__(self, *, config: DiscordConfig, identify_delay: float = 5.0) -> None:
        self._config = config
        self._identify_delay = identify_delay
        self._endpoint = Endpoint(api_base_url=config.api_base_url, gateway_url=config.gateway_url)
        self._client: GatewayClient | None = None
        self._handler: InboundHandler | None = None
        self._outbound: Outbound | None = None
        self._buttons: FeedbackButtons | None = None
        self._commands: AppCommands | None = None
        self._identity: Identity | None = None
        self._gateway: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._failure: PlatformError | None = None

    @classmethod
    def from_config(cls, *, config: Mapping[str, Any]) -> DiscordAdapter:
        return cls(config=cls.config_model.load(config, prefix=f"adapters.{cls.name}"))

    def __repr__(self) -> str:
        return f"DiscordAdapter(api_base_url={self._config.api_base_url!r})"

    @property
    def identity(self) -> Identity | None:
        """The bot user and application ids, once started."""
        return self._identity

    @property
    def client(self) -> discord.Client | None:
        """The running discord.py client (None when stopped)."""
        return self._client

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self, *, sink: EventSink) -> None:
        if self._client is not None:
            return
        claim(self._endpoint)
        client = gateway_client(config=self._config, identify_delay=self._identify_delay)
        self._client = client
        self._closed.clear()
        self._failure = None
        try:
            await self._connect(client, sink)
        except BaseException:
            await self._shutdown()
            raise

    async def _connect(self, client: GatewayClient, sink: EventSink) -> None:
        with translated(action="logging in"):
            await client.login(self._config.token.get_secret_value())
        assert client.user is not None
        identity = Identity(
            bot_id=client.user.id, application_id=client.application_id or client.user.id
        )
        outbound = Outbound(client=client)
        handler = InboundHandler(
            config=self._config,
            identity=identity,
            sink=sink,
            client=client,
            membership=Membership(
                client=client,
                allowed_guilds=self._config.allowed_guilds,
                ttl=self._config.membership_cache_seconds,
            ),
            poison=client.poison,
            context=self.context_settings,
            files=self.file_settings,
        )
        self._identity, self._outbound, self._handler = identity, outbound, handler
        client.handler = handler
        # Clicks are handled even with the buttons turned off: buttons already shown work.
        self._buttons = FeedbackButtons(
            client=client, identity=identity, config=self._config, sink=sink
        )
        client.on_click = self._buttons.on_interaction
        self._commands = AppCommands(identity=identity, config=self._config, sink=sink)
        client.on_command = self._commands.on_interaction
        gateway = asyncio.create_task(self._run_gateway(client), name="discord gateway")
        self._gateway = gateway
        ready = asyncio.create_task(client.ready_once.wait(), name="discord ready")
        try:
            done, _ = await asyncio.wait(
                {gateway, ready},
                timeout=self._config.connect_timeout,
                return_when="FIRST_COMPLETED",
            )
        finally:
            if not ready.done():
                ready.cancel()
                # Waited for (also when start itself is cancelled), so the cancelled waiter
                # does not linger as a pending task; wait() does not re-raise its cancellation.
                await asyncio.wait({ready})
        if ready not in done:
            error = gateway.exception() if gateway in done else None
            if error is not None:
                raise error
            raise PlatformUnavailable(
                f"Discord's gateway at {self._config.gateway_url} was not ready within "
                f"{self._config.connect_timeout:g}s"
            )
        gateway.add_done_callback(self._gateway_ended)
        if self._config.native_commands:
            await register_commands(
                client=client, application_id=identity.application_id, config=self._config
            )
        log.info("connected to Discord as bot %s", identity.bot_id)

    async def _run_gateway(self, client: GatewayClient) -> None:
        action, gateway_url = "connecting to Discord's gateway", self._config.gateway_url
        crashes: list[float] = []
        loop = asyncio.get_running_loop()
        while True:
            try:
                await client.connect(reconnect=True)
                return
            except PlatformError:
                raise
            except Exception as exc:
                error = translate(exc, action=action, gateway_url=gateway_url)
                if error is None:
                    raise
                if (
                    isinstance(error, PlatformAuthError)  # a revoked token, a refused intent
                    or self._client is not client  # stopping
                    or not client.ready_once.is_set()  # start() reports it
                ):
                    raise error from None
                reason = (
                    str(error)
                    if is_connection_failure(exc)
                    else f"discord.py failed on what Discord's gateway sent ({type(exc).__name__})"
                )
            now = loop.time()
            crashes = [at for at in crashes if at > now - CRASH_WINDOW] + [now]
            if len(crashes) > MAX_CRASHES:
                raise PlatformUnavailable(
                    f"the Discord gateway connection failed {len(crashes)} times within "
                    f"{CRASH_WINDOW / 60:g} minutes; the last time: {reason}"
                )
            # Discord allows one IDENTIFY per 5 s; each retry waits twice as long.
            delay = max(self._identify_delay, 0.1) * 2 ** (len(crashes) - 1)
            log.warning("%s; connecting to Discord again in %g s", reason, delay)
            await _close_socket(client)
            await asyncio.sleep(delay)

    def _gateway_ended(self, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None and self._client is not None:
            self._failure = (
                error
                if isinstance(error, PlatformError)
                else PlatformUnavailable(f"Discord's gateway connection failed ({error!r})")
            )
        self._closed.set()

    async def stop(self) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        client, self._client = self._client, None
        gateway, self._gateway = self._gateway, None
        handler, self._handler = self._handler, None
        if client is None:
            return
        client.handler = None
        client.on_click = None
        client.on_command = None
        self._buttons = None
        self._commands = None
        try:
            if handler is not None:
                # Events not yet handed to the sink are dropped: by now the bridge ignores
                # them anyway, and a job halfway through a REST call must not outlive stop().
                await handler.close()
            await client.close()
            if gateway is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(gateway, timeout=1.0)
        finally:
            if gateway is not None and not gateway.done():
                gateway.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await gateway
            self._outbound = None
            release(self._endpoint)
            self._closed.set()

    async def wait_closed(self) -> None:
        """Return when stopped; raise the ``PlatformError`` that ended the gateway connection
        for good (a revoked token, or more failures than ``MAX_CRASHES``)."""
        await self._closed.wait()
        if self._failure is not None:
            raise self._failure

    @property
    def connected(self) -> bool:
        """discord.py's gateway session is ready and the client not closed."""
        client = self._client
        return client is not None and client.is_ready() and not client.is_closed()

    # --- outbound ------------------------------------------------------------------------

    def _target(self, thread: str) -> tuple[Outbound, ThreadKey]:
        outbound, identity = self._outbound, self._identity
        if outbound is None or identity is None:
            raise PlatformUnavailable(
                "the Discord adapter is not connected: it was not started or is already stopped"
            )
        try:
            key = ThreadKey.decode(thread)
        except ValueError as exc:
            raise PlatformError(str(exc)) from None
        if key.application_id != identity.application_id:
            raise PlatformError(f"thread {thread} belongs to another Discord application")
        return outbound, key

    def stop_button_in(self, *, thread: str) -> bool:
        """``SupportsStopButton``: everywhere unless ``stop_button: false``."""
        return self._config.stop_button

    async def post(
        self, *, thread: str, text: str, reply_to: str | None = None, stop_button: bool = False
    ) -> Posted:
        outbound, key = self._target(thread)
        commands = self._commands
        if commands is not None:
            # The reply to an application command is that command's response.
            answered = await commands.reply(reply_to=reply_to, text=text)
            if answered is not None:
                return answered
        return await outbound.post(
            channel_id=key.channel_id,
            text=text,
            reply_to=_reply_target(key, reply_to),
            view=stop_view() if stop_button else None,
        )

    async def edit(
        self, *, thread: str, message_id: str, text: str, stop_button: bool = False
    ) -> None:
        outbound, key = self._target(thread)
        await outbound.edit(
            channel_id=key.channel_id,
            message_id=_message_id(message_id),
            text=text,
            view=stop_view() if stop_button else None,
        )

    async def delete(self, *, thread: str, message_id: str) -> None:
        outbound, key = self._target(thread)
        await outbound.delete(channel_id=key.channel_id, message_id=_message_id(message_id))

    def feedback_buttons_in(self, *, thread: str) -> bool:
        """``SupportsFeedbackButtons``: unless ``feedback_buttons: false``."""
        return self._config.feedback_buttons

    async def offer_feedback(self, *, thread: str, message_id: str) -> None:
        """``SupportsFeedbackButtons``: a row of 👍 and 👎 buttons under the answer."""
        if not self._config.feedback_buttons:
            return
        _, key = self._target(thread)
        buttons = self._buttons
        if buttons is None:
            raise PlatformUnavailable("the Discord adapter is not connected")
        await buttons.offer(channel_id=key.channel_id, message_id=_message_id(message_id))

    async def typing(self, *, thread: str) -> None:
        outbound, key = self._target(thread)
        await outbound.typing(channel_id=key.channel_id)

    def measure(self, text: str) -> int:
        return measure(text)

    def budget_keys(self, *, thread: str) -> Mapping[str, str]:
        try:
            key = ThreadKey.decode(thread)
        except ValueError:
            return super().budget_keys(thread=thread)
        # Each Discord thread is a channel with its own message bucket.
        return {
            "thread": key.shared.encode(),  # one person's conversation posts in the place
            "chat": str(key.channel_id),
            "workspace": str(key.application_id),
            "bot": str(key.application_id),
        }
