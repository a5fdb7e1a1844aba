"""The pacer counts the real adapter's calls, 429s and budget levels per adapter and scope."""

from __future__ import annotations

from knowrithm_bots.core.observability.prometheus import PrometheusMetrics
from knowrithm_bots.core.streaming import Pacer, ReplyStream
from knowrithm_bots.core.testing.conformance import EventRecorder
from tests.adapters.telegram.support import adapter_for
from tests.emulators.telegram_api import FloodLimits, TelegramEmulator
from tests.observability_support import sample
from tests.support import eventually


async def test_calls_429s_and_retry_after_are_counted_per_budget_scope() -> None:
    metrics = PrometheusMetrics()
    pacer = Pacer(metrics=metrics)
    async with TelegramEmulator(flood=FloodLimits.off()) as emu:
        adapter = adapter_for(emu)
        sink = EventRecorder()
        await adapter.start(sink=sink)
        try:
            emu.push_update(emu.build.private_text(text="hello"))
            await eventually(lambda: bool(sink.messages), within=5, what="the message")
            thread = sink.messages[0].thread
            emu.fail_next(
                method="sendMessage",
                error_code=429,
                description="Too Many Requests: retry after 1",
                retry_after=1,
            )
            for text in ("first answer", "second answer"):
                reply = ReplyStream(adapter=adapter, thread=thread, pacer=pacer)
                await reply.finish(text=text)
        finally:
            await adapter.stop()
    assert [call.status for call in emu.calls_of("sendMessage")] == [429, 200, 200]
    text = metrics.exposition().decode()
    keys = adapter.budget_keys(thread=thread)
    scopes = {b.scope for b in adapter.limits.budgets if b.charges("post") and b.scope in keys}
    assert {"chat", "bot"} <= scopes  # a private chat: no group budget applies
    for scope in scopes:
        labels = {"adapter": "telegram", "scope": scope}
        # Three calls answered, one of them with a 429 asking for a second.
        assert sample(text, "knowrithm_bots_platform_calls_total", **labels) == 3
        assert sample(text, "knowrithm_bots_platform_rate_limited_total", **labels) == 1
        assert sample(text, "knowrithm_bots_platform_retry_after_seconds_total", **labels) >= 1
    # The 429 slowed the chat's budget down, and two posts spent some of its burst.
    chat = {"adapter": "telegram", "scope": "chat"}
    assert sample(text, "knowrithm_bots_budget_rate_ratio", **chat) < 1
    assert 0 <= sample(text, "knowrithm_bots_budget_headroom_ratio", **chat) < 1
