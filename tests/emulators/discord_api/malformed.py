"""A catalogue of malformed gateway dispatches, one per class of breakage, for poison tests.

Each entry names a dispatch (MESSAGE_CREATE, MESSAGE_REACTION_ADD, THREAD_CREATE ...), the
sound payload it starts from, and what it breaks: a missing field, a field of the wrong type,
or a payload that is not an object at all. Send the result with
``DiscordEmulator.dispatch_raw``. Payload texts carry ``POISON_MARKER``, so a test can check
that no log line quotes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from tests.emulators.breakage import drop_path, set_path, whole

from .emulator import DiscordEmulator

POISON_MARKER = "poison-payload-marker-5c1e"

Base = Literal["dm_message", "guild_message", "reaction", "thread"]


@dataclass(frozen=True)
class MalformedDispatch:
    """One class of malformed dispatch: the event name, its sound payload, the breakage."""

    name: str
    event: str
    base: Base
    breakage: Callable[[dict[str, Any]], Any]


def _m(name: str, breakage: Callable[[dict[str, Any]], Any]) -> MalformedDispatch:
    return MalformedDispatch(f"MESSAGE_CREATE {name}", "MESSAGE_CREATE", "dm_message", breakage)


def _r(event: str, name: str, breakage: Callable[[dict[str, Any]], Any]) -> MalformedDispatch:
    return MalformedDispatch(f"{event} {name}", event, "reaction", breakage)


_ADD, _REMOVE = "MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE"

MALFORMED_DISPATCHES: tuple[MalformedDispatch, ...] = (
    # --- messages
    _m("with null data", whole(None)),
    _m("with a list for data", whole([POISON_MARKER])),
    _m("with a string for data", whole(POISON_MARKER)),
    _m("without id", drop_path("id")),
    _m("with an id that is no snowflake", set_path("id", "abc")),
    _m("without channel_id", drop_path("channel_id")),
    _m("with a channel_id that is no snowflake", set_path("channel_id", "general")),
    _m("without author", drop_path("author")),
    _m("with a string for author", set_path("author", POISON_MARKER)),
    _m("with an author without id", drop_path("author.id")),
    _m("with an author id that is no snowflake", set_path("author.id", "alice")),
    _m("without content", drop_path("content")),
    _m("with a number for content", set_path("content", 42)),
    _m("without timestamp", drop_path("timestamp")),
    _m("with a timestamp that is no date", set_path("timestamp", "yesterday")),
    _m("without type", drop_path("type")),
    _m("with a string for mentions", set_path("mentions", POISON_MARKER)),
    _m("with a mention without id", set_path("mentions", [{"username": "x"}])),
    _m("with a string for attachments", set_path("attachments", POISON_MARKER)),
    _m("with a string for embeds", set_path("embeds", POISON_MARKER)),
    _m("with a string for message_reference", set_path("message_reference", POISON_MARKER)),
    MalformedDispatch(
        "MESSAGE_CREATE in a guild with a string for member",
        "MESSAGE_CREATE",
        "guild_message",
        set_path("member", POISON_MARKER),
    ),
    MalformedDispatch(
        "MESSAGE_CREATE in a guild with a guild_id that is no snowflake",
        "MESSAGE_CREATE",
        "guild_message",
        set_path("guild_id", "guild"),
    ),
    MalformedDispatch("MESSAGE_UPDATE without id", "MESSAGE_UPDATE", "dm_message", drop_path("id")),
    MalformedDispatch(
        "MESSAGE_UPDATE with a string for data", "MESSAGE_UPDATE", "dm_message", whole("x")
    ),
    MalformedDispatch("MESSAGE_DELETE without id", "MESSAGE_DELETE", "dm_message", drop_path("id")),
    MalformedDispatch(
        "MESSAGE_DELETE without channel_id", "MESSAGE_DELETE", "dm_message", drop_path("channel_id")
    ),
    # --- reactions
    _r(_ADD, "with null data", whole(None)),
    _r(_ADD, "without emoji", drop_path("emoji")),
    _r(_ADD, "with a string for emoji", set_path("emoji", "👍")),
    _r(_ADD, "without user_id", drop_path("user_id")),
    _r(_ADD, "with a user_id that is no snowflake", set_path("user_id", "alice")),
    _r(_ADD, "without message_id", drop_path("message_id")),
    _r(_ADD, "without channel_id", drop_path("channel_id")),
    _r(_ADD, "without type", drop_path("type")),
    _r(_ADD, "with a string for member", set_path("member", POISON_MARKER)),
    _r(_REMOVE, "without emoji", drop_path("emoji")),
    _r(_REMOVE, "without user_id", drop_path("user_id")),
    # --- threads
    MalformedDispatch("THREAD_CREATE without id", "THREAD_CREATE", "thread", drop_path("id")),
    MalformedDispatch(
        "THREAD_CREATE without guild_id", "THREAD_CREATE", "thread", drop_path("guild_id")
    ),
    MalformedDispatch(
        "THREAD_CREATE with a string for thread_metadata",
        "THREAD_CREATE",
        "thread",
        set_path("thread_metadata", POISON_MARKER),
    ),
    MalformedDispatch(
        "THREAD_CREATE with a list for data", "THREAD_CREATE", "thread", whole([1, 2])
    ),
    MalformedDispatch("THREAD_UPDATE without id", "THREAD_UPDATE", "thread", drop_path("id")),
    MalformedDispatch("THREAD_DELETE without id", "THREAD_DELETE", "thread", drop_path("id")),
    MalformedDispatch(
        "THREAD_DELETE without parent_id", "THREAD_DELETE", "thread", drop_path("parent_id")
    ),
)


@dataclass(frozen=True)
class Places:
    """Where the sound payloads happen: a DM and a guild channel with Alice, a thread."""

    dm_channel_id: int
    guild_channel_id: int
    thread_id: int
    user_id: int
    bot_id: int


def malformed_dispatch(emu: DiscordEmulator, entry: MalformedDispatch, *, places: Places) -> Any:
    """The broken payload of ``entry``, built from a fresh sound payload of its kind."""
    sound: dict[str, Any]
    if entry.base == "dm_message":
        sound = emu.message_payload(
            channel_id=places.dm_channel_id, author_id=places.user_id, content=POISON_MARKER
        )
    elif entry.base == "guild_message":
        sound = emu.message_payload(
            channel_id=places.guild_channel_id,
            author_id=places.user_id,
            content=f"<@{places.bot_id}> {POISON_MARKER}",
        )
    elif entry.base == "reaction":
        sound = emu.reaction_payload(
            channel_id=places.dm_channel_id,
            message_id=emu.ids.next(),
            user_id=places.user_id,
            added=entry.event == _ADD,
        )
    else:
        sound = emu.thread_payload(thread_id=places.thread_id)
    return entry.breakage(sound)
