"""Value objects the Knowrithm client returns: agents, conversations, messages, leads, replies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# This project's spelling; on the wire it is lowercase ("user"/"lead"), mapped by the client.
EntityType = Literal["USER", "LEAD"]


@dataclass(frozen=True, kw_only=True)
class Conversation:
    """One Knowrithm conversation as last reported by the service."""

    id: str
    agent_id: str | None = None
    entity_type: str = "USER"
    status: str = "active"
    lead_id: str | None = None
    message_count: int = 0
    started_at: str | None = None
    ended_at: str | None = None
    rating: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, kw_only=True)
class Message:
    """One message of a conversation; ``role`` is ``user`` or ``assistant``."""

    id: str
    conversation_id: str
    role: str
    content: str
    created_at: str | None = None
    rating: int | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, kw_only=True)
class Lead:
    """A Knowrithm lead: the contact a LEAD conversation belongs to."""

    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)
    phone: str | None = None
    source: str | None = None


@dataclass(frozen=True, kw_only=True)
class Agent:
    """A Knowrithm agent, as much of it as the bot needs to know it exists."""

    id: str
    name: str | None = None
    status: str | None = None


@dataclass(frozen=True, kw_only=True)
class ConversationPage:
    """One page of a conversation listing; ``total`` is None when the service did not say."""

    conversations: tuple[Conversation, ...]
    page: int
    per_page: int
    total: int | None


@dataclass(frozen=True, kw_only=True)
class ConversationAnalytics:
    """The headline numbers of a conversation; ``raw`` keeps the whole answer."""

    total_messages: int
    duration_minutes: float | None
    satisfaction_rating: float | None
    raw: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ReplyDelta:
    """A new piece of the assistant's answer, to be appended to what came before."""

    text: str


@dataclass(frozen=True)
class ReplyDone:
    """The finished assistant message; its ``content`` replaces whatever the deltas built."""

    message: Message


@dataclass(frozen=True, kw_only=True)
class ReplyAccepted:
    """Knowrithm has the question: from now on it must never be sent again.

    ``question_id`` is Knowrithm's id of the user message when the service named it (or the
    history showed it); a caller that records it can find the answer after a restart.
    """

    question_id: str | None = None
    task_id: str | None = None


ReplyEvent = ReplyDelta | ReplyDone | ReplyAccepted
