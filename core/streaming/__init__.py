"""Turns a stream of text deltas into the fewest platform calls that keep the answer fresh."""

from core.streaming.layout import Layout
from core.streaming.pacer import Pacer
from core.streaming.reply_stream import ReplyStream

__all__ = ["Layout", "Pacer", "ReplyStream"]
