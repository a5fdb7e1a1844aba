"""The bridge end to end: recording adapter → bridge → real client → local Knowrithm server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent
from knowrithm_bots.core.bridge import Bridge
from knowrithm_bots.core.config.models import ConversationSettings, EntityRule
from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.leads import LeadEmails
from knowrithm_bots.core.sessions import Sessions
from knowrithm_bots.core.store import MemoryStore
from knowrithm_bots.core.testing import ManualClock, RecordingAdapter
from tests.harness import client_for
from tests.support import stored_replies

# Every test runs against the local server as a streaming deployment and as the documented
# service (tests/conftest.py); the few that need token deltas say so.
pytestmark = pytest.mark.knowrithm_modes


@dataclass
class Bot:
    adapter: RecordingAdapter
    bridge: Bridge
    sessions: Sessions
    store: MemoryStore
    server: LocalKnowrithm
    clock: ManualClock

    def assistant_messages(self) -> list[str]:
        return [m.content for m in stored_replies(self.server)]

    async def ask(self, text: str, **kwargs: object) -> str:
        """Send ``text`` and wait until it is answered; the thread's visible text."""
        chat = str(kwargs.get("chat", "general"))
        await self.adapter.say(text, **kwargs)  # type: ignore[arg-type]
        await self.bridge.drain()
        return self.adapter.visible(self.adapter.thread_key(chat))


async def make_bot(
    server: LocalKnowrithm,
    client: KnowrithmClient,
    *,
    settings: ConversationSettings | None = None,
    adapter: RecordingAdapter | None = None,
) -> Bot:
    clock = ManualClock()
    store = MemoryStore(now=clock.now)
    settings = settings or ConversationSettings()
    sessions = Sessions(
        client=client,
        store=store,
        agent_id=server.agent_id,
        rules=settings.entity_rules,
        default_entity_type=settings.default_entity_type,
        idle_seconds=settings.idle_minutes * 60,
        clock=clock,
        lead_emails=LeadEmails(domain="leads.example.com"),
    )
    adapter = adapter or RecordingAdapter()
    bridge = Bridge(
        client=client,
        store=store,
        sessions=sessions,
        adapters={adapter.name: adapter},
        settings=settings,
    )
    await adapter.start(sink=bridge)
    return Bot(adapter, bridge, sessions, store, server, clock)


@pytest.fixture
async def bot(knowrithm: LocalKnowrithm, client: KnowrithmClient) -> AsyncIterator[Bot]:
    made = await make_bot(knowrithm, client)
    yield made
    await made.bridge.stop()


async def test_answer_is_streamed_and_final_text_equals_agent_reply(bot: Bot) -> None:
    started = time.monotonic()
    visible = await bot.ask("What is Knowrithm?")
    elapsed = time.monotonic() - started
    assert bot.assistant_messages() == [visible]
    assert 'You asked: "What is Knowrithm?"' in visible
    assert bot.adapter.count("post") == 1
    # Read off the stream in either mode: no task poll, and far within the client's 5 s
    # stream idle timeout (tests/harness.py), which a missed answer would have waited out.
    assert not [path for _, path in bot.server.state.requests if path.endswith("/status")]
    assert elapsed < 2.5, elapsed


async def test_follow_up_continues_conversation_and_threads_are_separate(bot: Bot) -> None:
    await bot.ask("first question")
    second = await bot.ask("second question")
    assert "first question" in second  # the agent saw the history
    await bot.ask("other thread", chat="random")
    assert len(bot.server.state.conversations) == 2
    general = await bot.sessions.current(bot.adapter.thread_key("general"))
    assert general is not None
    assert len(bot.server.state.messages[general.conversation_id]) == 4


async def test_conversation_metadata_says_where_it_came_from(bot: Bot) -> None:
    await bot.ask("hi", chat="C42", channel_name="support", user="U7", display_name="Grace Hopper")
    (conversation,) = bot.server.state.conversations.values()
    assert conversation.entity_type == "user"
    meta = conversation.metadata
    assert meta["platform"] == "recording"
    assert meta["workspace"] == "w1"
    assert meta["channel"] == "C42"
    assert meta["channel_name"] == "support"
    assert meta["thread_key"] == "recording:C42"
    assert meta["user_id"] == "U7"
    assert meta["user_name"] == "Grace Hopper"


async def test_lead_rule_creates_lead_once_per_user(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    settings = ConversationSettings(entity_rules=[EntityRule(direct=True)])
    bot = await make_bot(knowrithm, client, settings=settings)
    try:
        await bot.ask("hello", chat="dm1", direct=True, user="guest", display_name="Ada Lovelace")
        await bot.ask("/new", chat="dm1", direct=True, user="guest")
        await bot.ask("again", chat="dm1", direct=True, user="guest")
        await bot.ask("staff channel", chat="C1")
        entity_types = sorted(c.entity_type for c in knowrithm.state.conversations.values())
        assert entity_types == ["lead", "lead", "user"]
        (lead,) = knowrithm.state.leads.values()
        assert (lead.first_name, lead.last_name) == ("Ada", "Lovelace")
        assert lead.email == "recording-guest@leads.example.com"
        leads_used = {c.lead_id for c in knowrithm.state.conversations.values() if c.lead_id}
        assert leads_used == {lead.id}
    finally:
        await bot.bridge.stop()


async def test_idle_conversation_ends_and_next_message_starts_new(bot: Bot) -> None:
    await bot.ask("before the break")
    first = await bot.sessions.current("recording:general")
    assert first is not None
    bot.clock.advance(31 * 60)
    await bot.ask("after the break")
    second = await bot.sessions.current("recording:general")
    assert second is not None and second.conversation_id != first.conversation_id
    assert [e.conversation_id for e in bot.server.state.ends] == [first.conversation_id]


async def test_idle_sweep_ends_conversations_by_themselves(bot: Bot) -> None:
    await bot.ask("one", chat="a")
    bot.clock.advance(20 * 60)
    await bot.ask("two", chat="b")
    bot.clock.advance(15 * 60)
    assert await bot.bridge.expire_idle() == 1
    ended = {e.conversation_id for e in bot.server.state.ends}
    a = await bot.sessions.current("recording:a")
    b = await bot.sessions.current("recording:b")
    assert a is None and b is not None
    assert b.conversation_id not in ended and len(ended) == 1


async def test_new_and_end_with_rating_and_feedback(bot: Bot) -> None:
    await bot.ask("hello")
    await bot.ask("/end 4 very helpful")
    (end,) = bot.server.state.ends
    assert (end.rating, end.feedback) == (4, "very helpful")
    assert bot.adapter.messages_in("recording:general")[-1].startswith(
        "Conversation ended, rated 4/5"
    )
    await bot.ask("/end")
    assert "no conversation to end" in bot.adapter.messages_in("recording:general")[-1]
    await bot.ask("fresh start")
    assert len(bot.server.state.conversations) == 2


async def test_bad_commands_and_input_get_one_clear_sentence(bot: Bot) -> None:
    await bot.ask("hello")
    chats_before = len(bot.server.state.chat_requests)
    for text, expected in [
        ("/end 9", "from 1 to 5"),
        ("/frobnicate", "I don't know the command /frobnicate"),
        ("   ", "has no text"),
        ("x" * 50_000, "50,000 characters long and the limit is 8,000"),
    ]:
        await bot.ask(text)
        last = bot.adapter.messages_in("recording:general")[-1]
        assert expected in last, (text[:20], last)
    assert len(bot.server.state.chat_requests) == chats_before
    assert bot.server.state.ends == []  # /end 9 ended nothing
    assert await bot.sessions.current("recording:general") is not None


@pytest.mark.parametrize(
    ("status", "body", "sentence"),
    [
        (401, None, "refused this bot's credentials"),
        (500, None, "not answering right now"),
        (200, "{not json", "cannot read"),
    ],
)
async def test_knowrithm_failures_become_one_sentence_and_other_threads_go_on(
    bot: Bot, status: int, body: str | None, sentence: str
) -> None:
    await bot.ask("set up the conversation")
    link = await bot.sessions.current("recording:general")
    bot.server.faults.fail_next(
        method="POST", path_contains="/chat", status=status, body=body, count=5
    )
    await bot.ask("this one fails")
    assert sentence in bot.adapter.messages_in("recording:general")[-1]
    assert len(bot.server.state.chat_requests) == 1  # the failed send was never accepted or resent
    bot.server.faults.clear()
    visible = await bot.ask("meanwhile elsewhere", chat="other")
    assert "meanwhile elsewhere" in visible
    assert await bot.sessions.current("recording:general") == link  # nothing stored was lost


async def test_stream_cut_mid_reply_still_shows_whole_answer_once(bot: Bot) -> None:
    bot.server.faults.cut_stream_after_chunks = 3
    visible = await bot.ask("cut me off")
    assert bot.assistant_messages() == [visible]
    assert len(bot.server.state.chat_requests) == 1


async def test_redelivered_event_is_answered_once(bot: Bot) -> None:
    await bot.adapter.say("hello", event_id="same")
    await bot.adapter.say("hello", event_id="same")
    await bot.bridge.drain()
    assert len(bot.server.state.chat_requests) == 1
    assert bot.adapter.count("post") == 1


async def test_bots_are_ignored(bot: Bot) -> None:
    await bot.ask("I am a bot", is_bot=True)
    assert bot.server.state.chat_requests == []
    assert bot.adapter.calls == []


async def test_removing_a_reaction_calls_nothing_and_a_new_one_re_rates(bot: Bot) -> None:
    await bot.ask("rate me")
    (answer_id,) = bot.adapter.message_ids_in("recording:general")
    await bot.adapter.react(answer_id, emoji="👍")
    await bot.adapter.react(answer_id, emoji="👍", added=False)
    await bot.bridge.drain()
    assert [r.rating for r in bot.server.state.ratings] == [5]
    await bot.adapter.react(answer_id, emoji="2️⃣")
    await bot.bridge.drain()
    assert [r.rating for r in bot.server.state.ratings] == [5, 2]


async def test_reactions_rate_the_right_message_and_re_rate(bot: Bot) -> None:
    await bot.ask("first")
    await bot.ask("second")
    first_id, second_id = bot.adapter.message_ids_in("recording:general")
    await bot.adapter.react(first_id, emoji="👍")
    await bot.bridge.drain()
    await bot.adapter.react(second_id, emoji="👍🏽")
    await bot.adapter.react(second_id, emoji="👍🏽", added=False)
    await bot.adapter.react(second_id, emoji="👎")
    await bot.adapter.react(second_id, emoji="🎉")
    await bot.adapter.react("not-ours", emoji="👍")
    await bot.bridge.drain()
    conversation = next(iter(bot.server.state.messages.values()))
    assistant = [m for m in conversation if m.role == "assistant"]
    ratings = [(r.message_id, r.rating) for r in bot.server.state.ratings]
    assert ratings == [(assistant[0].id, 5), (assistant[1].id, 5), (assistant[1].id, 1)]
    assert assistant[1].rating == 1


@asynccontextmanager
async def own_bot(
    settings: ConversationSettings | None = None, **server_options: Any
) -> AsyncIterator[Bot]:
    """A bot on its own local server, for tests that need a particular agent or pace."""
    async with (
        LocalKnowrithm(**server_options) as server,
        client_for(server) as own_client,
    ):
        bot = await make_bot(server, own_client, settings=settings)
        try:
            yield bot
        finally:
            await bot.bridge.stop()


async def test_same_thread_in_order_other_threads_concurrently(knowrithm_mode: str) -> None:
    # Each message answered in turn (not merged), to see the order.
    async with own_bot(ConversationSettings(busy="queue"), word_delay=0.02) as bot:
        await bot.adapter.say("one", chat="a")
        await bot.adapter.say("two", chat="a")
        await bot.adapter.say("three", chat="b")
        # Thread b is answered while thread a is still busy with its first answer.
        await bot.adapter.wait_for_messages("recording:b", count=1)
        a_so_far = bot.adapter.messages_in("recording:a")
        await bot.bridge.drain()
        a1, a2 = bot.adapter.messages_in("recording:a")
        assert '"one"' in a1 and '"two"' in a2
        assert len(a_so_far) <= 1
        if knowrithm_mode == "streaming":
            # Only deltas show an answer growing; the documented service posts it whole.
            assert not a_so_far or a_so_far[0] != a1  # a's first answer was still growing


async def test_conversation_ended_elsewhere_starts_a_new_one(
    bot: Bot, client: KnowrithmClient
) -> None:
    await bot.ask("hello")
    session = await bot.sessions.current("recording:general")
    assert session is not None
    await client.end_conversation(conversation_id=session.conversation_id)
    visible = await bot.ask("still there?")
    assert '"still there?"' in visible
    assert len(bot.server.state.conversations) == 2


LONG_ANSWER = "Sentence number one. " * 500


async def test_long_answer_rolls_over() -> None:
    async with own_bot(agent=ScriptedAgent(lambda question, history: LONG_ANSWER)) as bot:
        await bot.ask("long please")
        messages = bot.adapter.messages_in("recording:general")
        assert len(messages) == 3
        assert all(len(m) <= 4000 for m in messages)
        assert "".join(messages).split() == LONG_ANSWER.split()


async def test_the_first_post_of_an_answer_or_notice_says_which_message_it_answers() -> None:
    async with own_bot(agent=ScriptedAgent(lambda question, history: LONG_ANSWER)) as bot:
        await bot.ask("long please", event_id="q1")
        await bot.ask("/nonsense", event_id="q2")
        posts = [call for call in bot.adapter.calls if call.kind == "post"]
        assert [call.reply_to for call in posts] == ["user-q1", None, None, "user-q2"]


async def test_typing_shown_before_the_first_words() -> None:
    async with own_bot(first_token_delay=0.2) as bot:
        await bot.ask("hi")
        kinds = [c.kind for c in bot.adapter.calls]
        assert kinds[0] == "typing"
        assert kinds.index("post") > 0


class BrokenStore(MemoryStore):
    """A store whose reads of some keys fail, the way a bug or a broken disk would."""

    def __init__(self, *, failure: Exception, prefix: str) -> None:
        super().__init__()
        self.failure = failure
        self.prefix = prefix

    async def get(self, key: str) -> Any:
        if key.startswith(self.prefix):
            raise self.failure
        return await super().get(key)

    async def add_if_absent(self, key: str, *, value: Any, ttl: float | None = None) -> bool:
        if key.startswith(self.prefix):
            raise self.failure
        return await super().add_if_absent(key, value=value, ttl=ttl)


async def bot_with_store(
    server: LocalKnowrithm, client: KnowrithmClient, store: MemoryStore
) -> Bot:
    sessions = Sessions(client=client, store=store, agent_id=server.agent_id)
    adapter = RecordingAdapter()
    bridge = Bridge(client=client, store=store, sessions=sessions, adapters={adapter.name: adapter})
    await adapter.start(sink=bridge)
    return Bot(adapter, bridge, sessions, store, server, ManualClock())


async def test_an_unexpected_failure_still_becomes_one_sentence(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    store = BrokenStore(failure=RuntimeError("a bug"), prefix="thread:")
    bot = await bot_with_store(knowrithm, client, store)
    try:
        visible = await bot.ask("hello")
        assert visible == "Something went wrong while answering; please try again."
    finally:
        await bot.bridge.stop()


async def test_a_failing_store_is_told_to_the_user_not_swallowed(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    failure = StoreError("the store at x.sqlite failed: disk I/O error")
    bot = await bot_with_store(knowrithm, client, BrokenStore(failure=failure, prefix="event:"))
    try:
        visible = await bot.ask("hello")
        assert "cannot reach its storage" in visible
        assert knowrithm.state.chat_requests == []
    finally:
        await bot.bridge.stop()


async def test_one_person_in_two_threads_at_once_becomes_one_lead(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    settings = ConversationSettings(entity_rules=[EntityRule(external=True)])
    bot = await make_bot(knowrithm, client, settings=settings)
    try:
        await bot.adapter.say("first", chat="x", user="guest", external=True)
        await bot.adapter.say("second", chat="y", user="guest", external=True)
        await bot.bridge.drain()
        assert len(knowrithm.state.leads) == 1
        assert {c.entity_type for c in knowrithm.state.conversations.values()} == {"lead"}
    finally:
        await bot.bridge.stop()


class GatedStore(MemoryStore):
    """Holds ``add_if_absent`` until released, to close intake while the store is asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = asyncio.Event()
        self.release = asyncio.Event()

    async def add_if_absent(self, key: str, *, value: Any, ttl: float | None = None) -> bool:
        self.asked.set()
        await self.release.wait()
        return await super().add_if_absent(key, value=value, ttl=ttl)


@pytest.mark.parametrize("kind", ["message", "reaction"])
async def test_intake_closing_while_the_store_is_asked_leaves_the_event_unseen(
    knowrithm: LocalKnowrithm, client: KnowrithmClient, kind: str
) -> None:
    made = await make_bot(knowrithm, client)
    store = GatedStore()
    bridge = Bridge(
        client=client, store=store, sessions=made.sessions, adapters={"recording": made.adapter}
    )
    await made.adapter.start(sink=bridge)
    arriving: asyncio.Task[object]
    if kind == "message":
        arriving = asyncio.create_task(made.adapter.say("hello", event_id="e1"))
    else:
        arriving = asyncio.create_task(made.adapter.react("m1", emoji="thumbsup", event_id="e1"))
    await store.asked.wait()
    bridge.close_intake()  # shutdown begins while the event is being marked seen
    store.release.set()
    await arriving  # the sink does not raise into the adapter
    await bridge.drain()
    assert await store.get("event:recording:e1") is None  # a redelivery will be answered
    assert made.adapter.calls == []
    await bridge.stop()
    await made.bridge.stop()


async def test_a_failed_rating_is_told_in_the_thread_of_the_rated_answer(bot: Bot) -> None:
    await bot.ask("rate me", chat="topic-7")
    (answer_id,) = bot.adapter.message_ids_in("recording:topic-7")
    bot.server.faults.fail_next(method="POST", path_contains="/rate", status=400)
    # After a restart an adapter may guess the reaction's thread wrongly (a Telegram topic
    # or a Slack thread root lost): the stored link knows where the answer lives.
    await bot.adapter.react(answer_id, emoji="👍", chat="general")
    await bot.bridge.drain()
    assert bot.server.state.ratings == []
    assert bot.adapter.messages_in("recording:general") == []
    notice = bot.adapter.messages_in("recording:topic-7")[-1]
    assert notice.startswith("Your rating was not saved: ")


class CountingStore(MemoryStore):
    """Records what each purge removed, to see how often the sweeper purges."""

    def __init__(self, *, now: Callable[[], float]) -> None:
        super().__init__(now=now)
        self.purged: list[int] = []

    async def purge_expired(self) -> int:
        removed = await super().purge_expired()
        self.purged.append(removed)
        return removed


class SteppedClock(ManualClock):
    """A manual clock that says when someone sleeps: the sweeper between two sweeps."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeping = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.sleeping.set()
        await super().sleep(seconds)


async def test_the_sweeper_purges_expired_keys_hourly_not_every_sweep(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    clock = SteppedClock()
    store = CountingStore(now=clock.now)
    await store.set("event:recording:old", value=1, ttl=30)
    sessions = Sessions(client=client, store=store, agent_id=knowrithm.agent_id, clock=clock)
    settings = ConversationSettings(idle_minutes=30)  # a sweep every 60 s
    bridge = Bridge(
        client=client, store=store, sessions=sessions, adapters={}, settings=settings, clock=clock
    )

    async def sweep() -> None:
        clock.sleeping.clear()
        clock.advance(60)
        await asyncio.wait_for(clock.sleeping.wait(), 5)  # asleep again: the sweep is over

    bridge.start()
    try:
        await asyncio.wait_for(clock.sleeping.wait(), 5)
        await sweep()
        assert store.purged == [1]  # the first sweep purges
        for _ in range(59):
            await sweep()
        assert store.purged == [1]  # not again within the hour
        await sweep()
        assert store.purged == [1, 0]  # an hour after the first purge
    finally:
        await bridge.stop()


async def test_an_adapter_notice_is_posted_in_order_behind_the_thread_answers(bot: Bot) -> None:
    await bot.adapter.say("hello", event_id="q1")
    await bot.bridge.on_notice(
        thread=bot.adapter.thread_key("general"), text="a notice", reply_to="user-q1"
    )
    await bot.bridge.on_notice(thread="nobody:x", text="lost")
    await bot.bridge.drain()
    posts = [call for call in bot.adapter.calls if call.kind == "post"]
    assert [call.reply_to for call in posts] == ["user-q1", "user-q1"]
    assert bot.adapter.messages_in("recording:general")[-1] == "a notice"
    assert all(call.thread == "recording:general" for call in posts)
