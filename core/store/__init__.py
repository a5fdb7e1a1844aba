"""Persistent key-value state: thread → conversation, message links, leads, processed events."""

from core.store.base import JSON, Store
from core.store.memory import MemoryStore
from core.store.sqlite import SqliteStore

__all__ = ["JSON", "MemoryStore", "SqliteStore", "Store"]
