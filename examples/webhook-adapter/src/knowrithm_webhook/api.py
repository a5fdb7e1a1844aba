"""The outbound half: the backend's small REST API, called with the bot's bearer token."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import aiohttp

from knowrithm_bots.adapter import PlatformError
from knowrithm_webhook.errors import error_for, unreachable


class BackendApi:
    """``POST``/``PATCH`` messages, ``POST`` typing, ``PUT`` the webhook URL.

    The session is created by ``open`` (inside the running loop), never in ``__init__``.
    """

    def __init__(self, *, base_url: str, token: str, timeout: float) -> None:
        self._base_url = base_url
        self._token = token
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                headers={"Authorization": f"Bearer {self._token}"},
            )

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def register(self, *, url: str) -> None:
        await self._call("PUT", "/webhook", {"url": url}, what="registering the webhook")

    async def post_message(self, *, conversation: str, text: str) -> str:
        data = await self._call(
            "POST",
            f"/conversations/{quote(conversation, safe='')}/messages",
            {"text": text, "format": "markdown"},
            what=f"posting to {conversation}",
        )
        message_id = data.get("id")
        if not isinstance(message_id, str | int) or message_id == "":
            raise PlatformError(
                f"the chat backend gave no message id when posting to {conversation}"
            )
        return str(message_id)

    async def edit_message(self, *, conversation: str, message_id: str, text: str) -> None:
        await self._call(
            "PATCH",
            f"/conversations/{quote(conversation, safe='')}/messages/{quote(message_id, safe='')}",
            {"text": text, "format": "markdown"},
            what=f"editing message {message_id} in {conversation}",
        )

    async def typing(self, *, conversation: str) -> None:
        await self._call(
            "POST",
            f"/conversations/{quote(conversation, safe='')}/typing",
            {},
            what=f"showing typing in {conversation}",
        )

    async def _call(
        self, method: str, path: str, payload: dict[str, Any], *, what: str
    ) -> dict[str, Any]:
        if self._session is None:
            raise PlatformError(f"the webhook adapter is not started ({what})")
        try:
            async with self._session.request(
                method, self._base_url + path, json=payload
            ) as response:
                raw = await response.read()
                status, headers = response.status, dict(response.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unreachable(base_url=self._base_url, what=what, cause=exc) from None
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        if status == 304:
            return {}  # "not modified": the message already shows this text
        if status >= 400:
            raise error_for(status=status, what=what, headers=headers, body=body)
        return body
