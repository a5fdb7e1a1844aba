"""Message links can be rated for ``ratings.link_days``, then say "too old", then are gone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from knowrithm_bots.core.config import parse_settings
from knowrithm_bots.core.errors import ConfigError
from knowrithm_bots.core.message_links import (
    DAY,
    ExpiredLink,
    Link,
    find_link,
    link_messages,
    look_up_link,
    too_old_to_rate,
)
from knowrithm_bots.core.store import MemoryStore, SqliteStore, Store

START = 1_700_000_000.0
LINK = Link(conversation_id="conv-1", message_id="m-1", thread="tg:42")


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "sqlite"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> AsyncIterator[Store]:
    opened: Store = (
        MemoryStore(now=clock)
        if request.param == "memory"
        else SqliteStore(path=tmp_path / "links.sqlite", now=clock)
    )
    yield opened
    await opened.close()


async def _look(store: Store, clock: Clock, message: str = "p-1") -> Link | ExpiredLink | None:
    return await look_up_link(
        store=store, adapter="telegram", platform_message_id=message, now=clock.now
    )


async def test_a_link_is_rateable_then_too_old_then_gone(store: Store, clock: Clock) -> None:
    await link_messages(
        store=store,
        adapter="telegram",
        platform_message_ids=["p-1", "p-2"],
        link=LINK,
        days=30,
        now=clock.now,
    )
    clock.now = START + 30 * DAY - 1
    assert await _look(store, clock) == LINK
    assert await _look(store, clock, "p-2") == LINK

    clock.now = START + 30 * DAY
    assert await _look(store, clock) == ExpiredLink(thread="tg:42")
    # The old call the bridge makes cannot rate it either.
    assert (
        await find_link(store=store, adapter="telegram", platform_message_id="p-1", now=clock.now)
        is None
    )

    clock.now = START + 60 * DAY - 1
    assert await _look(store, clock) == ExpiredLink(thread="tg:42")
    assert await store.purge_expired() == 0

    clock.now = START + 60 * DAY
    assert await _look(store, clock) is None
    assert await store.purge_expired() == 2
    assert [key async for key, _ in store.scan("msg:")] == []


async def test_the_lifetime_is_configurable(store: Store, clock: Clock) -> None:
    await link_messages(
        store=store,
        adapter="slack",
        platform_message_ids=["1.5"],
        link=LINK,
        days=0.5,
        now=clock.now,
    )
    look = look_up_link(store=store, adapter="slack", platform_message_id="1.5", now=START)
    assert await look == LINK
    later = START + DAY / 2
    found = await look_up_link(store=store, adapter="slack", platform_message_id="1.5", now=later)
    assert found == ExpiredLink(thread="tg:42")


async def test_links_stored_before_lifetimes_stay_rateable(store: Store, clock: Clock) -> None:
    await store.set(
        "msg:telegram:old", value={"conversation_id": "c", "message_id": "m", "thread": "t"}
    )
    clock.now = START + 3650 * DAY
    assert await _look(store, clock, "old") == Link(conversation_id="c", message_id="m", thread="t")


async def test_a_message_that_shows_no_answer_is_none(store: Store, clock: Clock) -> None:
    assert await _look(store, clock, "never-linked") is None
    await store.set("msg:telegram:odd", value={"message_id": 3})
    assert await _look(store, clock, "odd") is None


def test_the_too_old_sentence_names_the_window() -> None:
    assert too_old_to_rate(days=30) == (
        "That answer is too old to rate: answers can be rated for 30 days."
    )
    assert too_old_to_rate(days=1).endswith("rated for 1 day.")


def test_link_days_defaults_to_30_and_must_be_positive() -> None:
    assert parse_settings(None, env={}).ratings.link_days == 30
    assert parse_settings({"ratings": {"link_days": 7}}, env={}).ratings.link_days == 7
    with pytest.raises(ConfigError) as caught:
        parse_settings({"ratings": {"link_days": 0}}, env={})
    assert caught.value.key_path == "ratings.link_days"
