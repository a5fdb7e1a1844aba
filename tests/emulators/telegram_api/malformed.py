"""A catalogue of malformed Telegram updates, one per class of breakage, for poison tests.

Each entry takes a sound update (a private text message, a reaction, a button press) and
breaks one thing: a missing or wrongly typed required field at one level (update, message,
chat, from, entities, reply, reaction, callback). Push the result with
``TelegramEmulator.push_raw_update``, which delivers it exactly as built. Every broken
update carries ``POISON_MARKER`` in some text of its own, so a test can check that no log
line quotes the payload.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tests.emulators.breakage import drop_path, set_path, whole

from ._builders import ALICE, UpdateBuilder

POISON_MARKER = "poison-payload-marker-7f3a"

Base = Literal["message", "reaction", "callback"]


@dataclass(frozen=True)
class Malformed:
    """One class of malformed update: which sound update it starts from, and what breaks."""

    name: str
    base: Base
    breakage: Callable[[dict[str, Any]], Any]


def _edited_without_date(update: dict[str, Any]) -> Any:
    broken = copy.deepcopy(update)
    edited = broken.pop("message")
    del edited["date"]
    broken["edited_message"] = {**edited, "edit_date": 1}
    return broken


MALFORMED_UPDATES: tuple[Malformed, ...] = (
    # --- the update itself
    Malformed("update is a list", "message", whole([1, 2, 3])),
    Malformed("update is a string", "message", whole(POISON_MARKER)),
    Malformed("update is null", "message", whole(None)),
    Malformed("update without update_id", "message", drop_path("update_id")),
    Malformed("update_id is a string", "message", set_path("update_id", "seven")),
    Malformed("message is a string", "message", set_path("message", POISON_MARKER)),
    Malformed("message is a list", "message", set_path("message", [POISON_MARKER])),
    # --- the message
    Malformed("message without message_id", "message", drop_path("message.message_id")),
    Malformed("message_id is a string", "message", set_path("message.message_id", "x")),
    Malformed("message without date", "message", drop_path("message.date")),
    Malformed("date is a string", "message", set_path("message.date", "yesterday")),
    Malformed("date out of range", "message", set_path("message.date", 10**20)),
    Malformed("text is a number", "message", set_path("message.text", 42)),
    Malformed(
        "message_thread_id is a string", "message", set_path("message.message_thread_id", "t")
    ),
    Malformed("edited message without date", "message", _edited_without_date),
    # --- the chat
    Malformed("message without chat", "message", drop_path("message.chat")),
    Malformed("chat is a string", "message", set_path("message.chat", "private")),
    Malformed("chat without id", "message", drop_path("message.chat.id")),
    Malformed("chat id is a string", "message", set_path("message.chat.id", "abc")),
    Malformed("chat without type", "message", drop_path("message.chat.type")),
    # --- the sender
    Malformed("from is a list", "message", set_path("message.from", [])),
    Malformed("from without id", "message", drop_path("message.from.id")),
    Malformed("from id is a string", "message", set_path("message.from.id", "1001")),
    Malformed("from without is_bot", "message", drop_path("message.from.is_bot")),
    Malformed("from without first_name", "message", drop_path("message.from.first_name")),
    # --- entities
    Malformed("entities is a string", "message", set_path("message.entities", POISON_MARKER)),
    Malformed("entity is a string", "message", set_path("message.entities.0", "mention")),
    Malformed("entity without length", "message", drop_path("message.entities.0.length")),
    Malformed("entity without type", "message", drop_path("message.entities.0.type")),
    Malformed("entity offset is a string", "message", set_path("message.entities.0.offset", "0")),
    Malformed(
        "caption entity without length",
        "message",
        set_path("message.caption_entities", [{"type": "bold", "offset": 0}]),
    ),
    # --- the message replied to
    Malformed("reply_to_message is a string", "message", set_path("message.reply_to_message", "x")),
    Malformed(
        "reply_to_message without date",
        "message",
        set_path(
            "message.reply_to_message",
            {"message_id": 1, "chat": {"id": ALICE["id"], "type": "private"}},
        ),
    ),
    # --- reactions
    Malformed("reaction without chat", "reaction", drop_path("message_reaction.chat")),
    Malformed("reaction without message_id", "reaction", drop_path("message_reaction.message_id")),
    Malformed("reaction without date", "reaction", drop_path("message_reaction.date")),
    Malformed("reaction user without id", "reaction", drop_path("message_reaction.user.id")),
    Malformed(
        "reaction without old_reaction", "reaction", drop_path("message_reaction.old_reaction")
    ),
    Malformed(
        "new_reaction is a string", "reaction", set_path("message_reaction.new_reaction", "👍")
    ),
    Malformed(
        "reaction type without type", "reaction", drop_path("message_reaction.new_reaction.0.type")
    ),
    Malformed(
        "emoji reaction without emoji",
        "reaction",
        drop_path("message_reaction.new_reaction.0.emoji"),
    ),
    # --- button presses
    Malformed("callback without id", "callback", drop_path("callback_query.id")),
    Malformed("callback without from", "callback", drop_path("callback_query.from")),
)


def sound_update(build: UpdateBuilder, *, base: Base, update_id: int) -> dict[str, Any]:
    """The sound update of kind ``base`` a catalogue entry breaks, numbered ``update_id``.

    The message quotes ``POISON_MARKER`` and mentions someone, so that it has an entity.
    """
    update: Mapping[str, Any]
    if base == "message":
        update = build.private_text(text=f"@someone {POISON_MARKER}")
    elif base == "reaction":
        chat = build.private_chat()
        update = build.reaction(chat_id=int(chat["id"]), message_id=1)
    else:
        update = {
            "callback_query": {
                "id": "5000000001",
                "from": dict(ALICE),
                "chat_instance": "-1",
                "data": POISON_MARKER,
            }
        }
    return {"update_id": update_id, **update}


def malformed_update(build: UpdateBuilder, entry: Malformed, *, update_id: int) -> Any:
    """The broken update of ``entry``, numbered ``update_id`` where it keeps a number."""
    return entry.breakage(sound_update(build, base=entry.base, update_id=update_id))
