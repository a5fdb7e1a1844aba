"""Answer leases: one writer per answer among instances sharing a store, taken over once the
writer stops renewing."""

from __future__ import annotations

import asyncio
import contextlib

from knowrithm_bots.core.answer_leases import AnswerLeases
from knowrithm_bots.core.store import MemoryStore

KEY = "reply:slack:T1:C1:1.000001"


async def test_a_held_lease_is_refused_to_another_instance_and_given_back_to_its_holder() -> None:
    store = MemoryStore()
    first, second = AnswerLeases(store=store, ttl=5.0), AnswerLeases(store=store, ttl=5.0)
    assert await first.take(KEY)
    assert not await second.take(KEY)
    assert await first.take(KEY)  # the holder's own resumer may ask again


async def test_a_renewed_lease_outlives_its_ttl_and_a_dead_holders_lease_runs_out() -> None:
    store = MemoryStore()
    writer, other = AnswerLeases(store=store, ttl=0.3), AnswerLeases(store=store, ttl=0.3)
    assert await writer.take(KEY)
    keeping = asyncio.create_task(writer.keep(lambda: {KEY}))
    await asyncio.sleep(0.7)
    assert not await other.take(KEY)  # still renewed past two lease lengths
    keeping.cancel()  # the writer dies
    with contextlib.suppress(asyncio.CancelledError):
        await keeping
    await asyncio.sleep(0.4)
    assert await other.take(KEY)


async def test_without_a_ttl_every_take_succeeds_and_nothing_is_stored() -> None:
    store = MemoryStore()
    alone = AnswerLeases(store=store)
    assert await alone.take(KEY)
    assert await AnswerLeases(store=store).take(KEY)
    assert [key async for key, _ in store.scan("answering:")] == []


async def test_an_instance_still_asking_about_an_answer_never_renews_anothers_lease() -> None:
    # The bridge lists an event among those it answers from the moment it arrives, before
    # it asked for the lease: renewing that would steal the writer's lease.
    store = MemoryStore()
    writer, asking = AnswerLeases(store=store, ttl=0.3), AnswerLeases(store=store, ttl=0.3)
    assert await writer.take(KEY)
    tasks = [
        asyncio.create_task(writer.keep(lambda: {KEY})),
        asyncio.create_task(asking.keep(lambda: {KEY})),
    ]
    await asyncio.sleep(0.5)
    assert not await asking.take(KEY)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
