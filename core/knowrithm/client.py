"""KnowrithmClient: the async facade the rest of the project uses to talk to Knowrithm."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from knowrithm_bots.core.errors import (
    AuthError,
    BadRequestError,
    ConfigError,
    KnowrithmError,
    ProtocolError,
    RateLimitedError,
    UnavailableError,
)
from knowrithm_bots.core.knowrithm.models import (
    Agent,
    Conversation,
    ConversationAnalytics,
    ConversationPage,
    EntityType,
    Lead,
    Message,
    ReplyDone,
    ReplyEvent,
)
from knowrithm_bots.core.knowrithm.parsing import (
    find_list,
    parse_agent,
    parse_analytics,
    parse_conversation,
    parse_lead,
    parse_messages,
    parse_page,
)
from knowrithm_bots.core.knowrithm.pools import TransportWrapper
from knowrithm_bots.core.knowrithm.reply_history import ChatShape
from knowrithm_bots.core.knowrithm.retry import NO_RETRY, RetryPolicy, Safety
from knowrithm_bots.core.knowrithm.session import HttpSession
from knowrithm_bots.core.knowrithm.streaming import ReplyRun, Resume
from knowrithm_bots.core.knowrithm.tasks import TaskPoller
from knowrithm_bots.core.knowrithm.wire_forms import WireForms

DEFAULT_RETRY = RetryPolicy()
_UNHEALTHY = frozenset({"error", "down", "unhealthy", "fail", "failed", "degraded"})


def _auth_headers(
    *, api_key: str | None, api_secret: str | None, bearer_token: str | None
) -> dict[str, str]:
    if bool(api_key) != bool(api_secret):
        raise ConfigError(
            "Knowrithm needs both knowrithm.api_key and knowrithm.api_secret, not only one.",
            key_path="knowrithm.api_secret" if api_key else "knowrithm.api_key",
        )
    headers: dict[str, str] = {}
    if api_key and api_secret:
        headers["X-API-Key"] = api_key
        headers["X-API-Secret"] = api_secret
    if bearer_token:
        headers["Authorization"] = f"Bearer {bearer_token}"
    if not headers:
        raise ConfigError(
            "Knowrithm needs knowrithm.api_key and knowrithm.api_secret (or a bearer token).",
            key_path="knowrithm.api_key",
        )
    return headers


def _compact(**fields: Any) -> dict[str, Any]:
    """The given fields without the ones left as None, so optional fields are not sent."""
    return {name: value for name, value in fields.items() if value is not None}


def _id(value: str) -> str:
    return quote(value, safe="")


def _lead_exists(exc: KnowrithmError) -> bool:
    """Whether a refused lead create means a lead with that e-mail is already there."""
    if isinstance(exc, AuthError | RateLimitedError | UnavailableError):
        return False
    return exc.status == 409 or "already exist" in str(exc).casefold()


class KnowrithmClient:
    """Async client of the Knowrithm HTTP API; its connections are opened on first use.

    ``concurrency`` is the most replies that stream at once (the bridge passes
    ``conversations.max_concurrent_threads``): reply streams and other requests have separate
    connection pools sized from it (``pools.PoolSizes``), so a reply's stream never keeps
    another reply's request waiting; more replies than that wait for a stream to end.
    ``transport`` replaces the network for both pools (tests); ``transport_wrapper`` wraps
    each pool's transport (or the injected one), to meter requests, say.

    Every method raises a ``core.errors.KnowrithmError`` subclass on failure. Requests that
    are safe to repeat are retried per ``retry``; a chat message is never sent twice.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        api_secret: str | None = None,
        bearer_token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        transport_wrapper: TransportWrapper | None = None,
        concurrency: int = 64,
        timeout: float = 30.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        task_poll_interval: float = 0.25,
        task_timeout: float = 120.0,
        stream_idle_timeout: float = 45.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        headers = _auth_headers(api_key=api_key, api_secret=api_secret, bearer_token=bearer_token)
        self._http = HttpSession(
            base_url=base_url,
            headers=headers,
            secrets=(api_key, api_secret, bearer_token),
            transport=transport,
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            concurrency=concurrency,
            transport_wrapper=transport_wrapper,
        )
        self._poller = TaskPoller(
            http=self._http, interval=task_poll_interval, timeout=task_timeout
        )
        if timeout <= 0 or stream_idle_timeout <= 0:
            raise ValueError("The Knowrithm timeouts must be positive.")
        self._task_timeout = task_timeout
        self._stream_idle_timeout = stream_idle_timeout
        self._chat_shape = ChatShape()
        self._forms = WireForms()

    def __repr__(self) -> str:
        return f"KnowrithmClient(base_url={str(self._http.base_url)!r})"

    async def aclose(self) -> None:
        """Close the connection pools; safe to call more than once."""
        await self._http.aclose()

    async def __aenter__(self) -> KnowrithmClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def health(self) -> bool:
        """Whether Knowrithm answers its health check; never raises for an unhealthy service."""
        try:
            answer = await self._http.call(
                method="GET",
                path="/v1/health",
                action="check its health",
                safety=Safety.IDEMPOTENT,
                # A probe should report a failure at once, not after backing off.
                retry=NO_RETRY,
            )
        except KnowrithmError:
            return False
        status = answer.body.get("status") if isinstance(answer.body, dict) else None
        return not (isinstance(status, str) and status.strip().lower() in _UNHEALTHY)

    async def get_agent(self, *, agent_id: str) -> Agent:
        """The agent with this id; ``NotFoundError`` when Knowrithm has none.

        ``GET /v1/agent/{agent_id}`` (knowrithm-py 0.1.22 `AgentService.get_agent`, which
        documents it as public: it does not prove the credentials).
        """
        answer = await self._http.call(
            method="GET",
            path=f"/v1/agent/{_id(agent_id)}",
            action="find the agent",
            safety=Safety.IDEMPOTENT,
        )
        return parse_agent(answer.body, agent_id=agent_id)

    async def start_conversation(
        self,
        *,
        agent_id: str,
        entity_type: EntityType,
        lead_id: str | None = None,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        max_context_length: int | None = None,
    ) -> Conversation:
        """Start a conversation with an agent; a LEAD conversation needs ``lead_id``.

        On the wire the entity type is lowercase and a lead is named as ``entity_id``
        (knowrithm-py 0.1.4 `ConversationService.create`, the CLI's `conversation create`).
        """
        action = "start a conversation"
        body = _compact(
            agent_id=agent_id,
            entity_type=entity_type.lower(),
            entity_id=lead_id,
            title=title,
            metadata=dict(metadata) if metadata is not None else None,
            max_context_length=max_context_length,
        )
        answer = await self._http.call(
            method="POST", path="/v1/conversation", action=action, safety=Safety.ONCE, json=body
        )
        record = await self._poller.resolve(
            body=answer.body, record_key="conversation", action=action
        )
        return parse_conversation(record)

    async def list_conversations(
        self,
        *,
        agent_id: str | None = None,
        status: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        page: int = 1,
        per_page: int = 20,
    ) -> ConversationPage:
        """One page of conversations, filtered as given."""
        params = _compact(
            agent_id=agent_id,
            status=status,
            sort_by=sort_by,
            sort_order=sort_order,
            page=page,
            per_page=per_page,
        )
        answer = await self._http.call(
            method="GET",
            path="/v1/conversation",
            action="list conversations",
            safety=Safety.IDEMPOTENT,
            params=params,
        )
        return parse_page(body=answer.body, page=page, per_page=per_page)

    async def update_metadata(
        self, *, conversation_id: str, metadata: Mapping[str, Any]
    ) -> Conversation:
        """Update the conversation's metadata with ``metadata``.

        The local server merges it into what is there; the public sources do not say whether
        a deployment merges or replaces, so send every key that must stay.
        """
        action = "update the conversation metadata"
        answer = await self._forms.update_conversation.call(
            http=self._http,
            ident=conversation_id,
            action=action,
            safety=Safety.IDEMPOTENT,
            json={"metadata": dict(metadata)},
        )
        record = await self._poller.resolve(
            body=answer.body, record_key="conversation", action=action
        )
        return parse_conversation(record)

    async def end_conversation(
        self, *, conversation_id: str, rating: int | None = None, feedback: str | None = None
    ) -> Conversation:
        """End the conversation, optionally rating it 1-5 with feedback.

        The rating goes as ``satisfaction_rating`` (knowrithm-py 0.1.4 `end_conversation`);
        no public source shows ``feedback``, so a deployment may ignore it.
        """
        action = "end the conversation"
        answer = await self._http.call(
            method="POST",
            path=f"/v1/conversation/{_id(conversation_id)}/end",
            action=action,
            safety=Safety.IDEMPOTENT,
            json=_compact(satisfaction_rating=rating, feedback=feedback),
        )
        record = await self._poller.resolve(
            body=answer.body, record_key="conversation", action=action
        )
        try:
            return parse_conversation(record)
        except ProtocolError:
            # Some deployments only confirm ({"success": true}); the conversation did end.
            return Conversation(id=conversation_id, status="ended", rating=rating, metadata={})

    async def history(
        self, *, conversation_id: str, page: int = 1, per_page: int = 50
    ) -> list[Message]:
        """One page of the conversation's messages, oldest first."""
        answer = await self._http.call(
            method="GET",
            path=f"/v1/conversation/{_id(conversation_id)}/messages",
            action="read the conversation history",
            safety=Safety.IDEMPOTENT,
            params={"page": page, "per_page": per_page},
        )
        return parse_messages(body=answer.body, conversation_id=conversation_id)

    async def analytics(self, *, conversation_id: str) -> ConversationAnalytics:
        """The conversation's message statistics, duration and satisfaction."""
        answer = await self._http.call(
            method="GET",
            path=f"/v1/analytic/conversation/{_id(conversation_id)}",
            action="read the conversation analytics",
            safety=Safety.IDEMPOTENT,
        )
        return parse_analytics(answer.body)

    def stream_reply(
        self,
        *,
        conversation_id: str,
        text: str,
        resume: Resume | None = None,
        attachments: Sequence[Mapping[str, Any]] | None = None,
    ) -> AsyncGenerator[ReplyEvent, None]:
        """Send ``text`` once and yield the reply: ``ReplyAccepted`` once Knowrithm has the
        question, zero or more deltas, then one ``ReplyDone``.

        Nothing is sent until iteration starts. Close the iterator (``contextlib.aclosing``)
        when stopping early, so the stream connection is released at once.

        ``ConversationEndedError`` and ``NotFoundError`` are raised only before the send or
        when the send itself was refused (the message did not arrive, so sending it again in
        a new conversation is safe). Once the send was accepted, losing the stream, a refused
        reconnect or an ended or vanished conversation never raises them: the reply is polled
        from the task and the history instead, and if that fails too, another
        ``KnowrithmError`` is raised (an ``UnavailableError`` with ``REPLY_LOST`` when the
        conversation ended or vanished). Without a message id from the send, the history
        fallback accepts only an assistant message newer than the history was before the
        send, never an earlier one.

        A send that fails without saying whether Knowrithm took the message (a 5xx, a timeout,
        a broken connection, an unreadable answer) is looked up in the history: found, its
        reply is awaited; not found, the message is sent once more. Only when that fails too
        is the error raised.

        ``resume`` continues a send that an earlier process began (see ``Resume``): the
        question is sent only when Knowrithm does not have it, otherwise its reply is read
        (deltas from then on, and the final message).

        ``attachments`` go in the body's ``attachments`` field, whose item shape Knowrithm
        does not document; None or an empty list leaves the field out.
        """
        run = ReplyRun(
            http=self._http,
            poller=self._poller,
            conversation_id=conversation_id,
            text=text,
            idle_timeout=self._stream_idle_timeout,
            reply_timeout=self._task_timeout,
            shape=self._chat_shape,
            resume=resume,
            attachments=attachments,
        )
        return run.events()

    async def send_message(self, *, conversation_id: str, text: str) -> Message:
        """Send ``text`` and return the finished assistant message."""
        stream = self.stream_reply(conversation_id=conversation_id, text=text)
        async with contextlib.aclosing(stream):
            async for event in stream:
                if isinstance(event, ReplyDone):
                    return event.message
        raise ProtocolError("Knowrithm ended the reply without a final message.")

    async def rate_message(
        self, *, message_id: str, rating: int, feedback: str | None = None
    ) -> None:
        """Rate an assistant message 1-5; rating again replaces the earlier rating."""
        action = "rate the message"
        answer = await self._forms.rate_message.call(
            http=self._http,
            ident=message_id,
            action=action,
            safety=Safety.IDEMPOTENT,
            json=_compact(rating=rating, feedback=feedback),
        )
        if isinstance(answer.body, dict) and answer.body.get("success") is False:
            raise BadRequestError(f"Knowrithm could not {action}: it reported no success.")

    async def create_lead(
        self,
        *,
        first_name: str,
        last_name: str,
        email: str,
        phone: str | None = None,
        source: str | None = None,
        agent_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Lead:
        """Create a lead (the contact a LEAD conversation belongs to), or reuse its twin.

        Knowrithm keys leads by e-mail: when it answers that a lead with ``email`` exists
        (409, or an "already exists" refusal), that lead is found and returned instead.
        """
        action = "create the lead"
        body = _compact(
            first_name=first_name,
            last_name=last_name,
            email=email,
            phone=phone,
            source=source,
            agent_id=agent_id,
            metadata=dict(metadata) if metadata is not None else None,
        )
        try:
            answer = await self._http.call(
                method="POST", path="/v1/sdk/lead", action=action, safety=Safety.ONCE, json=body
            )
            record = await self._poller.resolve(body=answer.body, record_key="lead", action=action)
        except KnowrithmError as exc:
            if not _lead_exists(exc):
                raise
            existing = await self.find_lead(email=email)
            if existing is None:
                raise  # it says the lead exists, yet no lead has the address: keep its answer
            return existing
        return parse_lead(record)

    async def find_lead(self, *, email: str) -> Lead | None:
        """The lead registered with ``email`` (compared case-insensitively), or None.

        ``GET /v1/lead/company?search=<email>`` (docs); the search also matches parts of
        addresses and names, so only an exact address counts.
        """
        answer = await self._http.call(
            method="GET",
            path="/v1/lead/company",
            action="find the lead",
            safety=Safety.IDEMPOTENT,
            params={"search": email},
        )
        records = find_list(body=answer.body, key="leads")
        if records is None:
            raise ProtocolError("Knowrithm answered a lead search without a list of leads.")
        wanted = email.casefold()
        for record in records:
            lead = parse_lead(record)
            if lead.email.casefold() == wanted:
                return lead
        return None

    async def get_lead(self, *, lead_id: str) -> Lead:
        """Read a lead by id."""
        answer = await self._http.call(
            method="GET",
            path=f"/v1/lead/{_id(lead_id)}",
            action="read the lead",
            safety=Safety.IDEMPOTENT,
        )
        return parse_lead(answer.body)

    async def wait_for_task(self, *, task_id: str, poll_url: str | None = None) -> dict[str, Any]:
        """Poll a task until it finishes and return its payload (or its status body)."""
        status = await self._poller.wait(task_id=task_id, poll_url=poll_url)
        for name in ("result", "data", "response"):
            payload = status.get(name)
            if isinstance(payload, dict):
                return payload
        return status
