"""The doctor's Slack check: the bot token (auth.test), its granted scopes against those the
config needs, and in Socket Mode the app-level token (apps.connections.open)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from knowrithm_bots.adapters.slack.config import SlackConfig
from knowrithm_bots.bots.doctor_checks.findings import Findings
from knowrithm_bots.bots.doctor_checks.slack_scopes import needed_scopes

KEY = "adapters.slack"
_REFUSED = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked"})


async def check_slack(findings: Findings, *, config: SlackConfig, needs_emails: bool) -> None:
    """Ask the Web API at ``api_base_url`` what the bot would meet at start-up."""
    try:
        await _check(findings, config=config, needs_emails=needs_emails)
    except (aiohttp.ClientError, OSError):
        findings.error(
            f"the Web API at {config.api_base_url} cannot be reached: check "
            f"{KEY}.api_base_url and the network"
        )


async def _check(findings: Findings, *, config: SlackConfig, needs_emails: bool) -> None:
    bot = _client(config=config, token=config.bot_token.get_secret_value())
    try:
        answer = await bot.auth_test()
    except SlackApiError as exc:
        findings.error(_bot_token_refused(_code(exc)))
        return
    if not answer.get("bot_id"):
        findings.error(
            f"{KEY}.bot_token belongs to a user, not to the app's bot: use the Bot User "
            "OAuth Token (xoxb-) from OAuth & Permissions"
        )
        return
    findings.ok(f"the bot token works (bot {answer.get('user')} in workspace {answer.get('team')})")
    _scopes(findings, headers=answer.headers, config=config, needs_emails=needs_emails)
    if config.mode == "socket":
        await _socket_mode(findings, client=bot, config=config)


def _client(*, config: SlackConfig, token: str) -> AsyncWebClient:
    # Default retry handlers only: the doctor makes a handful of calls, none paced.
    return AsyncWebClient(token=token, base_url=config.api_base_url, timeout=int(config.timeout))


def _code(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or f"HTTP {exc.response.status_code}")


def _bot_token_refused(code: str) -> str:
    if code in _REFUSED:
        return (
            f"Slack refused {KEY}.bot_token ({code}): copy the Bot User OAuth Token (xoxb-) "
            "from OAuth & Permissions again, and reinstall the app if it was revoked"
        )
    return f"Slack refused auth.test with {KEY}.bot_token ({code}): check the app's settings"


def _granted(headers: Mapping[str, Any]) -> set[str] | None:
    """The scopes Slack lists in the ``x-oauth-scopes`` header of every Web API answer."""
    for name, value in headers.items():
        if name.lower() == "x-oauth-scopes":
            return {s.strip() for s in str(value).split(",") if s.strip()}
    return None


def _scopes(
    findings: Findings, *, headers: Mapping[str, Any], config: SlackConfig, needs_emails: bool
) -> None:
    granted = _granted(headers)
    if granted is None:
        findings.warning(
            f"the Web API at {config.api_base_url} did not say which scopes the token has "
            "(no x-oauth-scopes header): compare them by hand with docs/adapters/slack.md"
        )
        return
    needed = needed_scopes(config=config, needs_emails=needs_emails)
    missing = [need for need in needed if need.scope not in granted]
    for need in missing:
        sentence = (
            f"the bot token lacks the {need.scope} scope, so {need.without}: add it under "
            "OAuth & Permissions → Bot Token Scopes and reinstall the app"
        )
        if need.blocking:
            findings.error(sentence)
        else:
            findings.warning(sentence)
    if not missing:
        findings.ok("the bot token has every scope the configured features need")


async def _socket_mode(findings: Findings, *, client: AsyncWebClient, config: SlackConfig) -> None:
    assert config.app_token is not None  # the config requires it in socket mode
    try:
        # Only asks for a connection ticket; nothing connects, and an unused ticket expires.
        await client.apps_connections_open(app_token=config.app_token.get_secret_value())
    except SlackApiError as exc:
        code = _code(exc)
        if code == "missing_scope":
            fix = "give the app-level token the connections:write scope (Basic Information)"
        elif code in _REFUSED or code == "not_allowed_token_type":
            fix = "copy the app-level token (xapp-) from Basic Information → App-Level Tokens"
        else:
            fix = "turn Socket Mode on in the app's settings, or set mode: http"
        findings.error(f"Slack refused Socket Mode with {KEY}.app_token ({code}): {fix}")
        return
    findings.ok("the app-level token opens Socket Mode connections")
