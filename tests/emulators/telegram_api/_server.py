"""The HTTP side of the emulator: routing, long polling, fault injection, call records."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from knowrithm_bots.bots.local_site import LocalService, LocalSite

from ._builders import ALICE, UpdateBuilder
from ._flood import FloodGate, FloodLimits
from ._keyboards import find_button
from ._methods import Methods
from ._params import read_params
from ._records import (
    ApiError,
    BotIdentity,
    CallbackAnswer,
    CallRecord,
    ChatActionRecord,
    DraftRecord,
    ReactionRecord,
    SentMessage,
    WebhookConfig,
)
from ._world import World

# Telegram leaves these out unless allowed_updates names them.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_CONFLICT_TERMINATED = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


@dataclass
class _Fault:
    method: str
    error: ApiError
    remaining: int


@dataclass(frozen=True)
class _Queued:
    """An update waiting for getUpdates: ``update_id`` is what offsets confirm it by, also
    when a raw ``payload`` lacks one or holds something else."""

    update_id: int
    payload: Any
    raw: bool = False


def _json_response(status: int, body: Mapping[str, Any]) -> web.Response:
    return web.Response(
        status=status, body=json.dumps(body).encode("utf-8"), content_type="application/json"
    )


def update_kind(update: Mapping[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


class TelegramEmulator(LocalService):
    """A Telegram Bot API server on 127.0.0.1 for tests; use `async with TelegramEmulator():`."""

    def __init__(
        self,
        *,
        token: str | None = None,
        bot: BotIdentity | None = None,
        flood: FloodLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bot = bot or BotIdentity()
        self.token = token or f"{self.bot.id}:AAEmulatorTestTokenNotARealSecret00"
        self.clock = clock
        self._world = World(bot=self.bot)
        self._methods = Methods(
            world=self._world,
            flood=FloodGate(limits=flood or FloodLimits(), clock=clock),
            clock=clock,
        )
        self._methods.drop_pending = self._drop_pending
        self.build = UpdateBuilder(world=self._world)
        self._calls: list[CallRecord] = []
        self._call_waiters: set[asyncio.Event] = set()
        self._faults: list[_Fault] = []
        self._pending: list[_Queued] = []
        self._last_update_id = 0
        self._update_waiters: set[asyncio.Event] = set()
        self._parked_polls = 0
        self._park_waiters: set[asyncio.Event] = set()
        self._poll_generation = 0
        self._closing = False
        self._site = LocalSite()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._handle_file)
        await self._site.start(app)

    async def stop(self) -> None:
        self._closing = True
        self._wake(self._update_waiters)
        await self._site.stop()

    @property
    def port(self) -> int:
        return self._site.port

    @property
    def base_url(self) -> str:
        """Pass to `Bot(base_url=...)` / `ApplicationBuilder().base_url(...)`."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle_file(self, request: web.Request) -> web.Response:
        # Bot API: files are fetched from /file/bot<token>/<file_path> (the path getFile gave).
        path = request.match_info["path"]
        if request.match_info["token"] == self.token:
            for stored_path, data in self._world.files.values():
                if stored_path == path:
                    self._world.file_downloads.append(path)
                    return web.Response(body=data, content_type="application/octet-stream")
        return _json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    @property
    def file_downloads(self) -> list[str]:
        """The file paths the bot downloaded, in order."""
        return list(self._world.file_downloads)

    async def _handle(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        method = self._methods.canonical.get(name.lower(), name)
        params: dict[str, Any] = {}
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            params = await read_params(request)
            if method not in self._methods.canonical.values():
                raise ApiError(404, "Not Found")
            self._inject_fault(method)
            if method == "getUpdates":
                result = await self._get_updates(params)
            else:
                result = self._methods.call(method=method, params=params)
        except ApiError as error:
            self._record(CallRecord(method, params, error.status, self.clock(), error.description))
            return _json_response(error.status, error.body())
        self._record(CallRecord(method, params, 200, self.clock()))
        return _json_response(200, {"ok": True, "result": result})

    def _record(self, record: CallRecord) -> None:
        self._calls.append(record)
        self._wake(self._call_waiters)

    @staticmethod
    def _wake(waiters: set[asyncio.Event]) -> None:
        for event in waiters:
            event.set()

    # -- fault injection ---------------------------------------------------------------------

    def fail_next(
        self,
        *,
        method: str,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Make the next `count` calls of `method` fail with this error instead of running."""
        canonical = self._methods.canonical.get(method.lower(), method)
        error = ApiError(error_code, description, retry_after=retry_after)
        self._faults.append(_Fault(method=canonical, error=error, remaining=count))

    def _inject_fault(self, method: str) -> None:
        for fault in self._faults:
            if fault.method == method and fault.remaining > 0:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                raise fault.error

    # -- updates -----------------------------------------------------------------------------

    def _assign_id(self, update: Mapping[str, Any]) -> dict[str, Any]:
        stamped = dict(update)
        if "update_id" not in stamped:
            stamped["update_id"] = self._last_update_id + 1
        self._last_update_id = max(self._last_update_id, int(stamped["update_id"]))
        self._world.note_update(stamped)
        return stamped

    def push_update(self, update: Mapping[str, Any]) -> int:
        """Queue an update for getUpdates, wake waiting long polls, return its update_id."""
        stamped = self._assign_id(update)
        self._pending.append(_Queued(update_id=int(stamped["update_id"]), payload=stamped))
        self._wake(self._update_waiters)
        return int(stamped["update_id"])

    def push_raw_update(self, payload: Any) -> int:
        """Queue ``payload`` for getUpdates exactly as given, however malformed.

        Telegram numbers every update even when what it sends is broken: a payload without an
        integer ``update_id`` gets the next id to be confirmed by (an offset above it), which
        it does not carry. Nothing is learnt from the payload, and it is delivered whatever
        allowed_updates says. Returns that id.
        """
        given = payload.get("update_id") if isinstance(payload, Mapping) else None
        if isinstance(given, int) and not isinstance(given, bool):
            update_id = given
        else:
            update_id = self._last_update_id + 1
        self._last_update_id = max(self._last_update_id, update_id)
        self._pending.append(_Queued(update_id=update_id, payload=payload, raw=True))
        self._wake(self._update_waiters)
        return update_id

    def _drop_pending(self) -> None:
        self._pending.clear()

    @property
    def pending_updates(self) -> list[Any]:
        return [queued.payload for queued in self._pending]

    @property
    def allowed_updates(self) -> tuple[str, ...] | None:
        """The last allowed_updates the bot sent (getUpdates or setWebhook)."""
        return self._methods.allowed_updates

    def _wanted(self, queued: _Queued) -> bool:
        if queued.raw:
            return True
        allowed = self._methods.allowed_updates
        kind = update_kind(queued.payload)
        if not allowed:
            return kind not in _OPT_IN_UPDATES
        return kind in allowed

    def _ready_updates(self, *, offset: Any, limit: int) -> list[Any]:
        if isinstance(offset, int) and offset < 0:
            self._pending = self._pending[offset:]
        elif isinstance(offset, int) and offset > 0:
            self._pending = [u for u in self._pending if u.update_id >= offset]
        # Telegram never creates updates of kinds the bot did not ask for.
        self._pending = [u for u in self._pending if self._wanted(u)]
        return [queued.payload for queued in self._pending[:limit]]

    async def _get_updates(self, params: dict[str, Any]) -> list[Any]:
        if self._methods.webhook is not None:
            raise ApiError(409, _CONFLICT_WEBHOOK)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._methods.allowed_updates = tuple(str(kind) for kind in allowed)
        limit = params.get("limit")
        limit = limit if isinstance(limit, int) and 1 <= limit <= 100 else 100
        timeout = params.get("timeout")
        wait = float(timeout) if isinstance(timeout, int | float) and timeout > 0 else 0.0
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake(self._update_waiters)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        event = asyncio.Event()
        self._update_waiters.add(event)
        parked = False
        try:
            while True:
                ready = self._ready_updates(offset=params.get("offset"), limit=limit)
                remaining = deadline - loop.time()
                if ready or remaining <= 0 or self._closing:
                    return ready
                if not parked:
                    parked = True
                    self._parked_polls += 1
                    self._wake(self._park_waiters)
                event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
                if generation != self._poll_generation:
                    raise ApiError(409, _CONFLICT_TERMINATED)
        finally:
            self._update_waiters.discard(event)
            if parked:
                self._parked_polls -= 1

    @property
    def waiting_polls(self) -> int:
        """getUpdates calls parked right now, with nothing to answer yet."""
        return self._parked_polls

    async def wait_for_waiting_poll(self, *, within: float = 5.0) -> None:
        """Return once a getUpdates call is parked waiting for an update to arrive."""
        event = asyncio.Event()
        self._park_waiters.add(event)
        try:
            async with asyncio.timeout(within):
                while self._parked_polls == 0:
                    event.clear()
                    await event.wait()
        except TimeoutError:
            raise AssertionError(f"no getUpdates call was waiting within {within}s") from None
        finally:
            self._park_waiters.discard(event)

    async def deliver_webhook(
        self, *, url: str, update: Mapping[str, Any], secret_token: str | None
    ) -> int:
        """POST an update to a bot's webhook as Telegram does; return the HTTP status."""
        stamped = self._assign_id(update)
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        body = json.dumps(stamped).encode("utf-8")
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers) as response,
        ):
            await response.read()
            return response.status

    async def deliver_raw_webhook(
        self,
        *,
        url: str,
        body: Any,
        secret_token: str | None,
        content_type: str = "application/json",
    ) -> int:
        """POST ``body`` to a bot's webhook exactly as given (JSON-encoded unless it is
        ``bytes``), however malformed; return the HTTP status. Nothing is learnt from it."""
        headers = {"Content-Type": content_type}
        if secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=data, headers=headers) as response,
        ):
            await response.read()
            return response.status

    # -- inspection --------------------------------------------------------------------------

    @property
    def calls(self) -> list[CallRecord]:
        return list(self._calls)

    def calls_of(self, method: str) -> list[CallRecord]:
        return [call for call in self._calls if call.method == method]

    async def wait_for_call(
        self,
        method: str,
        *,
        predicate: Callable[[CallRecord], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented test-helper signature
        since: int = 0,
    ) -> CallRecord:
        """First call of `method` at index >= `since` in `calls` matching `predicate`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = since
        event = asyncio.Event()
        self._call_waiters.add(event)
        try:
            while True:
                for call in self._calls[index:]:
                    if call.method == method and (predicate is None or predicate(call)):
                        return call
                index = max(index, len(self._calls))
                remaining = deadline - loop.time()
                if remaining <= 0:
                    seen = [call.method for call in self._calls[since:]]
                    raise AssertionError(f"no matching {method} call within {timeout}s; saw {seen}")
                event.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), remaining)
        finally:
            self._call_waiters.discard(event)

    def add_custom_emoji(self, *, custom_emoji_id: str, emoji: str) -> None:
        """Make a custom emoji known, with the ordinary emoji it stands for."""
        self._methods.custom_emoji[custom_emoji_id] = emoji

    def add_chat(self, chat: Mapping[str, Any]) -> None:
        """Make a chat known (`id`, `type`, and `title` or `first_name`)."""
        self._world.add_chat(chat)

    @property
    def messages(self) -> list[SentMessage]:
        """Current state of every message the bot sent and did not delete, in send order."""
        return list(self._world.sent.values())

    def message(self, *, chat_id: int, message_id: int) -> SentMessage:
        return self._world.sent[(chat_id, message_id)]

    def visible_text(self, chat_id: int, *, thread_id: int | None = None) -> list[str]:
        """Texts of the bot's messages a person would now see in the chat (or one topic)."""
        return [
            sent.text
            for sent in self._world.sent.values()
            if sent.chat_id == chat_id
            and (thread_id is None or sent.message_thread_id == thread_id)
        ]

    @property
    def deleted(self) -> list[tuple[int, int]]:
        return list(self._world.deleted)

    @property
    def drafts(self) -> list[DraftRecord]:
        return list(self._methods.drafts)

    @property
    def reactions(self) -> list[ReactionRecord]:
        return list(self._methods.reactions)

    @property
    def chat_actions(self) -> list[ChatActionRecord]:
        return list(self._methods.chat_actions)

    @property
    def callback_answers(self) -> list[CallbackAnswer]:
        """answerCallbackQuery calls Telegram took, in order."""
        return list(self._methods.callback_queries.answers)

    def click(
        self,
        *,
        chat_id: int,
        message_id: int,
        text: str | None = None,
        data: str | None = None,
        user: Mapping[str, Any] = ALICE,
    ) -> str:
        """Press the callback button shown with ``text`` (or carrying ``data``) on a message
        the bot sent, as ``user``: queue the callback_query update; return the query id.

        LookupError when the message shows no such button (it never had one, or an edit
        took the keyboard away), as a person could not press it either.
        """
        sent = self._world.sent[(chat_id, message_id)]
        button = find_button(sent.reply_markup, text=text, data=data)
        update = self.build.callback_query(
            chat_id=chat_id, message_id=message_id, data=button["callback_data"], user=user
        )
        query_id = str(update["callback_query"]["id"])
        self._methods.callback_queries.pressed(query_id)
        self.push_update(update)
        return query_id

    def press_raced(
        self, *, chat_id: int, message_id: int, data: str, user: Mapping[str, Any] = ALICE
    ) -> str:
        """A press on a button with ``data`` that an edit has since taken away: the person's
        client still showed it (Telegram delivers the callback_query all the same, the
        message in it being the edited one); return the query id."""
        update = self.build.callback_query(
            chat_id=chat_id, message_id=message_id, data=data, user=user
        )
        query_id = str(update["callback_query"]["id"])
        self._methods.callback_queries.pressed(query_id)
        self.push_update(update)
        return query_id

    @property
    def commands(self) -> list[dict[str, str]]:
        """Commands set for the default scope and no language."""
        return self.commands_for()

    def commands_for(
        self, *, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, str]]:
        params: dict[str, Any] = {"language_code": language_code}
        if scope is not None:
            params["scope"] = dict(scope)
        return self._methods.get_my_commands(params)

    @property
    def webhook(self) -> WebhookConfig | None:
        return self._methods.webhook
