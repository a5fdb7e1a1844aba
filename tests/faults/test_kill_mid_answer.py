"""kill -9 while an answer is being written, then a restart on the same store: the answer is
shown in full, exactly once, with no fragment left, and Knowrithm got the question once.

Each trial asks in two chats at once (a group and a private chat; a channel thread and a DM),
holds both replies mid-way at the local Knowrithm, waits until the partial answers show,
kills the bot, lets Knowrithm finish, and restarts the bot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent, StoredMessage
from knowrithm_bots.core.markup import to_slack_mrkdwn
from tests.emulators.slack_api import SlackEmulator, events, ids
from tests.emulators.telegram_api import ALICE, FloodLimits, TelegramEmulator
from tests.faults.configs import write_config
from tests.faults.figures import Figures, record, wanted
from tests.faults.outcome import ChatOutcome, judge, times_asked
from tests.faults.process import BotProcess, bot_process, until

# Ten kills in a row, each restart with a full local budget while Slack's tier-3 window for
# chat.update is still spent by the last run: some trials wait out 429s (as a real restart
# would), so a series takes up to a minute, well within RECOVER_WITHIN per trial.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(180)]

TRIALS = 10
HOLD_AT_WORD = 8  # replies stop before this word until the bot is dead
PARTIAL_WITHIN = 10.0
# The kill comes this long after the partial answers show, while the replies are held. A kill
# within milliseconds of a post cannot be healed: the platform took the message, the bot died
# before it learnt the message's id, and neither Telegram nor a Slack stream lets a bot find
# it again. This suite measures crashes mid-answer, not that window.
KILL_AFTER_SHOWN = 0.3
RECOVER_WITHIN = 15.0
# After the answer shows in full, a late duplicate would come within this.
SETTLE = 0.5
WORD_DELAY = 0.002

FILLER = (
    "the quick answer keeps going with plain words so that a reader can tell a fragment"
    " from the whole thing once it is shown in the chat at last today"
)


def answer_to(question: str, history: Sequence[StoredMessage] = ()) -> str:
    """About thirty plain words (nothing any markup changes), naming the question."""
    return f"Answer to {question}: " + FILLER


@dataclass
class Chat:
    """One chat of a trial: where the question went and how to read what the bot shows."""

    kind: str
    question: str
    partial: Callable[[], bool]
    visible: Callable[[], list[str]]
    rendered: Callable[[str], str]


@pytest.fixture
async def server() -> AsyncIterator[LocalKnowrithm]:
    agent = ScriptedAgent(lambda question, history: answer_to(question, history))
    async with LocalKnowrithm(agent=agent, word_delay=WORD_DELAY) as local:
        yield local


async def run_trials(
    *,
    bot: BotProcess,
    server: LocalKnowrithm,
    ready: Callable[[], Callable[[], bool]],
    ask: Callable[[int], list[Chat]],
    figures: dict[str, Figures],
) -> list[tuple[int, str, ChatOutcome]]:
    """Run the trials; the chats that did not end as they must, with what they showed.

    Outside a figures run the first bad trial ends the series (each costs RECOVER_WITHIN).
    """
    failures: list[tuple[int, str, ChatOutcome]] = []
    await bot.start(ready=ready())
    for trial in range(TRIALS):
        server.faults.hold_replies(after_words=HOLD_AT_WORD)
        chats = ask(trial)
        shown = await until(
            lambda chats=chats: all(chat.partial() for chat in chats), within=PARTIAL_WITHIN
        )
        assert shown, f"trial {trial}: no partial answer showed:\n{bot.log()[-3000:]}"
        await asyncio.sleep(KILL_AFTER_SHOWN)
        await bot.kill()
        server.faults.release_replies()
        await bot.start(ready=ready())

        def outcomes(chats: list[Chat] = chats) -> list[ChatOutcome]:
            return [
                judge(
                    visible=chat.visible(),
                    answer=chat.rendered(answer_to(chat.question)),
                    asked=times_asked(server, chat.question),
                )
                for chat in chats
            ]

        if await until(lambda: all(o.final for o in outcomes()), within=RECOVER_WITHIN):
            await asyncio.sleep(SETTLE)
        for chat, outcome in zip(chats, outcomes(), strict=True):
            outcome.add_to(figures[chat.kind])
            if not outcome.final:
                failures.append((trial, chat.kind, outcome))
        if failures and not wanted():
            break
    for one in figures.values():
        record(one)
    return failures


def report(failures: list[tuple[int, str, ChatOutcome]], bot: BotProcess) -> str:
    lines = [
        f"trial {trial} {kind}: shown {o.shown}, fragments {o.fragments}, others {o.others},"
        f" asked {o.asked}: {list(o.visible)}"
        for trial, kind, o in failures
    ]
    return "\n".join(lines) + "\n--- log of the last run:\n" + bot.log()[-3000:]


async def test_telegram_group_and_private_answers_survive_kill_9(
    server: LocalKnowrithm, tmp_path: Path
) -> None:
    async with TelegramEmulator(flood=FloodLimits.off()) as emu:
        config = write_config(
            tmp_path,
            server=server,
            store=tmp_path / "bot.sqlite",
            adapters={
                "telegram": {"token": emu.token, "api_base_url": emu.base_url, "poll_timeout": 1}
            },
        )
        mention = f"@{emu.bot.username}"

        def ready() -> Callable[[], bool]:
            run = bot.runs + 1
            return lambda: "Telegram bot @" in bot.log(run) and "is running" in bot.log(run)

        def ask(trial: int) -> list[Chat]:
            group_id = -1001000100000 - trial
            user = {**ALICE, "id": 5000 + trial, "first_name": f"Tester{trial}"}
            in_group, in_private = f"group question {trial}", f"private question {trial}"
            emu.push_update(emu.build.group_text(text=f"{mention} {in_group}", chat_id=group_id))
            emu.push_update(emu.build.private_text(text=in_private, user=user))
            user_id = int(user["id"])
            return [
                Chat(
                    kind="group",
                    question=in_group,
                    partial=lambda: bool(emu.visible_text(group_id)),
                    visible=lambda: emu.visible_text(group_id),
                    rendered=str,
                ),
                Chat(
                    kind="private",
                    question=in_private,
                    partial=lambda: (
                        any(d.chat_id == user_id and d.text.strip() for d in emu.drafts)
                        or bool(emu.visible_text(user_id))
                    ),
                    visible=lambda: emu.visible_text(user_id),
                    rendered=str,
                ),
            ]

        figures = {
            "group": Figures(fault="kill -9 mid-answer, Telegram group chat", order=10),
            "private": Figures(fault="kill -9 mid-answer, Telegram private chat", order=11),
        }
        async with bot_process(config=config, adapters=["telegram"], folder=tmp_path) as bot:
            failures = await run_trials(
                bot=bot, server=server, ready=ready, ask=ask, figures=figures
            )
            assert not failures, report(failures, bot)
        assert "Traceback" not in bot.all_logs()


async def test_slack_channel_thread_and_dm_answers_survive_kill_9(
    server: LocalKnowrithm, tmp_path: Path
) -> None:
    async with SlackEmulator() as emu:
        # Slack allows about one apps.connections.open a minute (tier 1): ten restarts in a
        # row would wait out its 429s, which is not what this test measures.
        emu.set_rate_limit("apps.connections.open", None)
        adapter: dict[str, Any] = {
            "bot_token": emu.identity.bot_token,
            "app_token": emu.identity.app_token,
            "api_base_url": emu.api_url,
            "mode": "socket",
        }
        config = write_config(
            tmp_path, server=server, store=tmp_path / "bot.sqlite", adapters={"slack": adapter}
        )

        def ready() -> Callable[[], bool]:
            connects = emu.socket_connects
            return lambda: emu.socket_connects > connects and emu.socket_connections > 0

        def bot_texts(channel: str) -> list[str]:
            return [m.text for m in emu.bot_messages(channel) if not m.deleted]

        pending: list[asyncio.Task[str]] = []

        def ask(trial: int) -> list[Chat]:
            channel, dm = f"C0FLT{trial:05d}", f"D0FLT{trial:05d}"
            in_channel, in_dm = f"channel question {trial}", f"direct question {trial}"
            mention = events.app_mention(text=f"<@{ids.BOT_USER_ID}> {in_channel}", channel=channel)
            direct = events.im_message(text=in_dm, channel=dm)
            pending.extend(
                asyncio.ensure_future(emu.push_socket_event(event)) for event in (mention, direct)
            )
            return [
                Chat(
                    kind="channel",
                    question=in_channel,
                    partial=lambda: any(t.strip() for t in bot_texts(channel)),
                    visible=lambda: bot_texts(channel),
                    rendered=to_slack_mrkdwn,
                ),
                Chat(
                    kind="dm",
                    question=in_dm,
                    partial=lambda: any(t.strip() for t in bot_texts(dm)),
                    visible=lambda: bot_texts(dm),
                    rendered=to_slack_mrkdwn,
                ),
            ]

        figures = {
            "channel": Figures(fault="kill -9 mid-answer, Slack channel thread", order=12),
            "dm": Figures(fault="kill -9 mid-answer, Slack direct message", order=13),
        }
        async with bot_process(config=config, adapters=["slack"], folder=tmp_path) as bot:
            failures = await run_trials(
                bot=bot, server=server, ready=ready, ask=ask, figures=figures
            )
            await asyncio.gather(*pending)
            assert not failures, report(failures, bot)
        assert "Traceback" not in bot.all_logs()
