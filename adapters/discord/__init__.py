"""Discord adapter (discord.py 2.x); the manual is docs/adapters/discord.md."""

from knowrithm_bots.adapters.discord.adapter import DiscordAdapter
from knowrithm_bots.adapters.discord.config import DiscordConfig

__all__ = ["DiscordAdapter", "DiscordConfig"]
