"""Telegram adapter (python-telegram-bot, polling or webhook); manual: docs/adapters/telegram.md."""

from knowrithm_bots.adapters.telegram.adapter import ALLOWED_UPDATES, TelegramAdapter
from knowrithm_bots.adapters.telegram.config import TelegramConfig

__all__ = ["ALLOWED_UPDATES", "TelegramAdapter", "TelegramConfig"]
