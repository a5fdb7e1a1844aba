"""Decides which Slack events the agent answers, and where (pure functions, no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from knowrithm_bots.adapters.slack.config import SlackConfig
from knowrithm_bots.adapters.slack.text import mentions
from knowrithm_bots.adapters.slack.threads import MessageRef, ThreadKey

# Subtypes that are a person writing; edits, deletions, joins and bot posts are not.
ANSWERED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast", "me_message"})


@dataclass(frozen=True)
class Identity:
    """Who the bot is in the workspace an event came from (bolt's context)."""

    team: str
    bot_user_id: str
    bot_id: str | None
    enterprise: str | None = None


@dataclass(frozen=True)
class Incoming:
    """A person's message the agent should answer."""

    thread: ThreadKey
    message: MessageRef
    raw_text: str
    user: str
    user_team: str | None
    is_direct: bool
    mentioned: bool
    file_names: tuple[str, ...]
    files: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class IncomingReaction:
    """A reaction on one of the bot's messages."""

    message: MessageRef
    emoji: str
    added: bool
    user: str
    user_team: str | None


def _is_direct(event: Mapping[str, Any]) -> bool:
    kind = event.get("channel_type")
    if kind is not None:
        return bool(kind == "im")
    return str(event.get("channel") or "").startswith("D")


def _text_field(event: Mapping[str, Any], *names: str) -> str | None:
    """The first of ``names`` holding non-empty text; a field of another type counts as absent."""
    for name in names:
        value = event.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def _file_names(event: Mapping[str, Any]) -> tuple[str, ...]:
    """The names of the files attached; a ``files`` field that is not a list holds none."""
    files = event.get("files")
    if not isinstance(files, list):
        return ()
    return tuple(
        str(f.get("name") or f.get("title") or "file") for f in files if isinstance(f, Mapping)
    )


def _files(event: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    """The file objects attached; a ``files`` field that is not a list holds none."""
    files = event.get("files")
    if not isinstance(files, list):
        return ()
    return tuple(f for f in files if isinstance(f, Mapping))


def _from_a_bot(event: Mapping[str, Any], who: Identity) -> bool:
    return (
        bool(event.get("bot_id"))
        or bool(event.get("bot_profile"))
        or event.get("user") == who.bot_user_id
    )


def read_message(
    event: Mapping[str, Any],
    *,
    who: Identity,
    config: SlackConfig,
    engaged: Callable[[str], bool],
) -> Incoming | None:
    """The message to answer, or None when the bot should stay silent.

    Channels: a mention always; in ``mentions`` mode also replies in a thread the bot is
    already part of (``engaged``, asked about the thread itself); in ``all`` mode every
    message. DMs: per ``direct_messages``. With ``group_sessions: per_user`` the key of a
    channel message names its author too (``conversation_of``).
    """
    subtype = event.get("subtype")
    # Checked for type first: a list or dict subtype cannot be looked up in a set.
    if not (subtype is None or isinstance(subtype, str)) or subtype not in ANSWERED_SUBTYPES:
        return None
    if event.get("hidden"):
        return None
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if not (isinstance(user, str) and isinstance(channel, str) and isinstance(ts, str)):
        return None
    if not user or not channel or not ts or _from_a_bot(event, who):
        return None
    text = _text_field(event, "text") or ""
    thread_ts = event.get("thread_ts")
    root = thread_ts if isinstance(thread_ts, str) and thread_ts else ts
    direct = _is_direct(event)
    mentioned = event.get("type") == "app_mention" or mentions(text, user_id=who.bot_user_id)
    if direct:
        if config.direct_messages == "off":
            return None
        thread = ThreadKey(
            team=who.team,
            bot=who.bot_user_id,
            channel=channel,
            thread_ts=None if config.direct_messages == "channel" else root,
        )
    else:
        thread = ThreadKey(team=who.team, bot=who.bot_user_id, channel=channel, thread_ts=root)
        in_thread = root != ts
        wanted = (
            mentioned
            or config.channel_messages == "all"
            or (in_thread and engaged(thread.encode()))
        )
        if not wanted:
            return None
    return Incoming(
        thread=conversation_of(thread, user=user, direct=direct, config=config),
        message=MessageRef(team=who.team, channel=channel, ts=ts),
        raw_text=text,
        user=user,
        user_team=_text_field(event, "user_team", "team"),
        is_direct=direct,
        mentioned=mentioned,
        file_names=_file_names(event),
        files=_files(event),
    )


def conversation_of(place: ThreadKey, *, user: str, direct: bool, config: SlackConfig) -> ThreadKey:
    """``user``'s conversation in the thread (or DM) ``place``: their own with
    ``group_sessions: per_user`` in channels, else ``place``. A DM has one person in it, so
    its keys never carry a user part and stay as they were."""
    if direct or config.group_sessions != "per_user":
        return place
    return replace(place.shared, user=user)


def read_reaction(event: Mapping[str, Any], *, who: Identity) -> IncomingReaction | None:
    """A person's reaction on a message of this bot, or None."""
    item = event.get("item")
    user, emoji = event.get("user"), event.get("reaction")
    if not isinstance(item, Mapping) or item.get("type") != "message":
        return None
    if not (isinstance(user, str) and user and isinstance(emoji, str) and emoji):
        return None
    channel, ts = item.get("channel"), item.get("ts")
    if not (isinstance(channel, str) and channel and isinstance(ts, str) and ts):
        return None
    item_user = event.get("item_user")
    if user == who.bot_user_id or (item_user is not None and item_user != who.bot_user_id):
        return None
    return IncomingReaction(
        message=MessageRef(team=who.team, channel=channel, ts=ts),
        emoji=emoji,
        added=event.get("type") == "reaction_added",
        user=user,
        user_team=_text_field(event, "user_team", "team"),
    )


def channel_allowed(config: SlackConfig, *, channel_id: str, name: str | None) -> bool:
    """Whether the allow list (ids or names) lets the bot answer in this channel."""
    allowed = config.allowed_channels
    if allowed is None:
        return True
    return channel_id in allowed or (name is not None and name in allowed)
