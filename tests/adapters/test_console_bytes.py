"""The console chat survives input its encoding cannot decode."""

from __future__ import annotations

import asyncio
import io

import pytest

from knowrithm_bots.adapters.console import ConsoleAdapter
from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.bots.runner import BotRunner
from knowrithm_bots.core.config import parse_settings
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.store import MemoryStore

pytestmark = pytest.mark.knowrithm_modes


async def test_undecodable_bytes_are_replaced_and_the_chat_goes_on(
    knowrithm: LocalKnowrithm, client: KnowrithmClient
) -> None:
    # A strict UTF-8 stdin (what a UTF-8 locale gives) fed bytes that are not UTF-8.
    raw = io.BytesIO(b"hello\n\xff\xfe bad\nbye\n")
    stdin = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
    out = io.StringIO()
    adapter = ConsoleAdapter(stdin=stdin, stdout=out, interactive=False)
    runner = BotRunner(
        settings=parse_settings(None, env={}),
        adapters={"console": adapter},
        client=client,
        agent_id=knowrithm.agent_id,
        store=MemoryStore(),
    )
    await asyncio.wait_for(runner.run(), 30)
    asked = [
        m.content
        for messages in knowrithm.state.messages.values()
        for m in messages
        if m.role == "user"
    ]
    assert asked == ["hello", "\ufffd\ufffd bad", "bye"]
    assert out.getvalue().count("agent ›") == 3
