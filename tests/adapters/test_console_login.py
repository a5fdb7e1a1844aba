"""The console chat starts even when the system cannot name the user at the terminal."""

from __future__ import annotations

import asyncio
import pwd

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.store import MemoryStore
from tests.adapters.test_console import chat

pytestmark = pytest.mark.knowrithm_modes


def _no_passwd_entry(uid: int) -> pwd.struct_passwd:
    raise KeyError(f"getpwuid(): uid not found: {uid}")


async def test_a_uid_without_passwd_entry_chats_as_local(
    knowrithm: LocalKnowrithm, client: KnowrithmClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a container running under an arbitrary uid looks like to getpass.getuser().
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pwd, "getpwuid", _no_passwd_entry)
    output = await asyncio.wait_for(chat("hello\n", knowrithm, client, MemoryStore()), 10)
    assert output.startswith('agent › You asked: "hello".')
    (conversation,) = knowrithm.state.conversations.values()
    assert (conversation.metadata["user_id"], conversation.metadata["user_name"]) == (
        "local",
        "local",
    )
