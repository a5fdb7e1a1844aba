"""group_sessions on Slack: with per_user each person in a channel thread has a conversation of
their own, answered in that same thread; shared (the default) keeps one per thread."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from knowrithm_bots.adapters.slack.config import SlackConfig
from knowrithm_bots.adapters.slack.engagement import Engagement
from knowrithm_bots.adapters.slack.threads import ThreadKey
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.bots.local_knowrithm.records import StoredConversation
from knowrithm_bots.core.bridge import STOP_MARK
from knowrithm_bots.core.errors import ConfigError
from knowrithm_bots.core.user_messages import NOTHING_TO_END
from tests.adapters.slack.helpers import SlackBot, slack_bot
from tests.emulators.slack_api import SlackEmulator, events, ids
from tests.support import eventually, stored_replies

MENTION = f"<@{ids.BOT_USER_ID}>"
ALICE, BOB, CAROL = ids.USER_ID, "U0BOB00001", "U0CAROL001"
PER_USER = {"group_sessions": "per_user"}
THREAD = f"slack:{ids.TEAM_ID}:{ids.BOT_USER_ID}:{ids.CHANNEL_ID}"


def _people(emu: SlackEmulator) -> None:
    emu.add_user(user_id=ALICE, real_name="Alice Liddell")
    emu.add_user(user_id=BOB, real_name="Bob Builder")
    emu.add_user(user_id=CAROL, real_name="Carol Danvers")


def _by_user(server: LocalKnowrithm) -> dict[str, StoredConversation]:
    found: dict[str, StoredConversation] = {}
    for conversation in server.state.conversations.values():
        user = conversation.metadata["user_id"]
        assert user not in found, "a person has two conversations"
        found[user] = conversation
    return found


def _sent(server: LocalKnowrithm, conversation: StoredConversation) -> list[str]:
    return [m.content for m in server.state.messages[conversation.id] if m.role == "user"]


def _questions(server: LocalKnowrithm, conversation: StoredConversation) -> list[str]:
    """What was asked, without the thread's earlier messages a first send carries before it."""
    return [text.rsplit("\n\n", 1)[-1] for text in _sent(server, conversation)]


def _url(bot: SlackBot) -> str | None:
    return bot.adapter.events_url if bot.mode == "http" else None


async def _two_people_ask(bot: SlackBot) -> dict[str, Any]:
    """Alice mentions the bot in the channel; Bob replies in its thread without a mention."""
    mention = events.app_mention(text=f"{MENTION} prices?", user=ALICE)
    await bot.send(mention)
    await bot.settle()
    await bot.send(events.thread_reply(text="refunds?", thread_ts=mention["ts"], user=BOB))
    await bot.settle()
    return mention


async def test_two_people_in_one_thread_get_a_conversation_each_answered_there(
    emu: SlackEmulator, server: LocalKnowrithm, mode: str
) -> None:
    _people(emu)
    async with slack_bot(emu, server, mode=mode, **PER_USER) as bot:
        mention = await _two_people_ask(bot)
        # Bob was answered without mentioning the bot: the thread is engaged, whoever spoke.
        await bot.send(events.thread_reply(text="discounts?", thread_ts=mention["ts"]))
        await bot.settle()
    conversations = _by_user(server)
    assert set(conversations) == {ALICE, BOB}
    root = mention["ts"]
    assert conversations[ALICE].metadata["thread_key"] == f"{THREAD}:{root}:u{ALICE}"
    assert conversations[BOB].metadata["thread_key"] == f"{THREAD}:{root}:u{BOB}"
    assert _sent(server, conversations[ALICE]) == ["prices?", "discounts?"]
    # Bob joined a thread already under way: his first send carries what was said in it.
    (bobs,) = _sent(server, conversations[BOB])
    assert bobs.startswith("[Earlier messages in this thread, oldest first]\n")
    assert "Assistant (you): Answer 1 to prices?" in bobs
    assert bobs.endswith("\n\nrefunds?")
    # Every answer is in the one Slack thread, streamed to the person who asked.
    answers = emu.bot_messages(ids.CHANNEL_ID)
    assert [m.thread_ts for m in answers] == [root, root, root]
    assert sorted(m.text for m in answers) == sorted(bot.replies())
    recipients = [c.params["recipient_user_id"] for c in emu.calls_to("chat.startStream")]
    assert recipients == [ALICE, BOB, ALICE]


async def test_the_thread_stays_engaged_for_the_next_run_whoever_spoke(
    emu: SlackEmulator, server: LocalKnowrithm, tmp_path: Path
) -> None:
    store = tmp_path / "bot.sqlite"
    mention = events.app_mention(text=f"{MENTION} first question", user=ALICE)
    async with slack_bot(emu, server, bot_config={}, store_path=store, **PER_USER) as bot:
        await bot.send(mention)
        await bot.settle()
    # A new process: only the store knows the bot takes part in the thread (recorded under
    # the thread itself, not Alice's conversation), so Bob's plain reply is answered.
    async with slack_bot(emu, server, bot_config={}, store_path=store, **PER_USER) as bot:
        await bot.send(events.thread_reply(text="my question", thread_ts=mention["ts"], user=BOB))
        await bot.settle()
    assert set(_by_user(server)) == {ALICE, BOB}
    answers = [m for m in emu.thread(ids.CHANNEL_ID, mention["ts"]) if m.user == ids.BOT_USER_ID]
    assert len(answers) == 2


async def test_a_lead_rule_makes_only_the_matching_person_a_lead(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    _people(emu)
    config = {
        "conversations": {
            "entity_rules": [
                {"entity_type": "LEAD", "adapters": ["slack"], "users_not_in": [ALICE]}
            ]
        },
        "leads": {"email_domain": "leads.example-company.com"},
    }
    async with slack_bot(emu, server, bot_config=config, **PER_USER) as bot:
        await _two_people_ask(bot)
    conversations = _by_user(server)
    assert (conversations[ALICE].entity_type, conversations[ALICE].lead_id) == ("user", None)
    assert conversations[BOB].entity_type == "lead"
    (lead,) = server.state.leads.values()
    assert lead.email == f"slack-{ids.TEAM_ID.lower()}-{BOB.lower()}@leads.example-company.com"
    assert str(conversations[BOB].lead_id) == lead.id


async def test_end_by_one_person_ends_only_their_conversation(
    emu: SlackEmulator, server: LocalKnowrithm, mode: str
) -> None:
    _people(emu)
    async with slack_bot(emu, server, mode=mode, **PER_USER) as bot:
        mention = await _two_people_ask(bot)
        before = _by_user(server)
        # Typed in the thread by Bob; the slash command by Alice (her latest conversation).
        await bot.send(events.thread_reply(text="/end 4", thread_ts=mention["ts"], user=BOB))
        await bot.settle()
        assert [(e.conversation_id, e.rating) for e in server.state.ends] == [(before[BOB].id, 4)]
        await bot.send(events.thread_reply(text="still there?", thread_ts=mention["ts"]))
        await bot.settle()
        assert _questions(server, before[ALICE]) == ["prices?", "still there?"]
        await emu.slash_command(text="end 5", user=ALICE, url=_url(bot))
        await bot.settle()
        # Carol never talked here: her own (empty) conversation of the channel, not Alice's.
        await emu.slash_command(text="end", user=CAROL, url=_url(bot))
        await eventually(lambda: len(emu.command_responses) == 1, what="Carol's private answer")
        await bot.send(events.thread_reply(text="new start", thread_ts=mention["ts"], user=BOB))
        await bot.settle()
    assert [(e.conversation_id, e.rating) for e in server.state.ends] == [
        (before[BOB].id, 4),
        (before[ALICE].id, 5),
    ]
    assert [(r.user, r.text) for r in emu.command_responses] == [(CAROL, NOTHING_TO_END)]
    active = [c for c in server.state.conversations.values() if c.status == "active"]
    assert [(c.metadata["user_id"], _questions(server, c)) for c in active] == [
        (BOB, ["new start"])
    ]
    thread = [m.text for m in emu.bot_messages(ids.CHANNEL_ID) if m.thread_ts == mention["ts"]]
    assert any(t.startswith("Conversation ended, rated 4/5") for t in thread)
    assert any(t.startswith("Conversation ended, rated 5/5") for t in thread)


async def test_a_stop_button_stops_only_the_clickers_own_answer(
    emu: SlackEmulator, server: LocalKnowrithm, mode: str
) -> None:
    _people(emu)
    async with slack_bot(emu, server, mode=mode, native_streaming=False, **PER_USER) as bot:
        server.faults.hold_replies(after_words=4)
        try:
            mention = events.app_mention(text=f"{MENTION} tell me a story", user=ALICE)
            await bot.send(mention)
            await eventually(
                lambda: len(emu.bot_messages(ids.CHANNEL_ID)) == 1, what="the answer to show"
            )
            [writing] = emu.bot_messages(ids.CHANNEL_ID)
            url = _url(bot)
            await emu.click(
                channel=ids.CHANNEL_ID, ts=writing.ts, user=BOB, action_id="knowrithm_stop", url=url
            )
            await eventually(lambda: len(emu.ephemerals) == 1, what="the note to Bob")
            await emu.click(
                channel=ids.CHANNEL_ID,
                ts=writing.ts,
                user=ALICE,
                action_id="knowrithm_stop",
                url=url,
            )
            await eventually(lambda: len(emu.ephemerals) == 2, what="the note to Alice")
            await bot.settle()
        finally:
            server.faults.release_replies()
    assert [(n.user, n.text) for n in emu.ephemerals] == [
        (BOB, "Nothing of yours to stop: that answer has ended, or it answers someone else."),
        (ALICE, "Stopped."),
    ]
    [stopped] = emu.bot_messages(ids.CHANNEL_ID)
    assert stopped.text.rstrip().endswith(STOP_MARK.format(name="Alice Liddell"))


async def test_reactions_and_buttons_rate_the_answer_they_are_on_whoever_presses_them(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    _people(emu)
    async with slack_bot(emu, server, **PER_USER) as bot:
        await _two_people_ask(bot)
        alices_answer, bobs_answer = emu.bot_messages(ids.CHANNEL_ID)
        await bot.send(
            events.reaction_added(
                reaction="-1", item_channel=ids.CHANNEL_ID, item_ts=bobs_answer.ts, user=BOB
            )
        )
        await emu.click(
            channel=ids.CHANNEL_ID, ts=alices_answer.ts, user=BOB, action_id="knowrithm_rate_up"
        )
        await eventually(lambda: len(server.state.ratings) == 2, what="both ratings")
        await bot.settle()
    conversations = _by_user(server)
    (alices,) = stored_replies(server, conversation=conversations[ALICE].id)
    (bobs,) = stored_replies(server, conversation=conversations[BOB].id)
    assert sorted((r.message_id, r.rating) for r in server.state.ratings) == sorted(
        [(bobs.id, 1), (alices.id, 5)]
    )


async def test_shared_keeps_one_conversation_per_thread_with_the_keys_of_before(
    emu: SlackEmulator, server: LocalKnowrithm
) -> None:
    _people(emu)
    async with slack_bot(emu, server) as bot:  # group_sessions: shared, the default
        mention = await _two_people_ask(bot)
    (conversation,) = server.state.conversations.values()
    assert conversation.metadata["thread_key"] == f"{THREAD}:{mention['ts']}"
    assert _questions(server, conversation) == ["prices?", "refunds?"]


# --- units ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "old",
    [
        "slack:T1:UB:C1:1700000000.000100",
        "slack:T1:UB:D1:",  # a whole DM
        "slack:E1:UB:C1:1700000000.000100",
    ],
)
def test_keys_of_before_decode_and_encode_byte_for_byte(old: str) -> None:
    key = ThreadKey.decode(old)
    assert key.user is None
    assert key.encode() == old
    assert key.shared == key


def test_a_per_person_key_round_trips_and_shares_its_thread() -> None:
    key = ThreadKey(team="T1", bot="UB", channel="C1", thread_ts="1700000000.000100", user="U9")
    assert key.encode() == "slack:T1:UB:C1:1700000000.000100:uU9"
    assert ThreadKey.decode(key.encode()) == key
    assert key.shared.encode() == "slack:T1:UB:C1:1700000000.000100"
    whole_dm = ThreadKey(team="T1", bot="UB", channel="D1", thread_ts=None, user="U9")
    assert ThreadKey.decode(whole_dm.encode()) == whole_dm


@pytest.mark.parametrize(
    "bad",
    [
        "slack:T1:UB:C1:1700000000.000100:U9",  # a user part without its mark
        "slack:T1:UB:C1:1700000000.000100:u",  # a mark without a user
        "slack:T1:UB:C1:1700000000.000100:uU9:x",
        "slack:T1:UB::1700000000.000100:uU9",
        "discord:1:thread:2:u3",
    ],
)
def test_anything_else_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"(?i)not a slack thread key"):
        ThreadKey.decode(bad)


async def test_engagement_is_kept_for_the_thread_not_the_person() -> None:
    engaged = Engagement(size=10, days=1)
    thread = ThreadKey(team="T1", bot="UB", channel="C1", thread_ts="1.1")
    engaged.note(dataclasses.replace(thread, user="U1").encode())
    assert engaged.known_here(thread.encode())
    assert await engaged.knows(dataclasses.replace(thread, user="U2").encode())
    engaged.forget(f"{thread.encode()}:uU2")
    assert not engaged.known_here(thread.encode())


def test_group_sessions_takes_shared_or_per_user() -> None:
    config = {"bot_token": ids.BOT_TOKEN, "app_token": ids.APP_TOKEN}
    assert SlackConfig.load(config, prefix="adapters.slack").group_sessions == "shared"
    with pytest.raises(ConfigError, match=r"adapters\.slack\.group_sessions"):
        SlackConfig.load({**config, "group_sessions": "per_person"}, prefix="adapters.slack")
