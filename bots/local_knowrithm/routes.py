"""The route table of the local Knowrithm API."""

from __future__ import annotations

from aiohttp import web

from knowrithm_bots.bots.local_knowrithm import routes_agent as agent
from knowrithm_bots.bots.local_knowrithm import routes_chat as chat
from knowrithm_bots.bots.local_knowrithm import routes_conversations as conversations
from knowrithm_bots.bots.local_knowrithm import routes_misc as misc
from knowrithm_bots.bots.local_knowrithm.context import API_PREFIX


def api_routes() -> list[web.RouteDef]:
    """Every endpoint, under /api/v1."""
    p = API_PREFIX
    conversation = f"{p}/conversation/{{conversation_id}}"
    return [
        web.get(f"{p}/health", misc.health),
        # knowrithm-py 0.1.22 `AgentService`; by-name first, or "by-name" would be an agent id.
        web.get(f"{p}/agent/by-name/{{name}}", agent.get_agent_by_name),
        web.get(f"{p}/agent/{{agent_id}}", agent.get_agent),
        web.post(f"{p}/conversation", conversations.start_conversation),
        web.get(f"{p}/conversation", conversations.list_conversations),
        web.get(conversation, conversations.get_conversation),
        # knowrithm-py 0.1.4 `update` sends PUT; PATCH is this project's older reading.
        web.put(conversation, conversations.update_conversation),
        web.patch(conversation, conversations.update_conversation),
        web.post(f"{conversation}/end", conversations.end_conversation),
        web.get(f"{conversation}/messages", conversations.list_messages),
        web.get(f"{conversation}/messages/stream", chat.stream_messages),
        web.post(f"{conversation}/chat", chat.send_chat),
        web.get(
            f"{p}/analytic/conversation/{{conversation_id}}", conversations.conversation_analytics
        ),
        web.get(f"{p}/tasks/{{task_id}}/status", chat.task_status),
        # knowrithm-py 0.1.4 `rate_message` uses the plural; the singular is the older reading.
        web.post(f"{p}/messages/{{message_id}}/rate", misc.rate_message),
        web.post(f"{p}/message/{{message_id}}/rate", misc.rate_message),
        # docs: /sdk/lead is the SDK's create, /lead the company-admin one (knowrithm-py 0.1.4).
        web.post(f"{p}/sdk/lead", misc.create_lead),
        web.post(f"{p}/lead", misc.create_lead),
        # Before /lead/{lead_id}, which would otherwise take "company" for a lead id.
        web.get(f"{p}/lead/company", misc.company_leads),
        web.get(f"{p}/lead/{{lead_id}}", misc.get_lead),
    ]
