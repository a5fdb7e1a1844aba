"""Health, message ratings and leads."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from knowrithm_bots.bots.local_knowrithm.context import context_of
from knowrithm_bots.bots.local_knowrithm.inputs import (
    ApiError,
    bad_request,
    json_object,
    not_found,
    optional_dict,
    optional_rating,
    optional_str,
    page_window,
    paginate,
)
from knowrithm_bots.bots.local_knowrithm.records import RatingRecord, StoredLead, utc_now
from knowrithm_bots.core.leads import usable_address


async def health(request: web.Request) -> web.Response:
    """GET /health, open without credentials."""
    return web.json_response({"status": "ok"})


async def rate_message(request: web.Request) -> web.Response:
    """POST /messages/{id}/rate or /message/{id}/rate; a new rating replaces the old.

    The plural path is what knowrithm-py 0.1.4 `rate_message` posts to; the singular one is
    this project's older reading (the prefix of the documented delete and restore calls).
    Every call is recorded.
    """
    context = context_of(request)
    body = await json_object(request)
    rating = optional_rating(body)
    if rating is None:
        raise bad_request("'rating' is required")
    feedback = optional_str(body, "feedback")
    message = context.state.find_message(message_id=request.match_info["message_id"])
    if message is None:
        raise not_found("Message")
    message.rating, message.feedback = rating, feedback
    context.state.ratings.append(
        RatingRecord(message_id=message.id, rating=rating, feedback=feedback)
    )
    return web.json_response({"success": True, "message": message.to_json()})


def _lead_email(body: dict[str, Any], *, leads: Iterable[StoredLead]) -> str:
    """The body's lead e-mail, validated as Knowrithm does: the docs make it a validated
    ``String(email)`` that identifies the lead. They do not name the status codes: 422 for
    a refused address and 409 for a taken one are this server's choice, and the client
    also reads "already exists" in any 4xx as a taken one (KNOWRITHM_API.md, leads)."""
    email = optional_str(body, "email")
    if not email:
        raise bad_request("'email' is required")
    try:
        email = usable_address(email)
    except ValueError as exc:
        raise ApiError(
            status=422,
            detail=f"'email' is not a valid e-mail address: {exc}",
            error_code="INVALID_EMAIL",
        ) from None
    if any(lead.email.casefold() == email.casefold() for lead in leads):
        raise ApiError(
            status=409, detail="A lead with this email already exists", error_code="LEAD_EXISTS"
        )
    return email


async def create_lead(request: web.Request) -> web.Response:
    """POST /sdk/lead (docs: the SDK's create) or POST /lead (docs: the company-admin
    create; knowrithm-py 0.1.4 `LeadService.create`); both create the same lead."""
    context = context_of(request)
    body = await json_object(request)
    email = _lead_email(body, leads=context.state.leads.values())
    lead = StoredLead(
        id=str(uuid.uuid4()),
        first_name=optional_str(body, "first_name") or "",
        last_name=optional_str(body, "last_name") or "",
        email=email,
        phone=optional_str(body, "phone"),
        source=optional_str(body, "source"),
        agent_id=optional_str(body, "agent_id"),
        metadata=dict(optional_dict(body, "metadata") or {}),
        created_at=utc_now(),
    )
    context.state.leads[lead.id] = lead
    return context.object_response(kind="lead", record=lead.to_json(), status=201)


async def company_leads(request: web.Request) -> web.Response:
    """GET /lead/company?search= (docs): the leads whose e-mail or name contains the text.

    knowrithm-py 0.1.4 `LeadService.list` sends company_id and status instead; one local
    company has every lead, and leads here have no status, so both are ignored.
    """
    context = context_of(request)
    search = (request.query.get("search") or "").strip().casefold()
    found = [
        lead
        for lead in context.state.leads.values()
        if not search
        or search in lead.email.casefold()
        or search in f"{lead.first_name} {lead.last_name}".casefold()
    ]
    window = page_window(request, default_per_page=20)
    shown, pagination = paginate(found, window=window)
    return web.json_response(
        {"leads": [lead.to_json() for lead in shown], "pagination": pagination}
    )


async def get_lead(request: web.Request) -> web.Response:
    """GET /lead/{id}."""
    lead = context_of(request).state.leads.get(request.match_info["lead_id"])
    if lead is None:
        raise not_found("Lead")
    return web.json_response({"lead": lead.to_json()})
