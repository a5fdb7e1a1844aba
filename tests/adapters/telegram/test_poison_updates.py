"""Malformed updates are logged once, stepped over, and never stall polling.

Every class in the emulator's catalogue goes through the real python-telegram-bot: the
update is delivered raw by getUpdates, then a sound message follows and must be answered.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from knowrithm_bots.adapters.telegram.update_check import problem_of
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from tests.emulators.telegram_api import (
    ALICE,
    MALFORMED_UPDATES,
    POISON_MARKER,
    Malformed,
    TelegramEmulator,
    malformed_update,
)
from tests.emulators.telegram_api.malformed import sound_update
from tests.harness import running_bot
from tests.support import eventually

from .support import adapter_for, free_port

ALICE_ID = int(ALICE["id"])
WEBHOOK_SECRET = "poison-test_secret_0123"


def _echo() -> ScriptedAgent:
    return ScriptedAgent(lambda question, history: f"answer to {question}")


def _skipped(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "skipped" in r.getMessage()]


@pytest.mark.parametrize("entry", MALFORMED_UPDATES, ids=lambda entry: entry.name)
def test_each_class_is_named_by_its_field_without_its_content(
    emu: TelegramEmulator, entry: Malformed
) -> None:
    problem = problem_of(malformed_update(emu.build, entry, update_id=7))
    assert problem is not None
    assert POISON_MARKER not in problem


@pytest.mark.parametrize("base", ["message", "reaction", "callback"])
def test_the_sound_updates_of_the_catalogue_pass(emu: TelegramEmulator, base: str) -> None:
    assert problem_of(sound_update(emu.build, base=base, update_id=7)) is None  # type: ignore[arg-type]


async def test_every_malformed_update_is_skipped_once_and_the_next_message_answered(
    emu: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with (
        LocalKnowrithm(agent=_echo(), word_delay=0.0) as server,
        running_bot({"telegram": adapter_for(emu)}, server=server),
    ):
        update_id = 10_000
        for index, entry in enumerate(MALFORMED_UPDATES):
            before = len(_skipped(caplog))
            update_id += 1
            emu.push_raw_update(malformed_update(emu.build, entry, update_id=update_id))
            update_id = emu.push_update(emu.build.private_text(text=f"question {index}"))
            await eventually(
                lambda index=index: f"answer to question {index}" in emu.visible_text(ALICE_ID),
                what=f"the answer after '{entry.name}'",
            )
            warned = [r.getMessage() for r in _skipped(caplog)[before:]]
            assert len(warned) == 1, (entry.name, warned)
            assert all(r.levelno == logging.WARNING for r in _skipped(caplog)[before:])
            keeps_its_id = isinstance(
                malformed_update(emu.build, entry, update_id=1), dict
            ) and isinstance(malformed_update(emu.build, entry, update_id=1).get("update_id"), int)
            if keeps_its_id:
                assert f"update {update_id - 1} was skipped" in warned[0], (entry.name, warned)
        polls = len(emu.calls_of("getUpdates"))
    # Answers went out for every class, in order, each exactly once.
    answers = [t for t in emu.visible_text(ALICE_ID) if t.startswith("answer to question")]
    assert answers == [f"answer to question {i}" for i in range(len(MALFORMED_UPDATES))]
    # A few polls per step, not a hot loop; and the payloads never reach the log.
    assert polls <= 6 * len(MALFORMED_UPDATES)
    assert POISON_MARKER not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("with_id", [True, False], ids=["with an update_id", "without one"])
async def test_a_poison_update_alone_costs_a_few_polls_and_one_log_line(
    emu: TelegramEmulator, caplog: pytest.LogCaptureFixture, with_id: bool
) -> None:
    caplog.set_level(logging.DEBUG)
    entry = next(e for e in MALFORMED_UPDATES if e.name == "message without date")
    poison = malformed_update(emu.build, entry, update_id=500)
    if not with_id:
        del poison["update_id"]
    async with (
        LocalKnowrithm(agent=_echo(), word_delay=0.0) as server,
        running_bot({"telegram": adapter_for(emu, poll_timeout=1)}, server=server),
    ):
        await emu.wait_for_waiting_poll()
        polls, records = len(emu.calls_of("getUpdates")), len(caplog.records)
        emu.push_raw_update(poison)
        await asyncio.sleep(1.5)
        polls = len(emu.calls_of("getUpdates")) - polls
        lines = [r for r in caplog.records[records:] if r.levelno >= logging.INFO]
        emu.push_update(emu.build.private_text(text="still there?"))
        await eventually(lambda: "answer to still there?" in emu.visible_text(ALICE_ID))
    # Before the fix: thousands of polls and log lines a second, each quoting the payload.
    assert polls <= 6
    # httpx's one INFO line per request, and the warning.
    assert len(lines) <= polls + 1, [r.getMessage() for r in lines]
    assert len(_skipped(caplog)) == 1
    assert POISON_MARKER not in caplog.text


async def test_webhook_deliveries_that_cannot_be_read_are_acked_logged_once_and_skipped(
    emu: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    port = free_port()
    settings = {
        "mode": "webhook",
        "webhook_url": f"http://127.0.0.1:{port}/tg-hook",
        "webhook_listen": "127.0.0.1",
        "webhook_port": port,
        "webhook_path": "/tg-hook",
        "webhook_secret": WEBHOOK_SECRET,
    }
    async with (
        LocalKnowrithm(agent=_echo(), word_delay=0.0) as server,
        running_bot({"telegram": adapter_for(emu, **settings)}, server=server),
    ):
        url = settings["webhook_url"]
        update_id = 20_000
        for index, entry in enumerate(MALFORMED_UPDATES):
            before = len(_skipped(caplog))
            update_id += 1
            poison = malformed_update(emu.build, entry, update_id=update_id)
            # Answered 200: Telegram must not deliver it again (a 4xx or 5xx would).
            for _ in range(2):  # a redelivery of the same update is not logged again
                status = await emu.deliver_raw_webhook(
                    url=url, body=poison, secret_token=WEBHOOK_SECRET
                )
                assert status == 200, entry.name
            update_id += 1
            question = {"update_id": update_id, **emu.build.private_text(text=f"q{index}")}
            assert (
                await emu.deliver_webhook(url=url, update=question, secret_token=WEBHOOK_SECRET)
                == 200
            )
            await eventually(
                lambda index=index: f"answer to q{index}" in emu.visible_text(ALICE_ID)
            )
            assert len(_skipped(caplog)[before:]) == 1, entry.name
        for body in (b"{not json", b"\xff\xfe"):
            assert (
                await emu.deliver_raw_webhook(url=url, body=body, secret_token=WEBHOOK_SECRET)
                == 200
            )
        # Without the secret nothing is read, however broken.
        assert await emu.deliver_raw_webhook(url=url, body=b"{", secret_token=None) == 403
        wrong_type = await emu.deliver_raw_webhook(
            url=url, body={}, secret_token=WEBHOOK_SECRET, content_type="text/plain"
        )
        assert wrong_type == 403
    assert POISON_MARKER not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert emu.calls_of("getUpdates") == []
