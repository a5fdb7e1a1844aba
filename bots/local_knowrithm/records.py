"""Records the local Knowrithm server keeps, and their JSON wire shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

MessageRole = Literal["user", "assistant"]
TaskStatus = Literal["pending", "completed", "failed"]


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 text for a moment, or None."""
    return None if moment is None else moment.isoformat()


@dataclass
class StoredConversation:
    """One conversation, mutated in place as it is updated and ended.

    ``entity_type`` is lowercase, ``user`` or ``lead``, as every public SDK release sends and
    reads it; ``entity_id`` is the entity the client named (for a lead, its ``lead_id``).
    """

    id: str
    agent_id: str
    entity_type: str
    lead_id: str | None
    title: str | None
    metadata: dict[str, Any]
    max_context_length: int | None
    started_at: datetime
    sequence: int
    status: str = "active"
    message_count: int = 0
    ended_at: datetime | None = None
    rating: int | None = None
    feedback: str | None = None
    updated_at: datetime | None = None
    entity_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The conversation record as the API returns it."""
        return {
            "id": self.id,
            "agent_id": self.agent_id,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "status": self.status,
            "lead_id": self.lead_id,
            "title": self.title,
            "message_count": self.message_count,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "rating": self.rating,
            "metadata": dict(self.metadata),
        }


@dataclass
class StoredMessage:
    """One message of a conversation; its rating changes when it is rated."""

    id: str
    conversation_id: str
    role: MessageRole
    content: str
    created_at: datetime
    rating: int | None = None
    feedback: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # The chat request's `attachments`, as sent (their shape is not documented).
    attachments: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        """The message record as the API returns it."""
        record: dict[str, Any] = {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "role": self.role,
            "content": self.content,
            "created_at": iso(self.created_at),
            "rating": self.rating,
            "metadata": dict(self.metadata),
        }
        if self.attachments is not None:
            record["attachments"] = [dict(item) for item in self.attachments]
        return record


@dataclass
class StoredLead:
    """One lead created through the SDK lead endpoint."""

    id: str
    first_name: str
    last_name: str
    email: str
    phone: str | None
    source: str | None
    agent_id: str | None
    metadata: dict[str, Any]
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The lead record as the API returns it."""
        return {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "phone": self.phone,
            "source": self.source,
            "agent_id": self.agent_id,
            "metadata": dict(self.metadata),
            "created_at": iso(self.created_at),
        }


@dataclass
class StoredTask:
    """An asynchronous task handle; pending until `ready_at` (loop time) and a result exist."""

    id: str
    kind: str
    status: TaskStatus = "pending"
    result: dict[str, Any] | None = None
    error: str | None = None
    ready_at: float = 0.0

    def to_json(self, *, now: float) -> dict[str, Any]:
        """The task status body; a finished task still reads pending until `ready_at`."""
        status: TaskStatus = "pending" if now < self.ready_at else self.status
        body: dict[str, Any] = {"task_id": self.id, "status": status}
        if status == "completed":
            body["result"] = self.result
        elif status == "failed":
            body["error"] = self.error or "Task failed"
        return body


@dataclass(frozen=True)
class RatingRecord:
    """One call to the rate-message endpoint."""

    message_id: str
    rating: int
    feedback: str | None


@dataclass(frozen=True)
class EndRecord:
    """One call to the end-conversation endpoint."""

    conversation_id: str
    rating: int | None
    feedback: str | None


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the server received it; ``body`` is the decoded JSON, or the raw text
    when it is not JSON, or None when there was none."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
