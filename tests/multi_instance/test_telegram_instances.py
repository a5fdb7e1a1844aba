"""Three bot processes behind one Telegram webhook, sharing one Redis and one Knowrithm.

60 messages from 15 people reach the instances round-robin; Telegram delivers each update
again (the same update_id) to the other two instances, as a retry through a load balancer
would. Each message is answered exactly once, a chat's answers keep its order, Telegram
never answers 429, and the calls of the three processes stay inside the adapter's budgets.
"""

from __future__ import annotations

import asyncio
import collections
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent, StoredMessage
from knowrithm_bots.core.limits import Budget
from tests.emulators.telegram_api import TelegramEmulator
from tests.faults.process import until
from tests.multi_instance.budgets import Call, over_budgets
from tests.multi_instance.processes import instances
from tests.redis_server import RedisServer
from tests.support import free_port

pytestmark = pytest.mark.multi_instance

INSTANCES = 3
PEOPLE = 15
PER_CHAT = 4
CHAT_EVERY = 0.3  # a new person starts writing every this many seconds
LATE_RETRY = (0.3, 1.5)
ANSWER_WITHIN = 20.0
SETTLE = 1.5
SECRET = "multi-instance-secret"
# The calls Telegram's flood control counts (the emulator's too).
LIMITED = ("sendMessage", "editMessageText", "sendMessageDraft")


def answer_to(question: str, history: Sequence[StoredMessage]) -> str:
    """One word naming the question: one sendMessage per answer."""
    return f"Answer-to-{question.split()[-1]}."


def person(number: int) -> dict[str, Any]:
    return {"id": 5000 + number, "is_bot": False, "first_name": f"Person{number}"}


async def test_three_webhook_instances_answer_60_redelivered_updates_once_each_in_order(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    rng = random.Random(14)
    async with (
        LocalKnowrithm(agent=ScriptedAgent(answer_to)) as server,
        TelegramEmulator() as emu,
    ):
        ports = [free_port() for _ in range(INSTANCES)]
        urls = [f"http://127.0.0.1:{port}/tg-hook" for port in ports]
        sections = [
            {
                "token": emu.token,
                "api_base_url": emu.base_url,
                "mode": "webhook",
                # What Telegram is told: the load balancer, here the first instance.
                "webhook_url": urls[0],
                "webhook_listen": "127.0.0.1",
                "webhook_port": port,
                "webhook_path": "/tg-hook",
                "webhook_secret": SECRET,
                # One sendMessage per answer: no draft, no buttons to add or take away.
                "stream_drafts": False,
                "feedback_buttons": False,
                "stop_button": False,
            }
            for port in ports
        ]
        statuses: list[int] = []
        retries: list[asyncio.Task[None]] = []
        sent: collections.Counter[int] = collections.Counter()

        async with instances(
            tmp_path,
            adapter="telegram",
            sections=sections,
            ports=ports,
            server=server,
            redis=redis_server,
        ):

            async def deliver(url: str, update: dict[str, Any]) -> None:
                statuses.append(
                    await emu.deliver_webhook(url=url, update=update, secret_token=SECRET)
                )

            async def redeliver(update: dict[str, Any], first: int, *, late: float) -> None:
                await deliver(urls[(first + 1) % INSTANCES], update)
                await asyncio.sleep(late)
                await deliver(urls[(first + 2) % INSTANCES], update)

            async def converse(number: int) -> None:
                await asyncio.sleep(number * CHAT_EVERY)
                user = person(number)
                for message in range(1, PER_CHAT + 1):
                    update = {
                        "update_id": 10_000 + number * 10 + message,
                        **emu.build.private_text(text=f"question p{number}m{message}", user=user),
                    }
                    first = (number + message) % INSTANCES
                    await deliver(urls[first], update)
                    retries.append(
                        asyncio.create_task(redeliver(update, first, late=rng.uniform(*LATE_RETRY)))
                    )
                    shown = await until(
                        lambda u=user["id"], m=message: sent[u] >= m, within=ANSWER_WITHIN
                    )
                    assert shown, f"person {number}: no answer to message {message}"

            async def count_sent() -> None:
                seen = 0
                while True:
                    calls = emu.calls[seen:]
                    seen += len(calls)
                    for call in calls:
                        if call.method == "sendMessage" and call.ok:
                            sent[int(call.params["chat_id"])] += 1
                    await asyncio.sleep(0.05)

            counting = asyncio.create_task(count_sent())
            try:
                await asyncio.gather(*(converse(number) for number in range(PEOPLE)))
            finally:
                counting.cancel()
            await asyncio.gather(*retries)
            await asyncio.sleep(SETTLE)

        limited = [c.method for c in emu.calls if c.status == 429]
        print(f"\n{len(statuses)} deliveries, {len(limited)} 429s")
        assert statuses == [200] * (PEOPLE * PER_CHAT * 3)
        for number in range(PEOPLE):
            wanted = [f"Answer-to-p{number}m{m}." for m in range(1, PER_CHAT + 1)]
            assert emu.visible_text(person(number)["id"]) == wanted
        asked = [
            m.content for conv in server.state.messages.values() for m in conv if m.role == "user"
        ]
        assert len(asked) == PEOPLE * PER_CHAT, "Knowrithm was asked a question twice"
        assert not limited, f"{len(limited)} calls answered 429: {limited[:10]}"
        bot = emu.bot.id

        def covered(budget: Budget) -> list[Call]:
            found: list[Call] = []
            for call in emu.calls:
                if call.method not in LIMITED or not call.ok:
                    continue
                chat = f"{bot}:{call.params.get('chat_id')}"
                scope = {"chat": chat, "group": chat, "bot": str(bot)}[budget.scope]
                if budget.scope == "group" and int(call.params.get("chat_id", 0)) > 0:
                    continue  # people's chats have no group budget
                found.append(Call(time=call.time, scope=scope))
            return found

        overdrawn = over_budgets(TelegramAdapter.limits.budgets, calls_of=covered)
        assert not overdrawn, "\n".join(overdrawn)
