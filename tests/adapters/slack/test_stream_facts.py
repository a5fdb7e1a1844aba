"""Slack chat stream facts (PLATFORMS.md): stop before editing, respect a person's stop,
remember channels without streams, and keep stopStream and appendStream to their tiers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from knowrithm_bots.adapters.slack import SlackAdapter
from knowrithm_bots.adapters.slack.stream_control import (
    STOP_STREAM_BURST,
    STOP_STREAM_PER_MINUTE,
    StreamStopper,
)
from knowrithm_bots.adapters.slack.threads import MessageRef
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent, StoredMessage
from tests.adapters.slack.helpers import slack_bot
from tests.emulators.slack_api import TIER_2, TIER_4, SlackEmulator, events, ids
from tests.emulators.slack_api.rate_limits import DEFAULT_RATE_LIMITS
from tests.emulators.slack_api.records import ApiCall

pytestmark = pytest.mark.knowrithm_modes("streaming")

MENTION = f"<@{ids.BOT_USER_ID}>"
OTHER_CHANNEL = "C0OTHER001"


def slow_server(answer: str, *, word_delay: float = 0.01) -> LocalKnowrithm:
    def script(question: str, history: Sequence[StoredMessage]) -> str:
        return answer

    return LocalKnowrithm(agent=ScriptedAgent(script), word_delay=word_delay)


def _methods_on(emu: SlackEmulator, ts: str) -> list[str]:
    return [c.method for c in emu.calls if c.params.get("ts") == ts]


async def test_a_stream_whose_append_is_refused_is_stopped_before_it_is_edited(
    emu: SlackEmulator,
) -> None:
    answer = " ".join(f"word{n}" for n in range(60))
    async with slow_server(answer) as server, slack_bot(emu, server) as bot:
        emu.fail_next("chat.appendStream", "invalid_arguments")
        await bot.send(events.app_mention(text=f"{MENTION} tell me"))
        await bot.settle()
    (message,) = emu.bot_messages(ids.CHANNEL_ID)
    _assert_stopped_then_edited(emu, message.ts, answer)


async def test_a_stream_whose_last_words_are_refused_is_stopped_then_edited(
    emu: SlackEmulator,
) -> None:
    answer = " ".join(f"word{n}" for n in range(60))
    # Only a stop that carries text can be too long: the limit is on its markdown_text
    # (12,000 characters, api.slack.com/methods/chat.stopStream; the emulator's
    # MAX_STREAM_TEXT). Whether the answer's last words are still unsent when it ends
    # depends on the engine's pace and the host's load, so the question is asked again (in
    # a new thread) until a stop carried text and was refused.
    emu.fail_next(
        "chat.stopStream", "msg_too_long", when=lambda params: bool(params.get("markdown_text"))
    )
    refused: list[ApiCall] = []
    async with slow_server(answer) as server, slack_bot(emu, server) as bot:
        for _ in range(5):
            await bot.send(events.app_mention(text=f"{MENTION} tell me"))
            await bot.settle()
            refused = [c for c in emu.calls if c.error == "msg_too_long"]
            if refused:
                break
    assert refused, "no stop carried the answer's last words in five answers"
    _assert_stopped_then_edited(emu, str(refused[0].params["ts"]), answer)


def _assert_stopped_then_edited(emu: SlackEmulator, ts: str, answer: str) -> None:
    message = emu.messages[(ids.CHANNEL_ID, ts)]
    assert message.text == answer
    assert message.is_stream and message.stream_state == "stopped"
    methods = _methods_on(emu, ts)
    assert "chat.update" in methods
    # Stopped first: no edit ever met the open stream.
    assert methods.index("chat.stopStream") < methods.index("chat.update")
    assert not [c for c in emu.calls if c.error == "streaming_state_conflict"]


async def test_an_open_stream_met_by_an_edit_is_stopped_then_edited(emu: SlackEmulator) -> None:
    # A stream this process did not start (a restart): only Slack knows it is open.
    async with slow_server("x") as server, slack_bot(emu, server) as bot:
        client = AsyncWebClient(base_url=emu.api_url, token=emu.identity.bot_token)
        started = await client.chat_startStream(
            channel=ids.IM_CHANNEL_ID, thread_ts="1.000001", markdown_text="half an answ"
        )
        thread = f"slack:{ids.TEAM_ID}:{ids.BOT_USER_ID}:{ids.IM_CHANNEL_ID}:1.000001"
        message_id = MessageRef(team=ids.TEAM_ID, channel=ids.IM_CHANNEL_ID, ts=started["ts"])
        await bot.adapter.edit(thread=thread, message_id=message_id.encode(), text="the answer")
    message = emu.messages[(ids.IM_CHANNEL_ID, started["ts"])]
    assert message.text == "the answer"
    assert _methods_on(emu, started["ts"]) == [
        "chat.update",  # refused: streaming_state_conflict
        "chat.stopStream",
        "chat.update",
    ]


async def test_a_stream_the_person_stopped_is_neither_continued_nor_edited(
    emu: SlackEmulator,
) -> None:
    answer = " ".join(f"word{n}" for n in range(120))
    async with slow_server(answer, word_delay=0.01) as server, slack_bot(emu, server) as bot:
        mention = events.app_mention(text=f"{MENTION} tell me a lot")
        await bot.send(mention)
        start = await emu.wait_for_call("chat.startStream", predicate=lambda c: c.ok)
        ts = str(start.response["ts"])
        emu.user_stops_stream(channel=ids.CHANNEL_ID, ts=ts)
        shown = emu.messages[(ids.CHANNEL_ID, ts)].text
        await bot.settle()
        # The bot goes on answering other questions as before.
        await bot.send(events.app_mention(text=f"{MENTION} and now?"))
        await bot.settle()
    message = emu.messages[(ids.CHANNEL_ID, ts)]
    assert message.text == shown  # as the person stopped it
    assert message.stream_state == "stopped_by_user"
    after_stop = [c for c in emu.calls if c.params.get("ts") == ts and c.time >= start.time]
    assert [c.error for c in after_stop if c.error is not None] == ["stopped_by_user"]
    assert not [c for c in after_stop if c.method in ("chat.update", "chat.delete")]
    # Nothing reposted in that thread; the answer is complete on Knowrithm all the same.
    assert [m.ts for m in emu.thread(ids.CHANNEL_ID, mention["ts"]) if m.bot_id] == [ts]
    assert bot.replies()[0] == answer
    assert len([m for m in emu.bot_messages(ids.CHANNEL_ID) if m.text == answer]) == 1


async def test_a_channel_without_streams_is_not_asked_again(emu: SlackEmulator) -> None:
    emu.refuse_streams_in(ids.CHANNEL_ID)
    answer = "A short answer in a few words."
    async with slow_server(answer) as server, slack_bot(emu, server) as bot:
        for text in ("first", "second"):
            await bot.send(events.app_mention(text=f"{MENTION} {text}"))
            await bot.settle()
        await bot.send(events.app_mention(text=f"{MENTION} elsewhere", channel=OTHER_CHANNEL))
        await bot.settle()
    refused = [c for c in emu.calls_to("chat.startStream") if c.params["channel"] == ids.CHANNEL_ID]
    assert [c.error for c in refused] == ["channel_type_not_supported"]  # asked once only
    assert [m.text for m in emu.bot_messages(ids.CHANNEL_ID)] == [answer, answer]
    (elsewhere,) = emu.bot_messages(OTHER_CHANNEL)
    assert elsewhere.is_stream and elsewhere.text == answer  # other channels still stream


def test_the_emulator_and_the_adapter_pace_stream_calls_at_their_own_tiers() -> None:
    assert DEFAULT_RATE_LIMITS["chat.appendStream"] == TIER_4
    assert DEFAULT_RATE_LIMITS["chat.stopStream"] == TIER_2
    (append,) = [b for b in SlackAdapter.limits.budgets if b.kinds == ("append",)]
    assert append.rate * 60 / append.per <= TIER_4.per_minute
    assert append.burst <= TIER_4.burst
    assert TIER_2.per_minute >= STOP_STREAM_PER_MINUTE
    assert TIER_2.burst >= STOP_STREAM_BURST


async def test_many_streams_at_once_meet_no_429_at_the_real_tiers(emu: SlackEmulator) -> None:
    answer = " ".join(f"w{n}" for n in range(30))
    count = STOP_STREAM_BURST + 2  # two stops must wait for the Tier 2 budget
    async with (
        slow_server(answer, word_delay=0.01) as server,
        slack_bot(emu, server, quick=False) as bot,
    ):
        for index in range(count):
            channel = f"C0MANY{index:04d}"
            await bot.send(events.app_mention(text=f"{MENTION} q{index}", channel=channel))
        await asyncio.wait_for(bot.settle(), 60)
    stream_calls = [c for c in emu.calls if c.method.startswith("chat.") and "Stream" in c.method]
    assert not [c for c in stream_calls if c.status == 429]
    stops = sorted(c.time for c in emu.calls_to("chat.stopStream") if c.ok)
    assert len(stops) == count
    spacing = 60.0 / STOP_STREAM_PER_MINUTE
    assert stops[-1] - stops[0] >= 2 * spacing - 0.5  # paced after the burst


class _FakeStops:
    """Just enough of AsyncWebClient for StreamStopper: records when each stop went."""

    def __init__(self, now: list[float]) -> None:
        self.now = now
        self.calls: list[float] = []

    async def chat_stopStream(self, **_: object) -> None:
        self.calls.append(self.now[0])


async def test_the_stopper_keeps_to_tier_2_and_waits_out_a_429() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    fake = _FakeStops(now)
    stopper = StreamStopper(
        client=lambda: fake,  # type: ignore[arg-type, return-value]
        clock=lambda: now[0],
        sleep=sleep,
    )
    for n in range(STOP_STREAM_BURST + 2):
        await stopper.stop(MessageRef(team="T1", channel="C1", ts=f"1.{n}"))
    spacing = 60.0 / STOP_STREAM_PER_MINUTE
    assert fake.calls[:STOP_STREAM_BURST] == [0.0] * STOP_STREAM_BURST
    assert fake.calls[STOP_STREAM_BURST:] == pytest.approx([spacing, 2 * spacing])
    # Another workspace has a budget of its own.
    await stopper.stop(MessageRef(team="T2", channel="C1", ts="1.0"))
    assert fake.calls[-1] == pytest.approx(2 * spacing)
