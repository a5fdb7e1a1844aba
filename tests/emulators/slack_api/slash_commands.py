"""Slash command payloads and their ``response_url``, as Slack sends and serves them.

Slack documents (https://api.slack.com/interactivity/slash-commands): the payload is a form
of ``token``, ``team_id``, ``team_domain``, ``channel_id``, ``channel_name``, ``user_id``,
``user_name``, ``command``, ``text``, ``api_app_id``, ``response_url`` and ``trigger_id``,
POSTed as ``application/x-www-form-urlencoded`` to the command's Request URL (signed like
events), or sent over Socket Mode as an envelope of type ``slash_commands`` whose payload
holds the same fields. The app acknowledges within 3 seconds; a message in the
acknowledgement is shown to the user alone unless its ``response_type`` is ``in_channel``.
A ``response_url`` takes up to 5 messages within 30 minutes (JSON with ``text`` and
``response_type``, ephemeral by default); then Slack answers 404 ``used_url``/``expired_url``.
Slash commands of apps cannot be used in threads: the payload names no thread.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .workspace import Identity

RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60.0


@dataclass(frozen=True)
class CommandResponse:
    """One message the app sent to a ``response_url``."""

    channel: str
    user: str
    text: str
    response_type: str


@dataclass(frozen=True)
class SlashAnswer:
    """How the app acknowledged one slash command: the message in its ack, if any."""

    payload: dict[str, str]
    ack: dict[str, Any] | None

    @property
    def ack_text(self) -> str | None:
        return None if self.ack is None else self.ack.get("text")


@dataclass
class _Url:
    channel: str
    user: str
    issued: float
    uses: int = 0


@dataclass
class ResponseUrls:
    """The ``response_url`` endpoint: records what the app sends, within Slack's limits."""

    clock: Any = time.time
    responses: list[CommandResponse] = field(default_factory=list)
    _urls: dict[str, _Url] = field(default_factory=dict)

    def issue(self, *, base_url: str, team: str, channel: str, user: str) -> str:
        key = uuid.uuid4().hex
        self._urls[key] = _Url(channel=channel, user=user, issued=self.clock())
        return f"{base_url}/commands/{team}/{key}"

    async def handle(self, request: web.Request) -> web.Response:
        url = self._urls.get(request.match_info["key"])
        if url is None:
            return web.Response(status=404, text="no_service")
        if self.clock() - url.issued > RESPONSE_URL_TTL:
            return web.Response(status=404, text="expired_url")
        if url.uses >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        try:
            body = json.loads(await request.text())
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            return web.Response(status=400, text="no_text")
        url.uses += 1
        self.responses.append(
            CommandResponse(
                channel=url.channel,
                user=url.user,
                text=text,
                response_type=str(body.get("response_type") or "ephemeral"),
            )
        )
        return web.Response(status=200, text="ok")


def slash_payload(
    *,
    identity: Identity,
    command: str,
    text: str,
    channel: str,
    channel_name: str,
    user: str,
    user_name: str,
    response_url: str,
) -> dict[str, str]:
    """The fields of one slash command, as Slack sends them (every value a string)."""
    return {
        "token": identity.verification_token,
        "team_id": identity.team_id,
        "team_domain": identity.team_domain,
        "channel_id": channel,
        "channel_name": channel_name,
        "user_id": user,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": identity.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
    }
