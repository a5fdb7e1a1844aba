"""The example adapter, installed and found through discovery, passes the conformance kit.

The example's own tests/test_conformance.py imports the class directly; this one loads it the
way ``knowrithm-bots run webhook`` does, from the installed distribution's entry point.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from webhook_backend import ChatBackend
from webhook_harness import WebhookHarness, webhook_config

from knowrithm_bots.core.plugins import load_adapter
from knowrithm_bots.testing import AdapterConformance
from tests.examples.conftest import Site


class TestWebhookExample(AdapterConformance):
    @pytest.fixture
    async def harness(self, installed: Site) -> AsyncIterator[WebhookHarness]:
        async with ChatBackend() as backend:
            adapter = load_adapter("webhook").from_config(config=webhook_config(backend))
            yield WebhookHarness(backend=backend, adapter=adapter)
