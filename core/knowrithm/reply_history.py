"""Find this send's reply in the conversation history without mistaking an earlier answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from knowrithm_bots.core.errors import KnowrithmError
from knowrithm_bots.core.knowrithm.models import Message
from knowrithm_bots.core.knowrithm.parsing import as_str, last_page, message_records, parse_messages
from knowrithm_bots.core.knowrithm.retry import NO_RETRY, RetryPolicy, Safety
from knowrithm_bots.core.knowrithm.session import HttpSession

_HISTORY_PAGE = 100
_HISTORY_ACTION = "read the conversation history"
# How far the service's clock may run behind ours before a question stored by it after our
# send looks older than the send.
CLOCK_SKEW = 10.0


@dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    """One history message and the user message it answers, when the service says."""

    message: Message
    reply_to: str | None


@dataclass(frozen=True, kw_only=True)
class HistoryMark:
    """Where the history stood before the send: the newest assistant message id back then."""

    newest_assistant_id: str | None


class ChatShape:
    """What this client learnt about the deployment's answers to a chat send.

    A mark costs one or two history reads before a send, so it is taken only while the
    deployment has not shown that its answers name the user message (which is enough to find
    the reply in the history).
    """

    def __init__(self) -> None:
        self.names_user_message: bool = False

    @property
    def needs_mark(self) -> bool:
        return not self.names_user_message


def mark_of(entries: list[HistoryEntry]) -> HistoryMark:
    """The mark for a history page read now: every assistant message on it counts as old."""
    newest = next((e.message.id for e in reversed(entries) if e.message.role == "assistant"), None)
    return HistoryMark(newest_assistant_id=newest)


def reply_to_user_message(entries: list[HistoryEntry], *, user_message_id: str) -> Message | None:
    """The assistant message answering ``user_message_id``: by ``reply_to``, else by position."""
    for entry in entries:
        if entry.reply_to == user_message_id and entry.message.role == "assistant":
            return entry.message
    ids = [entry.message.id for entry in entries]
    if user_message_id not in ids:
        return None
    after = entries[ids.index(user_message_id) + 1 :]
    return next((e.message for e in after if e.message.role == "assistant"), None)


def reply_after_mark(entries: list[HistoryEntry], *, mark: HistoryMark) -> Message | None:
    """The first assistant message newer than ``mark``.

    The history is oldest first and only grows at the end, so when the marked message is not
    on the (last) page read, everything on that page came after it.
    """
    ids = [entry.message.id for entry in entries]
    newer = entries
    if mark.newest_assistant_id is not None and mark.newest_assistant_id in ids:
        newer = entries[ids.index(mark.newest_assistant_id) + 1 :]
    return next((e.message for e in newer if e.message.role == "assistant"), None)


def find_question(
    entries: list[HistoryEntry], *, text: str, not_before: float | None
) -> Message | None:
    """This send's question in the history, if Knowrithm stored it; None otherwise.

    Sends in one conversation are serialised, so a question the service took is the newest
    user message. Its text must match, and (where both times are known) it must not be older
    than the send (``not_before``, epoch seconds, less ``CLOCK_SKEW``): an identical question
    asked earlier and answered already is not this one.
    """
    newest = next((e.message for e in reversed(entries) if e.message.role == "user"), None)
    if newest is None or newest.content.strip() != text.strip():
        return None
    stored = epoch_of(newest.created_at)
    if not_before is not None and stored is not None and stored < not_before - CLOCK_SKEW:
        return None
    return newest


def epoch_of(stamp: str | None) -> float | None:
    """An ISO 8601 time as epoch seconds (UTC when no zone is given); None if unreadable."""
    if not stamp:
        return None
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC).timestamp()
    return parsed.timestamp()


def _parse_entries(*, body: Any, conversation_id: str) -> list[HistoryEntry]:
    items = message_records(body)
    messages = parse_messages(body=items, conversation_id=conversation_id)
    return [
        HistoryEntry(message=message, reply_to=_reply_to(item, message))
        for item, message in zip(items, messages, strict=True)
    ]


def _reply_to(item: Any, message: Message) -> str | None:
    """The user message ``message`` answers: a field of its record, else of its metadata."""
    reply_to = as_str(item.get("reply_to")) if isinstance(item, dict) else None
    return reply_to if reply_to is not None else as_str(message.metadata.get("reply_to"))


class ReplyHistory:
    """Reads the newest page of one conversation's history."""

    def __init__(self, *, http: HttpSession, conversation_id: str, path: str) -> None:
        self._http = http
        self._conversation_id = conversation_id
        self._path = f"{path}/messages"

    async def newest(self, *, retry: RetryPolicy | None = None) -> list[HistoryEntry]:
        """The last page of the history (the first page tells how many there are)."""
        entries, pages = await self._page(page=1, retry=retry)
        if pages is not None and pages > 1:
            entries, _ = await self._page(page=pages, retry=retry)
        return entries

    async def mark(self) -> HistoryMark | None:
        """A mark of the history as it is now, or None if it cannot be read at once."""
        try:
            # The mark is an optional speed-up taken before the send; it must never delay it.
            return mark_of(await self.newest(retry=NO_RETRY))
        except KnowrithmError:
            # The send decides whether the conversation is usable; without a mark the
            # fallback takes one later, which is safe but may wait for a reply it has missed.
            return None

    async def _page(
        self, *, page: int, retry: RetryPolicy | None
    ) -> tuple[list[HistoryEntry], int | None]:
        answer = await self._http.call(
            method="GET",
            path=self._path,
            action=_HISTORY_ACTION,
            safety=Safety.IDEMPOTENT,
            params={"page": page, "per_page": _HISTORY_PAGE},
            retry=retry,
        )
        entries = _parse_entries(body=answer.body, conversation_id=self._conversation_id)
        return entries, last_page(answer.body)
