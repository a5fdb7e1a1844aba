"""Small pure pieces: Slack markup to plain text, thread keys and message ids."""

from __future__ import annotations

import pytest

from knowrithm_bots.adapters.slack.text import mentions, to_plain
from knowrithm_bots.adapters.slack.threads import MessageRef, ThreadRef


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
    thread = ThreadRef(team="T1", bot="UB", channel="C1", thread_ts="1700000000.000100")
    assert thread.key == "slack:T1:UB:C1:1700000000.000100"
    assert ThreadRef.parse(thread.key) == thread
    whole_dm = ThreadRef(team="T1", bot="UB", channel="D1", thread_ts=None)
    assert ThreadRef.parse(whole_dm.key) == whole_dm
    message = MessageRef(team="T1", channel="C1", ts="1700000000.000200")
    assert MessageRef.parse(message.id) == message
    with pytest.raises(ValueError, match="not a Slack thread key"):
        ThreadRef.parse("telegram:1:2")
