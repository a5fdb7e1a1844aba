"""Persistent key-value state: thread → conversation, message links, leads, processed events."""

from knowrithm_bots.core.store.base import JSON, Store
from knowrithm_bots.core.store.memory import MemoryStore
from knowrithm_bots.core.store.sqlite import SqliteStore

__all__ = ["JSON", "MemoryStore", "SqliteStore", "Store"]
