"""Thread keys ``discord:<application id>:<kind>:<channel id>[:u<user id>]`` and message refs,
and back."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, Self

from knowrithm_bots.core.thread_key import key_fields

PREFIX = "discord"

Kind = Literal["thread", "dm", "channel"]
_KINDS: tuple[Kind, ...] = ("thread", "dm", "channel")
_SNOWFLAKE_LIMIT = 2**64
# Marks the user part of a per-person key, so that it cannot be read as anything else.
_USER = "u"


def _snowflake(text: str) -> int:
    """The Discord id ``text`` spells in plain decimal, as ``str(int)`` writes it."""
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{text!r} is not a Discord id")
    number = int(text)
    # "007" or a 21-digit number: nothing this adapter wrote, so nothing it may read.
    if str(number) != text or number >= _SNOWFLAKE_LIMIT:
        raise ValueError(f"{text!r} is not a Discord id")
    return number


@dataclass(frozen=True, kw_only=True)
class ThreadKey:
    """Where one conversation lives on Discord (implements ``core.thread_key.ThreadKeyCodec``).

    ``thread``: a Discord thread (the bot's own, started from a mention, or one it was
    mentioned in); ``dm``: a direct-message channel; ``channel``: a text channel itself,
    used for answers that start no conversation (commands, empty mentions) and for notices
    where no thread could be started. ``channel_id`` is the channel to post in: the thread,
    the DM channel or the channel. The application id keeps two bots' conversations apart.
    ``user_id`` (``:u<user id>`` at the end) names the person whose conversation it is when
    each person in a thread or channel has their own (``group_sessions: per_user``); it only
    separates conversations: posts and budgets follow ``shared``, the place itself.
    """

    application_id: int
    kind: Kind
    channel_id: int
    user_id: int | None = None

    @property
    def shared(self) -> Self:
        """The place itself, as everyone in it shares it (no user part)."""
        return replace(self, user_id=None)

    def encode(self) -> str:
        key = f"{PREFIX}:{self.application_id}:{self.kind}:{self.channel_id}"
        return key if self.user_id is None else f"{key}:{_USER}{self.user_id}"

    @classmethod
    def decode(cls, thread: str) -> Self:
        """The key ``thread`` names; ValueError for anything ``encode`` could not produce."""
        try:
            fields = key_fields(thread, prefix=PREFIX, counts=(3, 4))
            user = fields.pop() if len(fields) == 4 else None
            app, kind, channel = fields
            application_id, channel_id = _snowflake(app), _snowflake(channel)
            if user is not None and not user.startswith(_USER):
                raise ValueError("a fourth field must be the user part")
            user_id = None if user is None else _snowflake(user[len(_USER) :])
        except ValueError:
            raise ValueError(f"{thread!r} is not a Discord thread key") from None
        for known in _KINDS:
            if kind == known:
                return cls(
                    application_id=application_id,
                    kind=known,
                    channel_id=channel_id,
                    user_id=user_id,
                )
        raise ValueError(f"unknown kind {kind!r} in Discord thread key {thread!r}")


def conversation_of(place: ThreadKey, *, user_id: int, per_user: bool) -> ThreadKey:
    """``user_id``'s conversation in ``place``: their own when ``per_user`` (``group_sessions:
    per_user``), else ``place``. A DM holds one person, so its keys never carry a user part."""
    if not per_user or place.kind == "dm":
        return place
    return replace(place.shared, user_id=user_id)


@dataclass(frozen=True, kw_only=True)
class MessageRef:
    """One Discord message as the core names it (``Posted.id``, ``Inbound.message_id``).

    The string form is the bare snowflake, as stored links between Discord and Knowrithm
    messages already hold it; the channel comes from the thread key beside it.
    """

    message_id: int

    def encode(self) -> str:
        return str(self.message_id)

    @classmethod
    def decode(cls, message: str) -> Self:
        """The message ``message`` names; ValueError for anything ``encode`` could not produce."""
        try:
            return cls(message_id=_snowflake(message))
        except ValueError:
            raise ValueError(f"{message!r} is not a Discord message id") from None
