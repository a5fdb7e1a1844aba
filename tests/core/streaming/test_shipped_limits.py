"""The shipped adapters' limits: a final text is held back by nothing but the budgets."""

from __future__ import annotations

import pytest

from knowrithm_bots.adapters.discord.adapter import DiscordAdapter
from knowrithm_bots.adapters.slack.adapter import SlackAdapter
from knowrithm_bots.adapters.telegram.adapter import TelegramAdapter
from knowrithm_bots.core.adapter import Limits
from knowrithm_bots.core.streaming import Pacer, ReplyStream
from knowrithm_bots.core.testing import FakePlatformAdapter, ManualClock
from tests.core.streaming.drive import drive

ONE_WAY = 0.05


@pytest.mark.parametrize(
    "limits",
    [TelegramAdapter.limits, SlackAdapter.limits, DiscordAdapter.limits],
    ids=["telegram", "slack", "discord"],
)
async def test_a_final_text_right_after_a_refresh_shows_at_once(limits: Limits) -> None:
    clock = ManualClock()
    fake = FakePlatformAdapter(clock=clock, limits=limits, latency=lambda: ONE_WAY)
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock, pacer=Pacer(clock=clock))
    ended_at = 0.0

    async def script() -> None:
        nonlocal ended_at
        reply.feed("w0")
        index = 0
        while not any(c.kind == "edit" for c in fake.calls):
            index += 1
            await clock.sleep(0.02)
            reply.feed(f" w{index}")
        reply.feed(" last")  # generation ends just after the first refresh went out
        ended_at = clock.monotonic()
        await reply.finish(text=reply.text)

    await drive(clock, script())
    refresh, final = [c for c in fake.calls if c.kind == "edit"]
    assert final.text is not None and final.text.endswith(" last")
    # Sent as soon as the refresh came back: no per-message interval held it (the budgets
    # had room), so it shows within a round trip of the end.
    assert final.at - ended_at <= 2 * ONE_WAY + 1e-9
    assert final.at - refresh.at == pytest.approx(2 * ONE_WAY)
