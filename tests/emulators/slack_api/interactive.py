"""Block Kit buttons, their clicks (``block_actions``) and ephemeral messages, as Slack does them.

Slack documents (https://api.slack.com/reference/block-kit/blocks): at most 50 blocks; a
section's text holds 3,000 characters; the ``markdown`` blocks of a message hold 12,000 in
all; an ``actions`` block holds up to 25 elements; a button has plain_text ``text`` (75
characters), an ``action_id`` (255) unique in the message, and an optional ``value`` (2,000).
A click is a ``block_actions`` payload (https://api.slack.com/reference/interaction-payloads/
block-actions-payload) sent to the app: over Socket Mode as an envelope of type
``interactive``, or over HTTP as a signed form POST whose ``payload`` field holds the JSON.
``chat.postEphemeral`` (https://api.slack.com/methods/chat.postEphemeral) shows a message to
one user in a channel; it is not stored in the channel's history.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from .params import ApiError
from .records import SlackMessage
from .workspace import Identity

SECTION_TEXT = 3000
MARKDOWN_TOTAL = 12_000
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
ACTION_ID = 255
BUTTON_VALUE = 2000


@dataclass(frozen=True)
class EphemeralMessage:
    """One chat.postEphemeral Slack accepted: seen by ``user`` only, never in history."""

    channel: str
    user: str
    text: str
    thread_ts: str | None
    message_ts: str


def _invalid(problem: str) -> ApiError:
    """Slack's refusal; ``problem`` says which limit (Slack names it in response_metadata)."""
    del problem
    return ApiError("invalid_blocks")


def check_blocks(blocks: list[dict[str, Any]]) -> None:
    """Refuse blocks Slack would refuse (the limits this module's docstring lists)."""
    markdown = 0
    action_ids: set[str] = set()
    for index, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "section":
            text = (block.get("text") or {}).get("text")
            if isinstance(text, str) and len(text) > SECTION_TEXT:
                raise _invalid(
                    f"section text over 3000 characters [json-pointer:/blocks/{index}/text]"
                )
        elif kind == "markdown":
            markdown += len(str(block.get("text") or ""))
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= ACTIONS_ELEMENTS:
                raise _invalid(
                    f"[ERROR] must provide 1-25 elements [json-pointer:/blocks/{index}/elements]"
                )
            for element in elements:
                _check_element(element, index=index, action_ids=action_ids)
    if markdown > MARKDOWN_TOTAL:
        raise _invalid("[ERROR] markdown blocks hold at most 12000 characters in all")


def _check_element(element: Any, *, index: int, action_ids: set[str]) -> None:
    where = f"[json-pointer:/blocks/{index}/elements]"
    if not isinstance(element, dict) or element.get("type") != "button":
        return
    text = element.get("text") or {}
    if text.get("type") != "plain_text" or not 1 <= len(str(text.get("text") or "")) <= BUTTON_TEXT:
        raise _invalid(f"[ERROR] a button needs plain_text text of 1-75 characters {where}")
    action_id = element.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or len(action_id) > ACTION_ID or action_id in action_ids:
            raise _invalid(f"[ERROR] action_id must be unique and at most 255 characters {where}")
        action_ids.add(action_id)
    if len(str(element.get("value") or "")) > BUTTON_VALUE:
        raise _invalid(f"[ERROR] value must be at most 2000 characters {where}")


def find_button(
    message: SlackMessage, *, action_id: str | None, text: str | None
) -> tuple[str | None, dict[str, Any]]:
    """The (block_id, button) a person can click on ``message``; LookupError if none shows."""
    for block in message.blocks or []:
        if block.get("type") != "actions":
            continue
        for element in block.get("elements") or []:
            if element.get("type") != "button":
                continue
            if (action_id is None or element.get("action_id") == action_id) and (
                text is None or (element.get("text") or {}).get("text") == text
            ):
                return block.get("block_id"), element
    raise LookupError(f"message {message.ts} shows no such button")


def block_actions(
    *,
    identity: Identity,
    message: SlackMessage,
    block_id: str | None,
    button: dict[str, Any],
    user: str,
    user_team: str,
    channel_name: str,
    message_json: dict[str, Any],
    response_url: str,
) -> dict[str, Any]:
    """The block_actions payload of one click on ``button`` by ``user``."""
    action_ts = f"{time.time():.6f}"
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": message.channel,
        "is_ephemeral": False,
    }
    if message.thread_ts is not None:
        container["thread_ts"] = message.thread_ts
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": user_team},
        "api_app_id": identity.app_id,
        "token": identity.verification_token,
        "container": container,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
        "team": {"id": identity.team_id, "domain": identity.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": message.channel, "name": channel_name},
        "message": message_json,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": button.get("action_id"),
                "block_id": block_id,
                "text": button.get("text"),
                "value": button.get("value"),
                "type": "button",
                "action_ts": action_ts,
            }
        ],
    }


def form_body(payload: dict[str, Any]) -> bytes:
    """How Slack POSTs an interaction payload to the Request URL."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
