"""The core's adapter conformance kit, run against the Slack adapter and the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from knowrithm_bots.adapters.slack import SlackAdapter
from knowrithm_bots.core.adapter import Adapter
from knowrithm_bots.core.testing.conformance import (
    RETRY_AFTER,
    AdapterConformance,
    Failure,
    Features,
    Operation,
)
from tests.adapters.slack.helpers import slack_config
from tests.emulators.slack_api import SlackEmulator, events, ids

# Each place is a thread in a channel where the bot answers every message.
ROOTS = {"a": "1700000000.000100", "b": "1700000000.000200"}
EMOJI = {"👍": "+1", "👎": "-1"}
METHODS = {"post": "chat.postMessage", "edit": "chat.update"}
FAILURES = {
    Failure.RATE_LIMITED: ("ratelimited", 429),
    Failure.NOT_FOUND: ("message_not_found", 200),
    Failure.AUTH: ("invalid_auth", 200),
    Failure.UNAVAILABLE: ("internal_error", 500),
}


class SlackHarness:
    def __init__(self, emu: SlackEmulator, *, mode: str) -> None:
        self.emu = emu
        self.mode = mode
        config = slack_config(emu, mode=mode, channel_messages="all")
        self._adapter = SlackAdapter.from_config(config=config)
        self._own: set[str] = set()

    @property
    def adapter(self) -> Adapter:
        return self._adapter

    @property
    def features(self) -> Features:
        identity = self.emu.identity
        return Features(secrets=(identity.bot_token, identity.app_token, identity.signing_secret))

    async def _deliver(self, event: dict[str, Any]) -> None:
        if self.mode == "socket":
            await self.emu.wait_for_ack(await self.emu.push_socket_event(event))
        else:
            url = self._adapter.events_url
            assert url is not None
            assert await self.emu.deliver_event(url=url, event=event) == 200

    async def user_message(self, *, place: str, text: str) -> None:
        await self._deliver(events.thread_reply(text=text, thread_ts=ROOTS[place]))

    async def bot_message(self, *, place: str, text: str) -> None:
        await self._deliver(events.bot_message(text=text, thread_ts=ROOTS[place]))

    async def own_message(self, *, place: str, text: str) -> None:
        event = events.bot_message(text=text, thread_ts=ROOTS[place], bot_id=ids.BOT_ID)
        self._own.add(event["ts"])
        await self._deliver(event)

    def _answers(self, place: str) -> list[Any]:
        return [
            m
            for m in self.emu.bot_messages(ids.CHANNEL_ID)
            if m.thread_ts == ROOTS[place] and m.ts not in self._own and not m.deleted
        ]

    async def react(self, *, place: str, emoji: str, added: bool) -> None:
        newest = self._answers(place)[-1]
        build = events.reaction_added if added else events.reaction_removed
        await self._deliver(
            build(reaction=EMOJI.get(emoji, emoji), item_channel=ids.CHANNEL_ID, item_ts=newest.ts)
        )

    async def visible(self, *, place: str) -> list[str]:
        return [m.text for m in self._answers(place)]

    async def fail_next(self, *, failure: Failure, operation: Operation) -> None:
        error, status = FAILURES[failure]
        retry_after = int(RETRY_AFTER) if failure is Failure.RATE_LIMITED else None
        self.emu.fail_next(METHODS[operation], error, status=status, retry_after=retry_after)


class _SlackConformance(AdapterConformance):
    mode = "socket"

    @pytest.fixture
    async def harness(self) -> AsyncIterator[SlackHarness]:
        # The kit posts back to back outside the reply engine and injects its own 429s, so
        # the emulator's own per-channel pace (one post a second) is switched off here.
        async with SlackEmulator(rate_limits_enabled=False) as emu:
            yield SlackHarness(emu, mode=self.mode)


class TestSlackSocketModeConformance(_SlackConformance):
    mode = "socket"


class TestSlackHttpModeConformance(_SlackConformance):
    mode = "http"
