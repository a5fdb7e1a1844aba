"""Who wrote a message and what a channel is called: users.info / conversations.info, cached."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.bounded import Lru
from adapters.slack.errors import guarded
from core.errors import PlatformError
from core.events import Author

log = logging.getLogger(__name__)

CACHE_SECONDS = 3600.0
CACHE_SIZE = 5000
FAILURE_SECONDS = 60.0  # a failed lookup is retried after this, not on every message


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


def _failed_at() -> float:
    """A cache time that makes the entry expire FAILURE_SECONDS from now."""
    return time.monotonic() - CACHE_SECONDS + FAILURE_SECONDS


class Directory:
    """Looks people and channels up once an hour at most; a failed lookup is just unknown."""

    def __init__(self, *, client: AsyncWebClient) -> None:
        self._client = client
        self._people: Lru[str, tuple[float, Person | None]] = Lru(size=CACHE_SIZE)
        self._channels: Lru[str, tuple[float, str | None]] = Lru(size=CACHE_SIZE)

    async def person(self, user_id: str) -> Person | None:
        cached = self._people.get(user_id)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            answer = await guarded(self._client.users_info(user=user_id), method="users.info")
        except PlatformError as exc:
            log.info("users.info for %s failed: %s", user_id, exc)
            self._people.put(user_id, value=(_failed_at(), None))
            return None
        user = answer.get("user")
        person = Person.from_api(user) if isinstance(user, dict) else None
        self._people.put(user_id, value=(time.monotonic() if person else _failed_at(), person))
        return person

    async def channel_name(self, channel_id: str) -> str | None:
        """The channel's name without '#', or None for DMs and when it cannot be read."""
        cached = self._channels.get(channel_id)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            answer = await guarded(
                self._client.conversations_info(channel=channel_id), method="conversations.info"
            )
        except PlatformError as exc:
            log.info("conversations.info for %s failed: %s", channel_id, exc)
            self._channels.put(channel_id, value=(_failed_at(), None))
            return None
        channel = answer.get("channel")
        name = channel.get("name") if isinstance(channel, dict) else None
        found = str(name) if name else None
        self._channels.put(channel_id, value=(time.monotonic(), found))
        return found
