"""Whether a user shares a configured guild with the bot (people who do not are external)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import discord

from knowrithm_bots.adapters.discord.errors import translated
from knowrithm_bots.core.bounded import Lru
from knowrithm_bots.core.errors import PlatformError

log = logging.getLogger(__name__)

# Users remembered at once; one entry per person who ever wrote, so it must be bounded.
CACHE_SIZE = 10_000


class Membership:
    """Answers "is this user in one of our guilds?", asking Discord at most once per TTL.

    Answers are kept for the ``size`` users seen most recently; older ones are asked again.

    Without the privileged members intent the library caches almost no members, so each
    configured guild is asked over REST (``GET /guilds/{id}/members/{user}``, which needs
    no intent). When Discord cannot answer, the user counts as a member: a failed lookup
    should not turn a colleague into a lead.
    """

    def __init__(
        self,
        *,
        client: discord.Client,
        allowed_guilds: Sequence[int] | None,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        size: int = CACHE_SIZE,
    ) -> None:
        self._client = client
        self._allowed = tuple(allowed_guilds) if allowed_guilds is not None else None
        self._ttl = ttl
        self._clock = clock
        self._known: Lru[int, tuple[bool, float]] = Lru(size=size)

    def _guild_ids(self) -> tuple[int, ...]:
        if self._allowed is not None:
            return self._allowed
        return tuple(guild.id for guild in self._client.guilds)

    async def shares_guild(self, user_id: int) -> bool:
        cached = self._known.get(user_id)
        now = self._clock()
        if cached is not None and cached[1] > now:
            return cached[0]
        shared = await self._ask(user_id)
        if shared is not None:
            self._known.put(user_id, value=(shared, now + self._ttl))
        return shared is not False

    async def _ask(self, user_id: int) -> bool | None:
        """True/False when Discord answered for every guild; None when a lookup failed."""
        unsure = False
        for guild_id in self._guild_ids():
            guild = self._client.get_guild(guild_id)
            if guild is None:
                continue  # configured but the bot is not in it: nobody shares it
            if guild.get_member(user_id) is not None:
                return True
            try:
                with translated(action="checking a guild membership"):
                    try:
                        await guild.fetch_member(user_id)
                    except discord.NotFound:
                        continue  # Discord's answer "not a member", not a failure
                return True
            except PlatformError as exc:
                log.warning("could not check membership in guild %s: %s", guild_id, exc)
                unsure = True
        return None if unsure else False
