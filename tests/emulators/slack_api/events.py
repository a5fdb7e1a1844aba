"""Builders for realistic Events API `event` objects (the inner part of an event_callback)."""

import itertools
import re
import time
import uuid
from typing import Any

from . import ids

_sequence = itertools.count(1)
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)>")


def new_ts() -> str:
    """A fresh, unique message timestamp like Slack's "1700000000.000123"."""
    return f"{int(time.time())}.{next(_sequence) % 1_000_000:06d}"


def rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack clients attach to typed text, with user mentions split out."""
    elements: list[dict[str, Any]] = []
    position = 0
    for match in _MENTION.finditer(text):
        if match.start() > position:
            elements.append({"type": "text", "text": text[position : match.start()]})
        elements.append({"type": "user", "user_id": match.group(1)})
        position = match.end()
    if position < len(text):
        elements.append({"type": "text", "text": text[position:]})
    block_id = uuid.uuid4().hex[:5]
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": block_id, "elements": [section]}]


def _channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


def _teams(event: dict[str, Any], *, team: str, user_team: str | None) -> dict[str, Any]:
    """Slack Connect events name the poster's own workspace in team, user_team and source_team."""
    if user_team is None:
        event["team"] = team
    else:
        event.update({"team": user_team, "user_team": user_team, "source_team": user_team})
    return event


def _user_message(
    *,
    kind: str,
    text: str,
    user: str,
    channel: str,
    team: str,
    user_team: str | None,
    ts: str | None,
    thread_ts: str | None,
    parent_user_id: str | None,
) -> dict[str, Any]:
    stamp = ts or new_ts()
    event: dict[str, Any] = {
        "type": kind,
        "client_msg_id": str(uuid.uuid4()),
        "text": text,
        "user": user,
        "ts": stamp,
        "blocks": rich_text_blocks(text),
        "channel": channel,
        "event_ts": stamp,
    }
    if kind == "message":
        event["channel_type"] = _channel_type(channel)
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = parent_user_id or user
    return _teams(event, team=team, user_team=user_team)


def app_mention(
    *,
    text: str,
    user: str = ids.USER_ID,
    channel: str = ids.CHANNEL_ID,
    team: str = ids.TEAM_ID,
    user_team: str | None = None,
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """An app_mention; text should contain `<@BOT_USER_ID>` as a real mention does."""
    return _user_message(
        kind="app_mention",
        text=text,
        user=user,
        channel=channel,
        team=team,
        user_team=user_team,
        ts=ts,
        thread_ts=thread_ts,
        parent_user_id=None,
    )


def channel_message(
    *,
    text: str,
    user: str = ids.USER_ID,
    channel: str = ids.CHANNEL_ID,
    team: str = ids.TEAM_ID,
    user_team: str | None = None,
    ts: str | None = None,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
) -> dict[str, Any]:
    """A plain message in a public or private channel (channel_type follows the id prefix)."""
    return _user_message(
        kind="message",
        text=text,
        user=user,
        channel=channel,
        team=team,
        user_team=user_team,
        ts=ts,
        thread_ts=thread_ts,
        parent_user_id=parent_user_id,
    )


def im_message(
    *,
    text: str,
    user: str = ids.USER_ID,
    channel: str = ids.IM_CHANNEL_ID,
    team: str = ids.TEAM_ID,
    user_team: str | None = None,
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A direct message to the bot (channel_type "im")."""
    return channel_message(
        text=text,
        user=user,
        channel=channel,
        team=team,
        user_team=user_team,
        ts=ts,
        thread_ts=thread_ts,
    )


def thread_reply(
    *,
    text: str,
    thread_ts: str,
    user: str = ids.USER_ID,
    channel: str = ids.CHANNEL_ID,
    parent_user_id: str | None = None,
    team: str = ids.TEAM_ID,
    user_team: str | None = None,
    ts: str | None = None,
) -> dict[str, Any]:
    """A reply inside a thread: carries thread_ts and parent_user_id."""
    return channel_message(
        text=text,
        user=user,
        channel=channel,
        team=team,
        user_team=user_team,
        ts=ts,
        thread_ts=thread_ts,
        parent_user_id=parent_user_id or user,
    )


def bot_message(
    *,
    text: str,
    bot_id: str = ids.OTHER_BOT_ID,
    username: str = "other-bot",
    channel: str = ids.CHANNEL_ID,
    team: str = ids.TEAM_ID,
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A message from a bot integration: subtype bot_message, bot_id and no human user."""
    stamp = ts or new_ts()
    event: dict[str, Any] = {
        "type": "message",
        "subtype": "bot_message",
        "text": text,
        "ts": stamp,
        "username": username,
        "bot_id": bot_id,
        "channel": channel,
        "event_ts": stamp,
        "channel_type": _channel_type(channel),
        "team": team,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def message_changed(
    *,
    channel: str,
    ts: str,
    text: str,
    previous_text: str,
    user: str = ids.USER_ID,
    team: str = ids.TEAM_ID,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """An edit: the event's own ts is new; message and previous_message keep the original ts."""
    event_ts = new_ts()
    message: dict[str, Any] = {
        "type": "message",
        "text": text,
        "user": user,
        "team": team,
        "ts": ts,
        "blocks": rich_text_blocks(text),
        "edited": {"user": user, "ts": event_ts},
    }
    previous: dict[str, Any] = {
        "type": "message",
        "text": previous_text,
        "user": user,
        "team": team,
        "ts": ts,
    }
    if thread_ts is not None:
        message["thread_ts"] = previous["thread_ts"] = thread_ts
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "message": message,
        "previous_message": previous,
        "channel": channel,
        "channel_type": _channel_type(channel),
        "ts": event_ts,
        "event_ts": event_ts,
    }


def message_deleted(
    *,
    channel: str,
    deleted_ts: str,
    previous_text: str = "",
    user: str = ids.USER_ID,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A deletion: hidden, names the deleted message by deleted_ts."""
    event_ts = new_ts()
    previous: dict[str, Any] = {
        "type": "message",
        "text": previous_text,
        "user": user,
        "ts": deleted_ts,
    }
    if thread_ts is not None:
        previous["thread_ts"] = thread_ts
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "deleted_ts": deleted_ts,
        "previous_message": previous,
        "channel": channel,
        "channel_type": _channel_type(channel),
        "ts": event_ts,
        "event_ts": event_ts,
    }


def file_share(
    *,
    user: str = ids.USER_ID,
    channel: str = ids.CHANNEL_ID,
    text: str = "",
    files: list[dict[str, Any]] | None = None,
    team: str = ids.TEAM_ID,
    user_team: str | None = None,
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A file upload as a message: subtype file_share, usually with empty text."""
    stamp = ts or new_ts()
    shared = files or [
        {
            "id": "F0FILE0001",
            "created": int(float(stamp)),
            "name": "report.pdf",
            "title": "report.pdf",
            "mimetype": "application/pdf",
            "filetype": "pdf",
            "user": user,
            "size": 12_345,
            "url_private": "https://files.slack.com/files-pri/T0-F0FILE0001/report.pdf",
        }
    ]
    event: dict[str, Any] = {
        "type": "message",
        "subtype": "file_share",
        "text": text,
        "files": shared,
        "upload": True,
        "user": user,
        "display_as_bot": False,
        "ts": stamp,
        "channel": channel,
        "event_ts": stamp,
        "channel_type": _channel_type(channel),
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = user
    return _teams(event, team=team, user_team=user_team)


def _reaction(
    kind: str,
    *,
    reaction: str,
    item_channel: str,
    item_ts: str,
    user: str,
    item_user: str | None,
    user_team: str | None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": kind,
        "user": user,
        "reaction": reaction,
        "item": {"type": "message", "channel": item_channel, "ts": item_ts},
        "event_ts": new_ts(),
    }
    if item_user is not None:
        event["item_user"] = item_user
    if user_team is not None:
        event["user_team"] = event["team"] = user_team
    return event


def reaction_added(
    *,
    reaction: str,
    item_channel: str,
    item_ts: str,
    user: str = ids.USER_ID,
    item_user: str | None = ids.BOT_USER_ID,
    user_team: str | None = None,
) -> dict[str, Any]:
    """Someone added an emoji (name without colons) to a message."""
    return _reaction(
        "reaction_added",
        reaction=reaction,
        item_channel=item_channel,
        item_ts=item_ts,
        user=user,
        item_user=item_user,
        user_team=user_team,
    )


def reaction_removed(
    *,
    reaction: str,
    item_channel: str,
    item_ts: str,
    user: str = ids.USER_ID,
    item_user: str | None = ids.BOT_USER_ID,
    user_team: str | None = None,
) -> dict[str, Any]:
    """Someone removed an emoji from a message."""
    return _reaction(
        "reaction_removed",
        reaction=reaction,
        item_channel=item_channel,
        item_ts=item_ts,
        user=user,
        item_user=item_user,
        user_team=user_team,
    )
