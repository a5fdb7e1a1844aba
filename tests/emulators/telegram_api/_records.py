"""Value objects the emulator records and exposes to tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    """A Bot API failure, answered with a non-2xx status and Telegram's JSON error shape."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class BotIdentity:
    """Who the emulated bot is: what getMe answers and the `from` of its messages."""

    id: int = 7000000001
    username: str = "knowrithm_test_bot"
    first_name: str = "Knowrithm Test"

    def as_user(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class CallRecord:
    """One HTTP call the bot made: canonical method name, decoded parameters, answer status."""

    method: str
    params: dict[str, Any]
    status: int
    time: float
    description: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class SentMessage:
    """Current state of a message the bot sent; `history` holds earlier texts, oldest first."""

    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    entities: tuple[dict[str, Any], ...]
    message_thread_id: int | None
    reply_to: int | None
    reply_markup: dict[str, Any] | None
    date: int
    source_text: str
    history: tuple[str, ...] = ()
    edit_date: int | None = None

    @property
    def edit_count(self) -> int:
        return len(self.history)


@dataclass(frozen=True)
class DraftRecord:
    """One sendMessageDraft call that Telegram accepted."""

    chat_id: int
    draft_id: int
    text: str
    parse_mode: str | None
    message_thread_id: int | None
    time: float


@dataclass(frozen=True)
class ReactionRecord:
    """One setMessageReaction call that Telegram accepted."""

    chat_id: int
    message_id: int
    reaction: tuple[dict[str, Any], ...]
    is_big: bool
    time: float

    @property
    def emojis(self) -> tuple[str, ...]:
        return tuple(str(r.get("emoji")) for r in self.reaction if r.get("type") == "emoji")


@dataclass(frozen=True)
class ChatActionRecord:
    """One sendChatAction call that Telegram accepted."""

    chat_id: int
    action: str
    message_thread_id: int | None
    time: float


@dataclass(frozen=True)
class CallbackAnswer:
    """One answerCallbackQuery call."""

    callback_query_id: str
    text: str | None
    show_alert: bool


@dataclass(frozen=True)
class WebhookConfig:
    """What the last setWebhook asked for."""

    url: str
    secret_token: str | None
    allowed_updates: tuple[str, ...] | None
    max_connections: int | None
