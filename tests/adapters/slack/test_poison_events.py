"""Malformed Events API payloads are acknowledged, logged once, skipped; intake goes on.

Every class in the emulator's catalogue goes through the real slack-bolt, in Socket Mode and
over HTTP: the broken payload is delivered raw, then a sound DM follows and must be answered.
"""

from __future__ import annotations

import json
import logging

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from tests.adapters.slack.helpers import slack_bot
from tests.emulators.slack_api import (
    MALFORMED_EVENTS,
    POISON_MARKER,
    SlackEmulator,
    events,
    ids,
    malformed_envelope,
)


def _skipped(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "skipped" in r.getMessage()]


async def test_every_malformed_event_is_skipped_and_the_next_message_answered(
    emu: SlackEmulator, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    emu.rate_limits_enabled = False  # one DM takes answer after answer; limits are not tested here
    agent = ScriptedAgent(lambda question, history: f"answer to {question}")
    async with (
        LocalKnowrithm(agent=agent, word_delay=0.0) as server,
        slack_bot(emu, server, mode=mode, direct_messages="channel") as bot,
    ):
        for index, entry in enumerate(MALFORMED_EVENTS):
            before = len(_skipped(caplog))
            broken = malformed_envelope(entry, identity=emu.identity)
            if mode == "socket":
                envelope_id = await emu.push_raw_socket_event(broken)
                await emu.wait_for_ack(envelope_id)
            else:
                url = bot.adapter.events_url
                assert url is not None
                status = await emu.deliver_raw(url=url, body=json.dumps(broken).encode())
                assert status == 200, entry.name  # acked: Slack must not send it again
            await bot.send(events.im_message(text=f"question {index}"))
            await bot.settle()
            warned = [r.getMessage() for r in _skipped(caplog)[before:]]
            assert len(warned) == (1 if entry.warned else 0), (entry.name, warned)
        posted = sorted(emu.bot_messages(ids.IM_CHANNEL_ID), key=lambda m: float(m.ts))
        shown = [m.text for m in posted]
    assert [f"answer to question {i}" for i in range(len(MALFORMED_EVENTS))] == [
        text for text in shown if text.startswith("answer to question")
    ]
    assert POISON_MARKER not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text
