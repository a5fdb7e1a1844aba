"""The async Knowrithm client: conversations, streamed replies, ratings and leads."""

from core.knowrithm.client import KnowrithmClient
from core.knowrithm.models import (
    Conversation,
    ConversationAnalytics,
    ConversationPage,
    EntityType,
    Lead,
    Message,
    ReplyDelta,
    ReplyDone,
    ReplyEvent,
)
from core.knowrithm.retry import RetryPolicy
from core.knowrithm.sse import SSEEvent, SSEParser

__all__ = [
    "Conversation",
    "ConversationAnalytics",
    "ConversationPage",
    "EntityType",
    "KnowrithmClient",
    "Lead",
    "Message",
    "ReplyDelta",
    "ReplyDone",
    "ReplyEvent",
    "RetryPolicy",
    "SSEEvent",
    "SSEParser",
]
