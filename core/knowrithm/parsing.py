"""Tolerant readers that turn Knowrithm JSON (bare, wrapped or listed) into value objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from knowrithm_bots.core.errors import ProtocolError
from knowrithm_bots.core.knowrithm.models import (
    Agent,
    Conversation,
    ConversationAnalytics,
    ConversationPage,
    Lead,
    Message,
)

# Keys under which the service has wrapped lists over time, most specific first.
_LIST_KEYS = ("data", "items", "results")
# Real answers wrap a list two or three times; deeper nesting is hostile, not searched.
_MAX_WRAPPERS = 8


def unwrap(*, body: Any, key: str) -> Any:
    """Return the object under ``key`` or ``data`` (through nested wrappers), else ``body``."""
    current = body
    for _ in range(4):
        if not isinstance(current, dict):
            return current
        inner = current.get(key)
        if isinstance(inner, dict):
            current = inner
            continue
        inner = current.get("data")
        if isinstance(inner, dict) and "id" not in current:
            current = inner
            continue
        return current
    return current


def find_list(*, body: Any, key: str, _depth: int = 0) -> list[Any] | None:
    """Return the list in ``body`` itself, under ``key``, or under a generic wrapper key."""
    if isinstance(body, list):
        return body
    if not isinstance(body, dict) or _depth >= _MAX_WRAPPERS:
        return None
    for name in (key, *_LIST_KEYS):
        value = body.get(name)
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            nested = find_list(body=value, key=key, _depth=_depth + 1)
            if nested is not None:
                return nested
    return None


def as_str(value: Any) -> str | None:
    """Return ``value`` as text when it is a string or a number, else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def as_int(value: Any) -> int | None:
    """Return ``value`` as an int when it is a whole number or a numeric string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def as_float(value: Any) -> float | None:
    """Return ``value`` as a float when it is a number or a numeric string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def as_mapping(value: Any) -> dict[str, Any]:
    """Return a copy of ``value`` when it is an object, else an empty dict."""
    return dict(value) if isinstance(value, Mapping) else {}


def _require_object(body: Any, *, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ProtocolError(f"Knowrithm answered something other than a {what} object.")
    return body


def _require_id(data: Mapping[str, Any], *, what: str, keys: tuple[str, ...] = ("id",)) -> str:
    for name in keys:
        value = as_str(data.get(name))
        if value:
            return value
    raise ProtocolError(f"Knowrithm answered a {what} without an id.")


def parse_agent(body: Any, *, agent_id: str) -> Agent:
    """Read an agent record, bare or wrapped in ``agent``/``data``; ``agent_id`` was asked for.

    A record without an id is taken as the agent asked for: the path named it.
    """
    data = _require_object(unwrap(body=body, key="agent"), what="agent")
    status = as_str(data.get("status"))
    if data.get("is_deleted") is True:
        status = "deleted"
    return Agent(
        id=as_str(data.get("id")) or as_str(data.get("agent_id")) or agent_id,
        name=as_str(data.get("name")),
        status=status.strip().lower() if status else None,
    )


def parse_conversation(body: Any) -> Conversation:
    """Read a conversation record, bare or wrapped in ``conversation``/``data``."""
    data = _require_object(unwrap(body=body, key="conversation"), what="conversation")
    # The SDKs send and read lowercase ("user"/"lead"); this project's own answers and older
    # readings used uppercase. Internally it is always uppercase.
    entity = (as_str(data.get("entity_type")) or "USER").strip().upper()
    lead_id = as_str(data.get("lead_id"))
    if lead_id is None and entity == "LEAD":
        # knowrithm-py 0.1.4 and the CLI name a conversation's lead as its entity_id.
        lead_id = as_str(data.get("entity_id"))
    rating = as_int(data.get("rating"))
    if rating is None:
        rating = as_int(data.get("satisfaction_rating"))
    return Conversation(
        id=_require_id(data, what="conversation", keys=("id", "conversation_id")),
        agent_id=as_str(data.get("agent_id")),
        entity_type=entity,
        status=(as_str(data.get("status")) or "active").lower(),
        lead_id=lead_id,
        message_count=as_int(data.get("message_count")) or 0,
        started_at=as_str(data.get("started_at") or data.get("created_at")),
        ended_at=as_str(data.get("ended_at")),
        rating=rating,
        metadata=as_mapping(data.get("metadata")),
    )


def message_content(data: Mapping[str, Any]) -> str | None:
    """Return the text of a message record, whichever key the service used for it."""
    for name in ("content", "text", "response", "message"):
        value = data.get(name)
        if isinstance(value, str):
            return value
    return None


def parse_message(*, body: Any, conversation_id: str, default_role: str = "assistant") -> Message:
    """Read a message record, bare or wrapped; ``conversation_id`` fills a missing one."""
    data = _require_object(unwrap(body=body, key="message"), what="message")
    content = message_content(data)
    if content is None:
        raise ProtocolError("Knowrithm answered a message without any text.")
    return Message(
        id=_require_id(data, what="message", keys=("id", "message_id")),
        conversation_id=as_str(data.get("conversation_id")) or conversation_id,
        role=(as_str(data.get("role")) or default_role).lower(),
        content=content,
        created_at=as_str(data.get("created_at")),
        rating=as_int(data.get("rating")),
        metadata=as_mapping(data.get("metadata")),
    )


def message_records(body: Any) -> list[Any]:
    """The raw records of a message listing: a list, or ``messages``/``data`` holding one."""
    items = find_list(body=body, key="messages")
    if items is None:
        raise ProtocolError("Knowrithm answered a message history without a list of messages.")
    return items


def parse_messages(*, body: Any, conversation_id: str) -> list[Message]:
    """Read a message listing: a list, or ``messages``/``data`` holding one."""
    return [
        parse_message(body=item, conversation_id=conversation_id, default_role="")
        for item in message_records(body)
    ]


def _pagination(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        return {}
    merged = {k: v for k, v in body.items() if not isinstance(v, list | dict)}
    for name in ("pagination", "meta", "page_info"):
        merged.update(as_mapping(body.get(name)))
    return merged


def parse_page(*, body: Any, page: int, per_page: int) -> ConversationPage:
    """Read a conversation listing with whatever pagination fields came with it."""
    items = find_list(body=body, key="conversations")
    if items is None:
        raise ProtocolError("Knowrithm answered a conversation listing without a list.")
    info = _pagination(body)
    total = as_int(info.get("total"))
    if total is None:
        total = as_int(info.get("total_count"))
    return ConversationPage(
        conversations=tuple(parse_conversation(item) for item in items),
        page=as_int(info.get("page")) or page,
        per_page=as_int(info.get("per_page")) or per_page,
        total=total,
    )


def last_page(body: Any) -> int | None:
    """Return the number of pages a listing says it has, when it says."""
    info = _pagination(body)
    return as_int(info.get("pages")) or as_int(info.get("total_pages"))


def parse_lead(body: Any) -> Lead:
    """Read a lead record, bare or wrapped in ``lead``/``data``."""
    data = _require_object(unwrap(body=body, key="lead"), what="lead")
    return Lead(
        id=_require_id(data, what="lead", keys=("id", "lead_id")),
        first_name=as_str(data.get("first_name")) or "",
        last_name=as_str(data.get("last_name")) or "",
        email=as_str(data.get("email")) or "",
        metadata=as_mapping(data.get("metadata")),
        phone=as_str(data.get("phone")),
        source=as_str(data.get("source")),
    )


def parse_analytics(body: Any) -> ConversationAnalytics:
    """Read conversation analytics; missing sections give zero or None."""
    data = _require_object(unwrap(body=body, key="analytics"), what="analytics")
    stats = as_mapping(data.get("message_statistics"))
    flow = as_mapping(data.get("conversation_flow"))
    quality = as_mapping(data.get("quality_metrics"))
    total = as_int(stats.get("total_messages"))
    if total is None:
        total = as_int(data.get("total_messages"))
    return ConversationAnalytics(
        total_messages=total or 0,
        duration_minutes=as_float(flow.get("duration_minutes")),
        satisfaction_rating=as_float(quality.get("satisfaction_rating")),
        raw=data,
    )
