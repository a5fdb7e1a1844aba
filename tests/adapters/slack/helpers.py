"""Runs the Slack adapter in the real bot against the Slack emulator and the local Knowrithm."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from knowrithm_bots.adapters.slack import SlackAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.adapter import Limits
from tests.emulators.slack_api import SlackEmulator
from tests.harness import RunningBot, running_bot


class QuickSlackAdapter(SlackAdapter):
    """The real adapter with its pace sped up 20 times, so tests do not wait on budgets."""

    limits: ClassVar[Limits] = Limits(
        max_message_length=SlackAdapter.limits.max_message_length,
        edit_interval=0.05,
        budgets=tuple(
            dataclasses.replace(budget, rate=budget.rate * 20)
            for budget in SlackAdapter.limits.budgets
        ),
    )


def slack_config(emu: SlackEmulator, *, mode: str, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "bot_token": emu.identity.bot_token,
        "api_base_url": emu.api_url,
        "mode": mode,
    }
    if mode == "socket":
        config["app_token"] = emu.identity.app_token
    else:
        config.update(signing_secret=emu.identity.signing_secret, host="127.0.0.1", port=0)
    config.update(extra)
    return config


@dataclass
class SlackBot:
    """The running bot plus ways to deliver events the way Slack would in each mode."""

    bot: RunningBot
    adapter: SlackAdapter
    emu: SlackEmulator
    mode: str

    @property
    def server(self) -> LocalKnowrithm:
        return self.bot.server

    async def send(
        self, event: dict[str, Any], *, event_id: str | None = None, retry: int = 0
    ) -> None:
        """Deliver one event and check it was acknowledged."""
        if self.mode == "socket":
            envelope_id = await self.emu.push_socket_event(
                event, event_id=event_id, retry_attempt=retry
            )
            await self.emu.wait_for_ack(envelope_id)
        else:
            url = self.adapter.events_url
            assert url is not None
            status = await self.emu.deliver_event(
                url=url, event=event, event_id=event_id, retry_num=retry or None
            )
            assert status == 200

    async def settle(self) -> None:
        """Wait until every delivered event has been answered (or ignored)."""
        await self.adapter.settled()
        await self.bot.drain()

    def replies(self) -> list[str]:
        return self.bot.assistant_replies()


@contextlib.asynccontextmanager
async def slack_bot(
    emu: SlackEmulator,
    server: LocalKnowrithm,
    *,
    mode: str = "socket",
    bot_config: Mapping[str, Any] | None = None,
    quick: bool = True,
    store_path: Path | None = None,
    **adapter_config: Any,
) -> AsyncIterator[SlackBot]:
    cls = QuickSlackAdapter if quick else SlackAdapter
    adapter = cls.from_config(config=slack_config(emu, mode=mode, **adapter_config))
    async with running_bot(
        {"slack": adapter}, server=server, config=bot_config, store_path=store_path
    ) as bot:
        if mode == "socket":
            await emu.wait_for_socket()
        yield SlackBot(bot=bot, adapter=adapter, emu=emu, mode=mode)
