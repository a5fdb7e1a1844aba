"""``python -m benchmarks.real_adapters [--replies N] [--out DIR]``: the engine through the
real adapters.

The whole bot (the streaming engine, the real Telegram, Slack and Discord adapters with the
budgets they ship, python-telegram-bot / slack-bolt / discord.py) answers ``--replies``
questions asked at the same moment, against the project's emulators on 127.0.0.1 and the
local Knowrithm server: Telegram in as many private chats (message drafts, then the
answer), Slack as many mentions in one channel (each answered in its thread through a
chat stream), Discord as many mentions spread over ten channels (each answered in a thread
the adapter opens on it, post + edit). It counts
the platform calls that went through, the 429s, and the replies whose final text is exactly
the agent's answer, and writes ``real_adapters.json`` and ``real_adapters.md`` into
benchmarks/results (or ``--out``). Exits with status 1 when a reply is missing or wrong.
About two to three minutes: the budgets are the real ones, so time is spent waiting on them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from knowrithm_bots.adapters.discord import DiscordAdapter, DiscordConfig
from knowrithm_bots.adapters.slack import SlackAdapter
from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent, StoredMessage
from tests.adapters.slack.helpers import slack_config
from tests.emulators.discord_api import DiscordEmulator, RateLimitRule
from tests.emulators.slack_api import SlackEmulator, events, ids
from tests.emulators.telegram_api import FloodLimits, TelegramEmulator
from tests.emulators.telegram_api._flood import LIMITED_METHODS
from tests.harness import running_bot
from tests.support import eventually

RESULTS = Path(__file__).resolve().parent / "results"
# About 60 words at ~50 words/s (the local server's delay between words): a few seconds of
# streaming per answer, long enough for several refreshes.
WORDS = 60
WORD_DELAY = 0.02
WITHIN = 300.0  # seconds to wait for every answer before calling the run failed
FIRST_USER_ID = 600_000
DISCORD_CHANNELS = 10
# Discord's real ~5 writes per 5 s per channel (the emulator's default test rule is looser).
DISCORD_CHANNEL_RULE = RateLimitRule(limit=5, per=5.0)


def answer_for(question: str) -> str:
    """Plain words (no markup, so every platform shows them as they are)."""
    return f"Answer to {question}: " + " ".join(f"word{n}" for n in range(WORDS)) + "."


def _agent() -> ScriptedAgent:
    def script(question: str, history: Sequence[StoredMessage]) -> str:
        return answer_for(question.split()[-1])

    return ScriptedAgent(script)


@dataclass(frozen=True)
class Outcome:
    """One platform's run."""

    platform: str
    how: str
    replies: int
    correct: int
    calls_ok: dict[str, int]
    limited: dict[str, int]  # the 429s, by method
    seconds: float
    wrong: tuple[str, ...] = ()  # what the wrong replies showed instead

    @property
    def rate_limited(self) -> int:
        return sum(self.limited.values())

    @property
    def calls_per_reply(self) -> float:
        return sum(self.calls_ok.values()) / self.replies


async def _wait(done: Callable[[], int], count: int, drain: Callable[[], Awaitable[None]]) -> None:
    try:
        await eventually(lambda: done() >= count, within=WITHIN, what="answers")
        await asyncio.wait_for(drain(), WITHIN)
    except (AssertionError, TimeoutError):
        pass  # reported as fewer correct replies


def _count(pairs: Iterable[tuple[str, bool]]) -> tuple[dict[str, int], dict[str, int]]:
    """The calls that went through and those refused with a 429, by method."""
    ok: Counter[str] = Counter()
    limited: Counter[str] = Counter()
    for method, went_through in pairs:
        (ok if went_through else limited)[method] += 1
    return dict(sorted(ok.items())), dict(sorted(limited.items()))


async def telegram(replies: int) -> Outcome:
    async with (
        TelegramEmulator(flood=FloodLimits()) as emu,
        LocalKnowrithm(agent=_agent(), word_delay=WORD_DELAY) as server,
    ):
        config = {"token": emu.token, "api_base_url": emu.base_url, "poll_timeout": 1}
        adapter = TelegramAdapter.from_config(config=config)
        async with running_bot({"telegram": adapter}, server=server) as bot:
            started = time.monotonic()
            for index in range(replies):
                user = {"id": FIRST_USER_ID + index, "is_bot": False, "first_name": f"U{index}"}
                emu.push_update(emu.build.private_text(text=f"q{index}", user=user))

            def correct() -> int:
                texts: dict[int, str] = {}
                for message in emu.messages:
                    texts[message.chat_id] = texts.get(message.chat_id, "") + message.text
                return sum(
                    1
                    for index in range(replies)
                    if texts.get(FIRST_USER_ID + index) == answer_for(f"q{index}")
                )

            await _wait(correct, replies, bot.drain)
            seconds = time.monotonic() - started
        calls_ok, limited = _count(
            (c.method, c.status == 200)
            for c in emu.calls
            if c.method in LIMITED_METHODS and c.status in (200, 429)
        )
        return Outcome(
            "telegram",
            f"{replies} private chats (drafts, then the answer)",
            replies,
            correct(),
            calls_ok,
            limited,
            seconds,
        )


SLACK_METHODS = frozenset(
    {"chat.postMessage", "chat.update", "chat.startStream", "chat.appendStream", "chat.stopStream"}
)


async def slack(replies: int) -> Outcome:
    mention = f"<@{ids.BOT_USER_ID}>"
    async with (
        SlackEmulator() as emu,
        LocalKnowrithm(agent=_agent(), word_delay=WORD_DELAY) as server,
    ):
        adapter = SlackAdapter.from_config(config=slack_config(emu, mode="socket"))
        async with running_bot({"slack": adapter}, server=server) as bot:
            await emu.wait_for_socket()
            started = time.monotonic()
            asked = [events.app_mention(text=f"{mention} s{index}") for index in range(replies)]
            acks = [await emu.push_socket_event(event) for event in asked]
            for envelope in acks:
                await emu.wait_for_ack(envelope)
            expected = {event["ts"]: answer_for(f"s{index}") for index, event in enumerate(asked)}

            def correct() -> int:
                texts: dict[str, str] = {}
                for message in emu.bot_messages(ids.CHANNEL_ID):
                    key = message.thread_ts or ""
                    texts[key] = texts.get(key, "") + message.text
                return sum(1 for ts, text in expected.items() if texts.get(ts) == text)

            async def drain() -> None:
                await adapter.settled()
                await bot.drain()

            await _wait(correct, replies, drain)
            seconds = time.monotonic() - started
        shown: dict[str, list[str]] = {}
        for message in emu.bot_messages(ids.CHANNEL_ID):
            shown.setdefault(message.thread_ts or "", []).append(
                f"{len(message.text)} chars, stream {message.stream_state or 'no'}"
            )
        wrong = tuple(
            f"{len(text)} chars expected; shown: {shown.get(ts) or 'nothing'}"
            for ts, text in expected.items()
            if "".join(
                m.text for m in emu.bot_messages(ids.CHANNEL_ID) if (m.thread_ts or "") == ts
            )
            != text
        )
        streamed = sum(1 for m in emu.bot_messages(ids.CHANNEL_ID) if m.is_stream)
        calls_ok, limited = _count(
            (c.method, c.ok)
            for c in emu.calls
            if c.method in SLACK_METHODS and (c.ok or c.error == "ratelimited")
        )
        return Outcome(
            "slack",
            f"{replies} mentions in one channel, answered in threads ({streamed} by chat stream)",
            replies,
            correct(),
            calls_ok,
            limited,
            seconds,
            wrong,
        )


async def discord(replies: int) -> Outcome:
    async with (
        DiscordEmulator(heartbeat_interval_ms=500, rate_limit=DISCORD_CHANNEL_RULE) as emu,
        LocalKnowrithm(agent=_agent(), word_delay=WORD_DELAY) as server,
    ):
        guild = emu.add_guild(name="Benchmark")
        channels = [
            emu.add_text_channel(guild_id=guild.id, name=f"c{n}") for n in range(DISCORD_CHANNELS)
        ]
        asker = emu.add_user(username="asker", global_name="Asker")
        config = DiscordConfig.model_validate(
            {
                "token": emu.token,
                "api_base_url": emu.api_base,
                "gateway_url": str(emu.gateway_url),
                "guild_ready_timeout": 0.05,
                "connect_timeout": 5.0,
            }
        )
        adapter = DiscordAdapter(config=config, identify_delay=0.0)
        async with running_bot({"discord": adapter}, server=server) as bot:
            bot_id = emu.bot_user.id
            started = time.monotonic()
            questions = []
            for index in range(replies):
                channel = channels[index % DISCORD_CHANNELS]
                question = await emu.dispatch_message(
                    channel_id=channel.id, author_id=asker.id, content=f"<@{bot_id}> d{index}"
                )
                questions.append((question.id, channel.id, answer_for(f"d{index}")))

            def correct() -> int:
                # Each answer goes into a thread the adapter opens on the question (its id).
                right = 0
                for question_id, _, text in questions:
                    shown = emu.messages_in(channel_id=question_id)
                    mine = "".join(m.content for m in shown if m.author_id == bot_id)
                    right += mine == text
                return right

            await _wait(correct, replies, bot.drain)
            seconds = time.monotonic() - started
        writes = [c for c in emu.calls if c.method in ("POST", "PATCH") and "/messages" in c.route]
        calls_ok, limited = _count(
            (f"{c.method} {c.route}", c.status < 300) for c in writes if c.status in (200, 201, 429)
        )
        return Outcome(
            "discord",
            f"{replies} mentions over {DISCORD_CHANNELS} channels (each answered in its own "
            "thread, post + edit)",
            replies,
            correct(),
            calls_ok,
            limited,
            seconds,
        )


def _machine() -> str:
    load = " / ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"Measured on {platform.node()} ({platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}), load average {load} at the end of the run."
    )


def _markdown(outcomes: Sequence[Outcome], machine: str) -> str:
    lines = [
        "# The streaming engine through the real adapters",
        "",
        f"{machine} Each agent answer is {WORDS + 3} words streamed at about "
        f"{1 / WORD_DELAY:.0f} words/s by the local Knowrithm server; every question is "
        "asked at the same moment. Calls: the platform's message calls that went through; "
        "429s: those refused.",
        "",
        "| platform | replies | final text exactly right | calls/reply | calls by method "
        "| 429s (by method) | took |",
        "|---|---|---:|---:|---|---:|---:|",
    ]
    for o in outcomes:
        by_method = ", ".join(f"{method} {count}" for method, count in o.calls_ok.items())
        refused = ", ".join(f"{method} {count}" for method, count in o.limited.items())
        lines.append(
            f"| {o.platform} | {o.how} | {o.correct}/{o.replies} | {o.calls_per_reply:.2f} "
            f"| {by_method} | {o.rate_limited}{f' ({refused})' if refused else ''} "
            f"| {o.seconds:.0f} s |"
        )
    notes = [f"* {o.platform}, a wrong reply: {note}" for o in outcomes for note in o.wrong]
    if notes:
        lines.extend(["", *notes])
    return "\n".join(lines) + "\n"


async def _run(replies: int, only: Sequence[str]) -> list[Outcome]:
    runs: dict[str, Callable[[int], Awaitable[Outcome]]] = {
        "telegram": telegram,
        "slack": slack,
        "discord": discord,
    }
    outcomes = []
    for name, run in runs.items():
        if only and name not in only:
            continue
        outcome = await run(replies)
        print(
            f"{name}: {outcome.correct}/{outcome.replies} right, {outcome.rate_limited} 429s, "
            f"{outcome.calls_per_reply:.2f} calls/reply, {outcome.seconds:.0f} s",
            flush=True,
        )
        outcomes.append(outcome)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.real_adapters", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--replies", type=int, default=50, help="concurrent replies each")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the results")
    parser.add_argument(
        "--platform", action="append", default=[], choices=("telegram", "slack", "discord")
    )
    args = parser.parse_args(argv)
    if args.replies < 1:
        parser.error("--replies must be at least 1")
    outcomes = asyncio.run(_run(args.replies, args.platform))
    machine = _machine()
    args.out.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {
        "machine": machine,
        "words_per_answer": WORDS + 3,
        "word_delay_s": WORD_DELAY,
        "results": [
            asdict(o)
            | {"rate_limited": o.rate_limited, "calls_per_reply": round(o.calls_per_reply, 2)}
            for o in outcomes
        ],
    }
    (args.out / "real_adapters.json").write_text(json.dumps(record, indent=2))
    markdown = _markdown(outcomes, machine)
    (args.out / "real_adapters.md").write_text(markdown)
    print(markdown)
    wrong = [o for o in outcomes if o.correct != o.replies]
    for o in outcomes:
        for note in o.wrong:
            print(f"{o.platform}: wrong reply: {note}", file=sys.stderr)
    for o in wrong:
        print(
            f"FAILED: {o.platform}: {o.replies - o.correct} replies missing or wrong",
            file=sys.stderr,
        )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
