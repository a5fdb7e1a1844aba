"""Test helpers shipped with the package so adapter authors can use them too."""

from core.testing.fake_platform import (
    FakeMessage,
    FakeNativeStream,
    FakePlatformAdapter,
    NativeBehaviour,
    PlatformCall,
)
from core.testing.recording_adapter import RecordedCall, RecordingAdapter, texts

__all__ = [
    "FakeMessage",
    "FakeNativeStream",
    "FakePlatformAdapter",
    "NativeBehaviour",
    "PlatformCall",
    "RecordedCall",
    "RecordingAdapter",
    "texts",
]
