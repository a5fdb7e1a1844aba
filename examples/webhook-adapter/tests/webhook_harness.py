"""The conformance kit's harness for the webhook adapter: the fake chat backend drives it."""

from __future__ import annotations

from typing import Any

from webhook_backend import BOT_ID, SIGNING_SECRET, TOKEN, ChatBackend

from knowrithm_bots.adapter import Adapter
from knowrithm_bots.testing import RETRY_AFTER, Failure, Features, Operation

_FAULTS: dict[Failure, dict[str, Any]] = {
    Failure.RATE_LIMITED: {"status": 429, "error": "rate_limited", "retry_after": RETRY_AFTER},
    Failure.NOT_FOUND: {"status": 404, "error": "message_not_found"},
    Failure.AUTH: {"status": 401, "error": "invalid_token"},
    Failure.UNAVAILABLE: {"status": 503, "error": "maintenance"},
}


def webhook_config(backend: ChatBackend) -> dict[str, Any]:
    """An ``adapters.webhook`` section pointing at ``backend``, listening on any free port."""
    return {
        "api_url": backend.api_url,
        "token": TOKEN,
        "signing_secret": SIGNING_SECRET,
        "bot_id": BOT_ID,
        "listen_port": 0,
    }


class WebhookHarness:
    """Places are backend conversation ids; ``adapter`` is configured with ``webhook_config``."""

    def __init__(self, *, backend: ChatBackend, adapter: Adapter) -> None:
        self.backend = backend
        self._adapter = adapter

    @property
    def adapter(self) -> Adapter:
        return self._adapter

    @property
    def features(self) -> Features:
        return Features(secrets=(TOKEN, SIGNING_SECRET))

    async def user_message(self, *, place: str, text: str) -> None:
        await self.backend.say(place, text)

    async def bot_message(self, *, place: str, text: str) -> None:
        await self.backend.say(place, text, sender={"id": "other-bot", "is_bot": True})

    async def own_message(self, *, place: str, text: str) -> None:
        await self.backend.say(place, text, sender={"id": BOT_ID, "name": "Support"})

    async def react(self, *, place: str, emoji: str, added: bool) -> None:
        await self.backend.react(self.backend.bot_messages(place)[-1], emoji, added=added)

    async def visible(self, *, place: str) -> list[str]:
        return self.backend.visible(place)

    async def fail_next(self, *, failure: Failure, operation: Operation) -> None:
        self.backend.fail_next(operation, **_FAULTS[failure])
