"""A catalogue of malformed gateway dispatches, one per class of breakage, for poison tests.

Each entry names a dispatch (MESSAGE_CREATE, MESSAGE_REACTION_ADD, THREAD_CREATE ...), the
sound payload it starts from, and what it breaks: a missing field, a field of the wrong type,
or a payload that is not an object at all. Send the result with
``DiscordEmulator.dispatch_raw``. Payload texts carry ``POISON_MARKER``, so a test can check
that no log line quotes them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .emulator import DiscordEmulator

POISON_MARKER = "poison-payload-marker-5c1e"

Base = Literal["dm_message", "guild_message", "reaction", "thread"]
_DELETE = object()


@dataclass(frozen=True)
class MalformedDispatch:
    """One class of malformed dispatch: the event name, its sound payload, the breakage."""

    name: str
    event: str
    base: Base
    breakage: Callable[[dict[str, Any]], Any]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    """Set (or, with ``_DELETE``, remove) the field at a dotted path; list items by index."""

    def breakage(payload: dict[str, Any]) -> Any:
        broken = copy.deepcopy(payload)
        *parents, last = path.split(".")
        node: Any = broken
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is _DELETE:
            node.pop(last, None)
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
        return broken

    return breakage


def _drop(path: str) -> Callable[[dict[str, Any]], Any]:
    return _set(path, _DELETE)


def _whole(value: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda _payload: copy.deepcopy(value)


def _m(name: str, breakage: Callable[[dict[str, Any]], Any]) -> MalformedDispatch:
    return MalformedDispatch(f"MESSAGE_CREATE {name}", "MESSAGE_CREATE", "dm_message", breakage)


def _r(event: str, name: str, breakage: Callable[[dict[str, Any]], Any]) -> MalformedDispatch:
    return MalformedDispatch(f"{event} {name}", event, "reaction", breakage)


_ADD, _REMOVE = "MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE"

MALFORMED_DISPATCHES: tuple[MalformedDispatch, ...] = (
    # --- messages
    _m("with null data", _whole(None)),
    _m("with a list for data", _whole([POISON_MARKER])),
    _m("with a string for data", _whole(POISON_MARKER)),
    _m("without id", _drop("id")),
    _m("with an id that is no snowflake", _set("id", "abc")),
    _m("without channel_id", _drop("channel_id")),
    _m("with a channel_id that is no snowflake", _set("channel_id", "general")),
    _m("without author", _drop("author")),
    _m("with a string for author", _set("author", POISON_MARKER)),
    _m("with an author without id", _drop("author.id")),
    _m("with an author id that is no snowflake", _set("author.id", "alice")),
    _m("without content", _drop("content")),
    _m("with a number for content", _set("content", 42)),
    _m("without timestamp", _drop("timestamp")),
    _m("with a timestamp that is no date", _set("timestamp", "yesterday")),
    _m("without type", _drop("type")),
    _m("with a string for mentions", _set("mentions", POISON_MARKER)),
    _m("with a mention without id", _set("mentions", [{"username": "x"}])),
    _m("with a string for attachments", _set("attachments", POISON_MARKER)),
    _m("with a string for embeds", _set("embeds", POISON_MARKER)),
    _m("with a string for message_reference", _set("message_reference", POISON_MARKER)),
    MalformedDispatch(
        "MESSAGE_CREATE in a guild with a string for member",
        "MESSAGE_CREATE",
        "guild_message",
        _set("member", POISON_MARKER),
    ),
    MalformedDispatch(
        "MESSAGE_CREATE in a guild with a guild_id that is no snowflake",
        "MESSAGE_CREATE",
        "guild_message",
        _set("guild_id", "guild"),
    ),
    MalformedDispatch("MESSAGE_UPDATE without id", "MESSAGE_UPDATE", "dm_message", _drop("id")),
    MalformedDispatch(
        "MESSAGE_UPDATE with a string for data", "MESSAGE_UPDATE", "dm_message", _whole("x")
    ),
    MalformedDispatch("MESSAGE_DELETE without id", "MESSAGE_DELETE", "dm_message", _drop("id")),
    MalformedDispatch(
        "MESSAGE_DELETE without channel_id", "MESSAGE_DELETE", "dm_message", _drop("channel_id")
    ),
    # --- reactions
    _r(_ADD, "with null data", _whole(None)),
    _r(_ADD, "without emoji", _drop("emoji")),
    _r(_ADD, "with a string for emoji", _set("emoji", "👍")),
    _r(_ADD, "without user_id", _drop("user_id")),
    _r(_ADD, "with a user_id that is no snowflake", _set("user_id", "alice")),
    _r(_ADD, "without message_id", _drop("message_id")),
    _r(_ADD, "without channel_id", _drop("channel_id")),
    _r(_ADD, "without type", _drop("type")),
    _r(_ADD, "with a string for member", _set("member", POISON_MARKER)),
    _r(_REMOVE, "without emoji", _drop("emoji")),
    _r(_REMOVE, "without user_id", _drop("user_id")),
    # --- threads
    MalformedDispatch("THREAD_CREATE without id", "THREAD_CREATE", "thread", _drop("id")),
    MalformedDispatch(
        "THREAD_CREATE without guild_id", "THREAD_CREATE", "thread", _drop("guild_id")
    ),
    MalformedDispatch(
        "THREAD_CREATE with a string for thread_metadata",
        "THREAD_CREATE",
        "thread",
        _set("thread_metadata", POISON_MARKER),
    ),
    MalformedDispatch(
        "THREAD_CREATE with a list for data", "THREAD_CREATE", "thread", _whole([1, 2])
    ),
    MalformedDispatch("THREAD_UPDATE without id", "THREAD_UPDATE", "thread", _drop("id")),
    MalformedDispatch("THREAD_DELETE without id", "THREAD_DELETE", "thread", _drop("id")),
    MalformedDispatch(
        "THREAD_DELETE without parent_id", "THREAD_DELETE", "thread", _drop("parent_id")
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
