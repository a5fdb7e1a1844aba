"""Text formatting: the agent's Markdown in each platform's markup, and roll-over splits."""

from knowrithm_bots.core.markup.discord_markdown import to_discord_markdown
from knowrithm_bots.core.markup.slack_mrkdwn import to_slack_mrkdwn
from knowrithm_bots.core.markup.split import split_for_rollover, utf16_len
from knowrithm_bots.core.markup.telegram_html import to_plain_text, to_telegram_html

__all__ = [
    "split_for_rollover",
    "to_discord_markdown",
    "to_plain_text",
    "to_slack_mrkdwn",
    "to_telegram_html",
    "utf16_len",
]
