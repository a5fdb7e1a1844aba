"""The operators' listener of a running bot: /healthz, /readyz and /metrics over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.config import parse_settings
from knowrithm_bots.core.errors import ConfigError
from knowrithm_bots.core.observability import NO_METRICS
from knowrithm_bots.core.observability.listener import METRICS_MISSING, ObservabilityListener
from knowrithm_bots.core.observability.readiness import Readiness
from knowrithm_bots.core.store import MemoryStore
from tests.adapters.telegram.support import adapter_for, answered
from tests.emulators.telegram_api import ALICE, BOB, FloodLimits, TelegramEmulator
from tests.harness import running_bot
from tests.observability_support import probe, sample, scrape

LISTEN: dict[str, Any] = {
    "observability": {"listen": "127.0.0.1:0", "readiness_cache_seconds": 0.05}
}
TOO_MANY = "Too Many Requests: retry after 1"


def _url(bot: Any) -> str:
    listener = bot.runner.listener
    assert listener is not None and listener.url is not None
    return str(listener.url)


async def test_readyz_follows_knowrithm_and_healthz_stays_up() -> None:
    async with (
        TelegramEmulator(flood=FloodLimits.off()) as emu,
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu)}, server=server, config=LISTEN) as bot,
    ):
        url = _url(bot)
        assert await probe(url, "/healthz") == (200, {"status": "up"})
        status, body = await probe(url, "/readyz")
        assert (status, body["not_ready"]) == (200, [])
        assert set(body["checks"]) == {"adapter:telegram", "knowrithm", "store"}

        server.faults.fail_next(path_contains="/health", status=503, count=10_000)
        ready: list[Any] = []

        async def not_ready() -> bool:
            ready[:] = await probe(url, "/readyz")
            return ready[0] == 503

        await _until(not_ready, what="/readyz to say 503")
        assert ready[1]["not_ready"] == ["knowrithm"]
        assert ready[1]["checks"]["adapter:telegram"] == "ok"
        assert (await probe(url, "/healthz"))[0] == 200
        metrics = await scrape(url)
        assert sample(metrics, "knowrithm_bots_knowrithm_errors_total", kind="server") >= 1

        server.faults.clear()

        async def ready_again() -> bool:
            return (await probe(url, "/readyz"))[0] == 200

        await _until(ready_again, what="/readyz to say 200 again")


async def _answer_two_with_a_429(emu: TelegramEmulator) -> tuple[str, str]:
    """/metrics before and after two answers, the first post of which met a 429."""
    async with (
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu)}, server=server, config=LISTEN) as bot,
    ):
        url = _url(bot)
        before = await scrape(url)
        emu.fail_next(method="sendMessage", error_code=429, description=TOO_MANY, retry_after=1)
        emu.push_update(emu.build.private_text(text="hello", user=ALICE))
        emu.push_update(emu.build.private_text(text="hi there", user=BOB))
        await answered(bot, 2)
        after = await scrape(url)
    assert 429 in [call.status for call in emu.calls_of("sendMessage")]
    return before, after


async def test_knowrithm_requests_are_timed_while_a_telegram_bot_answers() -> None:
    async with TelegramEmulator(flood=FloodLimits.off()) as emu:
        before, after = await _answer_two_with_a_429(emu)
    requests = "knowrithm_bots_knowrithm_request_seconds_count"
    assert sample(after, requests, method="POST") > sample(before, requests, method="POST")
    assert sample(after, requests, method="GET") >= sample(before, requests, method="GET")
    assert sample(after, "knowrithm_bots_knowrithm_errors_total") == 0


async def test_platform_calls_429s_and_answer_times_move_while_a_telegram_bot_answers() -> None:
    async with TelegramEmulator(flood=FloodLimits.off()) as emu:
        _, after = await _answer_two_with_a_429(emu)
    telegram = {"adapter": "telegram", "scope": "chat"}
    assert sample(after, "knowrithm_bots_platform_calls_total", **telegram) >= 2
    assert sample(after, "knowrithm_bots_platform_rate_limited_total", **telegram) == 1
    assert sample(after, "knowrithm_bots_platform_retry_after_seconds_total", **telegram) >= 1
    assert 0 <= sample(after, "knowrithm_bots_budget_headroom_ratio", **telegram) <= 1
    assert sample(after, "knowrithm_bots_budget_rate_ratio", **telegram) < 1
    # Both answers were timed, and none is left in progress or queued.
    answers = {"adapter": "telegram"}
    assert sample(after, "knowrithm_bots_time_to_first_text_seconds_count", **answers) == 2
    assert sample(after, "knowrithm_bots_time_to_final_text_seconds_count", **answers) == 2
    assert sample(after, "knowrithm_bots_time_to_final_text_seconds_sum", **answers) >= 1
    assert sample(after, "knowrithm_bots_answers_in_progress", **answers) == 0
    assert "knowrithm_bots_queued_messages 0.0" in after


async def test_without_listen_nothing_is_served_or_recorded() -> None:
    async with (
        TelegramEmulator(flood=FloodLimits.off()) as emu,
        LocalKnowrithm() as server,
        running_bot({"telegram": adapter_for(emu)}, server=server) as bot,
    ):
        assert bot.runner.listener is None
        assert bot.runner.observability.metrics is NO_METRICS
        assert bot.runner.observability.knowrithm_transport() is None


async def test_metrics_without_prometheus_client_say_what_to_install() -> None:
    async def healthy() -> bool:
        return True

    readiness = Readiness(
        adapters={},
        knowrithm_health=healthy,
        store=MemoryStore(),
        started=lambda: True,
        failed=dict,
    )
    listener = ObservabilityListener(host="127.0.0.1", port=0, readiness=readiness, exposition=None)
    await listener.start()
    try:
        assert listener.url is not None
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"{listener.url}/metrics")
        assert (answer.status_code, answer.text.strip()) == (501, METRICS_MISSING)
        assert await probe(listener.url, "/readyz") == (
            200,
            {"ready": True, "not_ready": [], "checks": {"knowrithm": "ok", "store": "ok"}},
        )
    finally:
        await listener.stop()


async def test_a_taken_port_is_one_sentence_naming_the_key() -> None:
    settings = parse_settings({"observability": {"listen": "127.0.0.1:0"}}, env={})
    assert settings.observability.port == 0

    async def healthy() -> bool:
        return True

    readiness = Readiness(
        adapters={},
        knowrithm_health=healthy,
        store=MemoryStore(),
        started=lambda: True,
        failed=dict,
    )
    first = ObservabilityListener(host="127.0.0.1", port=0, readiness=readiness, exposition=None)
    await first.start()
    try:
        assert first.port is not None
        second = ObservabilityListener(
            host="127.0.0.1", port=first.port, readiness=readiness, exposition=None
        )
        with pytest.raises(ConfigError, match=r"check observability\.listen$") as caught:
            await second.start()
        assert caught.value.key_path == "observability.listen"
    finally:
        await first.stop()


async def _until(check: Callable[[], Awaitable[bool]], *, what: str, within: float = 8.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
