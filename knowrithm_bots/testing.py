"""The adapter conformance kit and in-memory fakes, for testing adapters and code built on them.

Importing this module needs pytest (and running the kit's checks needs pytest-asyncio):
install them with ``pip install 'knowrithm-bots[testing]'``. The kit: subclass
``AdapterConformance`` with a ``harness`` fixture returning an ``AdapterHarness`` that wires
your adapter to a fake of your platform; ``EventRecorder`` is the event sink it starts your
adapter with. The fakes stand in for a platform when testing code built on the core:
``RecordingAdapter`` (an in-memory chat), ``FakePlatformAdapter`` (a platform enforcing
rate budgets in virtual time) and ``ManualClock`` (time that moves only when told). See
docs/writing-an-adapter.md.
"""

from __future__ import annotations

import importlib.util

# The kit's checks are pytest tests: without pytest, say what to install, in one sentence.
if importlib.util.find_spec("pytest") is None:  # pragma: no cover - depends on the installation
    raise ModuleNotFoundError(
        "knowrithm_bots.testing needs pytest; install it with "
        "pip install 'knowrithm-bots[testing]'",
        name="pytest",
    )

from knowrithm_bots.core.testing import (
    FakeMessage,
    FakeNativeStream,
    FakePlatformAdapter,
    ManualClock,
    NativeBehaviour,
    PlainBucket,
    PlatformCall,
    RecordedCall,
    RecordingAdapter,
)
from knowrithm_bots.core.testing.conformance import (
    EXPECTED_ERRORS,
    RETRY_AFTER,
    AdapterConformance,
    AdapterHarness,
    EventRecorder,
    Failure,
    Features,
    Operation,
    long_answer,
    marker,
    normalized,
    text_at_limit,
)
from knowrithm_bots.core.testing.conformance.recorder import Notice

__all__ = [
    "EXPECTED_ERRORS",
    "RETRY_AFTER",
    "AdapterConformance",
    "AdapterHarness",
    "EventRecorder",
    "Failure",
    "FakeMessage",
    "FakeNativeStream",
    "FakePlatformAdapter",
    "Features",
    "ManualClock",
    "NativeBehaviour",
    "Notice",
    "Operation",
    "PlainBucket",
    "PlatformCall",
    "RecordedCall",
    "RecordingAdapter",
    "long_answer",
    "marker",
    "normalized",
    "text_at_limit",
]
