"""files.send_as_attachments: the files also reach Knowrithm's ``attachments`` field, no URL."""

from __future__ import annotations

import json

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.bots.local_knowrithm.records import StoredMessage
from tests.emulators.telegram_api import TelegramEmulator
from tests.harness import running_bot

from .support import adapter_for, answered

pytestmark = pytest.mark.knowrithm_modes

NOTES = "Meeting notes\n- ship on Friday\n"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


def _questions(server: LocalKnowrithm) -> list[StoredMessage]:
    return [m for ms in server.state.messages.values() for m in ms if m.role == "user"]


async def _send_files(emu: TelegramEmulator, server: LocalKnowrithm, *, on: bool) -> None:
    config = {"files": {"send_as_attachments": on}}
    adapter = adapter_for(emu)
    async with running_bot({"telegram": adapter}, server=server, config=config) as bot:
        emu.push_update(
            emu.build.document(
                data=NOTES.encode(), file_name="notes.txt", mime_type="text/plain", caption="read"
            )
        )
        await answered(bot, 1)
        emu.push_update(emu.build.photo(data=JPEG, caption="see"))
        await answered(bot, 2)
        emu.push_update(emu.build.private_text(text="no file here"))
        await answered(bot, 3)


async def test_files_are_listed_in_attachments_when_switched_on(emu: TelegramEmulator) -> None:
    async with LocalKnowrithm() as server:
        await _send_files(emu, server, on=True)
    read, seen, plain = _questions(server)
    assert read.attachments == [
        {"name": "notes.txt", "mime_type": "text/plain", "size": len(NOTES), "content": NOTES}
    ]
    assert seen.attachments is not None
    (photo,) = seen.attachments
    assert (photo["name"], photo["mime_type"], "content" in photo) == (
        "photo.jpg",
        "image/jpeg",
        False,
    )
    assert photo["size"] == len(JPEG)
    assert plain.attachments is None  # no files, no field
    # The message text still carries the files, as without the field.
    assert "[File notes.txt]" in read.content
    # Nothing that could reach Telegram's file URLs (they embed the bot token) is passed on.
    listed = json.dumps([read.attachments, seen.attachments])
    assert emu.token not in listed
    assert emu.token.split(":", 1)[1] not in listed
    assert "http" not in listed and "file_id" not in listed


async def test_no_attachments_field_unless_switched_on(emu: TelegramEmulator) -> None:
    async with LocalKnowrithm() as server:
        await _send_files(emu, server, on=False)
    questions = _questions(server)
    assert [q.attachments for q in questions] == [None, None, None]
    assert "[File notes.txt]" in questions[0].content
    chats = [r.body for r in server.state.received if r.path.endswith("/chat")]
    assert len(chats) == 3 and not any("attachments" in body for body in chats)
