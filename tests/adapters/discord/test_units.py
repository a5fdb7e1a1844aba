"""The adapter's pure parts: thread keys, thread names, ordering, measuring."""

from __future__ import annotations

import asyncio

import pytest

from knowrithm_bots.adapters.discord.messages import thread_name
from knowrithm_bots.adapters.discord.ordering import KeyedLocks
from knowrithm_bots.adapters.discord.outbound import BLANK_PLACEHOLDER, measure, render
from knowrithm_bots.adapters.discord.threads import ThreadKey


@pytest.mark.parametrize("kind", ["thread", "dm", "channel"])
def test_thread_keys_round_trip_and_carry_the_application(kind: str) -> None:
    key = ThreadKey.decode(f"discord:42:{kind}:1234567890")
    assert key.encode() == f"discord:42:{kind}:1234567890"
    assert (key.application_id, key.kind, key.channel_id) == (42, kind, 1234567890)


@pytest.mark.parametrize(
    "bad", ["telegram:1:dm:2", "discord:1:dm", "discord:x:dm:2", "discord:1:group:2", ""]
)
def test_foreign_or_broken_thread_keys_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="key"):
        ThreadKey.decode(bad)


def test_thread_names_come_from_the_question() -> None:
    assert thread_name("How do I  reset\nmy password?", author="Alice") == "How do I reset"
    long = thread_name("word " * 40, author="Alice")
    assert len(long) <= 90
    assert long.endswith("…")
    assert thread_name("   ", author="Alice") == "Question from Alice"


def test_rendering_never_sends_blank_content_and_measures_utf16() -> None:
    assert render("  \n") == BLANK_PLACEHOLDER
    assert measure("😀") == 2  # one code point, two UTF-16 units: never under Discord's count
    assert render("| a | b |\n|---|---|\n| 1 | 2 |").startswith("```")


async def test_keyed_locks_keep_arrival_order_and_clean_up() -> None:
    locks = KeyedLocks()
    order: list[int] = []
    release = asyncio.Event()

    async def first() -> None:
        async with locks.hold(1):
            await release.wait()
            order.append(1)

    async def later(n: int) -> None:
        async with locks.hold(1):
            order.append(n)

    tasks = [asyncio.create_task(first()), *(asyncio.create_task(later(n)) for n in (2, 3))]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(*tasks)
    assert order == [1, 2, 3]
    assert len(locks) == 0
