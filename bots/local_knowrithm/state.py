"""Everything the local Knowrithm server has recorded, open for tests to inspect."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from knowrithm_bots.bots.local_knowrithm.records import (
    EndRecord,
    RatingRecord,
    ReceivedRequest,
    StoredConversation,
    StoredLead,
    StoredMessage,
    StoredTask,
)


@dataclass
class LocalState:
    """Plain mutable containers; the server is their only writer."""

    conversations: dict[str, StoredConversation] = field(default_factory=dict)
    messages: dict[str, list[StoredMessage]] = field(default_factory=dict)
    leads: dict[str, StoredLead] = field(default_factory=dict)
    tasks: dict[str, StoredTask] = field(default_factory=dict)
    ratings: list[RatingRecord] = field(default_factory=list)
    ends: list[EndRecord] = field(default_factory=list)
    metadata_updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    chat_requests: list[tuple[str, str]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # The same requests with their query and body, for tests of what a client sends.
    received: list[ReceivedRequest] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)

    def find_message(self, *, message_id: str) -> StoredMessage | None:
        """The message with that id in any conversation, or None."""
        for messages in self.messages.values():
            for message in messages:
                if message.id == message_id:
                    return message
        return None

    def add_message(self, *, message: StoredMessage) -> None:
        """Append a message to its conversation and keep the conversation's count right."""
        self.messages.setdefault(message.conversation_id, []).append(message)
        conversation = self.conversations.get(message.conversation_id)
        if conversation is not None:
            conversation.message_count = len(self.messages[message.conversation_id])
            conversation.updated_at = message.created_at
