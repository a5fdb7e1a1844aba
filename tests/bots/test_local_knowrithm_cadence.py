"""The local server writes an answer's words on a timeline of their own, so answers do not
fall into step with each other as the server's own delays add up."""

from __future__ import annotations

import asyncio
import time

from knowrithm_bots.bots.local_knowrithm.replies import Cadence

EVERY = 0.02
WORDS = 15
BUSY = 0.006  # what writing each word costs a busy server, the loop blocked meanwhile


async def test_the_time_spent_writing_each_word_does_not_add_up() -> None:
    cadence = Cadence(EVERY)
    started = time.monotonic()
    for _ in range(WORDS):
        time.sleep(BUSY)  # noqa: ASYNC251 (blocking the loop is the point)
        await cadence.wait()
    took = time.monotonic() - started
    # A pause after each write would take WORDS * (EVERY + BUSY) = 0.39 s.
    assert WORDS * EVERY <= took < WORDS * EVERY + 0.05


async def test_a_reply_held_back_starts_afresh_rather_than_rushing_its_words() -> None:
    cadence = Cadence(EVERY)
    await cadence.wait()
    await asyncio.sleep(10 * EVERY)  # held, as a test holds replies
    await cadence.wait()  # the word that was due long ago goes at once...
    started = time.monotonic()
    for _ in range(3):
        await cadence.wait()
    # ...and the next ones at the usual pace, not all at once to catch up.
    assert time.monotonic() - started >= 3 * EVERY - 0.002
