"""Two instances of one Telegram bot, in webhook mode behind one group, sharing one Redis:
together they keep to the group's and the chat's budgets as one bot would (0 429s from the
emulator's flood control); each pacing alone, they overdraw them."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from typing import Any

from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.limits import Budget
from tests.core.streaming.test_shared_budget import most_in_any_window
from tests.emulators.telegram_api import FloodLimits, TelegramEmulator
from tests.emulators.telegram_api._builders import FORUM_ID
from tests.emulators.telegram_api._records import CallRecord
from tests.harness import running_bot
from tests.redis_server import RedisServer
from tests.support import eventually, free_port

SECRET = "shared-budgets_0123"
QUESTIONS = 6  # three to each instance, each in a topic of its own, all at once
CHAT_BUDGET, GROUP_BUDGET = TelegramAdapter.limits.budgets[:2]
PACED = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "deleteMessage", "sendChatAction"}
)


def one_word(question: str, history: object) -> str:
    # One piece: each answer is one sendMessage, so the calls are easy to count.
    return f"Answer-{question.split()[-1]}."


def webhook(port: int) -> dict[str, Any]:
    return {
        "mode": "webhook",
        "webhook_url": f"http://127.0.0.1:{port}/tg-hook",
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
        "webhook_path": "/tg-hook",
        "webhook_secret": SECRET,
        # No Stop button: each answer is one post, then its rating buttons (an edit).
        "stop_button": False,
    }


async def two_instances(
    redis_server: RedisServer, *, shared: bool, instances: int = 2
) -> list[CallRecord]:
    """Ask ``QUESTIONS`` questions in one forum, spread over ``instances``; the paced calls
    the emulator saw in the forum once every question is answered."""
    store = {
        "backend": "redis",
        "url": redis_server.url,
        "key_prefix": redis_server.prefix(),
        "shared_budgets": shared,
    }
    async with AsyncExitStack() as stack:
        # Telegram's flood control, but for one token of the chat's burst: calls sent at
        # once reach the emulator a few ms apart (it serves them one by one, on the loop the
        # bots share), and a call sent a second after the last of them arrives a few ms
        # less than a second after it. The replay below judges by the declared budgets.
        flood = FloodLimits(chat_burst=CHAT_BUDGET.burst + 1)
        emu = await stack.enter_async_context(TelegramEmulator(flood=flood))
        server = await stack.enter_async_context(
            LocalKnowrithm(agent=ScriptedAgent(one_word), word_delay=0.0)
        )
        urls = []
        for _ in range(instances):
            settings = webhook(free_port())
            config = {"token": emu.token, "api_base_url": emu.base_url, **settings}
            adapter = TelegramAdapter.from_config(config=config)
            await stack.enter_async_context(
                running_bot({"telegram": adapter}, server=server, config={"store": store})
            )
            urls.append(settings["webhook_url"])
        mention = f"@{emu.bot.username}"
        for index in range(QUESTIONS):
            update = emu.build.topic_text(text=f"{mention} q{index}", thread_id=100 + index)
            status = await emu.deliver_webhook(
                url=urls[index % instances], update=update, secret_token=SECRET
            )
            assert status == 200

        def answered() -> int:
            return sum(1 for m in emu.messages if m.chat_id == FORUM_ID)

        await eventually(lambda: answered() >= QUESTIONS, within=20, what="every answer")
        # Every call the pacer paces in the forum: posts, edits, rating buttons, typing.
        return [c for c in emu.calls if c.params.get("chat_id") == FORUM_ID and c.method in PACED]


def within(times: list[float], budget: Budget) -> bool:
    rate = budget.rate / budget.per
    # A little of one token forgiven: calls leave paced but arrive a little bunched.
    return all(
        most_in_any_window(times, width) <= budget.burst + rate * width + 0.25
        for width in (0.5, 1.0, 3.0, 6.0, 9.0)
    )


async def test_two_instances_sharing_redis_keep_to_the_group_budget_with_no_429(
    redis_server: RedisServer,
) -> None:
    started = time.monotonic()
    calls = await two_instances(redis_server, shared=True)
    assert [c for c in calls if c.status == 429] == []
    sent = sorted(c.time for c in calls if c.ok)
    assert within(sent, CHAT_BUDGET)
    assert within(sent, GROUP_BUDGET)
    # Paced as one bot with all six questions would be: the chat's burst of three at
    # once, then one a second (the group's burst of five is spent by then).
    posts = sorted(c.time for c in calls if c.ok and c.method == "sendMessage")
    assert len(posts) == QUESTIONS
    assert posts[-1] - posts[0] >= (QUESTIONS - CHAT_BUDGET.burst) * 0.9
    assert time.monotonic() - started < 25


async def test_two_instances_pacing_alone_overdraw_the_chat_and_meet_429s(
    redis_server: RedisServer,
) -> None:
    calls = await two_instances(redis_server, shared=False)
    assert [c for c in calls if c.status == 429] != []
    assert not within(sorted(c.time for c in calls), CHAT_BUDGET)
