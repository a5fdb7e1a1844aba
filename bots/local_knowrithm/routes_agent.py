"""The agent endpoints: the one agent this server answers as, by id or by name."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from knowrithm_bots.bots.local_knowrithm.context import ServerContext, context_of
from knowrithm_bots.bots.local_knowrithm.inputs import not_found

AGENT_NAME = "Local agent"


def _agent_record(context: ServerContext) -> dict[str, Any]:
    return {
        "id": context.settings.agent_id,
        "name": AGENT_NAME,
        "status": "active",
        "description": "The local Knowrithm-compatible agent: it repeats what it was asked.",
    }


async def get_agent(request: web.Request) -> web.Response:
    """GET /agent/{agent_id} (knowrithm-py 0.1.22 `AgentService.get_agent`: a public call)."""
    context = context_of(request)
    if request.match_info["agent_id"] != context.settings.agent_id:
        raise not_found("Agent")
    return web.json_response({"agent": _agent_record(context)})


async def get_agent_by_name(request: web.Request) -> web.Response:
    """GET /agent/by-name/{name}, case-insensitive (knowrithm-py 0.1.22
    `AgentService.get_agent_by_name`: needs the read scope, so credentials are checked)."""
    context = context_of(request)
    if request.match_info["name"].casefold() != AGENT_NAME.casefold():
        raise not_found("Agent")
    return web.json_response({"agent": _agent_record(context)})
