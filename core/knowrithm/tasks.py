"""Recognise Knowrithm task handles and poll tasks until they finish."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from knowrithm_bots.core.errors import KnowrithmError, ProtocolError, UnavailableError
from knowrithm_bots.core.knowrithm.error_mapping import clean_detail, error_details
from knowrithm_bots.core.knowrithm.parsing import as_str
from knowrithm_bots.core.knowrithm.retry import Safety
from knowrithm_bots.core.knowrithm.session import HttpSession

T = TypeVar("T")
TaskState = Literal["running", "done", "failed"]

DONE_STATUSES = frozenset({"completed", "success", "succeeded", "finished", "done"})
FAILED_STATUSES = frozenset({"failed", "error", "rejected"})
# Statuses that only a task (never a conversation or lead record) reports.
_RUNNING_STATUSES = frozenset(
    {"accepted", "queued", "pending", "running", "in_progress", "processing", "started"}
)
_PAYLOAD_KEYS = ("result", "data", "response")
_DEFAULT_ACTION = "finish the requested work"


@dataclass(frozen=True, kw_only=True)
class TaskHandle:
    """What a ``202 Accepted`` answer says about the task doing the work."""

    task_id: str
    poll_url: str | None


def _status(body: dict[str, Any]) -> str:
    return (as_str(body.get("status")) or "").strip().lower()


def task_handle(*, body: Any, record_key: str | None = None) -> TaskHandle | None:
    """Return the task handle in ``body``, or None if it is (or wraps) a finished record."""
    if not isinstance(body, dict) or (record_key is not None and record_key in body):
        return None
    task_id = as_str(body.get("task_id"))
    if not task_id:
        return None
    status = _status(body)
    poll_url = as_str(body.get("poll_url")) or as_str(body.get("status_url"))
    known = status in _RUNNING_STATUSES | DONE_STATUSES | FAILED_STATUSES
    if not known and poll_url is None:
        return None
    return TaskHandle(task_id=task_id, poll_url=poll_url)


def task_state(body: dict[str, Any]) -> TaskState:
    """Classify a task status body; any status not known as final means still running."""
    status = _status(body)
    if status in DONE_STATUSES:
        return "done"
    if status in FAILED_STATUSES:
        return "failed"
    return "running"


def task_payload(body: dict[str, Any]) -> Any:
    """The result of a finished task: under ``result``/``data``/``response``, or the body."""
    for name in _PAYLOAD_KEYS:
        value = body.get(name)
        if value is not None:
            return value
    return body


def task_failure(
    *, body: dict[str, Any], action: str, redact: Callable[[str], str]
) -> KnowrithmError:
    """The error for a failed task, carrying the task's own explanation when it gave one."""
    detail, code = error_details(body)
    reason = clean_detail(detail, redact=redact) or "the task failed without saying why"
    return KnowrithmError(
        f"Knowrithm could not {action}: {reason}.", error_code=code or "TASK_FAILED"
    )


def _status_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ProtocolError("Knowrithm answered a task status that is not an object.")
    if "status" not in body:
        for name in ("task", "data"):
            inner = body.get(name)
            if isinstance(inner, dict) and "status" in inner:
                return inner
    return body


class TaskPoller:
    """Polls until something is ready, bounded by a timeout measured in polls and in time."""

    def __init__(self, *, http: HttpSession, interval: float, timeout: float) -> None:
        if interval <= 0 or timeout <= 0:
            raise ValueError("The task poll interval and timeout must be positive.")
        self._http = http
        self._interval = interval
        self._timeout = timeout

    async def until(self, *, check: Callable[[], Awaitable[T | None]], action: str) -> T:
        """Call ``check`` until it returns a value; it is always called at least once.

        Both a poll count and the loop clock bound the wait, so an injected ``sleep`` that
        returns at once still ends.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        max_polls = math.ceil(self._timeout / self._interval) + 1
        polls = 0
        while True:
            polls += 1
            value = await check()
            if value is not None:
                return value
            if polls >= max_polls or loop.time() >= deadline:
                raise UnavailableError(
                    f"Knowrithm did not {action} within {self._timeout:g} seconds."
                )
            await self._http.sleep(self._interval)

    async def wait(
        self, *, task_id: str, poll_url: str | None = None, action: str = _DEFAULT_ACTION
    ) -> dict[str, Any]:
        """Poll a task to completion and return its status body; raise if it failed."""
        url = self._http.same_origin_url(poll_url) if poll_url else None
        if url is None:
            url = self._http.url(f"/v1/tasks/{quote(task_id, safe='')}/status")

        async def check() -> dict[str, Any] | None:
            answer = await self._http.call(
                method="GET", path=url, action="check a task", safety=Safety.IDEMPOTENT
            )
            body = _status_body(answer.body)
            state = task_state(body)
            if state == "failed":
                raise task_failure(body=body, action=action, redact=self._http.redact)
            return body if state == "done" else None

        return await self.until(check=check, action=action)

    async def resolve(self, *, body: Any, record_key: str, action: str) -> Any:
        """Return ``body``, or, when it is a task handle, the payload of that finished task."""
        handle = task_handle(body=body, record_key=record_key)
        if handle is None or not isinstance(body, dict):
            return body
        state = task_state(body)
        if state == "running":
            body = await self.wait(task_id=handle.task_id, poll_url=handle.poll_url, action=action)
        elif state == "failed":
            raise task_failure(body=body, action=action, redact=self._http.redact)
        return task_payload(body)
