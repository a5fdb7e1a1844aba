"""stream_reply after the stream is lost: the history never yields an earlier turn's answer,
and nothing after an accepted send looks like a refused send.

These run on MockTransport: each needs a send answered without a task id (or without any
id), or a history that lists messages under other ids, and the local server always answers
a send with a task id and message id and lists the messages it stored. The refused
reconnect after an accepted send, which it can produce, is in test_local_server.py.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from knowrithm_bots.core.errors import ConversationEndedError, UnavailableError
from tests.core.knowrithm.fakes import (
    CHAT_PATH,
    FINAL,
    HISTORY_PATH,
    TASK_PATH,
    USER_MID,
    FakeKnowrithm,
    FakeStream,
    Script,
    collect,
    done,
    json_response,
    make_client,
    message,
    sse_frame,
)

OLD = [message("um-0", "user", "earlier question"), message("am-0", "assistant", "old answer")]
NEW = [message("um-9", "user", "hi"), message("am-1", "assistant", FINAL)]
# A send that answers neither a task id nor a message id.
NO_IDS = json_response(202, {"status": "queued"})
ENDED = json_response(409, {"detail": "Conversation has ended", "error_code": "CONVERSATION_ENDED"})


class History:
    """The history route: the old turns until ``reads_before_reply`` reads after the send."""

    def __init__(self, fake: FakeKnowrithm, *, reads_before_reply: int | None) -> None:
        self._fake = fake
        self._reads_before_reply = reads_before_reply
        self.after_send = 0
        fake.on("GET", HISTORY_PATH, self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        if not self._fake.seen("POST", CHAT_PATH):
            return json_response(200, {"messages": OLD})
        self.after_send += 1
        late = self._reads_before_reply
        arrived = late is not None and self.after_send > late
        return json_response(200, {"messages": OLD + NEW if arrived else OLD})


def lost_stream(fake: FakeKnowrithm, **chat: Any) -> Script:
    """The stream shows one delta and ends; the one reconnect is refused."""
    answers = chat.get("chat", [NO_IDS])
    untagged = sse_frame("chat_chunk", {"content": "Hel", "index": 0})
    return Script(
        fake,
        opens=[FakeStream(), json_response(503, {})],
        chat=answers,
        frames=[untagged, None],
    )


async def test_lost_stream_without_ids_waits_for_a_new_answer() -> None:
    fake = FakeKnowrithm()
    lost_stream(fake)
    history = History(fake, reads_before_reply=2)
    async with make_client(fake) as client:
        events = await collect(client)
    final = done(events).message
    assert (final.id, final.content) == ("am-1", FINAL)
    # The mark came before the send; two reads still showed only the old answer.
    assert history.after_send == 3
    assert len(fake.seen("POST", CHAT_PATH)) == 1
    assert fake.seen("GET", TASK_PATH) == []


async def test_without_a_new_answer_the_wait_fails_instead_of_repeating_the_old_one() -> None:
    fake = FakeKnowrithm()
    lost_stream(fake)
    History(fake, reads_before_reply=None)
    async with make_client(fake, task_timeout=0.2) as client:
        with pytest.raises(UnavailableError, match=r"history within 0\.2 seconds"):
            await collect(client)
    assert len(fake.seen("POST", CHAT_PATH)) == 1


async def test_unreadable_mark_is_not_retried_and_the_old_answer_is_still_skipped() -> None:
    fake = FakeKnowrithm()
    lost_stream(fake)
    state = {"reads": 0}

    def history(request: httpx.Request) -> httpx.Response:
        if not fake.seen("POST", CHAT_PATH):
            return json_response(503, {"detail": "busy"})
        state["reads"] += 1
        return json_response(200, {"messages": OLD + NEW if state["reads"] > 1 else OLD})

    fake.on("GET", HISTORY_PATH, history)
    async with make_client(fake) as client:
        events = await collect(client)
    assert done(events).message.id == "am-1"
    requests = [r.method for r in fake.requests if r.url.path in (HISTORY_PATH, CHAT_PATH)]
    assert requests == ["GET", "POST", "GET", "GET"]


async def test_history_reply_is_matched_by_reply_to() -> None:
    fake = FakeKnowrithm()
    # The send names the user message, but the history lists it under another id.
    lost_stream(fake, chat=[json_response(202, {"status": "queued", "message_id": USER_MID})])
    page = [
        *OLD,
        message("x-1", "user", "hi"),
        message("am-1", "assistant", FINAL, reply_to=USER_MID),
        message("am-2", "assistant", "a later answer", reply_to="um-2"),
    ]
    fake.on("GET", HISTORY_PATH, json_response(200, {"messages": page}))
    async with make_client(fake) as client:
        events = await collect(client)
    assert (done(events).message.id, done(events).message.content) == ("am-1", FINAL)


async def test_conversation_ended_after_an_accepted_send_is_not_reported_as_ended() -> None:
    fake = FakeKnowrithm()
    Script(
        fake,
        opens=[FakeStream(), ENDED],
        chat=[json_response(202, {"status": "queued", "message_id": USER_MID})],
        frames=[sse_frame("chat_chunk", {"message_id": USER_MID, "content": "Hel"}), None],
    )
    fake.on("GET", HISTORY_PATH, ENDED)
    async with make_client(fake) as client:
        with pytest.raises(UnavailableError, match="accepted the message") as info:
            await collect(client)
    assert not isinstance(info.value, ConversationEndedError)
    assert isinstance(info.value.__cause__, ConversationEndedError)
    assert len(fake.seen("POST", CHAT_PATH)) == 1
