"""A catalogue of malformed Events API payloads, one per class of breakage, for poison tests.

Each entry starts from a sound ``event_callback`` envelope (a DM, a mention, a reaction on
the bot's message) and breaks one thing: the envelope's ``event`` itself, or a field of the
event that is missing or of the wrong type. Deliver the result with
``SlackEmulator.push_raw_socket_event`` (Socket Mode) or ``deliver_raw`` (HTTP, signed).
Payload texts carry ``POISON_MARKER``, so a test can check no log line quotes them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from . import events, ids
from .delivery import build_envelope
from .workspace import Identity

POISON_MARKER = "poison-payload-marker-d41b"

Base = Literal["dm", "mention", "reaction"]
_DELETE = object()


@dataclass(frozen=True)
class MalformedEvent:
    """One class of malformed payload: the sound event it starts from, and the breakage."""

    name: str
    base: Base
    breakage: Callable[[dict[str, Any]], Any]
    # Whether the adapter can tell it apart from an event it simply need not answer (and
    # so warns about it): an envelope without a readable event, or an event of a kind it
    # answers that lacks what answering needs.
    warned: bool = True


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    """Set (or, with ``_DELETE``, remove) the envelope field at a dotted path."""

    def breakage(envelope: dict[str, Any]) -> Any:
        broken = copy.deepcopy(envelope)
        *parents, last = path.split(".")
        node: Any = broken
        for part in parents:
            node = node[part]
        if value is _DELETE:
            node.pop(last, None)
        else:
            node[last] = value
        return broken

    return breakage


def _drop(path: str) -> Callable[[dict[str, Any]], Any]:
    return _set(path, _DELETE)


MALFORMED_EVENTS: tuple[MalformedEvent, ...] = (
    # --- the envelope
    MalformedEvent("envelope without event", "dm", _drop("event")),
    MalformedEvent("event is a string", "dm", _set("event", POISON_MARKER)),
    MalformedEvent("event is a list", "dm", _set("event", [POISON_MARKER])),
    MalformedEvent("event without type", "dm", _drop("event.type")),
    MalformedEvent("event type is a number", "dm", _set("event.type", 7)),
    MalformedEvent("event_id is a number", "dm", _set("event_id", 12345), warned=False),
    MalformedEvent("authorizations is a string", "dm", _set("authorizations", "x")),
    MalformedEvent("team_id is a number", "dm", _set("team_id", 5), warned=False),
    # --- a message
    MalformedEvent("message without user", "dm", _drop("event.user")),
    MalformedEvent("message user is a number", "dm", _set("event.user", 42)),
    MalformedEvent("message without channel", "dm", _drop("event.channel")),
    MalformedEvent("message channel is a list", "dm", _set("event.channel", ["D1"])),
    MalformedEvent("message without ts", "dm", _drop("event.ts")),
    MalformedEvent("message ts is a number", "dm", _set("event.ts", 1.5)),
    MalformedEvent("message thread_ts is a number", "dm", _set("event.thread_ts", 3)),
    MalformedEvent("message channel_type is a number", "dm", _set("event.channel_type", 1)),
    MalformedEvent(
        "message blocks is a string", "dm", _set("event.blocks", POISON_MARKER), warned=False
    ),
    MalformedEvent("message user_team is a list", "dm", _set("event.user_team", []), warned=False),
    MalformedEvent("mention without user", "mention", _drop("event.user")),
    MalformedEvent("mention ts is a dict", "mention", _set("event.ts", {"ts": "1"})),
    # --- a reaction
    MalformedEvent("reaction without item", "reaction", _drop("event.item")),
    MalformedEvent("reaction item is a string", "reaction", _set("event.item", POISON_MARKER)),
    MalformedEvent("reaction item without ts", "reaction", _drop("event.item.ts")),
    MalformedEvent("reaction item ts is a number", "reaction", _set("event.item.ts", 1)),
    MalformedEvent("reaction without reaction", "reaction", _drop("event.reaction")),
    MalformedEvent("reaction name is a number", "reaction", _set("event.reaction", 1)),
    MalformedEvent("reaction user is a list", "reaction", _set("event.user", [])),
)


def sound_envelope(base: Base, *, identity: Identity | None = None) -> dict[str, Any]:
    """The sound ``event_callback`` envelope a catalogue entry breaks."""
    if base == "dm":
        event = events.im_message(text=POISON_MARKER)
    elif base == "mention":
        event = events.app_mention(text=f"<@{ids.BOT_USER_ID}> {POISON_MARKER}")
    else:
        event = events.reaction_added(
            reaction="+1", item_channel=ids.IM_CHANNEL_ID, item_ts=events.new_ts()
        )
    return build_envelope(identity=identity or Identity(), event=event)


def malformed_envelope(entry: MalformedEvent, *, identity: Identity | None = None) -> Any:
    """The broken envelope of ``entry``, from a fresh sound one."""
    return entry.breakage(sound_envelope(entry.base, identity=identity))
