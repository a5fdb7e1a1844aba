"""redis-server restarted under a running store: a sentence during the outage, work again
after it, and with persistence on not one event mark lost."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.store.redis import RedisStore
from tests.redis_server import FULL_PERSISTENCE, started_server

EVENTS = 200


async def test_a_redis_restart_mid_run_loses_no_event_mark(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = started_server(folder=tmp_path, options=FULL_PERSISTENCE)
    store = RedisStore(url=server.url, key_prefix="bot:", timeout=2.0)
    try:
        # Marks being taken while Redis dies: each one acknowledged must survive.
        taken: list[int] = []

        async def mark(n: int) -> None:
            try:
                if await store.add_if_absent(f"event:slack:{n}", value=1, ttl=3600):
                    taken.append(n)
            except StoreError:
                pass

        await asyncio.gather(*(mark(n) for n in range(EVENTS // 2)))
        assert len(taken) == EVENTS // 2
        await store.set("thread:slack:C1:1", value={"conversation_id": "conv-1"})
        writing = asyncio.gather(*(mark(n) for n in range(EVENTS // 2, EVENTS)))
        server.kill()  # kill -9: no shutdown save, only the append-only file
        await writing

        loop = asyncio.get_running_loop()
        with caplog.at_level(logging.WARNING):
            started = loop.time()
            for call in (
                store.get("thread:slack:C1:1"),
                store.add_if_absent("event:slack:new", value=1, ttl=3600),
                store.set("thread:x", value=1),
            ):
                with pytest.raises(StoreError) as caught:
                    await call
                assert str(caught.value).startswith(f"the Redis store at {server.url} ")
                assert "cannot be reached" in str(caught.value) or "answer" in str(caught.value)
            with pytest.raises(StoreError):
                async with store.lock("lock:thread:x", ttl=1):
                    pass
            # Each call fails within the store's timeout, never hangs.
            assert loop.time() - started < 4 * 2.0
            outage = [r for r in caplog.records if r.levelno == logging.ERROR]
            assert len(outage) == 1  # the start of an outage is logged once

            server.start()
            # The same store, no restart of the bot: works again at its next call.
            assert await store.get("thread:slack:C1:1") == {"conversation_id": "conv-1"}
        assert any("works again" in r.getMessage() for r in caplog.records)
        # Every mark acknowledged before and during the crash is still there: a redelivery
        # of any of those events is known as one.
        again = await asyncio.gather(
            *(store.add_if_absent(f"event:slack:{n}", value=1, ttl=3600) for n in taken)
        )
        assert not any(again)
        assert await store.add_if_absent("event:slack:new", value=1, ttl=3600) is True
        async with store.lock("lock:thread:x", ttl=1):
            pass
    finally:
        await store.close()
        server.stop()
