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

ENTITY_TYPES = frozenset({"USER", "LEAD"})
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
    # The public SDK omits entity_type; a missing one means a USER conversation.
    entity_type = (optional_str(body, "entity_type") or "USER").upper()
    if entity_type not in ENTITY_TYPES:
        raise bad_request("'entity_type' must be USER or LEAD")
    lead_id = optional_str(body, "lead_id")
    if entity_type == "LEAD" and (lead_id is None or lead_id not in context.state.leads):
        raise bad_request("A LEAD conversation needs the 'lead_id' of an existing lead")
    conversation = StoredConversation(
        id=str(uuid.uuid4()),
        agent_id=agent_id,
        entity_type=entity_type,
        lead_id=lead_id,
        title=optional_str(body, "title"),
        metadata=dict(optional_dict(body, "metadata") or {}),
        max_context_length=optional_int(body, "max_context_length"),
        started_at=utc_now(),
        sequence=len(context.state.conversations),
    )
    context.state.conversations[conversation.id] = conversation
    context.state.messages[conversation.id] = []
    return context.object_response(kind="conversation", record=conversation.to_json(), status=201)


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
    page, per_page = page_window(request, default_per_page=20)
    found = [
        conversation
        for conversation in state.conversations.values()
        if query.get("agent_id") in (None, "", conversation.agent_id)
        and query.get("status") in (None, "", conversation.status)
    ]
    found.sort(key=lambda conversation: _sort_key(conversation, sort_by))
    if sort_order == "desc":
        found.reverse()
    window, pagination = paginate(found, page=page, per_page=per_page)
    return web.json_response(
        {"conversations": [c.to_json() for c in window], "pagination": pagination}
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
    """PATCH /conversation/{id}: merge metadata."""
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
    body = await json_object(request, allow_empty=True)
    rating = optional_rating(body)
    feedback = optional_str(body, "feedback")
    context.state.ends.append(
        EndRecord(conversation_id=conversation.id, rating=rating, feedback=feedback)
    )
    if conversation.status != "ended":
        conversation.status = "ended"
        conversation.ended_at = utc_now()
    if rating is not None:
        conversation.rating = rating
    if feedback is not None:
        conversation.feedback = feedback
    return web.json_response({"conversation": conversation.to_json()})


async def list_messages(request: web.Request) -> web.Response:
    """GET /conversation/{id}/messages, oldest first."""
    state = context_of(request).state
    conversation = conversation_or_404(state, request.match_info["conversation_id"])
    page, per_page = page_window(request, default_per_page=50)
    messages = state.messages.get(conversation.id, [])
    window, pagination = paginate(messages, page=page, per_page=per_page)
    return web.json_response({"messages": [m.to_json() for m in window], "pagination": pagination})


async def conversation_analytics(request: web.Request) -> web.Response:
    """GET /analytic/conversation/{id}."""
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
