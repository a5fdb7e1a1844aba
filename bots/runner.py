"""Wires config → store → Knowrithm client → sessions → bridge → adapters, and runs them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from knowrithm_bots.bots.endpoint_check import Notify, verify_endpoint
from knowrithm_bots.bots.heap_trim import HeapTrimmer
from knowrithm_bots.bots.observability import Observability, build_observability
from knowrithm_bots.bots.process_tuning import tune_process
from knowrithm_bots.core.adapter import Adapter, SupportsStore
from knowrithm_bots.core.answer_leases import DEFAULT_TTL
from knowrithm_bots.core.bridge import Bridge
from knowrithm_bots.core.clock import Clock, SystemClock
from knowrithm_bots.core.config import Settings, adapter_config
from knowrithm_bots.core.errors import ConfigError, PlatformError, StoreError
from knowrithm_bots.core.knowrithm import Agent, KnowrithmClient
from knowrithm_bots.core.leads import LeadEmails
from knowrithm_bots.core.plugins import load_adapter
from knowrithm_bots.core.sessions import Sessions
from knowrithm_bots.core.store import MemoryStore, SqliteStore, Store
from knowrithm_bots.core.streaming.shared_budgets import SharedBudgets

log = logging.getLogger(__name__)

# How long a stop waits for the answers in progress, both drains together. An answer still
# unfinished then is recorded in the store and finished by the next run, so waiting longer
# buys little, while supervisors kill after their own grace (Docker after 10 s).
DRAIN_TIMEOUT = 6.0
# Stopping that takes longer than this is waiting for answers, and says so.
BUSY_AFTER = 0.1
STOPPING_NOTICE = "stopping after the answers in progress (press Ctrl-C again to quit now)"
# The exit status after Ctrl-C, whatever it interrupted: 128 + SIGINT, as shells report it.
INTERRUPTED = 128 + signal.SIGINT


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """The Knowrithm the bot talks to, after resolving ``base_url: local``.

    The key and secret stay out of the repr, so logging or printing an endpoint is safe.
    """

    base_url: str
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    agent_id: str


def build_adapters(
    settings: Settings, *, names: Sequence[str], env: Mapping[str, str] | None = None
) -> dict[str, Adapter]:
    """Import and configure only the adapters named (each from its config section)."""
    adapters: dict[str, Adapter] = {}
    for name in dict.fromkeys(names):
        cls = load_adapter(name)
        adapters[name] = cls.from_config(config=adapter_config(settings, name=name, env=env))
    return adapters


def build_store(settings: Settings) -> Store:
    if settings.store.backend == "memory":
        return MemoryStore()
    if settings.store.backend == "redis":
        return _redis_store(settings)
    return SqliteStore(path=settings.store.path)


def _redis_store(settings: Settings) -> Store:
    # Imported here: redis is an optional extra, needed only by those who choose it.
    try:
        from knowrithm_bots.core.store.redis import RedisStore
    except ImportError:
        raise ConfigError(
            "store.backend redis needs the redis package: pip install 'knowrithm-bots[redis]'",
            key_path="store.backend",
        ) from None
    url = settings.store.url
    assert url is not None  # StoreSettings requires it for redis
    return RedisStore(url=url.get_secret_value(), key_prefix=settings.store.key_prefix)


def build_shared_budgets(settings: Settings) -> SharedBudgets | None:
    """The budgets instances share, kept in the Redis store's database (``store.backend:
    redis`` and ``store.shared_budgets``, on by default); None: this process paces alone."""
    if settings.store.backend != "redis" or not settings.store.shared_budgets:
        return None
    # Imported here, as the store is: redis is an optional extra (its absence already made
    # building the store fail with one sentence).
    from knowrithm_bots.core.store.redis_budgets import RedisBudgets

    url = settings.store.url
    assert url is not None  # StoreSettings requires it for redis
    return RedisBudgets(url=url.get_secret_value(), key_prefix=settings.store.key_prefix)


async def check_store(store: Store, *, settings: Settings) -> None:
    """Reach the store now, so a bad ``store.path`` or ``store.url`` (or a Redis that is
    down) stops the bot at start-up, not per message."""
    key = "store.url" if settings.store.backend == "redis" else "store.path"
    try:
        await store.get("probe:start-up")
    except StoreError as exc:
        raise ConfigError(f"{exc}: check {key}", key_path=key) from None


def remote_endpoint(settings: Settings) -> Endpoint:
    """The configured remote Knowrithm; every missing key is named."""
    k = settings.knowrithm
    for key, value in (
        ("api_key", k.api_key),
        ("api_secret", k.api_secret),
        ("agent_id", k.agent_id),
    ):
        if not value:
            raise ConfigError(
                f"config key knowrithm.{key} is required when knowrithm.base_url is not 'local'",
                key_path=f"knowrithm.{key}",
            )
    assert k.api_key is not None and k.api_secret is not None and k.agent_id is not None
    return Endpoint(
        base_url=k.base_url,
        api_key=k.api_key.get_secret_value(),
        api_secret=k.api_secret.get_secret_value(),
        agent_id=k.agent_id,
    )


@asynccontextmanager
async def knowrithm_endpoint(
    settings: Settings, *, word_delay: float = 0.0, first_token_delay: float = 0.0
) -> AsyncIterator[Endpoint]:
    """Yield the endpoint, running the embedded local server meanwhile when asked for."""
    if not settings.knowrithm.is_local:
        yield remote_endpoint(settings)
        return
    # Imported here: a bot talking to a real Knowrithm never loads the fake one.
    from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm

    server = LocalKnowrithm(word_delay=word_delay, first_token_delay=first_token_delay)
    async with server:
        yield Endpoint(
            base_url=server.base_url,
            api_key=server.api_key,
            api_secret=server.api_secret,
            agent_id=server.agent_id,
        )


async def check_configured_endpoint(
    settings: Settings, *, waiting: Notify | None = None
) -> tuple[str, Agent]:
    """The Knowrithm base URL and agent of ``settings``, once the start-up check passed
    (``check-config --online`` and ``doctor`` ask this without starting a bot)."""
    async with (
        knowrithm_endpoint(settings) as endpoint,
        KnowrithmClient(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key,
            api_secret=endpoint.api_secret,
            timeout=settings.knowrithm.timeout,
        ) as client,
    ):
        agent = await verify_endpoint(
            client=client, base_url=endpoint.base_url, agent_id=endpoint.agent_id, waiting=waiting
        )
        return endpoint.base_url, agent


class BotRunner:
    """Runs a set of adapters against one bridge until stopped or out of input.

    Everything is injected; ``bots.cli`` chooses the concrete classes.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        adapters: Mapping[str, Adapter],
        client: KnowrithmClient,
        agent_id: str,
        store: Store,
        clock: Clock | None = None,
        observability: Observability | None = None,
    ) -> None:
        self._settings = settings
        self._adapters = dict(adapters)
        for adapter in self._adapters.values():
            # What adapters fetch for the bridge (thread history, files) follows the config.
            adapter.context_settings, adapter.file_settings = settings.context, settings.files
            if isinstance(adapter, SupportsStore):
                adapter.use_store(store=store)
        self._store = store
        self._clock = clock or SystemClock()
        self._client = client
        # The runner serves it; the Knowrithm client was built with its transport already.
        self.observability = observability or build_observability(
            settings.observability, clock=self._clock
        )
        self.listener = self.observability.listener(
            adapters=self._adapters,
            knowrithm_health=client.health,
            store=store,
            started=self.started_and_running,
            failed=lambda: self._failed,
        )
        conversations = settings.conversations
        self._shared_budgets = build_shared_budgets(settings)
        self.sessions = Sessions(
            client=client,
            store=store,
            agent_id=agent_id,
            rules=conversations.entity_rules,
            default_entity_type=conversations.default_entity_type,
            idle_seconds=conversations.idle_minutes * 60,
            clock=self._clock,
            lead_emails=LeadEmails(
                domain=settings.leads.email_domain,
                per_workspace=frozenset(
                    name for name, one in self._adapters.items() if one.user_ids_per_workspace
                ),
            ),
        )
        # Freed memory goes back to the OS, so RSS follows what the bot holds.
        self.heap_trimmer = HeapTrimmer(clock=self._clock)
        self.started = asyncio.Event()
        self._running = False
        self._failed: dict[str, str] = {}
        self.bridge = Bridge(
            client=client,
            store=store,
            sessions=self.sessions,
            adapters=self._adapters,
            settings=conversations,
            ratings=settings.ratings,
            clock=self._clock,
            metrics=self.observability.metrics,
            context=settings.context,
            files=settings.files,
            # Only Redis is shared by several instances: they must not write one answer twice.
            answer_lease=DEFAULT_TTL if settings.store.backend == "redis" else None,
            shared_budgets=self._shared_budgets,
        )

    async def run(
        self,
        *,
        stop: asyncio.Event | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        """Start everything, wait for ``stop`` or for every adapter to close, then shut down.

        An adapter whose ``wait_closed`` raises has stopped for good (its platform revoked
        the token, its connection kept failing): it is logged at ERROR and listed in
        ``failed_adapters`` while the others keep serving, and ``run`` raises
        ``PlatformError`` naming it once it returns, so the process exits non-zero.

        Shutdown answers what was received, then stops taking events (those are left unseen
        for a redelivery), then stops the adapters, then the bridge. When ``stop`` ended the
        run while answers are still being written, ``announce`` (if given) is told so once.
        Cancelling ``run`` skips the waiting: the adapters and the bridge stop at once.
        """
        stop = stop or asyncio.Event()
        async with AsyncExitStack() as stack:
            if self.listener is not None:
                # First up and last down: /healthz answers while the bot starts and stops.
                await self.listener.start()
                stack.push_async_callback(self.listener.stop)
            if self._shared_budgets is not None:
                stack.push_async_callback(self._shared_budgets.close)
            stack.push_async_callback(self.bridge.stop)
            trimming = asyncio.create_task(self.heap_trimmer.run(), name="heap trim")
            stack.push_async_callback(_cancelled, trimming)
            for adapter in self._adapters.values():
                await adapter.start(sink=self.bridge)
                stack.push_async_callback(adapter.stop)
            self.bridge.start()
            tune_process()
            self.started.set()
            self._running = True
            closed = asyncio.create_task(self._all_closed())
            stopped = asyncio.create_task(stop.wait())
            try:
                await asyncio.wait({closed, stopped}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (closed, stopped):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            self._running = False
            deadline = asyncio.get_running_loop().time() + DRAIN_TIMEOUT
            await self._drain(deadline=deadline, announce=announce if stop.is_set() else None)
            self.bridge.close_intake()
            await self._drain(deadline=deadline)
        if self._failed:
            # A non-zero exit, so that a supervisor restarts the bot.
            raise PlatformError("; ".join(self._failed.values()))

    async def _drain(
        self, *, deadline: float, announce: Callable[[str], None] | None = None
    ) -> None:
        drain = asyncio.ensure_future(self.bridge.drain())
        try:
            done, _ = await asyncio.wait({drain}, timeout=BUSY_AFTER)
            if not done:
                log.info("stopping: waiting for the answers in progress")
                if announce is not None:
                    announce(STOPPING_NOTICE)
            left = deadline - asyncio.get_running_loop().time()
            await asyncio.wait_for(drain, timeout=max(0.0, left))
        except TimeoutError:
            log.warning("stopped with answers still in progress; the next run finishes them")
        finally:
            drain.cancel()  # after a cancellation of run(): quit means now

    async def _all_closed(self) -> None:
        await asyncio.gather(*(self._watch(name, a) for name, a in self._adapters.items()))

    async def _watch(self, name: str, adapter: Adapter) -> None:
        """Return when ``adapter`` has no more input, or note that it stopped for good."""
        try:
            await adapter.wait_closed()
        except Exception as exc:
            # The other adapters keep serving; the process reports this one when it ends.
            self._failed[name] = f"the {name} adapter stopped for good: {exc}"
            log.error("%s", self._failed[name])

    def started_and_running(self) -> bool:
        """Every adapter started and none stopping yet: the bot takes messages."""
        return self._running

    @property
    def failed_adapters(self) -> Mapping[str, str]:
        """The adapters whose platform connection ended for good, each with the sentence
        saying why (empty while every adapter serves); for health checks."""
        return dict(self._failed)


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class StopSignals:
    """What SIGINT (Ctrl-C) and SIGTERM do to a running bot, and the exit status they leave.

    The first signal sets ``stop``: the runner takes no new messages, lets the answers being
    written finish (for up to ``DRAIN_TIMEOUT``) and returns. A second one cancels the task
    that called ``install``: the bot quits at once. With ``interrupt_quits`` (someone chats
    in this terminal, where waiting for an answer to finish is not what Ctrl-C asks) the
    first Ctrl-C already quits at once; SIGTERM still stops cleanly.
    """

    def __init__(self, *, interrupt_quits: bool = False) -> None:
        self.stop = asyncio.Event()
        self.received: list[signal.Signals] = []
        self._interrupt_quits = interrupt_quits
        self._task: asyncio.Task[Any] | None = None
        self._quitting = False

    @property
    def exit_status(self) -> int:
        """``INTERRUPTED`` (130) once Ctrl-C was pressed; 0 after a SIGTERM stop or none."""
        return INTERRUPTED if signal.SIGINT in self.received else 0

    def install(self) -> None:
        """Handle both signals in the running loop, on behalf of the calling task."""
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        self.received.append(sig)
        quit_now = self.stop.is_set() or (sig == signal.SIGINT and self._interrupt_quits)
        self.stop.set()
        # Once: a further signal must not also interrupt the clean-up of the quit.
        if quit_now and not self._quitting and self._task is not None:
            self._quitting = True
            self._task.cancel()


async def run_configured(
    *,
    settings: Settings,
    adapters: Mapping[str, Adapter],
    word_delay: float = 0.0,
    first_token_delay: float = 0.0,
    stop: asyncio.Event | None = None,
    announce: Callable[[str], None] | None = None,
    waiting: Notify | None = None,
) -> None:
    """Run ``adapters`` with everything else built from ``settings`` (see ``BotRunner.run``).

    Knowrithm is checked first (``endpoint_check.verify_endpoint``, which tells ``waiting``
    what it waits for when Knowrithm is slow to answer).
    """
    store = build_store(settings)
    observability = build_observability(settings.observability)
    try:
        await check_store(store, settings=settings)
        async with (
            knowrithm_endpoint(
                settings, word_delay=word_delay, first_token_delay=first_token_delay
            ) as endpoint,
            KnowrithmClient(
                base_url=endpoint.base_url,
                api_key=endpoint.api_key,
                api_secret=endpoint.api_secret,
                timeout=settings.knowrithm.timeout,
                concurrency=settings.conversations.max_concurrent_threads,
                transport_wrapper=observability.knowrithm_transport_wrapper(),
            ) as client,
        ):
            await verify_endpoint(
                client=client,
                base_url=endpoint.base_url,
                agent_id=endpoint.agent_id,
                waiting=waiting,
            )
            runner = BotRunner(
                settings=settings,
                adapters=adapters,
                client=client,
                agent_id=endpoint.agent_id,
                store=store,
                observability=observability,
            )
            await runner.run(stop=stop, announce=announce)
    finally:
        await store.close()
