"""A chat backend on 127.0.0.1 speaking the webhook adapter's protocol, for its tests.

It serves the REST API the adapter calls (messages, edits, typing, webhook registration),
keeps what a person would see, delivers signed events to the registered webhook, and can
fail the next call of a kind with a chosen HTTP status.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Self

import aiohttp
from aiohttp import web

TOKEN = "backend-bot-token-1"
SIGNING_SECRET = "backend-signing-secret-1"
BOT_ID = "support-bot"
MAX_LENGTH = 4000
PERSON = {"id": "u-ada", "name": "Ada Lovelace", "first_name": "Ada", "last_name": "Lovelace"}


@dataclass
class Message:
    id: str
    conversation: str
    author: str
    text: str
    edits: int = 0


@dataclass
class Fault:
    status: int
    error: str
    headers: dict[str, str] = field(default_factory=dict)


class ChatBackend:
    """Start with ``async with``; ``api_url`` is what the adapter's config points at."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.typing: list[str] = []
        self.webhook_url: str | None = None
        self.registered = asyncio.Event()
        self.faults: defaultdict[str, deque[Fault]] = defaultdict(deque)
        self._ids = itertools.count(100)
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_put("/api/webhook", self._register)
        app.router.add_post("/api/conversations/{conversation}/messages", self._post)
        app.router.add_patch("/api/conversations/{conversation}/messages/{id}", self._edit)
        app.router.add_post("/api/conversations/{conversation}/typing", self._typing)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()  # 0: any free port
        self.port = int(self._runner.addresses[0][1])
        self._client = aiohttp.ClientSession()

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --- what a person sees ----------------------------------------------------------------

    def visible(self, conversation: str) -> list[str]:
        return [
            m.text for m in self.messages if m.conversation == conversation and m.author == BOT_ID
        ]

    def bot_messages(self, conversation: str) -> list[Message]:
        return [m for m in self.messages if m.conversation == conversation and m.author == BOT_ID]

    # --- events to the bot -----------------------------------------------------------------

    async def deliver(self, event: dict[str, Any], *, secret: str = SIGNING_SECRET) -> int:
        """POST ``event`` to the registered webhook, signed; return the HTTP status."""
        assert self._client is not None and self.webhook_url is not None, "no webhook yet"
        body = json.dumps(event).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        async with self._client.post(
            self.webhook_url,
            data=body,
            headers={"Content-Type": "application/json", "X-Knowrithm-Signature": signature},
        ) as response:
            return response.status

    async def say(
        self, conversation: str, text: str, *, sender: dict[str, Any] | None = None
    ) -> Message:
        """Someone writes in ``conversation``; the backend forwards it to the bot."""
        author = dict(sender or PERSON)
        message = Message(
            id=f"m{next(self._ids)}", conversation=conversation, author=author["id"], text=text
        )
        self.messages.append(message)
        status = await self.deliver(
            {
                "type": "message",
                "event_id": f"e-{message.id}",
                "conversation": conversation,
                "message_id": message.id,
                "text": text,
                "sender": author,
            }
        )
        assert status == 200, f"the bot answered {status} to a message event"
        return message

    async def react(self, message: Message, emoji: str, *, added: bool = True) -> None:
        status = await self.deliver(
            {
                "type": "reaction",
                "event_id": f"r{next(self._ids)}",
                "conversation": message.conversation,
                "message_id": message.id,
                "emoji": emoji,
                "added": added,
                "sender": PERSON,
            }
        )
        assert status == 200, f"the bot answered {status} to a reaction event"

    # --- the REST API the bot calls --------------------------------------------------------

    def fail_next(
        self, kind: str, *, status: int, error: str, retry_after: float | None = None
    ) -> None:
        """Answer the next ``kind`` call ("post", "edit", "typing", "register") with ``status``."""
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        self.faults[kind].append(Fault(status=status, error=error, headers=headers))

    def _refuse(self, request: web.Request, kind: str) -> web.Response | None:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "invalid_token"}, status=401)
        if self.faults[kind]:
            fault = self.faults[kind].popleft()
            return web.json_response(
                {"error": fault.error}, status=fault.status, headers=fault.headers
            )
        return None

    async def _register(self, request: web.Request) -> web.Response:
        refused = self._refuse(request, "register")
        if refused is not None:
            return refused
        self.webhook_url = (await request.json())["url"]
        self.registered.set()
        return web.json_response({"ok": True})

    async def _text(self, request: web.Request) -> str | web.Response:
        text = (await request.json()).get("text")
        if not isinstance(text, str) or not text:
            return web.json_response({"error": "empty_text"}, status=400)
        if len(text) > MAX_LENGTH:
            return web.json_response({"error": "too_long"}, status=413)
        return text

    async def _post(self, request: web.Request) -> web.Response:
        refused = self._refuse(request, "post")
        if refused is not None:
            return refused
        text = await self._text(request)
        if isinstance(text, web.Response):
            return text
        message = Message(
            id=f"m{next(self._ids)}",
            conversation=request.match_info["conversation"],
            author=BOT_ID,
            text=text,
        )
        self.messages.append(message)
        return web.json_response({"id": message.id}, status=201)

    async def _edit(self, request: web.Request) -> web.Response:
        refused = self._refuse(request, "edit")
        if refused is not None:
            return refused
        text = await self._text(request)
        if isinstance(text, web.Response):
            return text
        found = [
            m
            for m in self.bot_messages(request.match_info["conversation"])
            if m.id == request.match_info["id"]
        ]
        if not found:
            return web.json_response({"error": "message_not_found"}, status=404)
        if found[0].text == text:
            return web.Response(status=304)
        found[0].text = text
        found[0].edits += 1
        return web.json_response({"ok": True})

    async def _typing(self, request: web.Request) -> web.Response:
        refused = self._refuse(request, "typing")
        if refused is not None:
            return refused
        self.typing.append(request.match_info["conversation"])
        return web.Response(status=204)
