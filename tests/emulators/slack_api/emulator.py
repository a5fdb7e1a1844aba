"""SlackEmulator: one 127.0.0.1 server for the Web API and Socket Mode, plus event senders."""

import asyncio
import json
import logging
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from knowrithm_bots.bots.local_site import LocalService, LocalSite

from . import ids
from .clock import Clock, wall_clock
from .delivery import ACK_TIMEOUT, USER_AGENT, EventPoster, build_envelope
from .delivery import sign as sign_body
from .interactive import EphemeralMessage, block_actions, find_button, form_body
from .params import ApiError, parse_request
from .rate_limits import DEFAULT_RATE_LIMITS, RateLimit, RateLimiter
from .records import (
    ApiCall,
    AssistantStatus,
    DeliveryAttempt,
    SlackChannel,
    SlackMessage,
    SlackUser,
)
from .slash_commands import CommandResponse, ResponseUrls, SlashAnswer, slash_payload
from .socket_mode import SocketHub
from .views import OpenView, Views
from .web_api import WebApi
from .workspace import Identity, Workspace

logger = logging.getLogger(__name__)
T = TypeVar("T")

# PLATFORMS.md, "Slack chat streams": streams are reported stopped server-side after ~30 s
# without an append or ~5 min in all (recordings of the real service, September 2026).
STREAM_IDLE_TTL = 30.0
STREAM_TTL = 300.0
# Methods that take the app-level (xapp-) token; every other method wants the bot token.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
BOT_SCOPES = (
    "app_mentions:read,channels:history,groups:history,im:history,chat:write,"
    "reactions:read,reactions:write,users:read,users:read.email,assistant:write,commands"
)


@dataclass(frozen=True)
class InjectedFailure:
    error: str
    status: int
    retry_after: int | None
    # Only a call whose parameters this accepts takes the failure (None: the next call).
    when: Callable[[Mapping[str, Any]], bool] | None = None


class SlackEmulator(LocalService):
    """A wire-level stand-in for slack.com: `async with SlackEmulator() as emu: ...`."""

    def __init__(
        self,
        *,
        identity: Identity | None = None,
        clock: Clock = wall_clock,
        rate_limits: Mapping[str, RateLimit] | None = None,
        rate_limits_enabled: bool = True,
        streaming_enabled: bool = True,
        stream_ttl: float | None = STREAM_TTL,
        stream_idle_ttl: float | None = STREAM_IDLE_TTL,
    ) -> None:
        self.identity = identity or Identity()
        self.clock = clock
        # Sent as X-OAuth-Scopes on every Web API answer, as Slack does (the header the
        # official SDKs read into a call result's scopes, docs.slack.dev node-slack-sdk
        # WebAPICallResult.scopes); a test narrows it to play an app installed without one.
        self.granted_scopes = BOT_SCOPES
        self.workspace = Workspace(identity=self.identity, clock=clock)
        self.workspace.streaming_enabled = streaming_enabled
        self.workspace.stream_ttl = stream_ttl
        self.workspace.stream_idle_ttl = stream_idle_ttl
        self.rate_limiter = RateLimiter(
            limits=DEFAULT_RATE_LIMITS if rate_limits is None else rate_limits, clock=clock
        )
        self.rate_limiter.enabled = rate_limits_enabled
        self.calls: list[ApiCall] = []
        self.deliveries: list[DeliveryAttempt] = []
        self._failures: defaultdict[str, deque[InjectedFailure]] = defaultdict(deque)
        self._web_api = WebApi(workspace=self.workspace, open_socket_url=self._socket_url)
        self.views = Views(identity=self.identity)
        self._web_api.handlers["views.open"] = self.views.open
        self._sockets = SocketHub(app_id=self.identity.app_id, on_change=self._notify)
        self._changed: asyncio.Condition | None = None
        self._site = LocalSite()
        self._session: aiohttp.ClientSession | None = None
        self._poster: EventPoster | None = None
        # Uploaded files: id -> (name, bytes); every download with the token it carried.
        self.files: dict[str, tuple[str, bytes]] = {}
        self.file_downloads: list[tuple[str, str | None]] = []
        self.response_urls = ResponseUrls(clock=clock)

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self._site.running:
            raise RuntimeError("the emulator is already running")
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_get("/files-pri/{path:.*}", self._handle_file)
        app.router.add_get("/link/", self._sockets.handle)
        app.router.add_get("/link", self._sockets.handle)
        app.router.add_post("/commands/{team}/{key}", self.response_urls.handle)
        await self._site.start(app)
        # trust_env stays False: proxies in the environment must not see loopback traffic.
        self._session = aiohttp.ClientSession()
        self._poster = EventPoster(
            session=self._session, signing_secret=self.identity.signing_secret
        )

    async def stop(self) -> None:
        await self._sockets.close_all()
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self._site.stop()

    # --- addresses ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._site.port}"

    @property
    def api_url(self) -> str:
        """Pass as `AsyncWebClient(base_url=...)`; ends with "/api/"."""
        return f"{self.base_url}/api/"

    def _socket_url(self) -> str:
        ticket = self._sockets.issue_ticket()
        ws_base = self.base_url.replace("http://", "ws://", 1)
        return f"{ws_base}/link/?ticket={ticket}&app_id={self.identity.app_id}"

    # --- state views -------------------------------------------------------------------

    @property
    def messages(self) -> dict[tuple[str, str], SlackMessage]:
        return self.workspace.messages

    @property
    def reactions(self) -> dict[tuple[str, str], dict[str, list[str]]]:
        return self.workspace.reactions

    @property
    def statuses(self) -> list[AssistantStatus]:
        return self.workspace.statuses

    @property
    def acks(self) -> dict[str, dict[str, Any]]:
        return self._sockets.acks

    @property
    def socket_connections(self) -> int:
        return len(self._sockets.live)

    @property
    def socket_connects(self) -> int:
        """How many Socket Mode connections were ever accepted (reconnects included)."""
        return self._sockets.connects

    @property
    def socket_pings(self) -> int:
        return self._sockets.pings

    @property
    def socket_messages_sent(self) -> list[dict[str, Any]]:
        return self._sockets.sent

    @property
    def streaming_enabled(self) -> bool:
        return self.workspace.streaming_enabled

    @streaming_enabled.setter
    def streaming_enabled(self, value: bool) -> None:
        self.workspace.streaming_enabled = value

    @property
    def rate_limits_enabled(self) -> bool:
        return self.rate_limiter.enabled

    @rate_limits_enabled.setter
    def rate_limits_enabled(self, value: bool) -> None:
        self.rate_limiter.enabled = value

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    def thread(self, channel: str, thread_ts: str) -> list[SlackMessage]:
        return self.workspace.thread(channel, thread_ts)

    def bot_messages(self, channel: str | None = None) -> list[SlackMessage]:
        return self.workspace.bot_messages(channel)

    # --- configuration -----------------------------------------------------------------

    def add_user(
        self,
        *,
        user_id: str,
        real_name: str,
        name: str | None = None,
        email: str | None = None,
        team_id: str | None = None,
        display_name: str = "",
        is_bot: bool = False,
    ) -> SlackUser:
        """Make a user known to users.info; team_id other than the workspace's = Slack Connect."""
        user = SlackUser(
            id=user_id,
            real_name=real_name,
            name=name or real_name.lower().replace(" ", "."),
            team_id=team_id or self.identity.team_id,
            email=email,
            display_name=display_name,
            is_bot=is_bot,
        )
        return self.workspace.add_user(user)

    def add_channel(
        self,
        *,
        channel_id: str,
        name: str = "",
        is_private: bool = False,
        is_ext_shared: bool = False,
        is_member: bool = True,
        is_archived: bool = False,
        user: str | None = None,
    ) -> SlackChannel:
        """Describe a conversation; unknown ids are inferred from their prefix (C, G, D)."""
        channel = SlackChannel(
            id=channel_id,
            name=name or channel_id.lower(),
            is_im=channel_id.startswith("D"),
            is_private=is_private,
            is_ext_shared=is_ext_shared,
            is_member=is_member,
            is_archived=is_archived,
            user=user,
        )
        return self.workspace.add_channel(channel)

    def add_file(self, *, name: str, mimetype: str, data: bytes) -> dict[str, Any]:
        """Keep an uploaded file; the file object events carry (for ``events.file_share``)."""
        file_id = f"F{len(self.files) + 1:09d}"
        self.files[file_id] = (name, data)
        private = f"{self.base_url}/files-pri/{self.identity.team_id}-{file_id}/{name}"
        return {
            "id": file_id,
            "created": int(self.clock()),
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rpartition(".")[2] if "." in name else "binary",
            "size": len(data),
            "url_private": private,
            "url_private_download": private.replace(f"{file_id}/", f"{file_id}/download/"),
        }

    async def _handle_file(self, request: web.Request) -> web.Response:
        """docs.slack.dev/messaging/working-with-files: ``url_private`` needs the bot token
        as ``Authorization: Bearer``; other requests get no file."""
        header = request.headers.get("Authorization")
        self.file_downloads.append((request.path, header))
        file_id = request.match_info["path"].split("/", 1)[0].rpartition("-")[2]
        found = self.files.get(file_id)
        if header != f"Bearer {self.identity.bot_token}" or found is None:
            return web.Response(status=404, text="file not found")
        return web.Response(body=found[1], content_type="application/octet-stream")

    def set_rate_limit(self, method: str, limit: RateLimit | None) -> None:
        """Replace one method's limit (None removes it) and start its buckets afresh."""
        if limit is None:
            self.rate_limiter.limits.pop(method, None)
        else:
            self.rate_limiter.limits[method] = limit
        self.rate_limiter.reset()

    def fail_next(
        self,
        method: str,
        error: str,
        *,
        status: int = 200,
        retry_after: int | None = None,
        when: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> None:
        """The next call to `method` answers `{"ok": false, "error": error}` (queued, in order).

        A 429 without `retry_after` carries `Retry-After: 1`, as Slack always sends one.
        With `when`, the failure waits for a call whose parameters it accepts (an error
        about a call's text, say, only for a call that carries text).
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        self._failures[method].append(
            InjectedFailure(error=error, status=status, retry_after=retry_after, when=when)
        )

    def expire_streams(self) -> list[SlackMessage]:
        """End the streaming state of open streams, as Slack does after its undocumented TTL."""
        return self.workspace.expire_streams()

    def user_stops_stream(self, *, channel: str, ts: str) -> SlackMessage:
        """The user presses stop on an open stream: later appends and stops are refused
        with ``stopped_by_user`` (PLATFORMS.md, "Slack chat streams")."""
        message = self.workspace.messages[(channel, ts)]
        if message.stream_state != "streaming":
            raise ValueError(f"the message {ts} in {channel} is not an open stream")
        message.stream_state = "stopped_by_user"
        return message

    def refuse_streams_in(self, channel: str, *, error: str = "channel_type_not_supported") -> None:
        """chat.startStream in ``channel`` fails with ``error`` ("not here"), as Slack does
        in conversations that cannot hold a stream."""
        self.workspace.streams_refused[channel] = error

    # --- Web API -----------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        status, headers = 200, {"X-OAuth-Scopes": self.granted_scopes}
        try:
            parsed = await parse_request(request)
            params = parsed.params
            handler = self._web_api.handlers.get(method)
            if handler is None:
                raise ApiError("unknown_method")
            self._authenticate(method, parsed.token)
            self._take_failure(method, params)
            channel = str(params.get("channel") or params.get("channel_id") or "")
            retry_after = self.rate_limiter.acquire(method=method, channel=channel)
            if retry_after is not None:
                raise ApiError("ratelimited", status=429, headers={"Retry-After": str(retry_after)})
            body = handler(params)
        except ApiError as exc:
            status = exc.status
            headers.update(exc.headers)
            body = {"ok": False, "error": exc.error}
            if exc.error == "unknown_method":
                body["req_method"] = method
        self.calls.append(
            ApiCall(
                method=method,
                params=params,
                status=status,
                error=None if body.get("ok") else str(body.get("error")),
                response=body,
                time=self.clock(),
                http_verb=request.method,
            )
        )
        await self._notify()
        return web.json_response(body, status=status, headers=headers)

    def _authenticate(self, method: str, token: str | None) -> None:
        if not token:
            raise ApiError("not_authed")
        wanted = self.identity.app_token if method in APP_TOKEN_METHODS else self.identity.bot_token
        if token == wanted:
            return
        if token in (self.identity.app_token, self.identity.bot_token):
            raise ApiError("not_allowed_token_type")
        raise ApiError("invalid_auth")

    def _take_failure(self, method: str, params: Mapping[str, Any]) -> None:
        queue = self._failures.get(method)
        if not queue or (queue[0].when is not None and not queue[0].when(params)):
            return
        failure = queue.popleft()
        headers: dict[str, str] = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = str(failure.retry_after)
        raise ApiError(failure.error, status=failure.status, headers=headers)

    # --- waiting -----------------------------------------------------------------------

    async def _notify(self) -> None:
        if self._changed is None:
            return
        async with self._changed:
            self._changed.notify_all()

    async def _wait(self, probe: Callable[[], T | None], *, within: float, what: str) -> T:
        if self._changed is None:
            raise RuntimeError("the emulator is not running")
        try:
            async with asyncio.timeout(within), self._changed:
                while (found := probe()) is None:
                    await self._changed.wait()
                return found
        except TimeoutError:
            seen = sorted({call.method for call in self.calls})
            raise TimeoutError(f"timed out waiting for {what}; methods seen: {seen}") from None

    async def wait_for_call(
        self,
        method: str,
        *,
        predicate: Callable[[ApiCall], bool] | None = None,
        count: int = 1,
        within: float = 5.0,
    ) -> ApiCall:
        """Return the `count`-th call to `method` (matching `predicate`), waiting if needed."""

        def probe() -> ApiCall | None:
            found = [
                call
                for call in self.calls
                if call.method == method and (predicate is None or predicate(call))
            ]
            return found[count - 1] if len(found) >= count else None

        return await self._wait(probe, within=within, what=f"call #{count} to {method}")

    async def wait_for_ack(self, envelope_id: str, *, within: float = 5.0) -> dict[str, Any]:
        """The client's `{"envelope_id": ...}` acknowledgement (with any response payload)."""
        return await self._wait(
            lambda: self._sockets.acks.get(envelope_id), within=within, what="an ack"
        )

    async def wait_for_socket(self, *, connections: int = 1, within: float = 5.0) -> None:
        await self._wait(
            lambda: True if len(self._sockets.live) >= connections else None,
            within=within,
            what=f"{connections} Socket Mode connection(s)",
        )

    async def wait_for(
        self, condition: Callable[[], bool], *, within: float = 5.0, what: str = "a condition"
    ) -> None:
        """Wait until `condition()` holds; re-checked after every API call and socket frame."""
        await self._wait(lambda: True if condition() else None, within=within, what=what)

    # --- events ------------------------------------------------------------------------

    def build_envelope(
        self, *, event: dict[str, Any], event_id: str | None = None
    ) -> dict[str, Any]:
        """The event_callback envelope for this workspace (also the Socket Mode payload)."""
        channel = event.get("channel") or (event.get("item") or {}).get("channel")
        external = event.get("user_team") not in (None, self.identity.team_id)
        shared = external or (
            isinstance(channel, str) and self.workspace.channel(channel).is_ext_shared
        )
        return build_envelope(
            identity=self.identity, event=event, event_id=event_id, is_ext_shared_channel=shared
        )

    def _poster_or_fail(self) -> EventPoster:
        if self._poster is None:
            raise RuntimeError("the emulator is not running")
        return self._poster

    async def deliver_event(
        self,
        *,
        url: str,
        event: dict[str, Any],
        retry_num: int | None = None,
        signing_secret: str | None = None,
        event_id: str | None = None,
        bad_signature: bool = False,
        retry_reason: str | None = None,
        request_timestamp: int | None = None,
        ack_timeout: float = ACK_TIMEOUT,
    ) -> int:
        """POST one signed event_callback to the app's Request URL; return the HTTP status.

        Raises TimeoutError when the app does not answer within `ack_timeout`.
        """
        self.workspace.record_inbound(event)
        response = await self._poster_or_fail().post(
            url=url,
            envelope=self.build_envelope(event=event, event_id=event_id),
            retry_num=retry_num,
            retry_reason=retry_reason,
            signing_secret=signing_secret,
            bad_signature=bad_signature,
            request_timestamp=request_timestamp,
            ack_timeout=ack_timeout,
        )
        return response.status

    async def deliver_raw(
        self,
        *,
        url: str,
        body: bytes,
        sign: bool = True,
        timestamp: str | None = None,
        signature: str | None = None,
        content_type: str = "application/json",
        ack_timeout: float = ACK_TIMEOUT,
    ) -> int:
        """POST ``body`` to the app's Request URL as it is, however malformed; the status.

        With ``sign`` the request carries a timestamp (now, unless ``timestamp`` is given,
        which may be any text) and the signature Slack would compute over exactly these
        bytes; ``signature`` replaces it. Without ``sign`` neither header is sent unless given.
        """
        headers = {"Content-Type": content_type, "User-Agent": USER_AGENT}
        if sign or timestamp is not None:
            timestamp = str(int(time.time())) if timestamp is None else timestamp
            headers["X-Slack-Request-Timestamp"] = timestamp
        if sign and signature is None:
            assert timestamp is not None
            signature = sign_body(
                signing_secret=self.identity.signing_secret, timestamp=timestamp, body=body
            )
        if signature is not None:
            headers["X-Slack-Signature"] = signature
        return await self._poster_or_fail().post_raw(
            url=url, body=body, headers=headers, ack_timeout=ack_timeout
        )

    async def deliver_with_retries(
        self,
        *,
        url: str,
        event: dict[str, Any],
        event_id: str | None = None,
        max_attempts: int = 4,
        ack_timeout: float = ACK_TIMEOUT,
        retry_delays: Sequence[float] = (0.0,),
        signing_secret: str | None = None,
    ) -> list[DeliveryAttempt]:
        """Deliver one event (one event_id) again while it is not acked in time, as Slack does.

        Slack waits per `delivery.SLACK_RETRY_DELAYS`; tests pass short delays instead.
        """
        self.workspace.record_inbound(event)
        attempts = await self._poster_or_fail().post_with_retries(
            url=url,
            envelope=self.build_envelope(event=event, event_id=event_id),
            max_attempts=max_attempts,
            ack_timeout=ack_timeout,
            retry_delays=retry_delays,
            signing_secret=signing_secret,
        )
        self.deliveries.extend(attempts)
        return attempts

    async def push_socket_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        connect_within: float = 5.0,
    ) -> str:
        """Send an events_api envelope over Socket Mode; returns its envelope_id."""
        await self.wait_for_socket(within=connect_within)
        self.workspace.record_inbound(event)
        envelope_id = str(uuid.uuid4())
        await self._sockets.push(
            {
                "envelope_id": envelope_id,
                "payload": self.build_envelope(event=event, event_id=event_id),
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": retry_attempt,
                "retry_reason": retry_reason,
            }
        )
        return envelope_id

    async def push_raw_socket_event(self, payload: Any, *, connect_within: float = 5.0) -> str:
        """Send an events_api envelope whose payload is exactly ``payload``, however
        malformed (for poison tests); returns its envelope_id."""
        await self.wait_for_socket(within=connect_within)
        envelope_id = str(uuid.uuid4())
        await self._sockets.push(
            {
                "envelope_id": envelope_id,
                "payload": payload,
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope_id

    @property
    def ephemerals(self) -> list[EphemeralMessage]:
        """chat.postEphemeral messages Slack accepted, in order."""
        return list(self._web_api.ephemerals)

    async def click(
        self,
        *,
        channel: str,
        ts: str,
        user: str = ids.USER_ID,
        action_id: str | None = None,
        text: str | None = None,
        url: str | None = None,
    ) -> dict[str, Any]:
        """``user`` clicks a button of message ``ts`` (by action_id or label): the
        block_actions payload goes over Socket Mode (acked, as an ``interactive`` envelope),
        or as a signed form POST to ``url`` (the Interactivity Request URL, answered 200).

        Returns the payload. LookupError when the message shows no such button.
        """
        message = self.workspace.messages[(channel, ts)]
        block_id, button = find_button(message, action_id=action_id, text=text)
        known = self.workspace.users.get(user)
        payload = block_actions(
            identity=self.identity,
            message=message,
            block_id=block_id,
            button=button,
            user=user,
            user_team=known.team_id if known is not None else self.identity.team_id,
            channel_name=self.workspace.channel(channel).name,
            message_json=self._web_api.message_json(message),
            response_url=f"{self.base_url}/actions/{uuid.uuid4().hex}",
        )
        self.views.issued(str(payload["trigger_id"]), user=user)
        if url is None:
            await self.wait_for_socket()
            envelope_id = str(uuid.uuid4())
            await self._sockets.push(
                {
                    "envelope_id": envelope_id,
                    "payload": payload,
                    "type": "interactive",
                    "accepts_response_payload": True,
                }
            )
            await self.wait_for_ack(envelope_id)
            return payload
        body = form_body(payload)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": USER_AGENT,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign_body(
                signing_secret=self.identity.signing_secret, timestamp=timestamp, body=body
            ),
        }
        status = await self._poster_or_fail().post_raw(
            url=url, body=body, headers=headers, ack_timeout=ACK_TIMEOUT
        )
        if status != 200:
            raise AssertionError(f"the app answered the click with HTTP {status}")
        return payload

    async def submit_view(
        self, opened: OpenView, *, values: dict[str, str], url: str | None = None
    ) -> dict[str, Any]:
        """The person submits modal ``opened`` with ``values`` by action_id: the
        view_submission payload goes over Socket Mode (an ``interactive`` envelope, acked)
        or as a signed form POST to ``url`` (the Interactivity Request URL, answered 200).
        Returns the payload."""
        known = self.workspace.users.get(opened.user)
        payload = self.views.submission(
            opened,
            values=values,
            user_team=known.team_id if known is not None else self.identity.team_id,
        )
        if url is None:
            await self.wait_for_socket()
            envelope_id = str(uuid.uuid4())
            await self._sockets.push(
                {
                    "envelope_id": envelope_id,
                    "payload": payload,
                    "type": "interactive",
                    "accepts_response_payload": True,
                }
            )
            await self.wait_for_ack(envelope_id)
            return payload
        body = form_body(payload)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": USER_AGENT,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign_body(
                signing_secret=self.identity.signing_secret, timestamp=timestamp, body=body
            ),
        }
        status = await self._poster_or_fail().post_raw(
            url=url, body=body, headers=headers, ack_timeout=ACK_TIMEOUT
        )
        if status != 200:
            raise AssertionError(f"the app answered the view submission with HTTP {status}")
        return payload

    @property
    def command_responses(self) -> list[CommandResponse]:
        """What the app sent to slash commands' ``response_url``s, in order."""
        return list(self.response_urls.responses)

    async def slash_command(
        self,
        *,
        text: str,
        channel: str = ids.CHANNEL_ID,
        user: str = ids.USER_ID,
        command: str = "/knowrithm",
        url: str | None = None,
    ) -> SlashAnswer:
        """``user`` runs ``command text`` in ``channel``: over Socket Mode (a
        ``slash_commands`` envelope, acked) or as a signed form POST to ``url`` (the
        command's Request URL, answered 200). Returns the payload and the app's ack message.
        """
        known = self.workspace.users.get(user)
        payload = slash_payload(
            identity=self.identity,
            command=command,
            text=text,
            channel=channel,
            channel_name="directmessage"
            if channel.startswith("D")
            else self.workspace.channel(channel).name,
            user=user,
            user_name=known.name if known is not None else user.lower(),
            response_url=self.response_urls.issue(
                base_url=self.base_url, team=self.identity.team_id, channel=channel, user=user
            ),
        )
        if url is None:
            await self.wait_for_socket()
            envelope_id = str(uuid.uuid4())
            await self._sockets.push(
                {
                    "envelope_id": envelope_id,
                    "payload": payload,
                    "type": "slash_commands",
                    "accepts_response_payload": True,
                }
            )
            ack = await self.wait_for_ack(envelope_id, within=ACK_TIMEOUT)
            answer = ack.get("payload")
            return SlashAnswer(payload=payload, ack=answer if isinstance(answer, dict) else None)
        body = urlencode(payload).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": USER_AGENT,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign_body(
                signing_secret=self.identity.signing_secret, timestamp=timestamp, body=body
            ),
        }
        session = self._session
        if session is None:
            raise RuntimeError("the emulator is not running")
        async with session.post(
            url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=ACK_TIMEOUT)
        ) as response:
            raw = await response.text()
            if response.status != 200:
                raise AssertionError(f"the app answered the command with HTTP {response.status}")
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = {"text": raw}  # a plain-text body is shown to the user as it is
        return SlashAnswer(payload=payload, ack=answer if isinstance(answer, dict) else None)

    async def disconnect_sockets(self, *, reason: str = "refresh_requested") -> None:
        """Send Slack's `disconnect` message; a well-behaved client reconnects with a new URL."""
        await self._sockets.disconnect_all(reason=reason)

    async def close_sockets(self) -> None:
        """Drop every Socket Mode connection from the server side."""
        await self._sockets.close_all()
