"""The async Knowrithm client: agents, conversations, streamed replies, ratings and leads."""

from knowrithm_bots.core.knowrithm.client import KnowrithmClient
from knowrithm_bots.core.knowrithm.models import (
    Agent,
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
from knowrithm_bots.core.knowrithm.retry import RetryPolicy
from knowrithm_bots.core.knowrithm.sse import SSEEvent, SSEParser

__all__ = [
    "Agent",
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
