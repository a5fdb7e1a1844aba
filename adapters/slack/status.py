"""The assistant "is thinking…" status (assistant.threads.setStatus) while an answer is coming."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.web.async_client import AsyncWebClient

from knowrithm_bots.adapters.slack.errors import SlackRefused, translated
from knowrithm_bots.adapters.slack.threads import ThreadKey
from knowrithm_bots.core.bounded import Lru
from knowrithm_bots.core.errors import (
    PlatformAuthError,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
)

log = logging.getLogger(__name__)

# Answers meaning the app cannot set statuses anywhere in the workspace.
WORKSPACE_WIDE = frozenset({"feature_not_enabled", "unknown_method", "method_deprecated"})

# Slack keeps a status for two minutes unless the bot replies (assistant.threads.setStatus,
# "A two minute timeout applies"): one call shows it, and it is set again only before it
# would lapse, however often the engine asks for its typing indicator.
REFRESH_AFTER = 90.0


class ThinkingStatus:
    """Shows ``text`` as the thread's status; gives up quietly where Slack does not allow it.

    Statuses exist in threads only (AI-app DMs, and channel threads where the workspace
    allows it). A refusal switches them off for that channel, or for the whole workspace
    when the app lacks the feature or the ``assistant:write`` scope. Slack clears the
    status itself when the bot replies.
    """

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        text: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._text = text
        self._clock = clock
        self._off_teams: set[str] = set()
        self._off_channels: Lru[tuple[str, str], bool] = Lru(size=2000)
        self._shown: Lru[str, float] = Lru(size=2000)  # thread → when its status was set
        # A status is cosmetic: after a 429 the workspace gets none until Slack's
        # Retry-After has passed, rather than a refused call from every waiting thread.
        self._quiet_until: dict[str, float] = {}

    def _available(self, thread: ThreadKey) -> bool:
        return (
            bool(self._text)
            and thread.thread_ts is not None
            and thread.team not in self._off_teams
            and (thread.team, thread.channel) not in self._off_channels
        )

    async def show(self, thread: ThreadKey) -> None:
        if not self._available(thread):
            return
        now = self._clock()
        if self._quiet_until.get(thread.team, 0.0) > now:
            return
        shown_at = self._shown.get(thread.encode())
        if shown_at is not None and now - shown_at < REFRESH_AFTER:
            return
        try:
            done = await self._set(thread, self._text)
        except PlatformRateLimited as exc:
            self._quiet_until[thread.team] = now + exc.retry_after
            log.debug("thinking status rate limited in %s: %s", thread.team, exc)
            return
        if done:
            self._shown.put(thread.encode(), value=now)

    async def clear(self, thread: ThreadKey) -> None:
        """Remove a status nothing replaced (the answer could not be posted)."""
        if self._shown.pop(thread.encode()) is not None and self._available(thread):
            await self._set(thread, "")

    def forget(self, thread: ThreadKey) -> None:
        self._shown.pop(thread.encode())

    async def _set(self, thread: ThreadKey, status: str) -> bool:
        assert thread.thread_ts is not None
        try:
            with translated(action="assistant.threads.setStatus"):
                await self._client.assistant_threads_setStatus(
                    channel_id=thread.channel, thread_ts=thread.thread_ts, status=status
                )
        except (PlatformRateLimited, PlatformUnavailable):
            raise
        except PlatformError as exc:
            wide = isinstance(exc, PlatformAuthError) or (
                isinstance(exc, SlackRefused) and exc.code in WORKSPACE_WIDE
            )
            if wide:
                self._off_teams.add(thread.team)
            else:
                self._off_channels.put((thread.team, thread.channel), value=True)
            log.info("thinking status switched off for %s: %s", thread.encode(), exc)
            return False
        return True
