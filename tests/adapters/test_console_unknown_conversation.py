"""A stored conversation the restarted Knowrithm does not know: the console chat just goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.store import SqliteStore
from tests.adapters.test_console import chat
from tests.harness import client_for

pytestmark = pytest.mark.knowrithm_modes

THREAD_KEY = "thread:console:local"


async def chat_once(text: str, *, server: LocalKnowrithm, store_path: Path) -> str:
    """One run of the console bot (its own client, the sqlite store) answering ``text``."""
    store = SqliteStore(path=store_path)
    try:
        async with client_for(server) as client:
            return await chat(text + "\n", server, client, store)
    finally:
        await store.close()


async def stored_conversation(store_path: Path) -> str:
    store = SqliteStore(path=store_path)
    try:
        record = await store.get(THREAD_KEY)
    finally:
        await store.close()
    assert isinstance(record, dict)
    return str(record["conversation_id"])


async def test_a_store_that_outlived_its_server_starts_a_new_conversation_silently(
    tmp_path: Path,
) -> None:
    store_path = tmp_path / "bot.sqlite"
    async with LocalKnowrithm() as first:
        await chat_once("before the restart", server=first, store_path=store_path)
        port = first.port
    lost = await stored_conversation(store_path)

    # The same address, a new server: it has never heard of the stored conversation.
    async with LocalKnowrithm(port=port) as second:
        output = await chat_once("after the restart", server=second, store_path=store_path)
        (conversation,) = second.state.conversations
        messages = second.state.messages[conversation]
        assert [m.content for m in messages if m.role == "user"] == ["after the restart"]
        # The answer, and not a word about the lost conversation.
        assert output.splitlines() == ["agent › " + messages[-1].content]
        assert await stored_conversation(store_path) == conversation != lost
        refused = [r for r in second.state.received if r.path.endswith("/chat")]
        assert refused[0].path == f"/api/v1/conversation/{lost}/chat"

        # Mended for good: the next run goes on in the new conversation.
        await chat_once("and after another restart", server=second, store_path=store_path)
        assert list(second.state.conversations) == [conversation]
        users = [m.content for m in second.state.messages[conversation] if m.role == "user"]
        assert users == ["after the restart", "and after another restart"]
