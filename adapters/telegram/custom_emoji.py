"""Custom emoji reactions as the ordinary emoji they stand for (number packs, thumbs...).

Telegram's standard reactions hold no keycap digits; groups that want 1️⃣-5️⃣ ratings use a
custom emoji pack, whose reactions only carry an id. ``getCustomEmojiStickers`` says which
ordinary emoji each id represents, so the rating table applies to them as well.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from telegram import Bot

from knowrithm_bots.adapters.telegram.errors import translated
from knowrithm_bots.core.bounded import Lru
from knowrithm_bots.core.errors import PlatformError
from knowrithm_bots.core.events import Reaction

log = logging.getLogger(__name__)

PREFIX = "custom_emoji:"
_CACHE_LIMIT = 5000


class CustomEmojiNames:
    """Resolves ``custom_emoji:<id>`` reactions, remembering answers (ids never change)."""

    def __init__(self, *, bot: Bot, secret: str) -> None:
        self._bot = bot
        self._secret = secret
        self._known: Lru[str, str | None] = Lru(size=_CACHE_LIMIT)

    async def resolve(self, reactions: Sequence[Reaction]) -> list[Reaction]:
        wanted = sorted(
            {
                r.emoji.removeprefix(PREFIX)
                for r in reactions
                if r.emoji.startswith(PREFIX) and r.emoji.removeprefix(PREFIX) not in self._known
            }
        )
        if wanted:
            await self._look_up(wanted)
        resolved = []
        for reaction in reactions:
            emoji = reaction.emoji
            if emoji.startswith(PREFIX):
                emoji = self._known.get(emoji.removeprefix(PREFIX)) or emoji
            resolved.append(dataclasses.replace(reaction, emoji=emoji))
        return resolved

    async def _look_up(self, ids: list[str]) -> None:
        try:
            with translated(action="looking up custom emoji", secret=self._secret):
                stickers = await self._bot.get_custom_emoji_stickers(custom_emoji_ids=ids)
        except PlatformError as exc:
            # Not fatal: the reaction simply stays unrated, and is asked about again later.
            log.info("%s", exc)
            return
        for emoji_id in ids:
            self._known.put(emoji_id, value=None)
        for sticker in stickers:
            if sticker.custom_emoji_id:
                self._known.put(sticker.custom_emoji_id, value=sticker.emoji)
