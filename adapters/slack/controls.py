"""The Stop button on an answer posted and edited, and the 👎 "Tell us why" modal.

Slack: the Stop button is a Block Kit button (https://api.slack.com/reference/block-kit/block-elements#button)
in the ``blocks`` of the answer's own ``chat.postMessage`` and ``chat.update`` calls. A
message with blocks shows them instead of its ``text``, so the answer is repeated in
mrkdwn sections above the button; ``chat.update`` with ``blocks: []`` removes them
(https://api.slack.com/methods/chat.update: "To remove previous blocks, include an empty
array"), which the final edit does. Chat streams carry no button while streaming:
``chat.startStream`` and ``chat.appendStream`` take only text, and ``chat.stopStream``'s
``blocks`` are "rendered at the bottom of the finalized message"
(https://api.slack.com/methods/chat.stopStream); there, ``/stop`` is the way.

The reason is asked in a modal opened with ``views.open`` and the click's ``trigger_id``
(valid 3 seconds, https://api.slack.com/methods/views.open); its submission arrives as a
``view_submission`` payload (https://api.slack.com/reference/interaction-payloads/views)
whose ``view.state.values`` hold the text and ``view.private_metadata`` what it is about.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from knowrithm_bots.adapters.slack.config import SlackConfig
from knowrithm_bots.adapters.slack.feedback import SECTION_LIMIT, pieces
from knowrithm_bots.adapters.slack.inbound import conversation_of
from knowrithm_bots.adapters.slack.threads import ThreadKey
from knowrithm_bots.core.user_messages import NOTHING_OF_YOURS_TO_STOP, STOP_CLICK_TOO_LATE

STOP_ACTION = "knowrithm_stop"
STOP_BLOCK = "knowrithm_controls"
WHY_CALLBACK = "knowrithm_why"
REASON_BLOCK, REASON_ACTION = "knowrithm_reason", "reason"
THANKS_FOR_REASON = "Thanks for telling us why."
MAX_REASON = 1000


def stop_blocks(mrkdwn: str) -> list[dict[str, Any]]:
    """``mrkdwn`` in sections, then the Stop button."""
    body: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in pieces(mrkdwn, limit=SECTION_LIMIT)
    ]
    stop = {
        "type": "button",
        "action_id": STOP_ACTION,
        "text": {"type": "plain_text", "text": "⏹ Stop", "emoji": True},
        "style": "danger",
        "value": "stop",
    }
    return [*body, {"type": "actions", "block_id": STOP_BLOCK, "elements": [stop]}]


def stop_target(thread: str, *, user: str, config: SlackConfig) -> str:
    """The conversation a Stop click by ``user`` acts on, given the key of the answer it was
    on: that one, or with ``group_sessions: per_user`` the clicker's own in the same thread,
    as their typed ``/stop`` would (one person does not stop another's answer)."""
    if config.group_sessions != "per_user":
        return thread
    try:
        place = ThreadKey.decode(thread)
    except ValueError:
        return thread
    direct = place.channel.startswith("D")
    return conversation_of(place, user=user, direct=direct, config=config).encode()


def nothing_to_stop(config: SlackConfig) -> str:
    """What a Stop click that stopped nothing tells the clicker."""
    return NOTHING_OF_YOURS_TO_STOP if config.group_sessions == "per_user" else STOP_CLICK_TOO_LATE


@dataclass(frozen=True)
class StopClick:
    """A click on a Stop button, as the ``block_actions`` payload tells it."""

    user: str
    user_team: str | None
    channel: str
    message_ts: str
    thread_ts: str | None


def read_stop(body: Mapping[str, Any]) -> StopClick | None:
    """The Stop click in a ``block_actions`` payload, or None when it holds none."""
    actions, user, container = body.get("actions"), body.get("user"), body.get("container")
    if not (
        isinstance(actions, list) and isinstance(user, Mapping) and isinstance(container, Mapping)
    ):
        return None
    if not any(isinstance(a, Mapping) and a.get("action_id") == STOP_ACTION for a in actions):
        return None
    user_id, channel = user.get("id"), container.get("channel_id")
    message_ts, thread_ts = container.get("message_ts"), container.get("thread_ts")
    if not all(isinstance(v, str) for v in (user_id, channel, message_ts)):
        return None
    team = user.get("team_id")
    return StopClick(
        user=str(user_id),
        user_team=team if isinstance(team, str) else None,
        channel=str(channel),
        message_ts=str(message_ts),
        thread_ts=thread_ts if isinstance(thread_ts, str) else None,
    )


def reason_view(*, message_id: str, thread: str) -> dict[str, Any]:
    """The "Tell us why" modal for a 👎 on ``message_id`` (a ``MessageRef`` encoded)."""
    return {
        "type": "modal",
        "callback_id": WHY_CALLBACK,
        "title": {"type": "plain_text", "text": "Tell us why"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"message": message_id, "thread": thread}),
        "blocks": [
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": "What was wrong with the answer?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_ACTION,
                    "multiline": True,
                    "max_length": MAX_REASON,
                },
            }
        ],
    }


@dataclass(frozen=True)
class Reason:
    """A submitted "Tell us why": who gave which reason for which answer."""

    message_id: str
    thread: str
    user: str
    user_team: str | None
    text: str
    # Unique per submission, the same when Slack delivers the payload again.
    event_id: str


def read_reason(body: Mapping[str, Any]) -> Reason | None:
    """The reason in a ``view_submission`` payload of our modal, or None."""
    view, user = body.get("view"), body.get("user")
    if not (isinstance(view, Mapping) and isinstance(user, Mapping)):
        return None
    if view.get("callback_id") != WHY_CALLBACK:
        return None
    try:
        about = json.loads(str(view.get("private_metadata") or ""))
        value = view["state"]["values"][REASON_BLOCK][REASON_ACTION]["value"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(about, dict) or not isinstance(value, str) or not value.strip():
        return None
    message_id, thread, user_id = about.get("message"), about.get("thread"), user.get("id")
    if not all(isinstance(v, str) for v in (message_id, thread, user_id)):
        return None
    team = user.get("team_id")
    return Reason(
        message_id=str(message_id),
        thread=str(thread),
        user=str(user_id),
        user_team=team if isinstance(team, str) else None,
        text=value.strip()[:MAX_REASON],
        event_id=f"view:{view.get('id')}:{view.get('hash')}",
    )
