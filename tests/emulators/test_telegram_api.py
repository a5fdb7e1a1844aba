"""The Telegram emulator, proven through the real python-telegram-bot talking HTTP to it."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReactionTypeEmoji,
    Update,
)
from telegram.constants import ParseMode, ReactionEmoji
from telegram.error import BadRequest, Conflict, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    MessageReactionHandler,
    filters,
)

from tests.emulators.telegram_api import (
    ALICE,
    BOB,
    FORUM_ID,
    GROUP_ID,
    BotIdentity,
    FloodLimits,
    TelegramEmulator,
)
from tests.support import free_port


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(flood=FloodLimits.off()) as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    async with Bot(emu.token, base_url=emu.base_url) as real_bot:
        yield real_bot


def _application(emu: TelegramEmulator) -> Application:  # type: ignore[type-arg]
    return (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .build()
    )


def _alice_chat(emu: TelegramEmulator) -> int:
    emu.push_update(emu.build.private_text(text="hello"))
    return int(ALICE["id"])


# -- identity and auth ---------------------------------------------------------------------


async def test_get_me_answers_the_configured_identity() -> None:
    identity = BotIdentity(id=4242, username="custom_bot", first_name="Custom")
    async with (
        TelegramEmulator(bot=identity) as emu,
        Bot(emu.token, base_url=emu.base_url) as bot,
    ):
        me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (4242, "custom_bot", "Custom", True)
    assert emu.token.startswith("4242:")
    assert emu.calls[0].method == "getMe"
    assert emu.calls[0].status == 200


async def test_an_unknown_token_is_unauthorized(emu: TelegramEmulator) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("1234:not-the-token", base_url=emu.base_url):
            pass  # initialize() calls getMe, which must fail
    assert (emu.calls[-1].status, emu.calls[-1].description) == (401, "Unauthorized")
    assert "not-the-token" not in repr(emu.calls)


# -- sending and formatting ----------------------------------------------------------------


async def test_send_message_parses_html_into_entities(emu: TelegramEmulator, bot: Bot) -> None:
    chat_id = _alice_chat(emu)
    sent = await bot.send_message(
        chat_id,
        '<b>Hi</b> &amp; <a href="https://example.org">link</a> <code>x&lt;y</code>',
        parse_mode=ParseMode.HTML,
    )
    assert sent.text == "Hi & link x<y"
    assert sent.from_user is not None
    assert sent.from_user.id == bot.id
    assert sent.chat.id == chat_id
    assert sent.chat.type == "private"
    kinds = [(e.type, e.offset, e.length, e.url) for e in sent.entities]
    assert kinds == [
        ("bold", 0, 2, None),
        ("text_link", 5, 4, "https://example.org"),
        ("code", 10, 3, None),
    ]
    record = emu.messages[-1]
    assert (record.chat_id, record.message_id, record.parse_mode) == (
        chat_id,
        sent.message_id,
        "HTML",
    )
    assert record.source_text.startswith("<b>Hi</b>")
    assert emu.visible_text(chat_id) == ["Hi & link x<y"]


async def test_sending_to_an_unknown_chat_fails(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(555, "anyone there?")


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<foo>x</foo>", 'unsupported start tag "foo" at byte offset 0'),
        ("a <b>bold", 'can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("1 < 2", 'unsupported start tag "" at byte offset 2'),
        ("<span>x</span>", 'tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
async def test_bad_html_is_rejected(
    emu: TelegramEmulator, bot: Bot, markup: str, expected: str
) -> None:
    chat_id = _alice_chat(emu)
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(chat_id, markup, parse_mode=ParseMode.HTML)
    assert caught.value.message.lower() == f"can't parse entities: {expected}".lower()
    assert emu.calls[-1].status == 400
    assert emu.messages == []


async def test_every_supported_tag_parses(emu: TelegramEmulator, bot: Bot) -> None:
    chat_id = _alice_chat(emu)
    markup = (
        "<strong>a</strong><em>b</em><u>c</u><ins>d</ins><s>e</s><strike>f</strike><del>g</del>"
        '<span class="tg-spoiler">h</span><tg-spoiler>i</tg-spoiler><blockquote expandable>j'
        '</blockquote><tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
        '<pre><code class="language-python">k</code></pre>&quot;&#65;&#x42;'
    )
    sent = await bot.send_message(chat_id, markup, parse_mode=ParseMode.HTML)
    assert sent.text == 'abcdefghij👍k"AB'
    kinds = [e.type for e in sent.entities]
    assert kinds == [
        "bold",
        "italic",
        "underline",
        "underline",
        "strikethrough",
        "strikethrough",
        "strikethrough",
        "spoiler",
        "spoiler",
        "expandable_blockquote",
        "custom_emoji",
        "pre",
    ]
    assert sent.entities[-1].language == "python"
    assert sent.entities[-2].length == 2  # an emoji is two UTF-16 code units


async def test_length_is_counted_in_utf16_after_markup(emu: TelegramEmulator, bot: Bot) -> None:
    chat_id = _alice_chat(emu)
    await bot.send_message(chat_id, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    await bot.send_message(chat_id, "😀" * 2048)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(chat_id, "😀" * 2048 + "a")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(chat_id, "<b> </b>", parse_mode=ParseMode.HTML)


# -- editing and deleting ------------------------------------------------------------------


async def test_edit_message_text_and_its_errors(emu: TelegramEmulator, bot: Bot) -> None:
    chat_id = _alice_chat(emu)
    sent = await bot.send_message(chat_id, "thinking")
    edited = await bot.edit_message_text("the answer", chat_id=chat_id, message_id=sent.message_id)
    assert isinstance(edited, type(sent))
    assert edited.text == "the answer"
    assert edited.edit_date is not None
    with pytest.raises(BadRequest) as caught:
        await bot.edit_message_text("the answer", chat_id=chat_id, message_id=sent.message_id)
    assert caught.value.message.lower().startswith("message is not modified: specified new")
    # Same text with different markup is a real change.
    await bot.edit_message_text(
        "<b>the answer</b>", chat_id=chat_id, message_id=sent.message_id, parse_mode="HTML"
    )
    record = emu.message(chat_id=chat_id, message_id=sent.message_id)
    assert record.history == ("thinking", "the answer")
    assert record.edit_count == 2
    assert record.entities[0]["type"] == "bold"
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=chat_id, message_id=999)
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", chat_id=chat_id, message_id=1)  # Alice's message
    with pytest.raises(BadRequest, match="Message_too_long"):
        await bot.edit_message_text("a" * 4097, chat_id=chat_id, message_id=sent.message_id)


async def test_delete_message_removes_it(emu: TelegramEmulator, bot: Bot) -> None:
    chat_id = _alice_chat(emu)
    sent = await bot.send_message(chat_id, "oops")
    assert await bot.delete_message(chat_id, sent.message_id) is True
    assert emu.visible_text(chat_id) == []
    assert emu.deleted == [(chat_id, sent.message_id)]
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(chat_id, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("back", chat_id=chat_id, message_id=sent.message_id)


async def test_replies_and_forum_topics(emu: TelegramEmulator, bot: Bot) -> None:
    emu.push_update(emu.build.topic_text(text="question", thread_id=7))
    question_id = emu.pending_updates[-1]["message"]["message_id"]
    sent = await bot.send_message(
        FORUM_ID, "answer", message_thread_id=7, reply_to_message_id=question_id
    )
    assert sent.message_thread_id == 7
    assert sent.is_topic_message is True
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.message_id == question_id
    assert emu.messages[-1].reply_to == question_id
    assert emu.visible_text(FORUM_ID, thread_id=7) == ["answer"]
    assert emu.visible_text(FORUM_ID, thread_id=8) == []
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(FORUM_ID, "x", reply_to_message_id=404)


# -- drafts, actions, reactions, commands, callbacks ------------------------------------------


async def test_send_message_draft_only_in_private_chats(emu: TelegramEmulator, bot: Bot) -> None:
    chat_id = _alice_chat(emu)
    assert await bot.send_message_draft(chat_id, 5, "partial <i>ans", parse_mode=None) is True
    assert await bot.send_message_draft(chat_id, 5, "<i>answer</i>", parse_mode="HTML") is True
    assert [(d.chat_id, d.draft_id, d.text) for d in emu.drafts] == [
        (chat_id, 5, "partial <i>ans"),
        (chat_id, 5, "answer"),
    ]
    emu.push_update(emu.build.group_text(text="hi"))
    with pytest.raises(BadRequest, match="Textdraft_peer_invalid"):
        await bot.send_message_draft(GROUP_ID, 5, "nope")
    with pytest.raises(BadRequest, match="Draft_id_invalid"):
        await bot.send_message_draft(chat_id, 0, "nope")
    assert await bot.send_message_draft(chat_id, 6) is True  # no text: "Thinking..."
    assert emu.drafts[-1].text == ""
    assert len(emu.drafts) == 3


async def test_actions_reactions_and_commands(emu: TelegramEmulator, bot: Bot) -> None:
    chat_id = _alice_chat(emu)
    assert await bot.send_chat_action(chat_id, "typing") is True
    assert [(a.chat_id, a.action) for a in emu.chat_actions] == [(chat_id, "typing")]
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await bot.send_chat_action(chat_id, "dancing")

    assert await bot.set_message_reaction(chat_id, 1, ReactionEmoji.EYES) is True
    assert emu.reactions[-1].emojis == ("👀",)
    assert emu.reactions[-1].message_id == 1
    with pytest.raises(BadRequest, match="Reaction_invalid"):
        await bot.set_message_reaction(chat_id, 1, ReactionTypeEmoji("✅"))  # type: ignore[arg-type]
    with pytest.raises(BadRequest, match="Message_id_invalid"):
        await bot.set_message_reaction(chat_id, 77, ReactionEmoji.EYES)

    commands = [BotCommand("ask", "Ask the agent"), BotCommand("reset", "Start over")]
    assert await bot.set_my_commands(commands) is True
    assert await bot.get_my_commands() == tuple(commands)
    assert emu.commands == [
        {"command": "ask", "description": "Ask the agent"},
        {"command": "reset", "description": "Start over"},
    ]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad Name", "x")])


_RATE = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("👍", callback_data="up"),
            InlineKeyboardButton("👎", callback_data="dn"),
        ]
    ]
)


async def test_inline_keyboards_ride_on_messages_and_edits_keep_or_drop_them(
    emu: TelegramEmulator, bot: Bot
) -> None:
    chat_id = _alice_chat(emu)
    sent = await bot.send_message(chat_id, "answer")
    assert emu.message(chat_id=chat_id, message_id=sent.message_id).reply_markup is None
    edited = await bot.edit_message_reply_markup(
        chat_id=chat_id, message_id=sent.message_id, reply_markup=_RATE
    )
    assert isinstance(edited, Message)
    assert edited.reply_markup == _RATE
    assert edited.edit_date is None  # only the keyboard changed
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=sent.message_id, reply_markup=_RATE
        )
    # editMessageText keeps the keyboard only when it is sent again...
    await bot.edit_message_text(
        "answer 2", chat_id=chat_id, message_id=sent.message_id, reply_markup=_RATE
    )
    assert emu.message(chat_id=chat_id, message_id=sent.message_id).reply_markup is not None
    # ...and drops it otherwise, as Telegram does.
    await bot.edit_message_text("answer 3", chat_id=chat_id, message_id=sent.message_id)
    assert emu.message(chat_id=chat_id, message_id=sent.message_id).reply_markup is None
    with_keyboard = await bot.send_message(chat_id, "rated?", reply_markup=_RATE)
    assert with_keyboard.reply_markup == _RATE
    await bot.edit_message_reply_markup(chat_id=chat_id, message_id=with_keyboard.message_id)
    assert emu.message(chat_id=chat_id, message_id=with_keyboard.message_id).reply_markup is None
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(chat_id, "x", reply_markup=too_long)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=999, reply_markup=_RATE)


async def test_a_click_is_a_callback_query_answered_once_within_its_window() -> None:
    clock = FakeClock()
    async with (
        TelegramEmulator(clock=clock, flood=FloodLimits.off()) as emu,
        Bot(emu.token, base_url=emu.base_url) as bot,
    ):
        chat_id = _alice_chat(emu)
        sent = await bot.send_message(chat_id, "answer", reply_markup=_RATE)
        with pytest.raises(LookupError):
            emu.click(chat_id=chat_id, message_id=sent.message_id, text="🤷")
        query_id = emu.click(chat_id=chat_id, message_id=sent.message_id, text="👎", user=BOB)
        updates = await bot.get_updates(timeout=0)
        query = updates[-1].callback_query
        assert query is not None and query.id == query_id
        assert query.data == "dn"
        assert query.from_user.id == BOB["id"]
        assert isinstance(query.message, Message)
        assert query.message.message_id == sent.message_id
        assert query.message.reply_markup == _RATE
        assert await query.answer(text="noted") is True
        assert [(a.callback_query_id, a.text) for a in emu.callback_answers] == [
            (query_id, "noted")
        ]
        with pytest.raises(BadRequest, match="Query is too old"):
            await query.answer(text="again")  # one answer per query
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query("123")  # never pressed
        late = emu.click(chat_id=chat_id, message_id=sent.message_id, data="up")
        clock.now += 65
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query(late)
        assert len(emu.callback_answers) == 1


# -- flood control and fault injection -------------------------------------------------------


async def test_per_chat_burst_then_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    clock = FakeClock()
    async with (
        TelegramEmulator(clock=clock) as emu,
        Bot(emu.token, base_url=emu.base_url) as bot,
    ):
        chat_id = _alice_chat(emu)
        first = await bot.send_message(chat_id, "1")
        await bot.edit_message_text("1b", chat_id=chat_id, message_id=first.message_id)
        await bot.send_message(chat_id, "2")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(chat_id, "3")
        assert caught.value.retry_after == dtm.timedelta(seconds=1)
        assert emu.calls[-1].status == 429
        assert emu.calls[-1].description == "Too Many Requests: retry after 1"
        clock.now += 1.0
        await bot.send_message(chat_id, "3")
    assert emu.visible_text(chat_id) == ["1b", "2", "3"]


async def test_group_chats_allow_twenty_per_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    clock = FakeClock()
    async with (
        TelegramEmulator(clock=clock) as emu,
        Bot(emu.token, base_url=emu.base_url) as bot,
    ):
        emu.push_update(emu.build.group_text(text="hi"))
        for index in range(20):
            await bot.send_message(GROUP_ID, str(index))
            clock.now += 1.0
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(GROUP_ID, "one too many")
        assert caught.value.retry_after == dtm.timedelta(seconds=40)
        clock.now += 40.0
        await bot.send_message(GROUP_ID, "fine again")


async def test_thirty_per_second_per_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    clock = FakeClock()
    async with (
        TelegramEmulator(clock=clock) as emu,
        Bot(emu.token, base_url=emu.base_url) as bot,
    ):
        for user_id in range(1, 32):
            emu.add_chat({"id": user_id, "type": "private", "first_name": f"u{user_id}"})
        await asyncio.gather(*(bot.send_message(user_id, "hi") for user_id in range(1, 31)))
        with pytest.raises(RetryAfter):
            await bot.send_message(31, "hi")
        clock.now += 1.0
        await bot.send_message(31, "hi")


async def test_flood_limits_can_be_switched_off(emu: TelegramEmulator, bot: Bot) -> None:
    chat_id = _alice_chat(emu)
    for index in range(10):
        await bot.send_message(chat_id, str(index))
    assert len(emu.visible_text(chat_id)) == 10


async def test_fail_next_injects_errors(
    emu: TelegramEmulator, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    chat_id = _alice_chat(emu)
    emu.fail_next(
        method="sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 7",
        retry_after=7,
    )
    emu.fail_next(method="sendChatAction", error_code=400, description="Bad Request: boom", count=2)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(chat_id, "x")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    for _ in range(2):
        with pytest.raises(BadRequest, match="Boom"):
            await bot.send_chat_action(chat_id, "typing")
    await bot.send_chat_action(chat_id, "typing")
    await bot.send_message(chat_id, "x")
    assert emu.visible_text(chat_id) == ["x"]


# -- updates: long polling ---------------------------------------------------------------------


async def test_long_poll_waits_for_a_pushed_update(emu: TelegramEmulator, bot: Bot) -> None:
    assert await bot.get_updates(timeout=0) == ()
    polling = asyncio.create_task(bot.get_updates(timeout=30))
    # Pushed only once the call is parked on the server, so it is the wake-up that answers.
    await emu.wait_for_waiting_poll()
    assert not polling.done()
    assert emu.waiting_polls == 1
    update_id = emu.push_update(emu.build.private_text(text="wake up"))
    updates = await asyncio.wait_for(polling, 10)
    assert emu.waiting_polls == 0
    assert [u.update_id for u in updates] == [update_id]
    assert updates[0].message is not None
    assert updates[0].message.text == "wake up"
    # Confirming with offset forgets the update.
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
    assert emu.pending_updates == []
    assert emu.push_update({"update_id": 500, **emu.build.private_text(text="x")}) == 500
    assert emu.push_update(emu.build.private_text(text="y")) == 501


async def test_built_updates_de_json_in_ptb(emu: TelegramEmulator, bot: Bot) -> None:
    build = emu.build
    first = build.private_text(text="/start@knowrithm_test_bot hi")
    emu.push_update(first)
    emu.push_update(build.group_text(text="@knowrithm_test_bot help", user=BOB))
    emu.push_update(build.topic_text(text="in topic", thread_id=3))
    emu.push_update(build.bot_text(text="beep"))
    emu.push_update(build.sticker(emoji="🔥"))
    emu.push_update(build.edited_text(original=first, text="edited"))
    sent = await bot.send_message(ALICE["id"], "bot says")
    emu.push_update(
        build.reply_to_bot(text="reply", chat_id=int(ALICE["id"]), message_id=sent.message_id)
    )
    emu.push_update(build.reaction(chat_id=int(ALICE["id"]), message_id=sent.message_id))
    updates = await bot.get_updates(timeout=0, allowed_updates=["message", "edited_message"])
    assert emu.allowed_updates == ("message", "edited_message")
    assert all(isinstance(u, Update) for u in updates)
    command, group, topic, from_bot, sticker, edited, reply = updates  # reaction not allowed
    assert command.message.entities[0].type == "bot_command"  # type: ignore[union-attr]
    assert group.message.entities[0].type == "mention"  # type: ignore[union-attr]
    assert group.message.chat.type == "supergroup"  # type: ignore[union-attr]
    assert topic.message.is_topic_message
    assert topic.message.message_thread_id == 3
    assert topic.message.reply_to_message.forum_topic_created is not None  # type: ignore[union-attr]
    assert from_bot.message.from_user.is_bot is True  # type: ignore[union-attr]
    assert sticker.message.text is None
    assert sticker.message.sticker.emoji == "🔥"
    assert edited.edited_message.text == "edited"  # type: ignore[union-attr]
    assert edited.edited_message.message_id == command.message.message_id  # type: ignore[union-attr]
    assert reply.message.reply_to_message.from_user.id == bot.id  # type: ignore[union-attr]
    assert reply.message.reply_to_message.text == "bot says"  # type: ignore[union-attr]


async def test_application_polling_delivers_updates_to_handlers(emu: TelegramEmulator) -> None:
    received: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await received.put(("command", update.effective_message.text))  # type: ignore[union-attr]
        await update.effective_message.reply_text("welcome")  # type: ignore[union-attr]

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await received.put(("text", update.effective_message.text))  # type: ignore[union-attr]

    async def on_reaction(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        reaction = update.message_reaction
        assert reaction is not None
        await received.put(("reaction", [r.emoji for r in reaction.new_reaction]))  # type: ignore[union-attr]

    app = _application(emu)
    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    app.add_handler(MessageReactionHandler(on_reaction))
    async with app:
        await app.updater.start_polling(  # type: ignore[union-attr]
            timeout=2, allowed_updates=["message", "message_reaction"]
        )
        await app.start()
        emu.push_update(emu.build.private_text(text="/start"))
        assert await asyncio.wait_for(received.get(), 5) == ("command", "/start")
        reply = await emu.wait_for_call("sendMessage")
        assert reply.params["chat_id"] == ALICE["id"]
        assert reply.params["text"] == "welcome"
        emu.push_update(emu.build.private_text(text="plain question"))
        assert await asyncio.wait_for(received.get(), 5) == ("text", "plain question")
        emu.push_update(emu.build.reaction(chat_id=int(ALICE["id"]), message_id=1, new=["👍"]))
        assert await asyncio.wait_for(received.get(), 5) == ("reaction", ["👍"])
        await app.updater.stop()  # type: ignore[union-attr]
        await app.stop()
    methods = [call.method for call in emu.calls]
    assert methods[:2] == ["getMe", "deleteWebhook"]
    assert emu.allowed_updates == ("message", "message_reaction")
    assert emu.pending_updates == []
    polls = emu.calls_of("getUpdates")
    # On stop PTB polls once more without waiting; that poll ends the abandoned long poll.
    assert any(call.params["timeout"] == 0 and call.ok for call in polls)
    assert polls[-1].status == 409
    assert "terminated by other getUpdates" in str(polls[-1].description)


async def test_reactions_are_withheld_unless_allowed(emu: TelegramEmulator, bot: Bot) -> None:
    chat_id = _alice_chat(emu)
    emu.push_update(emu.build.reaction(chat_id=chat_id, message_id=1))
    emu.push_update(emu.build.private_text(text="after"))
    updates = await bot.get_updates(timeout=0)
    kinds = [u.message.text if u.message else "reaction" for u in updates]
    assert kinds == ["hello", "after"]


# -- updates: webhook ------------------------------------------------------------------------------


async def test_webhook_delivery_checks_the_secret(emu: TelegramEmulator) -> None:
    received: asyncio.Queue[str] = asyncio.Queue()

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await received.put(update.effective_message.text)  # type: ignore[union-attr]

    app = _application(emu)
    app.add_handler(MessageHandler(filters.TEXT, on_text))
    port = free_port()  # the listener's URL is set from its port, so it cannot be 0
    async with app:
        await app.updater.start_webhook(  # type: ignore[union-attr]
            listen="127.0.0.1", port=port, secret_token="right-secret"
        )
        await app.start()
        webhook = emu.webhook
        assert webhook is not None
        assert webhook.url == f"http://127.0.0.1:{port}/"
        assert webhook.secret_token == "right-secret"
        with pytest.raises(Conflict, match="webhook is active"):
            await app.bot.get_updates(timeout=0)
        update = emu.build.private_text(text="via webhook")
        wrong = await emu.deliver_webhook(url=webhook.url, update=update, secret_token="wrong")
        missing = await emu.deliver_webhook(url=webhook.url, update=update, secret_token=None)
        assert (wrong, missing) == (403, 403)
        assert received.empty()
        right = await emu.deliver_webhook(
            url=webhook.url, update=update, secret_token="right-secret"
        )
        assert right == 200
        assert await asyncio.wait_for(received.get(), 5) == "via webhook"
        await app.updater.stop()  # type: ignore[union-attr]
        await app.stop()


# -- wire details ----------------------------------------------------------------------------------


async def test_json_query_and_empty_bodies_are_accepted(emu: TelegramEmulator) -> None:
    chat_id = _alice_chat(emu)
    base = f"{emu.base_url}{emu.token}"
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{base}/sendMessage", json={"chat_id": chat_id, "text": "123"}
        ) as r:
            body = await r.json()
        assert r.status == 200
        assert body["result"]["text"] == "123"
        async with session.get(f"{base}/getme") as r:
            assert (await r.json())["result"]["username"] == emu.bot.username
        headers = {"Content-Type": "multipart/form-data; boundary=x"}
        async with session.post(f"{base}/getMe", data=b"", headers=headers) as r:
            assert r.status == 200
        async with session.post(
            f"{base}/sendMessage?chat_id={chat_id}", data={"text": "true"}
        ) as r:
            assert (await r.json())["result"]["text"] == "true"
        form = aiohttp.FormData()
        form.add_field("chat_id", str(chat_id))
        form.add_field("text", "with a file")
        form.add_field("document", b"data", filename="a.txt", content_type="text/plain")
        async with session.post(f"{base}/sendMessage", data=form) as r:
            assert (await r.json())["result"]["text"] == "with a file"
        assert emu.calls[-1].params["document"].data == b"data"
        async with session.post(f"{base}/noSuchMethod") as r:
            assert r.status == 404
            assert json.loads(await r.text())["ok"] is False
    assert emu.calls_of("getMe")[-1].status == 200


async def test_wait_for_call_matches_predicates_and_times_out(
    emu: TelegramEmulator, bot: Bot
) -> None:
    chat_id = _alice_chat(emu)
    mark = len(emu.calls)
    waiter = asyncio.create_task(
        emu.wait_for_call("sendMessage", predicate=lambda c: c.params["text"] == "two", since=mark)
    )
    await bot.send_message(chat_id, "one")
    await bot.send_message(chat_id, "two")
    call = await asyncio.wait_for(waiter, 2)
    assert call.params["text"] == "two"
    assert call.ok
    with pytest.raises(AssertionError, match="no matching deleteMessage"):
        await emu.wait_for_call("deleteMessage", timeout=0.05)


async def test_a_raw_update_is_delivered_as_given_and_confirmed_by_its_number(
    emu: TelegramEmulator, bot: Bot
) -> None:
    # The real library cannot read a message without a date: the whole batch fails, which
    # is exactly what poison tests need the emulator to make possible.
    broken = emu.build.private_text(text="no date")
    del broken["message"]["date"]
    first = emu.push_raw_update({"update_id": 900, **broken})
    nameless = emu.push_raw_update(["not", "an", "update"])
    assert (first, nameless) == (900, 901)
    assert emu.pending_updates == [{"update_id": 900, **broken}, ["not", "an", "update"]]
    with pytest.raises((KeyError, TypeError)):
        await bot.get_updates(timeout=0)
    # Offsets confirm raw updates by the number they were given, carried or not.
    assert await bot.get_updates(offset=902, timeout=0) == ()
    assert emu.pending_updates == []
    assert emu.push_update(emu.build.private_text(text="next")) == 902


async def test_raw_updates_pass_any_allowed_updates_filter(emu: TelegramEmulator) -> None:
    emu.push_raw_update({"update_id": 7, "callback_query": {"id": "x"}})
    async with aiohttp.ClientSession() as session:
        url = f"{emu.base_url}{emu.token}/getUpdates"
        payload = {"timeout": 0, "allowed_updates": ["message"]}
        async with session.post(url, json=payload) as response:
            answer = await response.json()
    assert answer["result"] == [{"update_id": 7, "callback_query": {"id": "x"}}]


async def test_a_user_link_is_a_mention_and_a_force_reply_stays_with_the_message(
    emu: TelegramEmulator, bot: Bot
) -> None:
    chat_id = _alice_chat(emu)
    sent = await bot.send_message(
        chat_id,
        f'<a href="tg://user?id={ALICE["id"]}">Alice</a>, why?',
        parse_mode=ParseMode.HTML,
        reply_markup=ForceReply(selective=True, input_field_placeholder="Because"),
    )
    [mention] = sent.entities
    assert (mention.type, mention.offset, mention.length) == ("text_mention", 0, 5)
    assert mention.user is not None and mention.user.id == ALICE["id"]
    # Telegram's Message carries inline keyboards only; the force reply is the client's.
    assert sent.reply_markup is None
    assert emu.messages[-1].reply_markup == {
        "force_reply": True,
        "selective": True,
        "input_field_placeholder": "Because",
    }
