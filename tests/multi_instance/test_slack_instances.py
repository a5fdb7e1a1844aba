"""Three bot processes behind one Slack Request URL, sharing one Redis and one Knowrithm.

200 messages in 50 channel threads reach the instances round-robin, and Slack delivers each
one twice more (X-Slack-Retry-Num 1 and 2) to the other two instances, one retry at once and
one a little later. The answer to each message shows exactly once, a thread's answers keep
its order, Slack never answers 429, and the calls of the three processes together stay
inside the budgets the Slack adapter declares.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from knowrithm_bots.adapters.slack import SlackAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent, StoredMessage
from knowrithm_bots.core.limits import Budget
from tests.emulators.slack_api import SlackEmulator, events, ids
from tests.faults.process import until
from tests.multi_instance.budgets import Call, over_budgets
from tests.multi_instance.processes import instances
from tests.redis_server import RedisServer
from tests.support import free_port

# About 50 s alone; three bot processes on two shared cores may take longer under a full run.
pytestmark = [pytest.mark.multi_instance, pytest.mark.timeout(180)]

INSTANCES = 3
THREADS = 50
PER_THREAD = 4  # a mention, then replies in its thread that do not mention the bot
CHANNELS = 10  # 20 answers each: about one post a second per channel at the busiest
# A new thread starts every this many seconds, and five threads in a row share a channel: a
# channel is first seen (and looked up with conversations.info, Tier 3, by each instance)
# 3 s after the one before, which that method's 50 a minute allow.
THREAD_EVERY = 0.6
THREADS_PER_CHANNEL_AT_ONCE = 5
LATE_RETRY = (0.5, 2.5)  # the second redelivery comes this many seconds after the first one
ANSWER_WITHIN = 30.0
SETTLE = 2.0  # after the last answer, time for a late duplicate to show
MENTION = f"<@{ids.BOT_USER_ID}>"
PEOPLE = ("U0MULTI001", "U0MULTI002")
# Which platform calls each kind of call the reply engine paces stands for.
METHODS = {
    "post": ("chat.postMessage", "chat.startStream"),
    "edit": ("chat.update",),
    "delete": ("chat.delete",),
    "append": ("chat.appendStream", "chat.stopStream"),
}


def answer_to(question: str, history: Sequence[StoredMessage]) -> str:
    """One word naming the question: it streams as one piece, so the answer is one post.

    An answer that grows after its first post costs a chat.update, and the workspace's 50 a
    minute (Tier 3) would make 200 answers take four minutes.
    """
    return f"Answer-to-{question.split()[-1]}."


def question(thread: int, number: int) -> str:
    return f"question t{thread}q{number}"


@asynccontextmanager
async def slack_instances(
    tmp_path: Path, *, emu: SlackEmulator, server: LocalKnowrithm, redis: RedisServer
) -> AsyncIterator[list[str]]:
    """Start the bot processes; yield the Request URL of each."""
    ports = [free_port() for _ in range(INSTANCES)]
    sections = [
        {
            "bot_token": emu.identity.bot_token,
            "signing_secret": emu.identity.signing_secret,
            "api_base_url": emu.api_url,
            "mode": "http",
            "host": "127.0.0.1",
            "port": port,
            # One post per answer: a stream needs chat.stopStream (about 20 a minute per
            # workspace), and the buttons and the status cost calls of their own (the Stop
            # button a chat.update per answer, where the workspace allows 50 a minute).
            "native_streaming": False,
            "feedback_buttons": False,
            "stop_button": False,
            "thinking_status": "",
        }
        for port in ports
    ]
    async with instances(
        tmp_path, adapter="slack", sections=sections, ports=ports, server=server, redis=redis
    ):
        yield [f"http://127.0.0.1:{port}/slack/events" for port in ports]


def answers_in(emu: SlackEmulator, channel: str, root: str) -> list[str]:
    return [
        m.text
        for m in emu.thread(channel, root)
        if m.user == ids.BOT_USER_ID and m.thread_ts == root
    ]


def calls_of(emu: SlackEmulator, adapter: type[SlackAdapter]) -> Callable[[Budget], list[Call]]:
    """The emulator's successful calls that ``budget`` covers, each charged to its scope."""

    def covered(budget: Budget) -> list[Call]:
        methods = {m for kind in budget.kinds or tuple(METHODS) for m in METHODS[kind]}
        found: list[Call] = []
        for call in emu.calls:
            if call.method not in methods or not call.ok:
                continue
            channel = str(call.params.get("channel") or "")
            keys = {"chat": f"{ids.TEAM_ID}:{channel}", "workspace": ids.TEAM_ID}
            found.append(Call(time=call.time, scope=keys.get(budget.scope, ids.TEAM_ID)))
        return found

    return covered


async def test_three_instances_answer_200_redelivered_events_once_each_in_order(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    rng = random.Random(14)
    agent = ScriptedAgent(answer_to)
    async with (
        LocalKnowrithm(agent=agent) as server,
        SlackEmulator() as emu,
    ):
        for person in PEOPLE:
            emu.add_user(user_id=person, real_name=f"Person {person[-1]}")
        channels = [f"C0MULTI{number:03d}" for number in range(CHANNELS)]
        for channel in channels:
            emu.add_channel(channel_id=channel, name=f"support-{channel[-3:]}")
        # People's messages get timestamps of a second of their own: the emulator numbers
        # the bot's posts on its own, and a shared ts would make two messages one.
        second = int(time.time()) - 1
        stamps = (f"{second}.{number:06d}" for number in itertools.count(1))
        roots: dict[int, tuple[str, str]] = {}
        posts: collections.Counter[str] = collections.Counter()
        statuses: list[int] = []
        retries: list[asyncio.Task[None]] = []

        async with slack_instances(tmp_path, emu=emu, server=server, redis=redis_server) as urls:

            async def deliver(url: str, event: dict[str, Any], event_id: str, retry: int) -> None:
                statuses.append(
                    await emu.deliver_event(
                        url=url,
                        event=event,
                        event_id=event_id,
                        retry_num=retry or None,
                        retry_reason="http_timeout" if retry else None,
                    )
                )

            async def redeliver(
                event: dict[str, Any], event_id: str, first: int, *, late: float
            ) -> None:
                await deliver(urls[(first + 1) % INSTANCES], event, event_id, 1)
                await asyncio.sleep(late)
                await deliver(urls[(first + 2) % INSTANCES], event, event_id, 2)

            async def converse(thread: int) -> None:
                await asyncio.sleep(thread * THREAD_EVERY)
                channel = channels[(thread // THREADS_PER_CHANNEL_AT_ONCE) % CHANNELS]
                person = PEOPLE[thread % len(PEOPLE)]
                root = ""
                for number in range(1, PER_THREAD + 1):
                    text = question(thread, number)
                    ts = next(stamps)
                    if number == 1:
                        event = events.app_mention(
                            text=f"{MENTION} {text}", channel=channel, user=person, ts=ts
                        )
                        root = event["ts"]
                        roots[thread] = (channel, root)
                    else:
                        event = events.thread_reply(
                            text=text, thread_ts=root, channel=channel, user=person, ts=ts
                        )
                    event_id = f"Ev{thread:03d}{number}MULTI"
                    first = (thread + number) % INSTANCES
                    await deliver(urls[first], event, event_id, 0)
                    retries.append(
                        asyncio.create_task(
                            redeliver(event, event_id, first, late=rng.uniform(*LATE_RETRY))
                        )
                    )
                    # The person reads the answer before writing again.
                    shown = await until(
                        lambda r=root, n=number: posts[r] >= n, within=ANSWER_WITHIN
                    )
                    assert shown, f"thread {thread}: no answer to message {number}"

            async def count_posts() -> None:
                # Counted as the calls come, not by reading every thread again and again:
                # this process also serves Knowrithm and Slack, and must keep up.
                seen = 0
                while True:
                    calls = emu.calls[seen:]
                    seen += len(calls)
                    for call in calls:
                        if call.method == "chat.postMessage" and call.ok:
                            posts[str(call.params.get("thread_ts"))] += 1
                    await asyncio.sleep(0.05)

            counting = asyncio.create_task(count_posts())
            started = time.monotonic()
            try:
                await asyncio.gather(*(converse(thread) for thread in range(THREADS)))
            finally:
                counting.cancel()
            await asyncio.gather(*retries)
            await asyncio.sleep(SETTLE)
            elapsed = time.monotonic() - started

        limited = [f"{c.method} ({c.params.get('channel')})" for c in emu.calls if c.status == 429]
        print(f"\n{len(statuses)} deliveries, {len(limited)} 429s, {elapsed:.1f} s")
        assert statuses == [200] * (THREADS * PER_THREAD * 3)
        problems: list[str] = []
        total = 0
        for thread, (channel, root) in sorted(roots.items()):
            shown = answers_in(emu, channel, root)
            total += len(shown)
            wanted = [answer_to(question(thread, n), ()) for n in range(1, PER_THREAD + 1)]
            if shown != wanted:
                problems.append(f"thread {thread}: {shown}")
        assert not problems, "\n".join(problems[:10])
        assert total == THREADS * PER_THREAD
        asked = [
            m.content for conv in server.state.messages.values() for m in conv if m.role == "user"
        ]
        assert len(asked) == THREADS * PER_THREAD, "Knowrithm was asked a question twice"
        assert not limited, f"{len(limited)} calls answered 429: {limited[:10]}"
        overdrawn = over_budgets(SlackAdapter.limits.budgets, calls_of=calls_of(emu, SlackAdapter))
        assert not overdrawn, "\n".join(overdrawn)
