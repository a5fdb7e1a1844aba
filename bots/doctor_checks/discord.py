"""The doctor's Discord check: the token (GET /users/@me) and the message content intent the
application may use (GET /applications/@me ``flags``) against the config."""

from __future__ import annotations

import httpx

from knowrithm_bots.adapters.discord.config import DiscordConfig
from knowrithm_bots.bots.doctor_checks.findings import Findings

KEY = "adapters.discord"
# Application flags (Discord docs, Application resource, "Application Flags"): the bot may
# ask for the message content intent with the full grant (verified apps) or the limited one
# (under 100 servers, toggled in the Developer Portal).
GATEWAY_MESSAGE_CONTENT = 1 << 18
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19


class _Refused(Exception):
    """Discord answered a status other than 200 (the token is already reported)."""


async def check_discord(findings: Findings, *, config: DiscordConfig) -> None:
    """Ask the REST API at ``api_base_url`` what the gateway would decide at start-up."""
    headers = {"Authorization": f"Bot {config.token.get_secret_value()}"}
    async with httpx.AsyncClient(
        base_url=config.api_base_url, headers=headers, timeout=config.connect_timeout
    ) as http:
        try:
            me = await _get(http, "/users/@me", findings=findings)
            findings.ok(f"the token works (bot {me.get('username')})")
            app = await _get(http, "/applications/@me", findings=findings)
        except _Refused:
            return
        except httpx.HTTPError:
            findings.error(
                f"the REST API at {config.api_base_url} cannot be reached: check "
                f"{KEY}.api_base_url and the network"
            )
            return
    flags = app.get("flags")
    _intent(findings, flags=flags if isinstance(flags, int) else 0, config=config)


async def _get(http: httpx.AsyncClient, path: str, *, findings: Findings) -> dict[str, object]:
    response = await http.get(path)
    if response.status_code == 401:
        findings.error(
            f"Discord refused {KEY}.token (401): copy the bot token from the Developer Portal "
            "(Bot → Reset Token) again"
        )
        raise _Refused
    if response.status_code != 200:
        findings.error(
            f"Discord answered GET {path} with HTTP {response.status_code}: check "
            f"{KEY}.api_base_url (it ends in the API version, like /api/v10)"
        )
        raise _Refused
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        findings.error(
            f"Discord answered GET {path} with something other than JSON: check "
            f"{KEY}.api_base_url (it ends in the API version, like /api/v10)"
        )
        raise _Refused
    return body


def _intent(findings: Findings, *, flags: int, config: DiscordConfig) -> None:
    allowed = bool(flags & (GATEWAY_MESSAGE_CONTENT | GATEWAY_MESSAGE_CONTENT_LIMITED))
    if config.message_content_intent and not allowed:
        findings.error(
            f"{KEY}.message_content_intent is true but the application may not use the "
            "message content intent, so the gateway refuses the bot (close code 4014): turn "
            "on Message Content Intent under Bot → Privileged Gateway Intents in the Developer "
            "Portal, or set message_content_intent: false"
        )
    elif config.message_content_intent:
        findings.ok("the application may use the message content intent the config asks for")
    elif allowed:
        findings.ok(
            "message_content_intent is false: the bot reads only messages that mention it "
            "and direct messages (the application could read all; set it to true for that)"
        )
    else:
        findings.ok(
            "message_content_intent is false: the bot reads only messages that mention it "
            "and direct messages"
        )
