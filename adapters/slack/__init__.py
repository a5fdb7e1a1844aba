"""Slack adapter (slack-bolt, Socket Mode or HTTP Events API); manual: docs/adapters/slack.md."""

from knowrithm_bots.adapters.slack.adapter import SlackAdapter
from knowrithm_bots.adapters.slack.config import SlackConfig

__all__ = ["SlackAdapter", "SlackConfig"]
