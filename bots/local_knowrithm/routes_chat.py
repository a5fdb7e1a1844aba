"""Chat endpoints: send a message, stream the reply, poll a task."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from knowrithm_bots.bots.local_knowrithm.context import API_PREFIX, context_of, task_status_path
from knowrithm_bots.bots.local_knowrithm.faults import Faults
from knowrithm_bots.bots.local_knowrithm.inputs import ApiError, bad_request, json_object, not_found
from knowrithm_bots.bots.local_knowrithm.routes_conversations import conversation_or_404
from knowrithm_bots.bots.local_knowrithm.sse import pump_stream


async def send_chat(request: web.Request) -> web.Response:
    """POST /conversation/{id}/chat: `{"message"}` or the older `{"content", "role"}`."""
    context = context_of(request)
    conversation = conversation_or_404(context.state, request.match_info["conversation_id"])
    body = await json_object(request)
    text, attachments = _chat_text(body), _attachments(body)
    if conversation.status != "active":
        raise ApiError(status=409, detail="Conversation has ended", error_code="CONVERSATION_ENDED")
    if context.faults.chat_mode == "sync":
        reply = await context.replies.answer_now(
            conversation_id=conversation.id, text=text, attachments=attachments
        )
        return _failed_after_storing(context.faults) or web.json_response(
            reply.to_json(), status=200
        )
    accepted = context.replies.accept(
        conversation_id=conversation.id, text=text, attachments=attachments
    )
    failed = _failed_after_storing(context.faults)
    if failed is not None:
        return failed
    answer = {
        "status": "queued",
        "task_id": accepted.task.id,
        "conversation_id": conversation.id,
        "message_id": accepted.user_message.id,
        "poll_url": task_status_path(task_id=accepted.task.id),
    }
    if not context.settings.documented:
        # stream_url lets a client that subscribes after sending (the public SDK does)
        # replay this reply from its first event even when it has already finished. The
        # documented service offers nothing of the kind.
        stream_url = (
            request.url.origin()
            .with_path(f"{API_PREFIX}/conversation/{conversation.id}/messages/stream")
            .with_query(last_event_id=str(accepted.queued_event_id - 1))
        )
        answer["stream_url"] = str(stream_url)
    return web.json_response(answer, status=202)


def _failed_after_storing(faults: Faults) -> web.Response | None:
    """The error a `fail_after_storing` fault answers once the message is stored, if armed."""
    status = faults.take_after_storing()
    if status is None:
        return None
    return web.json_response(
        {"detail": f"Injected failure (HTTP {status})", "error_code": "INJECTED"}, status=status
    )


def _chat_text(body: dict[str, object]) -> str:
    # {"message"}: knowrithm-py 0.1.22 and the docs; {"content", "role"}: knowrithm-py 0.1.4
    # `MessageService.send_message`.
    message = body.get("message")
    if isinstance(message, str):
        return message
    content = body.get("content")
    if isinstance(content, str):
        if body.get("role", "user") != "user":
            raise bad_request("Only 'user' messages can be sent")
        return content
    raise bad_request("Send {'message': text} or {'content': text, 'role': 'user'}")


def _attachments(body: dict[str, object]) -> list[dict[str, Any]] | None:
    # The docs name the field but not its items: any objects are kept as they came.
    value = body.get("attachments")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise bad_request("'attachments' must be a list of objects")
    return [dict(item) for item in value]


async def stream_messages(request: web.Request) -> web.StreamResponse:
    """GET /conversation/{id}/messages/stream: Server-Sent Events of this conversation."""
    context = context_of(request)
    if not context.faults.streaming_enabled or context.hub.closed:
        raise ApiError(status=503, detail="Streaming is not configured")
    conversation = conversation_or_404(context.state, request.match_info["conversation_id"])
    documented = context.settings.documented
    # Pub/sub has nothing to resume from: the documented service ignores Last-Event-ID.
    last_event_id = None if documented else _last_event_id(request)
    if last_event_id is not None:
        last_event_id = max(0, last_event_id - context.faults.replay_overlap)
    return await pump_stream(
        request=request,
        channel=context.hub.channel(conversation_id=conversation.id),
        last_event_id=last_event_id,
        heartbeat_interval=context.settings.heartbeat_interval,
        faults=context.faults,
        documented=documented,
    )


def _last_event_id(request: web.Request) -> int | None:
    text = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    if text is None or not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError as exc:
        raise bad_request("Last-Event-ID must be an event id sent by this server") from exc


async def task_status(request: web.Request) -> web.Response:
    """GET /tasks/{task_id}/status."""
    context = context_of(request)
    task = context.state.tasks.get(request.match_info["task_id"])
    if task is None:
        raise not_found("Task")
    now = asyncio.get_running_loop().time()
    return web.json_response(task.to_json(now=now))
