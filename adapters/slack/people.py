"""Who wrote a message and what a channel is called: users.info / conversations.info, cached."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_sdk.web.async_client import AsyncWebClient

from knowrithm_bots.adapters.slack.errors import translated
from knowrithm_bots.core.bounded import Lru
from knowrithm_bots.core.errors import PlatformError
from knowrithm_bots.core.events import Author

log = logging.getLogger(__name__)

CACHE_SECONDS = 3600.0
CACHE_SIZE = 5000
FAILURE_SECONDS = 60.0  # a failed lookup is retried after this, not on every message

T = TypeVar("T")


@dataclass(frozen=True)
class Person:
    """The parts of a users.info answer the bot uses."""

    id: str
    team: str | None
    enterprise: str | None
    name: str
    real_name: str
    display_name: str
    first_name: str | None
    last_name: str | None
    email: str | None
    is_bot: bool

    @classmethod
    def from_api(cls, user: dict[str, Any]) -> Person:
        profile = user.get("profile") or {}
        enterprise = (user.get("enterprise_user") or {}).get("enterprise_id")
        real_name = str(user.get("real_name") or profile.get("real_name") or "")
        return cls(
            id=str(user.get("id") or ""),
            team=_text(user.get("team_id") or profile.get("team")),
            enterprise=_text(enterprise),
            name=str(user.get("name") or ""),
            real_name=real_name,
            display_name=str(profile.get("display_name") or ""),
            first_name=_text(profile.get("first_name")),
            last_name=_text(profile.get("last_name")),
            email=_text(profile.get("email")),
            is_bot=bool(user.get("is_bot")) or bool(profile.get("bot_id")),
        )


def _text(value: Any) -> str | None:
    return str(value) if value else None


def author_for(
    *,
    user_id: str,
    person: Person | None,
    event_team: str | None,
    home_team: str,
    home_enterprise: str | None,
) -> Author:
    """The Author for ``user_id``; ``external`` when they belong to another organisation.

    Slack Connect guests come from another team; people of another workspace of the same
    Enterprise Grid organisation share its enterprise id and are not external.
    """
    team = (person.team if person else None) or event_team
    same_org = (
        home_enterprise is not None and person is not None and person.enterprise == home_enterprise
    )
    external = team is not None and team != home_team and not same_org
    if person is None:
        return Author(id=user_id, display_name=user_id, external=external)
    first, last = person.first_name, person.last_name
    if not (first or last) and person.real_name:
        head, _, tail = person.real_name.strip().partition(" ")
        first, last = head or None, tail.strip() or None
    return Author(
        id=user_id,
        display_name=person.display_name or person.real_name or person.name or user_id,
        is_bot=person.is_bot,
        external=external,
        email=person.email,
        first_name=first,
        last_name=last,
    )


class Directory:
    """Looks people and channels up once an hour at most; a failed lookup is just unknown.

    One rule for both: only a usable answer is kept for the hour. A lookup that failed, or
    whose answer lacked the user or the channel's name, is asked again after a minute: it
    says nothing lasting, and the name decides whether ``allowed_channels`` lets a channel
    in, so an hour of a wrong "unknown" would be an hour of silence there. Lookups of one
    key asked while one is under way wait for its answer: fifty mentions in a new channel
    at once make one ``conversations.info`` call, not fifty against its Tier 3 budget.
    """

    def __init__(self, *, client: AsyncWebClient) -> None:
        self._client = client
        self._people: Lru[str, tuple[float, Person | None]] = Lru(size=CACHE_SIZE)
        self._channels: Lru[str, tuple[float, str | None]] = Lru(size=CACHE_SIZE)
        self._under_way: dict[tuple[str, str], _Flight] = {}

    async def person(self, user_id: str) -> Person | None:
        async def look_up() -> Person | None:
            with translated(action="users.info"):
                answer = await self._client.users_info(user=user_id)
            user = answer.get("user")
            return Person.from_api(user) if isinstance(user, dict) else None

        return await self._once(self._people, user_id, look_up, method="users.info")

    async def channel_name(self, channel_id: str) -> str | None:
        """The channel's name without '#', or None for DMs and when it cannot be read."""

        async def look_up() -> str | None:
            with translated(action="conversations.info"):
                answer = await self._client.conversations_info(channel=channel_id)
            channel = answer.get("channel")
            name = channel.get("name") if isinstance(channel, dict) else None
            return str(name) if name else None

        return await self._once(self._channels, channel_id, look_up, method="conversations.info")

    async def _once(
        self,
        memory: Lru[str, tuple[float, T | None]],
        key: str,
        look_up: Callable[[], Awaitable[T | None]],
        *,
        method: str,
    ) -> T | None:
        """``_cached``, with one lookup of ``key`` under way at a time: it runs in a task of
        its own that the callers wait on, and the last of them to be cancelled cancels it."""
        flight = (method, key)
        pending = self._under_way.get(flight)
        if pending is None:
            task = asyncio.ensure_future(_cached(memory, key, look_up, method=method))
            pending = self._under_way[flight] = _Flight(task)
            task.add_done_callback(lambda _: self._forget(flight, task))
        pending.waiters += 1
        try:
            found: T | None = await asyncio.shield(pending.task)
            return found
        except asyncio.CancelledError:
            if pending.waiters == 1:
                # Nobody else waits for it (the adapter is stopping): cancel it, and let a
                # later caller start a lookup of its own rather than join this one.
                pending.task.cancel()
                self._forget(flight, pending.task)
            raise
        finally:
            pending.waiters -= 1

    def _forget(self, flight: tuple[str, str], task: asyncio.Future[Any]) -> None:
        entry = self._under_way.get(flight)
        if entry is not None and entry.task is task:
            del self._under_way[flight]


class _Flight:
    """A lookup under way and how many callers wait for it."""

    __slots__ = ("task", "waiters")

    def __init__(self, task: asyncio.Future[Any]) -> None:
        self.task = task
        self.waiters = 0


async def _cached(
    memory: Lru[str, tuple[float, T | None]],
    key: str,
    look_up: Callable[[], Awaitable[T | None]],
    *,
    method: str,
) -> T | None:
    """``look_up()``'s answer for ``key``, kept until its expiry time (the tuple's first part)."""
    kept = memory.get(key)
    if kept is not None and time.monotonic() < kept[0]:
        return kept[1]
    try:
        found = await look_up()
    except PlatformError as exc:
        log.info("%s for %s failed: %s", method, key, exc)
        found = None
    keep_for = CACHE_SECONDS if found is not None else FAILURE_SECONDS
    memory.put(key, value=(time.monotonic() + keep_for, found))
    return found
