"""Test helpers shipped with the package so adapter authors can use them too."""

from knowrithm_bots.core.testing.clock import ManualClock
from knowrithm_bots.core.testing.fake_platform import (
    FakeMessage,
    FakeNativeStream,
    FakePlatformAdapter,
    NativeBehaviour,
    PlatformCall,
)
from knowrithm_bots.core.testing.plain_bucket import PlainBucket
from knowrithm_bots.core.testing.recording_adapter import RecordedCall, RecordingAdapter

__all__ = [
    "FakeMessage",
    "FakeNativeStream",
    "FakePlatformAdapter",
    "ManualClock",
    "NativeBehaviour",
    "PlainBucket",
    "PlatformCall",
    "RecordedCall",
    "RecordingAdapter",
]
