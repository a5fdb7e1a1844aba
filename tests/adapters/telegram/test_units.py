"""Small pieces of the adapter on their own: keys, commands, lengths, errors."""

from __future__ import annotations

import datetime as dtm
import warnings

import pytest
from telegram import Update
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut

from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.adapters.telegram.commands import read_command
from knowrithm_bots.adapters.telegram.config import TelegramConfig
from knowrithm_bots.adapters.telegram.errors import is_not_modified, translate, translated
from knowrithm_bots.adapters.telegram.inbound import Deliver, Translator
from knowrithm_bots.adapters.telegram.redact import REDACTED, redact
from knowrithm_bots.adapters.telegram.render import measure
from knowrithm_bots.adapters.telegram.threads import MessageRef, ThreadKey
from knowrithm_bots.core.errors import (
    MarkupRejected,
    MessageNotFound,
    MessageTooLong,
    NativeStreamUnavailable,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
)
from knowrithm_bots.core.thread_key import ThreadKeyCodec
from tests.emulators.telegram_api import ALICE, BOB, BotIdentity
from tests.emulators.telegram_api._builders import UpdateBuilder
from tests.emulators.telegram_api._world import World

TOKEN = "123456:AAH-secret_Token-Value-1234567890"


@pytest.mark.parametrize(
    ("key", "text", "private"),
    [
        (ThreadKey(bot_id=7, chat_id=1001), "telegram:7:1001", True),
        (
            ThreadKey(bot_id=7, chat_id=-1001000000002, topic_id=5),
            "telegram:7:-1001000000002:5",
            False,
        ),
        (ThreadKey(bot_id=7, chat_id=-4002), "telegram:7:-4002", False),  # a basic group
        # One person's conversation in a group, and in a forum topic.
        (ThreadKey(bot_id=7, chat_id=-4002, user_id=1001), "telegram:7:-4002:u1001", False),
        (
            ThreadKey(bot_id=7, chat_id=-100, topic_id=5, user_id=1001),
            "telegram:7:-100:5:u1001",
            False,
        ),
        # An anonymous admin writes as the group: its id is the group's.
        (ThreadKey(bot_id=7, chat_id=-100, user_id=-100), "telegram:7:-100:u-100", False),
    ],
)
def test_thread_keys_round_trip(key: ThreadKey, text: str, private: bool) -> None:
    assert key.encode() == text
    assert ThreadKey.decode(text) == key
    assert key.is_private is private


@pytest.mark.parametrize(
    "bad",
    [
        "slack:7:1",
        "telegram:7",
        "telegram:a:1",
        "telegram:1:2:3:4",
        # int() reads these, but encode() never writes them.
        "telegram:+7:1",
        "telegram:07:1",
        "telegram: 7:1",
        "telegram:7:1_000",
        "telegram:7:-0",
        "telegram:7:1:",
        "",
        # The user part is marked, last, and spelt as the other numbers are.
        "telegram:7:u1",
        "telegram:7:1:u",
        "telegram:7:1:u01",
        "telegram:7:1:u+1",
        "telegram:7:1:U1",
        "telegram:7:1:u1:5",
        "telegram:7:1:2:3:u1",
        "telegram:7:1:u1:u2",
    ],
)
def test_foreign_thread_keys_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Telegram thread key"):
        ThreadKey.decode(bad)


def test_the_adapter_names_its_codec_and_config_model() -> None:
    assert TelegramAdapter.thread_codec is ThreadKey
    assert TelegramAdapter.config_model is TelegramConfig
    assert isinstance(ThreadKey(bot_id=7, chat_id=1), ThreadKeyCodec)


@pytest.mark.parametrize("bad", ["12", "1:2", "1:2:3:4", "a:b:c", "1:2:+3", "1:2: 3", ""])
def test_message_refs_round_trip_and_name_the_bot_and_chat(bad: str) -> None:
    ref = MessageRef(bot_id=7, chat_id=-100, message_id=12)
    assert MessageRef.decode(ref.encode()) == ref
    assert ref.encode() == "7:-100:12"
    with pytest.raises(ValueError, match="not a Telegram message reference"):
        MessageRef.decode(bad)


@pytest.mark.parametrize(
    ("text", "name", "stripped", "for_us"),
    [
        ("/new", "new", "/new", None),
        ("/end@Knowrithm_Test_Bot 5 great", "end", "/end 5 great", True),
        ("/help@other_bot", "help", "/help", False),
        ("/start\nhi", "start", "/start\nhi", None),
    ],
)
def test_commands_lose_the_bot_name(
    text: str, name: str, stripped: str, for_us: bool | None
) -> None:
    command = read_command(text, username="knowrithm_test_bot")
    assert command is not None
    assert (command.name, command.text, command.for_us) == (name, stripped, for_us)


@pytest.mark.parametrize("text", ["hello /new", "/usr/bin is a path", "", "/"])
def test_ordinary_text_is_not_a_command(text: str) -> None:
    assert read_command(text, username="bot") is None


def test_measure_counts_utf16_units_of_what_telegram_shows() -> None:
    assert measure("**bold** text", formatting="html") == len("bold text")
    assert measure("😀", formatting="html") == 2
    assert measure("a < b & c", formatting="html") == len("a < b & c")
    # The plain-text retry shows the link's address too, so it counts.
    link = "[docs](https://example.org)"
    assert measure(link, formatting="html") == len("docs (https://example.org)")
    adapter = TelegramAdapter.from_config(config={"token": TOKEN})
    assert adapter.measure("😀 x") == 4


@pytest.mark.parametrize("opt_in", [False, True])
def test_retry_after_becomes_rate_limited_either_way(
    monkeypatch: pytest.MonkeyPatch, opt_in: bool
) -> None:
    if opt_in:
        monkeypatch.setenv("PTB_TIMEDELTA", "true")
    else:
        monkeypatch.delenv("PTB_TIMEDELTA", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB warns while building the exception
        error = RetryAfter(dtm.timedelta(seconds=3) if opt_in else 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        translated = translate(error, action="posting a message", secret=TOKEN)
    assert isinstance(translated, PlatformRateLimited)
    assert translated.retry_after == 3.0


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (BadRequest("Can't parse entities: unsupported start tag"), MarkupRejected),
        (BadRequest("Message is too long"), MessageTooLong),
        (BadRequest("MESSAGE_TOO_LONG"), MessageTooLong),
        (BadRequest("Message to edit not found"), MessageNotFound),
        (BadRequest("Chat not found"), PlatformError),
        (Forbidden("Forbidden: bot was blocked by the user"), PlatformAuthError),
        (TimedOut(), PlatformUnavailable),
        (NetworkError("Bad Gateway"), PlatformUnavailable),
        (InvalidToken(f"The token `{TOKEN}` was rejected by the server."), PlatformAuthError),
    ],
)
def test_errors_translate_without_the_token(error: Exception, kind: type[PlatformError]) -> None:
    translated = translate(error, action="posting a message", secret=TOKEN)
    assert type(translated) is kind
    assert TOKEN not in str(translated)
    assert TOKEN.partition(":")[2] not in str(translated)


def test_only_telegram_failures_are_translated() -> None:
    assert translate(KeyError("a bug of ours"), action="posting a message", secret=TOKEN) is None
    with pytest.raises(KeyError), translated(action="posting a message", secret=TOKEN):
        raise KeyError("a bug of ours")
    editing = translated(action="editing a message", secret=TOKEN)
    with pytest.raises(MessageNotFound, match="for editing a message"), editing:
        raise BadRequest("Message to edit not found")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (BadRequest("Chat not found"), NativeStreamUnavailable),
        (Forbidden("Forbidden: bot was blocked by the user"), NativeStreamUnavailable),
        (NetworkError("Bad Gateway"), PlatformUnavailable),  # waited out, then posted
        (BadRequest("Can't parse entities: bad tag"), MarkupRejected),  # retried as plain
    ],
)
def test_a_refused_draft_becomes_native_stream_unavailable(
    error: Exception, kind: type[PlatformError]
) -> None:
    drafting = translated(action="showing the draft", secret=TOKEN, native_stream=True)
    with pytest.raises(kind) as caught, drafting:
        raise error
    assert type(caught.value) is kind


def test_a_webhook_port_in_use_names_the_address() -> None:
    listening = translated(action="setting the webhook", secret=TOKEN, listen="127.0.0.1:8443")
    where = r"cannot listen for webhooks on 127\.0\.0\.1:8443"
    with pytest.raises(PlatformError, match=where), listening:
        raise OSError(98, "Address already in use")
    # Without a listener an OSError is no platform failure of ours to name.
    assert translate(OSError(98, "x"), action="posting a message", secret=TOKEN) is None


def test_not_modified_is_recognised() -> None:
    assert is_not_modified(BadRequest("Message is not modified: specified new message content"))
    assert not is_not_modified(BadRequest("Message to edit not found"))


def test_redact_hides_the_token_and_its_secret_half() -> None:
    text = f"url /bot{TOKEN}/getMe and {TOKEN.partition(':')[2]}"
    assert redact(text, secret=TOKEN) == f"url /bot{REDACTED}/getMe and {REDACTED}"


def test_budget_keys_share_chats_and_spare_private_chats_the_group_budget() -> None:
    adapter = TelegramAdapter.from_config(config={"token": TOKEN})
    private = adapter.budget_keys(thread="telegram:7:1001")
    topic = adapter.budget_keys(thread="telegram:7:-100:5")
    group = adapter.budget_keys(thread="telegram:7:-100")
    assert "group" not in private
    assert topic["chat"] == group["chat"] == topic["group"]
    assert {b.scope for b in adapter.limits.budgets} <= set(group)
    # A person's conversation in a group spends the group's budgets, not budgets of its own.
    for own in ("telegram:7:-100:u1001", "telegram:7:-100:5:u1001"):
        keys = adapter.budget_keys(thread=own)
        assert (keys["chat"], keys["group"], keys["bot"]) == (
            group["chat"],
            group["group"],
            group["bot"],
        )


def test_staff_list_marks_everyone_else_external() -> None:
    build = UpdateBuilder(world=World(bot=BotIdentity()))
    translator = Translator(
        bot_id=7,
        username="knowrithm_test_bot",
        config=TelegramConfig.load(
            {"token": TOKEN, "staff_users": [ALICE["id"]]}, prefix="adapters.telegram"
        ),
        thread_of=lambda ref: None,
    )
    authors = {}
    for user in (ALICE, BOB):
        raw = {"update_id": int(user["id"]), **build.private_text(text="hi", user=user)}
        decision = translator.message(Update.de_json(raw, None))
        assert isinstance(decision, Deliver)
        authors[user["first_name"]] = decision.event.author
        assert decision.event.event_id == f"7:{user['id']}"
        assert decision.event.origin.is_direct
    assert (authors["Alice"].external, authors["Bob"].external) == (False, True)
    assert authors["Alice"].email is None  # Telegram never tells an address
    assert authors["Bob"].first_name == "Bob"
