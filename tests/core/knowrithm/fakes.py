"""A scripted Knowrithm behind httpx.MockTransport, for what the local server cannot produce.

Transport exceptions, sloppy SSE framing and the other answer shapes a deployment may use;
everything else is tested against bots.local_knowrithm (see steps.py).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from knowrithm_bots.core.knowrithm import KnowrithmClient, ReplyDone, ReplyEvent, RetryPolicy
from tests.core.knowrithm.recorders import SleepRecorder, raw_path
from tests.core.knowrithm.steps import reply_events

KEY = "test-key-0123456789"
SECRET = "test-secret-9876543210"
BASE_URL = "http://knowrithm.test/api"
CID = "conv-1"

THREE_TRIES = RetryPolicy(attempts=3, base_delay=0.1, max_delay=1.0)

Reply = httpx.Response | BaseException
Handler = Callable[[httpx.Request], Reply | Awaitable[Reply]]


def json_response(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def sse_frame(name: str, data: Any, *, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data)}\n\n".encode()


class FakeStream(httpx.AsyncByteStream):
    """An SSE body fed by the test; items are bytes, an exception to raise, or None (end)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        self.closed = False

    def push(self, *frames: bytes | BaseException | None) -> None:
        for frame in frames:
            self.queue.put_nowait(frame)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    async def aclose(self) -> None:
        self.closed = True


def stream_response(stream: httpx.AsyncByteStream) -> httpx.Response:
    return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, stream=stream)


class FakeKnowrithm:
    """Routes requests to scripted answers and records every request it saw."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._routes: list[tuple[str, re.Pattern[str], list[Reply] | Handler]] = []

    def on(self, method: str, path: str, *answers: Reply | Handler) -> None:
        """Answer ``method path`` (a path regex) with the answers in turn; the last repeats."""
        pattern = re.compile(f"^{path}$")
        if (
            len(answers) == 1
            and callable(answers[0])
            and not isinstance(answers[0], httpx.Response)
        ):
            self._routes.append((method, pattern, answers[0]))  # type: ignore[arg-type]
        else:
            self._routes.append((method, pattern, list(answers)))  # type: ignore[arg-type]

    def seen(self, method: str, path: str) -> list[httpx.Request]:
        pattern = re.compile(f"^{path}$")
        return [r for r in self.requests if r.method == method and pattern.match(raw_path(r))]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for method, pattern, target in self._routes:
            if method != request.method or not pattern.match(raw_path(request)):
                continue
            if isinstance(target, list):
                answer = target.pop(0) if len(target) > 1 else target[0]
            else:
                result = target(request)
                answer = await result if isinstance(result, Awaitable) else result
            if isinstance(answer, BaseException):
                raise answer
            return answer
        return json_response(404, {"detail": f"no route for {request.method} {request.url.path}"})


def make_client(
    fake: FakeKnowrithm, sleep: SleepRecorder | None = None, **options: Any
) -> KnowrithmClient:
    options.setdefault("retry", THREE_TRIES)
    options.setdefault("task_poll_interval", 0.01)
    options.setdefault("task_timeout", 5.0)
    options.setdefault("stream_idle_timeout", 2.0)
    return KnowrithmClient(
        base_url=BASE_URL,
        api_key=KEY,
        api_secret=SECRET,
        transport=httpx.MockTransport(fake),
        sleep=sleep if sleep is not None else SleepRecorder(),
        **options,
    )


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


def conversation(**fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": CID,
        "agent_id": "agent-1",
        "entity_type": "USER",
        "status": "active",
        "lead_id": None,
        "message_count": 0,
        "started_at": "2025-01-01T00:00:00Z",
        "ended_at": None,
        "rating": None,
        "metadata": {},
    }
    record.update(fields)
    return record


def message(mid: str, role: str, content: str, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": mid,
        "conversation_id": CID,
        "role": role,
        "content": content,
        "created_at": "2025-01-01T00:00:01Z",
        "rating": None,
        "metadata": {},
    }
    record.update(fields)
    return record


# --- a reply stream scripted frame by frame -------------------------------------------

TASK = "task-1"
USER_MID = "um-1"
STREAM_PATH = f"/api/v1/conversation/{CID}/messages/stream"
CHAT_PATH = f"/api/v1/conversation/{CID}/chat"
TASK_PATH = f"/api/v1/tasks/{TASK}/status"
HISTORY_PATH = f"/api/v1/conversation/{CID}/messages"
CHAT_202 = {
    "status": "queued",
    "task_id": TASK,
    "conversation_id": CID,
    "message_id": USER_MID,
    "poll_url": TASK_PATH,
}
FINAL = "Hello there, world."


def status(value: str, event_id: int, **extra: Any) -> bytes:
    data = {"status": value, "task_id": TASK, "message_id": USER_MID, **extra}
    return sse_frame("chat_status", data, event_id=event_id)


def chunk(index: int, text: str, event_id: int, task_id: str = TASK) -> bytes:
    data = {"task_id": task_id, "message_id": USER_MID, "content": text, "index": index}
    return sse_frame("chat_chunk", data, event_id=event_id)


def response(content: str, event_id: int, task_id: str = TASK) -> bytes:
    data = {
        "task_id": task_id,
        "conversation_id": CID,
        "message_id": "am-1",
        "reply_to": USER_MID,
        "role": "assistant",
        "content": content,
        "created_at": "2025-01-01T00:00:02Z",
        "metadata": {"cited_sources": ["doc-1"]},
    }
    return sse_frame("chat_response", data, event_id=event_id)


WORDS = ["Hello ", "there, ", "world."]
FULL_REPLY = [
    status("queued", 1),
    status("in_progress", 2),
    *[chunk(i, word, 3 + i) for i, word in enumerate(WORDS)],
    response(FINAL, 6),
    status("completed", 7),
]


class Script:
    """Stream opens answered in turn; the chat POST feeds frames into the first stream."""

    def __init__(
        self,
        fake: FakeKnowrithm,
        *,
        opens: list[FakeStream | httpx.Response | Exception] | None = None,
        chat: list[httpx.Response | Exception] | None = None,
        frames: list[bytes | BaseException | None] | None = None,
    ) -> None:
        self.opens = opens if opens is not None else [FakeStream()]
        self.frames = frames if frames is not None else list(FULL_REPLY)
        self.streams: list[FakeStream] = [s for s in self.opens if isinstance(s, FakeStream)]
        self.opened: list[FakeStream] = []
        self._chat = chat if chat is not None else [json_response(202, CHAT_202)]
        fake.on("GET", STREAM_PATH, self._open)
        fake.on("POST", CHAT_PATH, self._post)

    def _open(self, request: httpx.Request) -> httpx.Response:
        answer = self.opens.pop(0) if len(self.opens) > 1 else self.opens[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, FakeStream):
            self.opened.append(answer)
            return stream_response(answer)
        return answer

    def _post(self, request: httpx.Request) -> httpx.Response:
        answer = self._chat.pop(0) if len(self._chat) > 1 else self._chat[0]
        if isinstance(answer, Exception):
            raise answer
        if answer.status_code == 202 and self.opened:
            # The frames of a reply go to the stream opened for this send.
            self.opened[-1].push(*self.frames)
        return answer


async def collect(client: KnowrithmClient, text: str = "hi") -> list[ReplyEvent]:
    return await reply_events(client, CID, text)


def done(events: list[ReplyEvent]) -> ReplyDone:
    assert isinstance(events[-1], ReplyDone)
    assert sum(isinstance(e, ReplyDone) for e in events) == 1
    return events[-1]
