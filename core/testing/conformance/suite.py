"""The adapter contract as pytest checks: subclass ``AdapterConformance`` and give it a harness.

Each check starts the adapter with an ``EventRecorder`` as its sink, drives the platform fake
through the harness, and calls the adapter the way the bridge does (``post``/``edit`` in the
thread of a received message, ``reply_done`` once per message). The roll-over check drives the
real reply engine with the adapter's declared budgets but without its per-message edit
interval, so it stays quick. Every thread key the adapter delivers must survive its declared
``thread_codec``, and every declared budget must charge calls the adapter makes in a scope its
``budget_keys`` gives. Checks that need something the adapter does not declare (reactions,
typing, a codec) or the harness cannot simulate are skipped.
"""

from __future__ import annotations

from knowrithm_bots.core.testing.conformance.budgets import BudgetChecks
from knowrithm_bots.core.testing.conformance.failures import FailureChecks
from knowrithm_bots.core.testing.conformance.inbound import InboundChecks
from knowrithm_bots.core.testing.conformance.lifecycle import LifecycleChecks
from knowrithm_bots.core.testing.conformance.outbound import OutboundChecks
from knowrithm_bots.core.testing.conformance.thread_keys import ThreadKeyChecks


class AdapterConformance(
    LifecycleChecks, InboundChecks, ThreadKeyChecks, BudgetChecks, OutboundChecks, FailureChecks
):
    """Contract checks every adapter passes. Subclass it in a test module::

        class TestMyAdapter(AdapterConformance):
            @pytest_asyncio.fixture
            async def harness(self) -> AsyncIterator[MyHarness]:
                async with MyPlatformFake() as fake:
                    yield MyHarness(fake)

    ``timeout`` bounds every wait; ``task_grace`` is how long ``stop()`` may take to let its
    tasks finish. Override ``is_platform_task`` when the platform fake runs tasks of its own
    that outlive the adapter (a server's request handlers, for instance).
    """
