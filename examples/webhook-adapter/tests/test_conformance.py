"""The webhook adapter passes the knowrithm-bots conformance kit against the fake backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from knowrithm_webhook import WebhookAdapter
from webhook_backend import ChatBackend
from webhook_harness import WebhookHarness, webhook_config

from knowrithm_bots.testing import AdapterConformance


class TestWebhookAdapter(AdapterConformance):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[WebhookHarness]:
        async with ChatBackend() as backend:
            adapter = WebhookAdapter.from_config(config=webhook_config(backend))
            yield WebhookHarness(backend=backend, adapter=adapter)
