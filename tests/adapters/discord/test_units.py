"""The adapter's pure parts: thread keys, message refs, thread names, measuring."""

from __future__ import annotations

import pytest

from knowrithm_bots.adapters.discord import DiscordAdapter
from knowrithm_bots.adapters.discord.messages import thread_name
from knowrithm_bots.adapters.discord.outbound import BLANK_PLACEHOLDER, measure, render
from knowrithm_bots.adapters.discord.threads import MessageRef, ThreadKey
from knowrithm_bots.core.thread_key import ThreadKeyCodec


@pytest.mark.parametrize("kind", ["thread", "dm", "channel"])
def test_thread_keys_round_trip_and_carry_the_application(kind: str) -> None:
    key = ThreadKey.decode(f"discord:42:{kind}:1234567890")
    assert key.encode() == f"discord:42:{kind}:1234567890"
    assert (key.application_id, key.kind, key.channel_id) == (42, kind, 1234567890)


def test_the_adapter_declares_its_codec_and_keys_keep_their_stored_form() -> None:
    assert DiscordAdapter.thread_codec is ThreadKey
    key = ThreadKey(application_id=42, kind="dm", channel_id=7)
    assert isinstance(key, ThreadKeyCodec)
    # Byte for byte what stored conversations were filed under before the codec existed.
    assert key.encode() == "discord:42:dm:7"
    assert ThreadKey.decode(key.encode()) == key


@pytest.mark.parametrize(
    "bad",
    [
        "telegram:1:dm:2",
        "discord:1:dm",
        "discord:x:dm:2",
        "discord:1:group:2",
        "",
        "discord:1:dm:2:3",
        "discord:01:dm:2",  # encode never writes a leading zero
        "discord:1:dm:٣",  # a digit, but not one encode writes
        f"discord:1:dm:{2**64}",  # no snowflake is that large
        "Discord:1:dm:2",
    ],
)
def test_foreign_or_broken_thread_keys_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="key"):
        ThreadKey.decode(bad)


def test_message_refs_round_trip_as_the_bare_snowflake() -> None:
    ref = MessageRef.decode("1234567890123456789")
    assert ref == MessageRef(message_id=1234567890123456789)
    assert ref.encode() == "1234567890123456789"


@pytest.mark.parametrize("bad", ["", "abc", "-5", "+5", "05", "1.0", "٣", str(2**64), "1:2"])
def test_anything_else_is_not_a_message_ref(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Discord message id"):
        MessageRef.decode(bad)


def test_thread_names_come_from_the_question() -> None:
    assert thread_name("How do I  reset\nmy password?", author="Alice") == "How do I reset"
    long = thread_name("word " * 40, author="Alice")
    assert len(long) <= 90
    assert long.endswith("…")
    assert thread_name("   ", author="Alice") == "Question from Alice"


def test_rendering_never_sends_blank_content_and_measures_utf16() -> None:
    assert render("  \n") == BLANK_PLACEHOLDER
    assert measure("😀") == 2  # one code point, two UTF-16 units: never under Discord's count
    assert render("| a | b |\n|---|---|\n| 1 | 2 |").startswith("```")
