"""The OAuth scopes the Slack adapter needs for a given config (docs/adapters/slack.md,
"Scopes and events"), split into those it cannot work without and those a feature needs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowrithm_bots.adapters.slack.config import SlackConfig

_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{8,}")


@dataclass(frozen=True)
class Needed:
    """A scope and what goes silently wrong without it."""

    scope: str
    without: str
    blocking: bool


def needed_scopes(*, config: SlackConfig, needs_emails: bool) -> list[Needed]:
    """The scopes ``config`` relies on; ``needs_emails`` when LEAD conversations need the
    address Slack gives only with users:read.email."""
    needed = [
        Needed("chat:write", "the bot cannot post any answer", blocking=True),
        Needed("app_mentions:read", "Slack does not send the mentions of the bot", blocking=True),
        Needed(
            "channels:history",
            "the bot does not see messages in public channels or their threads",
            blocking=True,
        ),
        Needed(
            "groups:history",
            "the bot does not see messages in private channels or their threads",
            blocking=True,
        ),
        Needed(
            "mpim:history", "the bot does not see messages in group direct messages", blocking=False
        ),
        Needed("reactions:read", "reactions do not reach the agent as ratings", blocking=False),
        Needed(
            "users:read", "answers cannot name or tell apart the people who ask", blocking=False
        ),
    ]
    if config.direct_messages != "off":
        needed.append(Needed("im:history", "the bot does not see direct messages", blocking=True))
    names = [c for c in config.allowed_channels or () if not _CHANNEL_ID.fullmatch(c)]
    # Names in allowed_channels are matched through conversations.info; ids need no lookup.
    for scope, kind in (
        ("channels:read", "public"),
        ("groups:read", "private"),
        ("mpim:read", "group direct message"),
    ):
        without = (
            f"allowed_channels names ({', '.join(names)}) cannot be matched in {kind} channels"
            if names
            else f"rules by channel name cannot match {kind} channels"
        )
        needed.append(
            Needed(scope, without, blocking=bool(names) and kind != "group direct message")
        )
    if config.thinking_status:
        needed.append(
            Needed("assistant:write", "the 'thinking' status is not shown", blocking=False)
        )
    if config.slash_command is not None:
        needed.append(
            Needed(
                "commands",
                f"the {config.slash_command} slash command does not reach the bot (or set "
                "slash_command: null)",
                blocking=False,
            )
        )
    if needs_emails:
        needed.append(
            Needed(
                "users:read.email",
                "LEAD conversations cannot start for people without a derived e-mail address",
                blocking=False,
            )
        )
    return needed
