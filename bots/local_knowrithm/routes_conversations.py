"""Conversation endpoints: start, list, update metadata, end, history and analytics."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from knowrithm_bots.bots.local_knowrithm.context import context_of
from knowrithm_bots.bots.local_knowrithm.inputs import (
    bad_request,
    json_object,
    not_found,
    optional_dict,
    optional_int,
    optional_rating,
    optional_str,
    page_window,
    paginate,
)
from knowrithm_bots.bots.local_knowrithm.records import EndRecord, StoredConversation, utc_now
from knowrithm_bots.bots.local_knowrithm.state import LocalState

ENTITY_TYPES = frozenset({"user", "lead"})
SORT_KEYS = frozenset({"started_at", "created_at", "updated_at", "message_count"})


def conversation_or_404(state: LocalState, conversation_id: str) -> StoredConversation:
    """The conversation with that id, or a 404."""
    conversation = state.conversations.get(conversation_id)
    if conversation is None:
        raise not_found("Conversation")
    return conversation


async def start_conversation(request: web.Request) -> web.Response:
    """POST /conversation."""
    context = context_of(request)
    body = await json_object(request)
    agent_id = optional_str(body, "agent_id")
    if not agent_id:
        raise bad_request("'agent_id' is required")
    # Lowercase is what every SDK sends (knowrithm-py 0.1.4-0.1.22 `EntityType`, the
    # TypeScript SDK's 'user' | 'lead'); uppercase is this project's older reading. A missing
    # one is a user conversation: knowrithm-py 0.1.22 `create_conversation` sends none.
    entity_type = (optional_str(body, "entity_type") or "user").strip().lower()
    if entity_type not in ENTITY_TYPES:
        raise bad_request("'entity_type' must be user or lead")
    # A lead is named as entity_id (knowrithm-py 0.1.4 `ConversationService.create`, the
    # CLI's `conversation create`) or as lead_id (this project's older reading).
    entity_id = optional_str(body, "entity_id")
    lead_id = optional_str(body, "lead_id")
    if entity_type == "lead":
        if entity_id is not None and lead_id is not None and entity_id != lead_id:
            raise bad_request("'entity_id' and 'lead_id' name different leads")
        lead_id = entity_id if entity_id is not None else lead_id
        if lead_id is None or lead_id not in context.state.leads:
            raise bad_request("A lead conversation needs the 'entity_id' of an existing lead")
        entity_id = lead_id
    else:
        lead_id = None
    conversation = StoredConversation(
        id=str(uuid.uuid4()),
        agent_id=agent_id,
        entity_type=entity_type,
        lead_id=lead_id,
        entity_id=entity_id,
        title=optional_str(body, "title"),
        metadata=dict(optional_dict(body, "metadata") or {}),
        max_context_length=optional_int(body, "max_context_length"),
        started_at=utc_now(),
        sequence=len(context.state.conversations),
    )
    context.state.conversations[conversation.id] = conversation
    context.state.messages[conversation.id] = []
    return context.object_response(kind="conversation", record=conversation.to_json(), status=201)


async def get_conversation(request: web.Request) -> web.Response:
    """GET /conversation/{id} (knowrithm-py 0.1.4 `ConversationService.get`)."""
    state = context_of(request).state
    conversation = conversation_or_404(state, request.match_info["conversation_id"])
    return web.json_response({"conversation": conversation.to_json()})


async def list_conversations(request: web.Request) -> web.Response:
    """GET /conversation, filtered, sorted and paginated."""
    state = context_of(request).state
    query = request.query
    sort_by = query.get("sort_by") or "started_at"
    if sort_by not in SORT_KEYS:
        raise bad_request(f"'sort_by' must be one of {', '.join(sorted(SORT_KEYS))}")
    sort_order = (query.get("sort_order") or "desc").lower()
    if sort_order not in ("asc", "desc"):
        raise bad_request("'sort_order' must be asc or desc")
    window = page_window(request, default_per_page=20)
    found = [
        conversation
        for conversation in state.conversations.values()
        if query.get("agent_id") in (None, "", conversation.agent_id)
        and query.get("status") in (None, "", conversation.status)
    ]
    found.sort(key=lambda conversation: _sort_key(conversation, sort_by))
    if sort_order == "desc":
        found.reverse()
    shown, pagination = paginate(found, window=window)
    return web.json_response(
        {"conversations": [c.to_json() for c in shown], "pagination": pagination}
    )


def _sort_key(conversation: StoredConversation, sort_by: str) -> tuple[Any, int]:
    # The creation sequence breaks ties, so equal timestamps keep a stable order.
    if sort_by == "message_count":
        return conversation.message_count, conversation.sequence
    if sort_by == "updated_at":
        moment = conversation.updated_at or conversation.started_at
        return moment, conversation.sequence
    return conversation.started_at, conversation.sequence


async def update_conversation(request: web.Request) -> web.Response:
    """PUT or PATCH /conversation/{id}: merge metadata.

    PUT is what knowrithm-py 0.1.4 `ConversationService.update` sends; PATCH is this
    project's older reading. Both merge: no source says PUT replaces the metadata, and
    merging never loses a key a client did not mention.
    """
    context = context_of(request)
    conversation = conversation_or_404(context.state, request.match_info["conversation_id"])
    body = await json_object(request)
    metadata = optional_dict(body, "metadata")
    if metadata is None:
        raise bad_request("'metadata' is required")
    conversation.metadata.update(metadata)
    conversation.updated_at = utc_now()
    context.state.metadata_updates.append((conversation.id, dict(metadata)))
    return context.object_response(kind="conversation", record=conversation.to_json(), status=200)


async def end_conversation(request: web.Request) -> web.Response:
    """POST /conversation/{id}/end with an optional rating and feedback."""
    context = context_of(request)
    conversation = conversation_or_404(context.state, request.match_info["conversation_id"])
    # knowrithm-py 0.1.4 `end_conversation` sends an empty body when it has no rating.
    body = await json_object(request, allow_empty=True)
    rating = _end_rating(body)
    # No public source shows feedback on end; this project's client sends it.
    feedback = optional_str(body, "feedback")
    context.state.ends.append(
        EndRecord(conversation_id=conversation.id, rating=rating, feedback=feedback)
    )
    if conversation.status != "ended":
        conversation.status = "ended"
        conversation.ended_at = utc_now()
    context.hub.conversation_ended(conversation_id=conversation.id)
    if rating is not None:
        conversation.rating = rating
    if feedback is not None:
        conversation.feedback = feedback
    return web.json_response({"conversation": conversation.to_json()})


def _end_rating(body: dict[str, Any]) -> int | None:
    """``satisfaction_rating`` (knowrithm-py 0.1.4 `end_conversation`) or ``rating`` (older)."""
    satisfaction = optional_rating(body, "satisfaction_rating")
    rating = optional_rating(body, "rating")
    if satisfaction is not None and rating is not None and satisfaction != rating:
        raise bad_request("'satisfaction_rating' and 'rating' disagree")
    return satisfaction if satisfaction is not None else rating


async def list_messages(request: web.Request) -> web.Response:
    """GET /conversation/{id}/messages, oldest first."""
    state = context_of(request).state
    conversation = conversation_or_404(state, request.match_info["conversation_id"])
    window = page_window(request, default_per_page=50)
    messages = state.messages.get(conversation.id, [])
    shown, pagination = paginate(messages, window=window)
    return web.json_response({"messages": [m.to_json() for m in shown], "pagination": pagination})


async def conversation_analytics(request: web.Request) -> web.Response:
    """GET /analytic/conversation/{id} (docs; knowrithm-py 0.1.4 `AnalyticsService`)."""
    state = context_of(request).state
    conversation = conversation_or_404(state, request.match_info["conversation_id"])
    messages = state.messages.get(conversation.id, [])
    user_count = sum(1 for m in messages if m.role == "user")
    until = conversation.ended_at or utc_now()
    minutes = (until - conversation.started_at).total_seconds() / 60
    return web.json_response(
        {
            "conversation_id": conversation.id,
            "message_statistics": {
                "total_messages": len(messages),
                "user_messages": user_count,
                "assistant_messages": len(messages) - user_count,
            },
            "conversation_flow": {"duration_minutes": round(minutes, 3)},
            "quality_metrics": {"satisfaction_rating": conversation.rating},
        }
    )
