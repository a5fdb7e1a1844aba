"""Turns a stream of text deltas into the fewest platform calls that keep the answer fresh."""

from knowrithm_bots.core.streaming.layout import Layout
from knowrithm_bots.core.streaming.pacer import Pacer
from knowrithm_bots.core.streaming.reply_stream import ReplyStream

__all__ = ["Layout", "Pacer", "ReplyStream"]
