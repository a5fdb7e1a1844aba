"""The harness an adapter author writes so the conformance kit can drive their platform fake."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from knowrithm_bots.core.adapter import Adapter
from knowrithm_bots.core.errors import (
    MessageNotFound,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
)

Operation = Literal["post", "edit"]

RETRY_AFTER = 5.0
"""Seconds a simulated 429 asks the client to wait; ``PlatformRateLimited.retry_after`` must
report it (within half a second, for platforms that round to whole seconds).

Far from the one second adapters fall back to when a platform names no wait, so an adapter
that ignores the platform's wait cannot pass by chance."""


class Failure(enum.Enum):
    """A platform failure the harness can make the next outbound call meet."""

    RATE_LIMITED = "rate_limited"
    """HTTP 429 (or the platform's flood error) asking to wait ``RETRY_AFTER`` seconds."""
    NOT_FOUND = "not_found"
    """The message being edited was deleted or never existed (only used with ``edit``)."""
    AUTH = "auth"
    """The platform rejects the bot's credentials (401/403, invalid token)."""
    UNAVAILABLE = "unavailable"
    """The platform fails on its side (5xx) or cannot be reached."""


EXPECTED_ERRORS: dict[Failure, type[PlatformError]] = {
    Failure.RATE_LIMITED: PlatformRateLimited,
    Failure.NOT_FOUND: MessageNotFound,
    Failure.AUTH: PlatformAuthError,
    Failure.UNAVAILABLE: PlatformUnavailable,
}


@dataclass(frozen=True, kw_only=True)
class Features:
    """What the harness's platform fake can simulate; checks that need more are skipped.

    ``places`` is how many separate conversations (chats, channels, threads) the harness
    offers; the kit names them ``"a"`` and ``"b"``. ``secrets`` are the credentials the
    adapter was configured with: no error message may contain them.
    """

    places: int = 2
    bot_messages: bool = True
    own_messages: bool = True
    reactions: bool = True
    reaction_removal: bool = True
    failures: frozenset[Failure] = field(default_factory=lambda: frozenset(Failure))
    secrets: Sequence[str] = ()


class AdapterHarness(Protocol):
    """An adapter wired to a platform fake that the kit can feed and observe.

    The author builds one per test (a pytest fixture) and tears the fake down afterwards;
    the kit starts and stops ``adapter`` itself. Every injection is a real platform event
    travelling through the adapter's normal input path (webhook, socket, polling, stdin), and
    ``visible`` reads what a person looking at the platform would see.
    """

    @property
    def adapter(self) -> Adapter:
        """The adapter under test, configured for the fake and not yet started."""
        ...

    @property
    def features(self) -> Features:
        """What this harness can simulate."""
        ...

    async def user_message(self, *, place: str, text: str) -> None:
        """A person writes ``text`` in ``place``."""

    async def bot_message(self, *, place: str, text: str) -> None:
        """Another bot (not the adapter's) writes ``text`` in ``place``."""

    async def own_message(self, *, place: str, text: str) -> None:
        """The platform reports a message written by the adapter's own bot account."""

    async def react(self, *, place: str, emoji: str, added: bool) -> None:
        """A person adds (or removes) ``emoji`` on the bot's newest message in ``place``."""

    async def visible(self, *, place: str) -> list[str]:
        """The texts of the bot's messages in ``place``, oldest first, as a person sees them."""
        ...

    async def fail_next(self, *, failure: Failure, operation: Operation) -> None:
        """Make the platform answer the adapter's next ``operation`` call with ``failure``."""
