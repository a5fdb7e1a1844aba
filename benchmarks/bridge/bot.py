"""The bot process of the benchmark: one run of the whole bridge, its figures on stdout.

``python -m benchmarks.bridge.bot --base-url URL --replies N`` runs BotRunner, the real
Knowrithm client (against the local server the driver started in another process) and the
simulated Telegram of ``platform.py``; every reply is asked at once, each in its own chat
(or ``--groups G``: spread over G group chats); ``--late K`` asks K more once every answer
has been read from Knowrithm, while the platform's pace still holds answers back.
``--soak MINUTES`` instead starts ``--rate`` new threads per second and samples the RSS
every 10 s. ``--client-only`` measures the
Knowrithm client alone: the same questions, read to the end with no bridge. It prints one
JSON object.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import cProfile
import gc
import json
import logging
import re
import resource
import selectors
import ssl
import sys
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from benchmarks.bridge.platform import TelegramLikePlatform, last_word
from knowrithm_bots.bots.runner import BotRunner
from knowrithm_bots.core.adapter import Adapter
from knowrithm_bots.core.config import parse_settings
from knowrithm_bots.core.config.models import Settings
from knowrithm_bots.core.events import Author, Inbound, Origin
from knowrithm_bots.core.knowrithm import KnowrithmClient, session
from knowrithm_bots.core.knowrithm.models import ReplyDelta, ReplyEvent
from knowrithm_bots.core.knowrithm.streaming import Resume
from knowrithm_bots.core.store import SqliteStore, Store
from knowrithm_bots.core.store.base import JSON

AGENT_ID = "local-agent"
# The local server's default credentials, as bare aiohttp sends them (the floors).
LOCAL_AUTH = {"X-API-Key": "local-key", "X-API-Secret": "local-secret"}
EVENT_STREAM = {"Accept": "text/event-stream"}
LATE_EVERY = 0.25
_QUESTION = re.compile(rb"\bq(\d+)\b")
_QUESTION_TEXT = re.compile(r"\bq(\d+)\b")
_THREAD_NUMBER = re.compile(r"(?:#|:c)(\d+)$")


class Probe:
    """What the bot saw, kept in flat arrays so that measuring adds little to the RSS."""

    def __init__(self, *, words: int, replies: int = 0) -> None:
        self.words = words
        # Set once the first ``replies`` answers have been read in full (a chunk per word,
        # and the question's echo).
        self.all_read = asyncio.Event()
        self.all_read_at = replies * (words + 1)
        self.all_read_after = 0.0
        # The process's CPU clock then: what the bot spent streaming, and what after.
        self.all_read_cpu = 0.0
        self.inbound: dict[int, float] = {}
        self.chat_sent: dict[int, float] = {}
        self.deltas: dict[int, array.array[float]] = {}
        self.chunks = 0
        self.last_chunk = 0.0
        # How many earlier answers were not yet shown in full when each late question came.
        self.late_waiting: list[int] = []
        # Per kind of request: when each left the client, and how long until its answer's
        # headers came (for a stream, until it was open).
        self.requests: dict[str, tuple[array.array[float], array.array[float]]] = {}
        # How long each store call took, its wait for the store's thread included.
        self.store_calls: array.array[float] = array.array("d")

    def start_counting(self) -> None:
        """Count requests and store calls from now on only (the warm-up's are dropped)."""
        self.requests.clear()
        del self.store_calls[:]

    def request_timed(self, kind: str, *, left: float, answered: float) -> None:
        times = self.requests.get(kind)
        if times is None:
            times = self.requests[kind] = (array.array("d"), array.array("d"))
        times[0].append(left)
        times[1].append(answered - left)

    def delta_times(self, question: int) -> array.array[float]:
        times = self.deltas.get(question)
        if times is None:
            times = self.deltas[question] = array.array("d", bytes(8 * (self.words + 1)))
        return times


def _request_kind(request: httpx.Request) -> str | None:
    """Which of a question's three requests ``request`` is, if one."""
    path = request.url.path
    if request.method == "POST" and path.endswith("/conversation"):
        return "start"
    if request.method == "GET" and path.endswith("/messages/stream"):
        return "stream"
    if request.method == "POST" and path.endswith("/chat"):
        return "chat"
    return None


class StampChatPosts(httpx.AsyncBaseTransport):
    """Notes when each question's chat POST leaves the client, and when each request of a
    question (conversation start, stream, chat) left and had its answer's headers."""

    def __init__(self, inner: httpx.AsyncBaseTransport, probe: Probe) -> None:
        self._inner = inner
        self._probe = probe

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        left = time.monotonic()
        kind = _request_kind(request)
        if kind == "chat":
            found = _QUESTION.search(request.content)
            if found is not None:
                self._probe.chat_sent.setdefault(int(found.group(1)), left)
        try:
            return await self._inner.handle_async_request(request)
        finally:
            if kind is not None:
                self._probe.request_timed(kind, left=left, answered=time.monotonic())

    async def aclose(self) -> None:
        await self._inner.aclose()


class ProbedClient(KnowrithmClient):
    """The real client; its reply stream notes when each numbered word arrives."""

    probe: Probe

    def stream_reply(
        self, *, conversation_id: str, text: str, resume: Resume | None = None, **more: Any
    ) -> AsyncGenerator[ReplyEvent, None]:
        events = super().stream_reply(
            conversation_id=conversation_id, text=text, resume=resume, **more
        )
        found = _QUESTION_TEXT.search(text)
        if found is None:
            return events
        return self._noted(events, self.probe.delta_times(int(found.group(1))))

    async def _noted(
        self, events: AsyncGenerator[ReplyEvent, None], times: array.array[float]
    ) -> AsyncGenerator[ReplyEvent, None]:
        probe = self.probe
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, ReplyDelta):
                    probe.chunks += 1
                    probe.last_chunk = time.monotonic()
                    if probe.chunks >= probe.all_read_at and not probe.all_read.is_set():
                        probe.all_read.set()
                        probe.all_read_after = probe.last_chunk
                        probe.all_read_cpu = time.process_time()
                    word = last_word(event.text)
                    # Slot 0: the first delta (the question's echo, before any counted word).
                    if word or not times[0]:
                        times[word] = time.monotonic()
                yield event


class TimedStore(SqliteStore):
    """The sqlite store, noting how long each get, set, delete and add took for its caller."""

    def __init__(self, *, path: Path, probe: Probe) -> None:
        super().__init__(path=path)
        self._probe = probe

    @contextlib.contextmanager
    def _timed(self) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self._probe.store_calls.append(time.monotonic() - started)

    async def get(self, key: str) -> JSON:
        with self._timed():
            return await super().get(key)

    async def set(self, key: str, *, value: JSON, ttl: float | None = None) -> None:
        with self._timed():
            await super().set(key, value=value, ttl=ttl)

    async def delete(self, key: str) -> None:
        with self._timed():
            await super().delete(key)

    async def add_if_absent(self, key: str, *, value: JSON, ttl: float | None = None) -> bool:
        with self._timed():
            return await super().add_if_absent(key, value=value, ttl=ttl)


def _client(base_url: str, probe: Probe, *, concurrency: int) -> ProbedClient:
    client = ProbedClient(
        base_url=base_url,
        api_key="local-key",
        api_secret="local-secret",
        concurrency=concurrency,
        timeout=60.0,
        task_timeout=900.0,
        transport_wrapper=lambda inner: StampChatPosts(inner, probe),
    )
    client.probe = probe
    return client


def _inbound(index: int, *, groups: int) -> Inbound:
    chat = f"g{index % groups}" if groups else f"c{index}"
    thread = f"bench:{chat}" if not groups else f"bench:{chat}#{index}"
    return Inbound(
        thread=thread,
        event_id=f"e{index}",
        text=f"q{index}",
        author=Author(id=f"u{index}", display_name=f"User {index}"),
        origin=Origin(adapter="bench", channel_id=chat, is_direct=not groups),
        message_id=f"m{index}",
    )


def rss_mb() -> float:
    """The process's resident memory now, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# How often the loop-lag probe wakes. Its CPU counts as the bot's (6-9 ms per second on the
# benchmark machine with the loop otherwise idle, up to ~20 µs per chunk at 10 chats), but
# waking less often would change what its p99 means: a rare long stall, a garbage
# collection say, would be a larger share of fewer samples.
LAG_EVERY = 0.01


class LoopLag:
    """How late a timer fires: how long anything ready waits for the busy loop.

    The client-alone and floor runs carry one too, unread: each wake-up costs an idle loop
    about as much as an event does (at 10 chats the bot's CPU per chunk was ~20 µs lower
    with it waking every 5 s), and the bridge's share, a difference of the two processes,
    must not hold the instrument's cost."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.times: list[float] = []  # time.monotonic() of each sample
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LAG_EVERY
            await asyncio.sleep(LAG_EVERY)
            self.lags.append(loop.time() - due)
            self.times.append(time.monotonic())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class GcPauses:
    """How long the garbage collector stopped the process while the window was open, by
    generation: a full collection (generation 2) walks every object the answers hold."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._began = 0.0

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self._began)

    def start(self) -> None:
        gc.callbacks.append(self._note)

    def stop(self) -> None:
        gc.callbacks.remove(self._note)

    def figures(self) -> dict[str, float | int | None]:
        every = [pause for pauses in self.pauses.values() for pause in pauses]
        return {
            "total_ms": _ms(sum(every)),
            "longest_ms": _ms(max(every, default=None)),
            "full_collections": len(self.pauses[2]),
            "longest_full_ms": _ms(max(self.pauses[2], default=None)),
        }


class Window:
    """What the process spent from its creation until ``close``: CPU (every thread, as
    ``process_time`` counts it), CPU of this thread alone (the event loop's), wall time and
    turns of the event loop."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.cpu_started = time.process_time()
        self._loop_thread_cpu = time.thread_time()
        self._turns = CountingSelector.turns
        self.seconds = self.cpu = self.loop_thread_cpu = 0.0
        self.turns = 0

    def close(self) -> None:
        self.seconds = time.monotonic() - self.started
        self.cpu = time.process_time() - self.cpu_started
        self.loop_thread_cpu = time.thread_time() - self._loop_thread_cpu
        self.turns = CountingSelector.turns - self._turns

    def figures(self) -> dict[str, float]:
        return {"cpu_s": self.cpu, "seconds": self.seconds, "loop_turns": self.turns}


class CountingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """The loop's selector, counting its waits: one per turn of the event loop.

    A turn costs a system call and the loop's bookkeeping whatever it then runs, so how many
    turns a chunk takes explains much of what it costs: events that arrive together share one.
    """

    turns = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        CountingSelector.turns += 1
        return super().select(timeout)  # type: ignore[no-any-return]


def _run(main: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    with asyncio.Runner(loop_factory=lambda: asyncio.SelectorEventLoop(CountingSelector())) as run:
        return run.run(main)


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings, platform: Adapter, client: KnowrithmClient, store: Store
) -> AsyncIterator[BotRunner]:
    """A BotRunner over ``platform`` running in this loop until the block ends."""
    runner = BotRunner(
        settings=settings,
        adapters={"bench": platform},
        client=client,
        agent_id=AGENT_ID,
        store=store,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(runner.run(stop=stop))
    await runner.started.wait()
    try:
        yield runner
    finally:
        stop.set()
        await running


async def bridge_run(args: argparse.Namespace) -> dict[str, Any]:
    """Ask every question at once and wait until every answer shows its last word."""
    probe = Probe(words=args.words, replies=args.replies)
    platform = TelegramLikePlatform(keep_log=True)
    # Room for the late questions too: without it they would wait for a free slot (the cap
    # doing its job), which is not the wait they measure (for answers held back by the pace).
    concurrency = max(args.replies + args.late, 1)
    with tempfile.TemporaryDirectory() as folder:
        settings = parse_settings(
            {
                "store": {"backend": "sqlite", "path": str(Path(folder) / "bot.sqlite")},
                "conversations": {"max_concurrent_threads": concurrency},
            },
            env={},
        )
        store = TimedStore(path=Path(settings.store.path), probe=probe)
        async with (
            _client(args.base_url, probe, concurrency=concurrency) as client,
            running_bot(settings, platform, client, store) as runner,
        ):
            await _warm_up(args, runner, platform)
            lag = LoopLag()
            lag.start()
            pauses = GcPauses()
            pauses.start()
            profiler = cProfile.Profile() if args.profile else None
            probe.start_counting()
            window = Window()
            started = window.started
            if profiler is not None:
                profiler.enable()
            events = [_inbound(i, groups=args.groups) for i in range(args.replies)]

            async def deliver(index: int, event: Inbound) -> None:
                probe.inbound[index] = time.monotonic()
                await runner.bridge.on_message(event)

            # All at once, as a platform's updates arrive for many chats: delivered one by
            # one, the last would reach the bridge only once the loop has served the first.
            await asyncio.gather(*(deliver(i, e) for i, e in enumerate(events)))
            late = asyncio.create_task(_ask_late(args, probe, platform, deliver))
            expected = args.replies + args.late
            deadline = started + args.within
            reported = started
            while time.monotonic() < deadline:
                complete = sum(1 for w in platform.shown.values() if w >= args.words)
                if complete >= expected:
                    break
                if time.monotonic() - reported >= 10.0:
                    reported = time.monotonic()
                    print(
                        f"  {reported - started:.0f} s: {complete} answered, "
                        f"{len(probe.chat_sent)} asked, {probe.chunks} chunks, "
                        f"{platform.accepted} calls, {platform.rate_limited} 429s",
                        file=sys.stderr,
                        flush=True,
                    )
                await asyncio.sleep(0.2)
            late.cancel()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(runner.bridge.drain(), max(1.0, deadline - time.monotonic()))
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(args.profile)
            window.close()
            pauses.stop()
            await lag.stop()
        await store.close()
    return {**_figures(args, probe, platform, lag, window=window), "gc": pauses.figures()}


async def _warm_up(
    args: argparse.Namespace, runner: BotRunner, platform: TelegramLikePlatform
) -> None:
    """One question answered in full before anything is measured, as ``client_run`` reads
    one reply first: what the bot does once per process (create the HTTP pools, load the
    TLS certificates, import the code paths it first meets) is not a cost per chunk, and
    at 10 chats it would be charged to the bridge, not to the client measured alone."""
    warm = Inbound(
        thread="bench:warm",
        event_id="warm",
        text="warm up",  # not a numbered question: the probe does not count its words
        author=Author(id="warm", display_name="Warm-up"),
        origin=Origin(adapter="bench", channel_id="warm", is_direct=True),
        message_id="warm",
    )
    await runner.bridge.on_message(warm)
    # Once the bridge is done with the question, the answer is shown or never will be: a
    # wrong URL or a server that is down ends the run here, not after ``--within``.
    drained = asyncio.create_task(asyncio.wait_for(runner.bridge.drain(), args.within))
    while not drained.done():
        if platform.shown.get(warm.thread, 0) >= args.words:
            break
        await asyncio.sleep(0.1)
    await drained
    if platform.shown.get(warm.thread, 0) < args.words:
        raise SystemExit(
            f"the warm-up question got no answer from {args.base_url} (the bot's log above "
            "says why); is the local server running there, with the URL ending in /api?"
        )
    platform.start_counting()


async def _ask_late(
    args: argparse.Namespace,
    probe: Probe,
    platform: TelegramLikePlatform,
    deliver: Callable[[int, Inbound], Coroutine[Any, Any, None]],
) -> None:
    """Once every answer has been read from Knowrithm, while the platform's pace still holds
    many back, ask ``args.late`` more questions in chats of their own, one every
    ``LATE_EVERY`` seconds: how soon they reach Knowrithm must not depend on that backlog."""
    await probe.all_read.wait()
    asked: set[asyncio.Task[None]] = set()
    for k in range(args.late):
        index = args.replies + k
        waiting = sum(1 for w in platform.shown.values() if w < args.words)
        waiting += args.replies - len(platform.shown)
        probe.late_waiting.append(waiting)
        task = asyncio.create_task(deliver(index, _inbound(index, groups=args.groups)))
        asked.add(task)
        task.add_done_callback(asked.discard)
        await asyncio.sleep(LATE_EVERY)


def _question_of(thread: str) -> int | None:
    """The question number of ``bench:c<i>`` or ``bench:g<k>#<i>``; None for the warm-up's."""
    found = _THREAD_NUMBER.search(thread)
    return int(found.group(1)) if found else None


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _figures(
    args: argparse.Namespace,
    probe: Probe,
    platform: TelegramLikePlatform,
    lag: LoopLag,
    *,
    window: Window,
) -> dict[str, Any]:
    started = window.started
    complete = sum(1 for w in platform.shown.values() if w >= args.words)
    to_chat = [
        probe.chat_sent[i] - probe.inbound[i]
        for i in probe.inbound
        if i in probe.chat_sent and i < args.replies
    ]
    sends = [probe.chat_sent[i] for i in probe.chat_sent if i < args.replies]
    all_sent = max(sends, default=started)
    after_sends = [v for v, at in zip(lag.lags, lag.times, strict=True) if at > all_sent]
    late_to_chat = [
        probe.chat_sent[i] - probe.inbound[i]
        for i in probe.inbound
        if i in probe.chat_sent and i >= args.replies
    ]
    first_posts, all_calls = [], []
    seen: set[str] = set()
    for call in platform.log:
        question = _question_of(call.thread)
        times = probe.deltas.get(question) if question is not None else None
        if times is None:
            continue
        if call.kind == "post" and call.thread not in seen and times[0]:
            first_posts.append(call.at - times[0])
        seen.add(call.thread)
        if times[call.word]:
            all_calls.append(call.at - times[call.word])
    return {
        "replies": args.replies,
        "groups": args.groups,
        "words": args.words,
        "late": args.late,
        "complete": complete,
        "errors": args.replies + args.late - complete,
        "seconds": window.seconds,
        # Until the first ``replies`` answers were read (the late questions' come after).
        "streams_done_s": (probe.all_read_after or probe.last_chunk) - started,
        "chunks": probe.chunks,
        "cpu_s": window.cpu,
        # Until the first answers were all read from Knowrithm; the rest went on the late
        # questions and on showing what the platform's pace had held back.
        "cpu_until_streams_read_s": (probe.all_read_cpu or time.process_time())
        - window.cpu_started,
        # The rest of ``cpu_s`` ran in other threads: the store's (sqlite) worker.
        "loop_thread_cpu_s": window.loop_thread_cpu,
        "loop_turns": window.turns,
        "platform_sim_cpu_s": platform.sim_cpu,
        "peak_rss_mb": peak_rss_mb(),
        "platform_calls": platform.accepted,
        # Typing notices the platform took (judged by its budgets, not in the calls above),
        # and the 429s (all calls) of which typing notices met some.
        "platform_typing_calls": platform.typings,
        "platform_429s": platform.rate_limited,
        "platform_typing_429s": platform.typing_rate_limited,
        "platform_429s_by_limit": dict(platform.rate_limited_by),
        "inbound_to_chat_ms": {"p50": _ms(_pct(to_chat, 0.5)), "p99": _ms(_pct(to_chat, 0.99))},
        "late_to_chat_ms": {
            "p50": _ms(_pct(late_to_chat, 0.5)),
            "p99": _ms(_pct(late_to_chat, 0.99)),
            "max": _ms(max(late_to_chat, default=None)),
            "answers_waiting_min": min(probe.late_waiting, default=0),
            "answers_waiting_max": max(probe.late_waiting, default=0),
        },
        "delta_to_call_ms": {
            "first_post_p50": _ms(_pct(first_posts, 0.5)),
            "first_post_p99": _ms(_pct(first_posts, 0.99)),
            "all_p50": _ms(_pct(all_calls, 0.5)),
            "all_p99": _ms(_pct(all_calls, 0.99)),
        },
        "requests": _requests(probe, started=started),
        "store_call_ms": _store_calls(probe),
        "loop_lag_ms": {
            "p50": _ms(_pct(lag.lags, 0.5)),
            "p99": _ms(_pct(lag.lags, 0.99)),
            "max": _ms(max(lag.lags, default=None)),
            # Once the first ``replies`` questions had all been sent: the steady streaming,
            # without the burst of conversation starts.
            "p99_after_sends": _ms(_pct(after_sends, 0.99)),
        },
    }


def _requests(probe: Probe, *, started: float) -> dict[str, dict[str, Any]]:
    """Per kind of request made once measuring began: how many, when they left (s after the
    first question came) and how long each took to be answered (ms), p50 and p99."""
    figures: dict[str, dict[str, Any]] = {}
    for kind, (left, took) in probe.requests.items():
        lefts = [at - started for at in left]
        tooks = list(took)
        figures[kind] = {
            "count": len(tooks),
            "left_s_p50": _round(_pct(lefts, 0.5)),
            "left_s_p99": _round(_pct(lefts, 0.99)),
            "took_ms_p50": _ms(_pct(tooks, 0.5)),
            "took_ms_p99": _ms(_pct(tooks, 0.99)),
        }
    return figures


def _store_calls(probe: Probe) -> dict[str, Any]:
    calls = list(probe.store_calls)
    return {
        "count": len(calls),
        "p50": _ms(_pct(calls, 0.5)),
        "p99": _ms(_pct(calls, 0.99)),
        "max": _ms(max(calls, default=None)),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000.0, 3)


async def client_run(args: argparse.Namespace) -> dict[str, Any]:
    """The Knowrithm client alone: start the conversations, read one reply to warm it up,
    then read every reply at once.

    The warm-up reply is not measured: what the client does once per process (load the TLS
    certificates, create its pools and sessions, import the HTTP code paths it first
    meets) is not a cost per message, and at 10 replies it would add ~5-10 ms to each."""
    probe = Probe(words=args.words)
    asked = args.replies + args.late
    async with _client(args.base_url, probe, concurrency=max(asked, 1)) as client:
        conversations = [
            await client.start_conversation(agent_id=AGENT_ID, entity_type="USER")
            for _ in range(asked + 1)
        ]
        warm = KnowrithmClient.stream_reply(
            client, conversation_id=conversations.pop().id, text="warm up"
        )
        async with contextlib.aclosing(warm):
            async for _ in warm:
                pass

        async def ask(index: int, conversation_id: str) -> None:
            stream = KnowrithmClient.stream_reply(
                client, conversation_id=conversation_id, text=f"q{index}"
            )
            async with contextlib.aclosing(stream):
                async for event in stream:
                    if isinstance(event, ReplyDelta):
                        probe.chunks += 1

        window = await _in_two_waves(args, ask, [c.id for c in conversations])
    return {"replies": asked, "chunks": probe.chunks, **window.figures()}


async def _in_two_waves(
    args: argparse.Namespace,
    ask: Callable[[int, str], Coroutine[Any, Any, None]],
    conversations: list[str],
) -> Window:
    """The first ``args.replies`` questions spread over ``args.stagger`` seconds, then, once
    their answers are read, the ``args.late`` others one every ``LATE_EVERY`` seconds: as the
    bot is asked them. Measured by a ``Window``, with the loop-lag probe the bot carries.

    The late answers are read while little else streams, so each event wakes an idle loop
    and costs more than one read among many; a client measured without them would be
    charged at the busy rate for answers the bot reads at the idle one."""
    window, lag = Window(), LoopLag()
    lag.start()

    async def spread(index: int, conversation: str) -> None:
        await asyncio.sleep(args.stagger * index / max(1, args.replies))
        await ask(index, conversation)

    first = conversations[: args.replies]
    await asyncio.gather(*(spread(index, conversation) for index, conversation in enumerate(first)))
    late: list[asyncio.Task[None]] = []
    for index in range(args.replies, len(conversations)):
        late.append(asyncio.create_task(ask(index, conversations[index])))
        await asyncio.sleep(LATE_EVERY)
    await asyncio.gather(*late)
    window.close()
    await lag.stop()
    return window


async def floor_run(args: argparse.Namespace) -> dict[str, Any]:
    """The floor under the client: the same questions sent and their streams read by bare
    aiohttp, events only split apart and counted (no parsing, matching or timeouts).

    What the client costs beyond this is ours; what this costs is the event loop's and
    aiohttp's, which no client on this runtime avoids."""
    probe = Probe(words=args.words)
    asked = args.replies + args.late
    async with _client(args.base_url, probe, concurrency=1) as client:
        conversations = [
            (await client.start_conversation(agent_id=AGENT_ID, entity_type="USER")).id
            for _ in range(asked + 1)
        ]
    connector = aiohttp.TCPConnector(limit=2 * (asked + 1))
    async with aiohttp.ClientSession(headers=LOCAL_AUTH, connector=connector) as http:
        chunks = 0

        async def ask(index: int, conversation_id: str) -> None:
            nonlocal chunks
            base = f"{args.base_url}/v1/conversation/{conversation_id}"
            async with http.get(f"{base}/messages/stream", headers=EVENT_STREAM) as stream:
                async with http.post(f"{base}/chat", json={"message": f"q{index}"}) as sent:
                    await sent.read()
                pending = b""
                async for data in stream.content.iter_any():
                    pending += data
                    *events, pending = pending.split(b"\n\n")
                    for event in events:
                        if b"event: chat_chunk" in event:
                            chunks += 1
                        elif b"event: chat_response" in event:
                            return

        await ask(0, conversations.pop())  # warm-up, as the client's
        chunks = 0
        window = await _in_two_waves(args, ask, conversations)
    return {"replies": asked, "chunks": chunks, **window.figures()}


async def starts_floor_run(args: argparse.Namespace) -> dict[str, Any]:
    """The floor under the starts: ``args.replies`` questions at once, each making with bare
    aiohttp only the three requests the protocol needs before a question goes (start the
    conversation, open its stream, send), in the order it needs them, and nothing else: no
    store, no retries, no bridge, no platform.

    How soon these questions leave is what the server, on this host, allows any bot; what the
    bot takes beyond it is its own."""
    probe = Probe(words=args.words)
    # The bot's two pools (calls and streams) hold a connection per concurrent thread each.
    connector = aiohttp.TCPConnector(limit=2 * (args.replies + 1))
    # A refused request fails the run: a floor made of errors would flatter nobody but lie.
    session = aiohttp.ClientSession(headers=LOCAL_AUTH, connector=connector, raise_for_status=True)
    async with session as http:

        def timed(kind: str, left: float) -> None:
            probe.request_timed(kind, left=left, answered=time.monotonic())

        async def ask(index: int) -> None:
            left = time.monotonic()
            start = {"agent_id": AGENT_ID, "entity_type": "user"}
            async with http.post(f"{args.base_url}/v1/conversation", json=start) as made:
                timed("start", left)
                body = await made.json()
            conversation_id = body.get("conversation", body)["id"]
            base = f"{args.base_url}/v1/conversation/{conversation_id}"
            left = time.monotonic()
            async with http.get(f"{base}/messages/stream", headers=EVENT_STREAM) as stream:
                timed("stream", left)
                left = probe.chat_sent[index] = time.monotonic()
                async with http.post(f"{base}/chat", json={"message": f"q{index}"}) as sent:
                    timed("chat", left)
                    await sent.read()
                async for line in stream.content:
                    if line.startswith(b"event: chat_response"):
                        return
            raise RuntimeError(f"the stream of question {index} ended without its answer")

        await ask(-1)  # warm-up, as the bot's
        probe.start_counting()
        window = Window()
        await asyncio.gather(*(ask(index) for index in range(args.replies)))
        window.close()
    to_chat = [probe.chat_sent[index] - window.started for index in range(args.replies)]
    return {
        "replies": args.replies,
        **window.figures(),
        "inbound_to_chat_ms": {"p50": _ms(_pct(to_chat, 0.5)), "p99": _ms(_pct(to_chat, 0.99))},
        "requests": _requests(probe, started=window.started),
    }


def _send_through_httpx() -> None:
    """Give both of the client's pools httpx's own transport (httpcore, h11 and anyio), as
    they had before ``AiohttpTransport``, for an A/B comparison."""

    def pooled(*, connections: int, tls: ssl.SSLContext | None = None) -> httpx.AsyncBaseTransport:
        return httpx.AsyncHTTPTransport(
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            verify=tls if tls is not None else True,
        )

    session.AiohttpTransport = pooled  # type: ignore[assignment,misc]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--replies", type=int, default=10)
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--groups", type=int, default=0)
    parser.add_argument("--late", type=int, default=0, help="questions asked after the rest")
    parser.add_argument("--within", type=float, default=900.0)
    parser.add_argument("--profile", default=None)
    parser.add_argument("--client-only", action="store_true")
    parser.add_argument("--floor", action="store_true", help="bare aiohttp, no client")
    parser.add_argument(
        "--floor-starts", action="store_true", help="bare aiohttp: start, stream, send; no bot"
    )
    parser.add_argument("--httpx", action="store_true")
    parser.add_argument("--stagger", type=float, default=0.0)
    parser.add_argument("--soak", type=float, default=None, metavar="MINUTES")
    parser.add_argument("--rate", type=float, default=5.0)
    parser.add_argument("--idle-minutes", type=float, default=None)
    parser.add_argument("--trace-memory", action="store_true", help="soak: tracemalloc growth")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="bot: %(levelname)s %(name)s: %(message)s")
    if args.httpx:
        _send_through_httpx()
    if args.soak is not None:
        from benchmarks.bridge.soak import soak_run

        result = _run(soak_run(args))
    elif args.floor:
        result = _run(floor_run(args))
    elif args.floor_starts:
        result = _run(starts_floor_run(args))
    elif args.client_only:
        result = _run(client_run(args))
    else:
        result = _run(bridge_run(args))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
