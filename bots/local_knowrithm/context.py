"""What every request handler of the local server shares, stored on the aiohttp app."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, Literal, get_args

from aiohttp import web

from knowrithm_bots.bots.local_knowrithm.events import EventHub
from knowrithm_bots.bots.local_knowrithm.faults import Faults
from knowrithm_bots.bots.local_knowrithm.records import StoredTask
from knowrithm_bots.bots.local_knowrithm.replies import ReplyRunner
from knowrithm_bots.bots.local_knowrithm.state import LocalState

API_PREFIX = "/api/v1"
TASK_DELAY = 0.05  # how long start-mode "task" handles stay pending

# "streaming": token deltas, replay to late subscribers, flat answers with ids, a stream_url.
# "documented": only what the public record shows of the hosted service: Redis pub/sub
# (docs platform/architecture.mdx), so no replay and no event ids; chat_status and nested
# chat_response events (docs tmp-widget.js), no deltas; heartbeats; no stream_url.
ServerMode = Literal["streaming", "documented"]
SERVER_MODES: tuple[ServerMode, ...] = get_args(ServerMode)


@dataclass(frozen=True)
class Settings:
    """Fixed configuration of one server."""

    api_key: str
    api_secret: str
    agent_id: str
    heartbeat_interval: float
    mode: ServerMode = "streaming"

    @property
    def documented(self) -> bool:
        """Whether the server behaves only as the public record shows the hosted service."""
        return self.mode == "documented"


@dataclass(frozen=True)
class ServerContext:
    """Shared state, knobs and workers of one running server."""

    settings: Settings
    state: LocalState
    faults: Faults
    hub: EventHub
    replies: ReplyRunner

    def task_handle(self, *, kind: str, result: dict[str, Any]) -> dict[str, Any]:
        """Register a task that completes shortly with `result`, and return its handle body."""
        ready_at = asyncio.get_running_loop().time() + TASK_DELAY
        error = self.faults.task_error
        task = StoredTask(
            id=str(uuid.uuid4()),
            kind=kind,
            status="completed" if error is None else "failed",
            result=result if error is None else None,
            error=error,
            ready_at=ready_at,
        )
        self.state.tasks[task.id] = task
        url = task_status_path(task_id=task.id)
        return {"status": "accepted", "task_id": task.id, "status_url": url, "poll_url": url}

    def object_response(self, *, kind: str, record: dict[str, Any], status: int) -> web.Response:
        """`{kind: record}` with `status`, or a task handle when start_mode is "task"."""
        if self.faults.start_mode == "task":
            return web.json_response(self.task_handle(kind=kind, result=record), status=202)
        return web.json_response({kind: record}, status=status)


def task_status_path(*, task_id: str) -> str:
    """The path to poll for a task."""
    return f"{API_PREFIX}/tasks/{task_id}/status"


CONTEXT = web.AppKey("local_knowrithm_context", ServerContext)


def context_of(request: web.Request) -> ServerContext:
    """The server context of the app handling `request`."""
    return request.app[CONTEXT]
