"""Small pure pieces: Slack markup to plain text, thread keys and message ids."""

from __future__ import annotations

import pytest

from knowrithm_bots.adapters.slack import SlackAdapter
from knowrithm_bots.adapters.slack.text import mentions, to_plain
from knowrithm_bots.adapters.slack.threads import MessageRef, ThreadKey
from knowrithm_bots.core.thread_key import ThreadKeyCodec


def test_slack_markup_reads_as_plain_text() -> None:
    text = "<@U0BOT> hi <@U2|ann>, see <https://x.io|docs> or <https://y.io> &amp; <#C1|gen>"
    text += " <!here>"
    assert to_plain(text, bot_user_id="U0BOT") == (
        "hi @ann, see docs (https://x.io) or https://y.io & #gen @here"
    )
    assert to_plain("<@U0BOT> /end 4 thanks", bot_user_id="U0BOT") == "/end 4 thanks"
    assert to_plain("a &lt;b&gt; <mailto:a@b.c|a@b.c>") == "a <b> a@b.c"
    assert mentions("yo <@U0BOT|kb>", user_id="U0BOT")
    assert not mentions("yo <@U0BOTX>", user_id="U0BOT")


def test_thread_keys_and_message_ids_round_trip() -> None:
    thread = ThreadKey(team="T1", bot="UB", channel="C1", thread_ts="1700000000.000100")
    # The strings are stored (thread → conversation, message links): they must not change.
    assert thread.encode() == "slack:T1:UB:C1:1700000000.000100"
    assert ThreadKey.decode(thread.encode()) == thread
    whole_dm = ThreadKey(team="T1", bot="UB", channel="D1", thread_ts=None)
    assert whole_dm.encode() == "slack:T1:UB:D1:"
    assert ThreadKey.decode(whole_dm.encode()) == whole_dm
    message = MessageRef(team="T1", channel="C1", ts="1700000000.000200")
    assert message.encode() == "T1:C1:1700000000.000200"
    assert MessageRef.decode(message.encode()) == message
    assert isinstance(thread, ThreadKeyCodec)
    assert SlackAdapter.thread_codec is ThreadKey


@pytest.mark.parametrize(
    "garbled",
    ["telegram:1:2", "slack:T1:UB:C1", "slack:T1:UB:C1:1.2:x", "slack::UB:C1:1.2", "slack:T1:UB::"],
)
def test_thread_keys_encode_could_not_make_are_refused(garbled: str) -> None:
    with pytest.raises(ValueError, match=r"not a [Ss]lack thread key"):
        ThreadKey.decode(garbled)


@pytest.mark.parametrize("garbled", ["T1:C1", "T1::1.2", "T1:C1:1.2:x", ""])
def test_message_ids_encode_could_not_make_are_refused(garbled: str) -> None:
    with pytest.raises(ValueError, match="not a Slack message id"):
        MessageRef.decode(garbled)
