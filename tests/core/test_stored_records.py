"""The records a crash recovery reads back (unfinished answers, thread sessions) keep every
field, in the layout earlier versions wrote."""

from __future__ import annotations

import json

from knowrithm_bots.core.events import Author, ContextMessage, Inbound, InboundFile, Origin
from knowrithm_bots.core.pending_replies import PendingReply
from knowrithm_bots.core.sessions import Session


def _event() -> Inbound:
    return Inbound(
        thread="slack:T1:C1:1700000000.000100",
        event_id="Ev1",
        text="what does it cost?",
        author=Author(
            id="U1",
            display_name="Ada",
            external=True,
            email="ada@example.com",
            first_name="Ada",
            last_name="Lovelace",
        ),
        origin=Origin(
            adapter="slack",
            channel_id="C1",
            workspace_id="T1",
            thread_id="1700000000.000100",
            channel_name="sales",
        ),
        message_id="1700000000.000200",
        context=(
            ContextMessage(author="Bob", text="hi"),
            ContextMessage(author="bot", text="hello", from_bot=True),
        ),
        files=(InboundFile(name="a.txt", mime_type="text/plain", size=3, text="abc"),),
    )


def test_an_unfinished_answer_reads_back_as_it_was_written() -> None:
    reply = PendingReply(
        event=_event(),
        stage="sending",
        conversation_id="c1",
        sending_at=12.5,
        shown=("m1", "m2"),
        with_context=True,
    )
    stored = json.loads(json.dumps(reply.to_json()))  # as the store keeps it
    assert PendingReply.from_json(stored) == reply
    assert stored["event"]["author"] == {
        "id": "U1",
        "display_name": "Ada",
        "is_bot": False,
        "external": True,
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
    }
    assert stored["event"]["origin"]["workspace_id"] == "T1"
    assert stored["event"]["context"][1] == {"author": "bot", "text": "hello", "from_bot": True}
    assert stored["event"]["files"][0]["text"] == "abc"


def test_a_session_reads_back_as_it_was_written() -> None:
    session = Session(
        thread="telegram:42",
        conversation_id="c9",
        entity_type="LEAD",
        lead_id="l1",
        started_at=100.0,
        last_active=160.5,
    )
    stored = json.loads(json.dumps(session.to_json()))
    assert set(stored) == {
        "thread",
        "conversation_id",
        "entity_type",
        "lead_id",
        "started_at",
        "last_active",
    }
    assert Session.from_json(stored) == session
