"""Conformance checks of an adapter's declared thread-key codec against the keys it delivers."""

from __future__ import annotations

import pytest

from knowrithm_bots.core.testing.conformance.base import A, B, ConformanceBase, fail
from knowrithm_bots.core.testing.conformance.codec import (
    codec_problem,
    foreign_key_problem,
    foreign_keys,
)
from knowrithm_bots.core.testing.conformance.harness import AdapterHarness
from knowrithm_bots.core.testing.conformance.texts import marker


class ThreadKeyChecks(ConformanceBase):
    """``thread_codec`` reads back every key the adapter makes and refuses every other.

    Every check that runs the adapter also round-trips the keys it saw (``_running``); this
    one makes sure there are keys from each place, and tries keys that are not the adapter's.
    """

    async def test_thread_keys_round_trip_through_the_codec(self, harness: AdapterHarness) -> None:
        adapter = harness.adapter
        cls = type(adapter)
        codec = cls.thread_codec
        if codec is None:
            pytest.skip("the adapter declares no thread_codec")
        problem = codec_problem(codec)
        if problem is not None:
            fail(problem)
        places = (A, B) if harness.features.places >= 2 else (A,)
        threads: list[str] = []
        async with self._running(harness) as recorder:
            for place in places:
                event = await self._receive(harness, recorder, place=place, text=marker("codec"))
                await adapter.reply_done(thread=event.thread, message_ids=[])
                threads.append(event.thread)
        problems = [
            found
            for thread in threads
            for key, what in foreign_keys(name=cls.name, thread=thread).items()
            if (found := foreign_key_problem(codec=codec, key=key, what=what)) is not None
        ]
        if problems:
            fail("; ".join(dict.fromkeys(problems)))
