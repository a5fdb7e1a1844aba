"""Test helpers shipped with the package so adapter authors can use them too."""

from core.testing.recording_adapter import RecordedCall, RecordingAdapter, texts

__all__ = ["RecordedCall", "RecordingAdapter", "texts"]
