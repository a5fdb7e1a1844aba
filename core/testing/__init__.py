"""Test helpers shipped with the package so adapter authors can use them too."""

from core.testing.fake_platform import (
    FakeMessage,
    FakeNativeStream,
    FakePlatformAdapter,
    NativeBehaviour,
    PlatformCall,
)
from core.testing.plain_bucket import PlainBucket
from core.testing.recording_adapter import RecordedCall, RecordingAdapter

__all__ = [
    "FakeMessage",
    "FakeNativeStream",
    "FakePlatformAdapter",
    "NativeBehaviour",
    "PlainBucket",
    "PlatformCall",
    "RecordedCall",
    "RecordingAdapter",
]
