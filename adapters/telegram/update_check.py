"""Checks a raw Telegram update against the Bot API's shapes before anything reads it.

python-telegram-bot refuses some malformed updates (a message without ``date``, an entity
without ``length``) and quietly accepts others (a reaction without ``chat``, a ``text`` that
is a number), which then fail deep inside the adapter. Checking the fields the
adapter reads, with the types the Bot API documents (https://core.telegram.org/bots/api),
turns both into one sentence naming the field, never its value, so a poison update can be
logged and skipped.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping

from telegram import Update

from knowrithm_bots.core.bounded import Lru

log = logging.getLogger(__name__)

# Updates already reported, so one seen twice (a restart, a retried delivery) logs nothing new.
_REPORTED = 4096

Check = Callable[[object, str], str | None]
"""Checks one value found at a path ("message.chat.id"); returns what is wrong, or None."""

Shape = dict[str, tuple[bool, "Check"]]
"""Field name → (required, check) of one Bot API object."""

# Unix time of 10000-01-01: later dates do not fit Python's datetime.
_LATEST_TIMESTAMP = 253_402_300_800


def _integer(value: object, path: str) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    return f"{path} is not an integer"


def _timestamp(value: object, path: str) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return f"{path} is not an integer"
    return None if 0 <= value < _LATEST_TIMESTAMP else f"{path} is out of range"


def _string(value: object, path: str) -> str | None:
    return None if isinstance(value, str) else f"{path} is not a string"


def _boolean(value: object, path: str) -> str | None:
    return None if isinstance(value, bool) else f"{path} is not a boolean"


def _any_object(value: object, path: str) -> str | None:
    return None if isinstance(value, Mapping) else f"{path} is not an object"


def _object(shape: Shape) -> Check:
    def check(value: object, path: str) -> str | None:
        if not isinstance(value, Mapping):
            return f"{path} is not an object"
        for name, (required, field_check) in shape.items():
            if name not in value or value[name] is None:
                if required:
                    return f"{path}.{name} is missing"
                continue
            problem = field_check(value[name], f"{path}.{name}")
            if problem is not None:
                return problem
        return None

    return check


def _list_of(item: Check) -> Check:
    def check(value: object, path: str) -> str | None:
        if not isinstance(value, list):
            return f"{path} is not a list"
        for index, element in enumerate(value):
            problem = item(element, f"{path}[{index}]")
            if problem is not None:
                return problem
        return None

    return check


_USER = _object(
    {
        "id": (True, _integer),
        "is_bot": (True, _boolean),
        "first_name": (True, _string),
        "last_name": (False, _string),
        "username": (False, _string),
    }
)
_CHAT = _object(
    {
        "id": (True, _integer),
        "type": (True, _string),
        "title": (False, _string),
        "username": (False, _string),
        "first_name": (False, _string),
        "last_name": (False, _string),
        "is_forum": (False, _boolean),
    }
)
_ENTITY = _object(
    {
        "type": (True, _string),
        "offset": (True, _integer),
        "length": (True, _integer),
        "user": (False, _USER),
    }
)
_MESSAGE_SHAPE: Shape = {
    "message_id": (True, _integer),
    "date": (True, _timestamp),
    "chat": (True, _CHAT),
    "from": (False, _USER),
    "sender_chat": (False, _CHAT),
    "message_thread_id": (False, _integer),
    "is_topic_message": (False, _boolean),
    "is_automatic_forward": (False, _boolean),
    "edit_date": (False, _timestamp),
    "text": (False, _string),
    "entities": (False, _list_of(_ENTITY)),
    "caption": (False, _string),
    "caption_entities": (False, _list_of(_ENTITY)),
    "forum_topic_created": (False, _any_object),
}
_MESSAGE = _object(_MESSAGE_SHAPE)
# A replied-to message is a whole Message (Telegram nests no further reply inside it).
_MESSAGE_SHAPE["reply_to_message"] = (False, _MESSAGE)

# ReactionType is one of several objects, told apart by "type"; each kind names its field.
_REACTION_FIELDS = {"emoji": "emoji", "custom_emoji": "custom_emoji_id"}


def _reaction_type(value: object, path: str) -> str | None:
    if not isinstance(value, Mapping):
        return f"{path} is not an object"
    kind = value.get("type")
    if not isinstance(kind, str):
        return f"{path}.type is missing" if kind is None else f"{path}.type is not a string"
    field = _REACTION_FIELDS.get(kind)
    if field is None:
        return None  # "paid", or a kind newer than this code: it carries no emoji to read
    if value.get(field) is None:
        return f"{path}.{field} is missing"
    return _string(value[field], f"{path}.{field}")


_REACTION = _object(
    {
        "chat": (True, _CHAT),
        "message_id": (True, _integer),
        "date": (True, _timestamp),
        "user": (False, _USER),
        "actor_chat": (False, _CHAT),
        "old_reaction": (True, _list_of(_reaction_type)),
        "new_reaction": (True, _list_of(_reaction_type)),
    }
)
_CALLBACK = _object(
    {
        "id": (True, _string),
        "from": (True, _USER),
        "chat_instance": (True, _string),
        "data": (False, _string),
    }
)
_KINDS: Mapping[str, Check] = {
    "message": _MESSAGE,
    "edited_message": _MESSAGE,
    "message_reaction": _REACTION,
    "callback_query": _CALLBACK,
}


def update_id_of(raw: object) -> int | None:
    """The update's ``update_id`` when it has a usable one (an integer), else None."""
    if not isinstance(raw, Mapping):
        return None
    value = raw.get("update_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def problem_of(raw: object) -> str | None:
    """What is wrong with ``raw`` (one decoded element of getUpdates, or a webhook body),
    in words that name the field but never its content; None when it is sound.

    Beyond the fields checked here, the update must also be one python-telegram-bot can
    read: anything it refuses is reported by the name of its exception only (its message
    can quote the update).
    """
    if not isinstance(raw, Mapping):
        return "it is not a JSON object"
    if update_id_of(raw) is None:
        missing = raw.get("update_id") is None
        return "update_id is missing" if missing else "update_id is not an integer"
    try:
        for kind, check in _KINDS.items():
            if raw.get(kind) is not None:
                problem = check(raw[kind], kind)
                if problem is not None:
                    return problem
    except RecursionError:
        return "it is nested too deeply"
    try:
        Update.de_json(dict(raw), None)
    except Exception as exc:  # whatever the library trips on, the update is unreadable
        return f"python-telegram-bot cannot read it ({type(exc).__name__})"
    return None


def _fingerprint(raw: object) -> str:
    """A short stand-in for an update without an id, for "logged once" (never logged)."""
    text = json.dumps(raw, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class PoisonLog:
    """Logs each skipped update once, at WARNING, by its id (or as one without an id)."""

    def __init__(self) -> None:
        self._reported: Lru[int | str, bool] = Lru(size=_REPORTED)

    def skipped(self, raw: object, *, problem: str) -> None:
        update_id = update_id_of(raw)
        key: int | str = update_id if update_id is not None else _fingerprint(raw)
        if key in self._reported:
            return
        self._reported.put(key, value=True)
        if update_id is None:
            log.warning("a Telegram update was skipped: %s", problem)
        else:
            log.warning("Telegram update %s was skipped: %s", update_id, problem)
