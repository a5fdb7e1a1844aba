"""Event fields of an unexpected type are ignored or read safely, and never stop the bot."""

from __future__ import annotations

from typing import Any

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.user_messages import EMPTY_MESSAGE
from tests.adapters.slack.helpers import slack_bot
from tests.emulators.slack_api import SlackEmulator, events, ids

pytestmark = pytest.mark.knowrithm_modes


def _dm(said: str, **odd: Any) -> dict[str, Any]:
    event = events.im_message(text=said)
    event.update(odd)
    return event


async def test_odd_subtype_files_and_text_fields(
    emu: SlackEmulator, server: LocalKnowrithm, mode: str
) -> None:
    async with slack_bot(emu, server, mode=mode) as bot:
        # Not a person writing in any known way: stay silent.
        await bot.send(_dm("subtype is a list", subtype=[]))
        await bot.send(_dm("subtype is a dict", subtype={"kind": "file_share"}))
        # A person writing, with fields that cannot be read: answer what can be.
        await bot.send(_dm("files is a number", files=5))
        await bot.send(_dm("files is a dict", files={"name": "x.pdf"}))
        await bot.send(_dm("unused", text={"rich": True}))
        await bot.send(_dm("still here"))
        await bot.settle()

    # Each top-level DM is a thread of its own: their order to Knowrithm is not promised.
    assert sorted(text for _, text in server.state.chat_requests) == [
        "files is a dict",
        "files is a number",
        "still here",
    ]
    shown = [m.text for m in emu.bot_messages(ids.IM_CHANNEL_ID)]
    assert shown.count(EMPTY_MESSAGE) == 1  # the text that was not text
    assert len(shown) == 4
