"""The adapter conformance kit: contract checks any adapter author runs with pytest.

Write a harness (``AdapterHarness``) that connects your adapter to a fake of your platform,
then subclass ``AdapterConformance`` with a ``harness`` fixture; see docs/writing-an-adapter.md.
Importing this package needs pytest (and pytest-asyncio to run the checks).
"""

from knowrithm_bots.core.testing.conformance.harness import (
    EXPECTED_ERRORS,
    RETRY_AFTER,
    AdapterHarness,
    Failure,
    Features,
    Operation,
)
from knowrithm_bots.core.testing.conformance.recorder import EventRecorder
from knowrithm_bots.core.testing.conformance.suite import AdapterConformance
from knowrithm_bots.core.testing.conformance.texts import (
    long_answer,
    marker,
    normalized,
    text_at_limit,
)

__all__ = [
    "EXPECTED_ERRORS",
    "RETRY_AFTER",
    "AdapterConformance",
    "AdapterHarness",
    "EventRecorder",
    "Failure",
    "Features",
    "Operation",
    "long_answer",
    "marker",
    "normalized",
    "text_at_limit",
]
