"""The channel threads the bot takes part in live in the store: a reply there is answered by
an instance that never saw the mention, and by the next run of the bot."""

from __future__ import annotations

from pathlib import Path

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from tests.adapters.slack.helpers import slack_bot
from tests.emulators.slack_api import SlackEmulator, events, ids
from tests.redis_server import RedisServer

MENTION = f"<@{ids.BOT_USER_ID}>"


def answered(emu: SlackEmulator, thread_ts: str) -> list[str]:
    return [m.text for m in emu.thread(ids.CHANNEL_ID, thread_ts) if m.user == ids.BOT_USER_ID]


async def test_a_reply_on_another_instance_is_answered_through_redis(
    emu: SlackEmulator, server: LocalKnowrithm, redis_server: RedisServer
) -> None:
    store = {
        "store": {"backend": "redis", "url": redis_server.url, "key_prefix": redis_server.prefix()}
    }
    async with (
        slack_bot(emu, server, mode="http", bot_config=store) as first,
        slack_bot(emu, server, mode="http", bot_config=store) as second,
    ):
        mention = events.app_mention(text=f"{MENTION} first question")
        await first.send(mention)
        await first.settle()
        # No mention: only a bot that knows it takes part in this thread answers it.
        await second.send(events.thread_reply(text="second question", thread_ts=mention["ts"]))
        await second.settle()
        replies = answered(emu, mention["ts"])
    assert len(replies) == 2
    assert "first question" in replies[0]
    assert "second question" in replies[1]


async def test_the_next_run_still_answers_replies_in_threads_it_took_part_in(
    emu: SlackEmulator, server: LocalKnowrithm, tmp_path: Path
) -> None:
    store = tmp_path / "bot.sqlite"
    mention = events.app_mention(text=f"{MENTION} first question")
    async with slack_bot(emu, server, mode="http", bot_config={}, store_path=store) as bot:
        await bot.send(mention)
        await bot.settle()
    async with slack_bot(emu, server, mode="http", bot_config={}, store_path=store) as bot:
        await bot.send(events.thread_reply(text="second question", thread_ts=mention["ts"]))
        await bot.settle()
    assert len(answered(emu, mention["ts"])) == 2


async def test_without_a_shared_store_the_other_instance_stays_silent(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    # The control for the tests above: each bot on a memory store of its own.
    async with (
        slack_bot(emu, server, mode="http") as first,
        slack_bot(emu, server, mode="http") as second,
    ):
        mention = events.app_mention(text=f"{MENTION} first question")
        await first.send(mention)
        await first.settle()
        await second.send(events.thread_reply(text="second question", thread_ts=mention["ts"]))
        await second.settle()
        replies = answered(emu, mention["ts"])
    assert len(replies) == 1
