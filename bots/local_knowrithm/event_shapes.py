"""What the chat events of the local server carry: as a streaming deployment, or as documented."""

from __future__ import annotations

from typing import Any, ClassVar

from knowrithm_bots.bots.local_knowrithm.records import StoredMessage, StoredTask, iso


class StreamingShapes:
    """Event data of a streaming deployment: deltas, and every event names task and message."""

    chunks: ClassVar[bool] = True

    def ids(
        self, *, task: StoredTask, user_message: StoredMessage, status: str | None = None
    ) -> dict[str, Any]:
        """The ids (and status) a chat_status or chat_chunk event carries."""
        data: dict[str, Any] = {
            "task_id": task.id,
            "message_id": user_message.id,
            "conversation_id": user_message.conversation_id,
        }
        if status is not None:
            data["status"] = status
        return data

    def response(self, *, task: StoredTask, reply: StoredMessage, reply_to: str) -> dict[str, Any]:
        """A flat chat_response naming the task, the reply and the message it answers."""
        return {
            "task_id": task.id,
            "conversation_id": reply.conversation_id,
            "message_id": reply.id,
            "reply_to": reply_to,
            "role": "assistant",
            "content": reply.content,
            "created_at": iso(reply.created_at),
            "metadata": dict(reply.metadata),
        }

    def failed_response(self, *, conversation_id: str, task: StoredTask) -> dict[str, Any] | None:
        """No chat_response for a failed reply: its chat_status says it failed."""
        return None


class DocumentedShapes(StreamingShapes):
    """Event data as the documented widget reads it (knowrithm-docs tmp-widget.js).

    `handleChatStatus` reads conversation_id, message_id and status; `handleChatResponse`
    reads conversation_id, status and a nested message, with no task or message id beside
    it, and shows a failed status. No deltas: the documented service has none.
    """

    chunks: ClassVar[bool] = False

    def ids(
        self, *, task: StoredTask, user_message: StoredMessage, status: str | None = None
    ) -> dict[str, Any]:
        """conversation_id, message_id and status; no task id."""
        data = super().ids(task=task, user_message=user_message, status=status)
        del data["task_id"]
        return data

    def response(self, *, task: StoredTask, reply: StoredMessage, reply_to: str) -> dict[str, Any]:
        """``{conversation_id, status, message}``: the ids are only inside the message."""
        return {
            "conversation_id": reply.conversation_id,
            "status": "completed",
            "message": reply.to_json(),
        }

    def failed_response(self, *, conversation_id: str, task: StoredTask) -> dict[str, Any] | None:
        """``{conversation_id, status: failed, error}``."""
        return {"conversation_id": conversation_id, "status": "failed", "error": task.error}
