"""The inbound wire format: signatures, thread keys, and JSON events turned into core events."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

from knowrithm_bots.adapter import Author, Inbound, Origin, Reaction

NAME = "webhook"
SIGNATURE_HEADER = "X-Knowrithm-Signature"


class BadEvent(ValueError):
    """The request body is not an event this adapter understands; the message says why."""


def signature(*, secret: str, body: bytes) -> str:
    """The header value the backend sends: ``sha256=`` and the HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(*, secret: str, body: bytes, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(signature(secret=secret, body=body), header)


@dataclass(frozen=True, kw_only=True)
class WebhookThread:
    """One backend conversation as a thread key: ``webhook:<bot_id>:<conversation>``.

    ``bot_id`` cannot contain ``:`` (the config refuses it), so whatever follows the second
    ``:`` is the conversation, even when the backend's ids contain ``:`` themselves.
    """

    bot_id: str
    conversation: str

    def encode(self) -> str:
        return f"{NAME}:{self.bot_id}:{self.conversation}"

    @classmethod
    def decode(cls, thread: str) -> Self:
        name, _, rest = thread.partition(":")
        bot_id, separator, conversation = rest.partition(":")
        if name != NAME or not separator or not bot_id or not conversation:
            raise ValueError(f"{thread!r} is not a {NAME} thread key")
        return cls(bot_id=bot_id, conversation=conversation)


def thread_key(*, bot_id: str, conversation: str) -> str:
    return WebhookThread(bot_id=bot_id, conversation=conversation).encode()


def conversation_of(*, bot_id: str, thread: str) -> str | None:
    """The conversation a thread key names, or None when it is not this bot's key."""
    try:
        key = WebhookThread.decode(thread)
    except ValueError:
        return None
    return key.conversation if key.bot_id == bot_id else None


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise BadEvent(f"field {key!r} must be a non-empty string")
    return value


def _author(data: Mapping[str, Any]) -> Author:
    sender = data.get("sender")
    if not isinstance(sender, Mapping):
        raise BadEvent("field 'sender' must be an object")

    def optional(key: str) -> str | None:
        value = sender.get(key)
        return value if isinstance(value, str) and value else None

    return Author(
        id=_text(sender, "id"),
        display_name=optional("name") or "",
        is_bot=sender.get("is_bot") is True,
        external=sender.get("external") is True,
        email=optional("email"),
        first_name=optional("first_name"),
        last_name=optional("last_name"),
    )


def parse_event(data: object, *, bot_id: str) -> Inbound | Reaction | None:
    """The core event for one webhook body; None for events to ignore (own and bot messages)."""
    if not isinstance(data, Mapping):
        raise BadEvent("the body must be a JSON object")
    kind = data.get("type")
    if kind not in ("message", "reaction"):
        raise BadEvent("field 'type' must be 'message' or 'reaction'")
    author = _author(data)
    if author.id == bot_id or author.is_bot:
        return None  # our own echo or another bot: answering it could loop for ever
    conversation = _text(data, "conversation")
    origin = Origin(
        adapter=NAME,
        channel_id=conversation,
        workspace_id=bot_id,
        channel_name=data.get("channel_name")
        if isinstance(data.get("channel_name"), str)
        else None,
        is_direct=data.get("direct") is True,
    )
    thread = thread_key(bot_id=bot_id, conversation=conversation)
    if kind == "message":
        text = data.get("text")
        if not isinstance(text, str):
            raise BadEvent("field 'text' must be a string")
        return Inbound(
            thread=thread,
            event_id=_text(data, "event_id"),
            text=text,
            author=author,
            origin=origin,
            message_id=_text(data, "message_id"),
        )
    added = data.get("added", True)
    if not isinstance(added, bool):
        raise BadEvent("field 'added' must be true or false")
    return Reaction(
        thread=thread,
        event_id=_text(data, "event_id"),
        message_id=_text(data, "message_id"),
        emoji=_text(data, "emoji"),
        added=added,
        author=author,
        origin=origin,
    )
