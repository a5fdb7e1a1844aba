"""The installed example adapter passes the conformance kit, loaded through discovery."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from knowrithm_bots.core.testing.conformance import AdapterConformance
from tests.examples.chat_backend import ChatBackend
from tests.examples.conftest import Site
from tests.examples.webhook_harness import WebhookHarness


class TestWebhookExample(AdapterConformance):
    @pytest.fixture
    async def harness(self, installed: Site) -> AsyncIterator[WebhookHarness]:
        async with ChatBackend() as backend:
            yield WebhookHarness(backend)
