"""Owns the mapping thread key → Knowrithm conversation: lookup, creation, leads and idle expiry."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from knowrithm_bots.core.clock import Clock, SystemClock
from knowrithm_bots.core.config.models import EntityRule
from knowrithm_bots.core.entity_rules import EntityType, entity_type_for
from knowrithm_bots.core.errors import (
    BadRequestError,
    KnowrithmError,
    LeadCreationError,
    LeadEmailUnavailable,
    NotFoundError,
    ProtocolError,
)
from knowrithm_bots.core.events import Author, Inbound
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.leads import LeadEmails
from knowrithm_bots.core.store import JSON, Store

log = logging.getLogger(__name__)

THREAD_PREFIX = "thread:"


@dataclass(frozen=True, kw_only=True)
class Session:
    """One thread's live conversation, as stored under ``thread:<thread key>``."""

    thread: str
    conversation_id: str
    entity_type: EntityType
    lead_id: str | None
    started_at: float
    last_active: float

    def to_json(self) -> JSON:
        # Spelled out: ``dataclasses.asdict`` deep-copies every value, once per message.
        return {
            "thread": self.thread,
            "conversation_id": self.conversation_id,
            "entity_type": self.entity_type,
            "lead_id": self.lead_id,
            "started_at": self.started_at,
            "last_active": self.last_active,
        }

    @classmethod
    def from_json(cls, value: JSON) -> Session | None:
        """Read a stored record; an unreadable one yields None.

        ``Sessions.open`` then moves that record to a ``quarantine:`` key before it starts a
        new conversation, so another version's record is kept, never overwritten.
        """
        if not isinstance(value, dict):
            return None
        try:
            entity: EntityType
            if value["entity_type"] == "USER":
                entity = "USER"
            elif value["entity_type"] == "LEAD":
                entity = "LEAD"
            else:
                return None
            lead = value.get("lead_id")
            return cls(
                thread=str(value["thread"]),
                conversation_id=str(value["conversation_id"]),
                entity_type=entity,
                lead_id=str(lead) if lead is not None else None,
                started_at=float(value["started_at"]),  # type: ignore[arg-type]
                last_active=float(value["last_active"]),  # type: ignore[arg-type]
            )
        except (KeyError, TypeError, ValueError):
            return None


def _names(author: Author) -> tuple[str, str]:
    if author.first_name or author.last_name:
        return author.first_name or "", author.last_name or ""
    first, _, last = (author.display_name or author.id).strip().partition(" ")
    return first or author.id, last


class Sessions:
    """Finds or starts the conversation for a thread and ends idle ones.

    Callers hold the thread's store lock (``Sessions.lock_key``) around ``open``, ``end`` and
    ``forget``, so one thread never starts two conversations.
    """

    def __init__(
        self,
        *,
        client: KnowrithmClient,
        store: Store,
        agent_id: str,
        rules: Sequence[EntityRule] = (),
        default_entity_type: EntityType = "USER",
        idle_seconds: float = 1800.0,
        clock: Clock | None = None,
        lead_emails: LeadEmails | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._agent_id = agent_id
        self._rules = tuple(rules)
        self._default = default_entity_type
        self._idle = idle_seconds
        self._clock = clock or SystemClock()
        self._lead_emails = lead_emails or LeadEmails()

    @staticmethod
    def lock_key(thread: str) -> str:
        return f"lock:{thread}"

    async def current(self, thread: str) -> Session | None:
        """The stored session of ``thread``, whether or not it is idle."""
        return Session.from_json(await self._store.get(THREAD_PREFIX + thread))

    def is_idle(self, session: Session) -> bool:
        return self._clock.now() - session.last_active >= self._idle

    async def open(self, event: Inbound) -> Session:
        """The thread's live session, ending an idle one and starting a new one if needed."""
        session, _ = await self.open_telling(event)
        return session

    async def open_telling(self, event: Inbound) -> tuple[Session, bool]:
        """``open``, and whether the conversation was started for this message (its first
        send then carries the thread's earlier messages)."""
        session = await self._current_or_set_aside(event.thread)
        if session is not None and self.is_idle(session):
            await self._end_quietly(session)
            session = None
        started = session is None
        if session is None:
            session = await self._start(event)
        return await self.touch(session), started

    async def touch(self, session: Session) -> Session:
        touched = replace(session, last_active=self._clock.now())
        await self._store.set(THREAD_PREFIX + session.thread, value=touched.to_json())
        return touched

    async def end(
        self, *, thread: str, rating: int | None = None, feedback: str | None = None
    ) -> Session | None:
        """End the thread's conversation on Knowrithm and forget it; None if there was none.

        The link is removed only after Knowrithm confirmed, so a failure loses nothing.
        """
        session = await self.current(thread)
        if session is None:
            return None
        try:
            await self._client.end_conversation(
                conversation_id=session.conversation_id, rating=rating, feedback=feedback
            )
        except NotFoundError:
            log.info("conversation %s was already gone on Knowrithm", session.conversation_id)
        await self._store.delete(THREAD_PREFIX + thread)
        return session

    async def forget(self, thread: str, *, conversation_id: str | None = None) -> None:
        """Drop the link without calling Knowrithm (the conversation ended there already).

        With ``conversation_id``, only a link to that conversation is dropped: one that
        another bot process has meanwhile replaced is kept.
        """
        if conversation_id is not None:
            current = await self.current(thread)
            if current is None or current.conversation_id != conversation_id:
                return
        await self._store.delete(THREAD_PREFIX + thread)

    async def idle_threads(self) -> list[str]:
        """Threads whose conversation has been idle past the timeout."""
        found: list[str] = []
        async for key, value in self._store.scan(THREAD_PREFIX):
            session = Session.from_json(value)
            if session is not None and self.is_idle(session):
                found.append(key.removeprefix(THREAD_PREFIX))
        return found

    async def expire(self, thread: str) -> bool:
        """End ``thread``'s conversation if it is still idle; True when it was ended."""
        session = await self.current(thread)
        if session is None or not self.is_idle(session):
            return False
        await self.end(thread=thread)
        return True

    async def _current_or_set_aside(self, thread: str) -> Session | None:
        """The stored session; a record there that is not one is moved aside, not overwritten."""
        key = THREAD_PREFIX + thread
        value = await self._store.get(key)
        session = Session.from_json(value)
        if session is None and value is not None:
            # Its conversation stays open on Knowrithm: only an operator can tell what it was.
            await self._set_aside(key, what="conversation record")
        return session

    async def _set_aside(self, key: str, *, what: str) -> None:
        """Move the record under ``key``, which cannot be used, to a quarantine key and say so."""
        moved = await self._store.quarantine(key)
        log.warning(
            "%s: the stored %s cannot be read; it was kept under %s and a new one replaces it",
            key,
            what,
            moved,
        )

    async def _end_quietly(self, session: Session) -> None:
        # The user is waiting for an answer: a failed end must not block the new conversation.
        try:
            await self.end(thread=session.thread)
        except KnowrithmError as exc:
            log.warning("could not end idle conversation %s: %s", session.conversation_id, exc)
            await self.forget(session.thread)

    async def _start(self, event: Inbound) -> Session:
        entity = entity_type_for(event=event, rules=self._rules, default=self._default)
        lead_id = await self._lead_or_refusal(event) if entity == "LEAD" else None
        conversation = await self._client.start_conversation(
            agent_id=self._agent_id,
            entity_type=entity,
            lead_id=lead_id,
            title=self._title(event),
            metadata=self._metadata(event),
        )
        now = self._clock.now()
        log.info("thread %s started conversation %s as %s", event.thread, conversation.id, entity)
        return Session(
            thread=event.thread,
            conversation_id=conversation.id,
            entity_type=entity,
            lead_id=lead_id,
            started_at=now,
            last_active=now,
        )

    async def _lead_or_refusal(self, event: Inbound) -> str:
        """``_lead_for``, with Knowrithm refusing the lead told apart from refusing a message."""
        try:
            return await self._lead_for(event)
        except (BadRequestError, NotFoundError, ProtocolError) as exc:
            raise LeadCreationError(
                f"No lead for {event.adapter} user {event.author.id}: {str(exc).rstrip('.')}.",
                status=exc.status,
                error_code=exc.error_code,
            ) from exc

    async def _lead_for(self, event: Inbound) -> str:
        """The lead of the message's author, created once per platform user and reused."""
        key = f"lead:{event.adapter}:{event.author.id}"
        # One person writing in two threads at once must still become one lead.
        async with self._store.lock(f"lock:{key}"):
            known = await self._store.get(key)
            if isinstance(known, str):
                return known
            if known is not None:
                await self._set_aside(key, what="lead id")
            return await self._create_lead(event, key=key)

    async def _create_lead(self, event: Inbound, *, key: str) -> str:
        """Create the author's lead; Knowrithm's lead with the same e-mail is reused."""
        try:
            email = self._lead_emails.address(author=event.author, origin=event.origin)
        except LeadEmailUnavailable as exc:
            log.error("thread %s: %s", event.thread, exc)
            raise
        first, last = _names(event.author)
        lead = await self._client.create_lead(
            first_name=first,
            last_name=last,
            email=email,
            source=event.adapter,
            agent_id=self._agent_id,
            metadata={"platform": event.adapter, "user_id": event.author.id},
        )
        log.info("%s user %s is lead %s", event.adapter, event.author.id, lead.id)
        await self._store.set(key, value=lead.id)
        return lead.id

    @staticmethod
    def _title(event: Inbound) -> str:
        where = event.origin.channel_name or event.origin.channel_id
        return f"{event.adapter}: {where}"[:200]

    @staticmethod
    def _metadata(event: Inbound) -> dict[str, Any]:
        origin, author = event.origin, event.author
        return {
            "platform": origin.adapter,
            "workspace": origin.workspace_id,
            "channel": origin.channel_id,
            "channel_name": origin.channel_name,
            "thread": origin.thread_id,
            "thread_key": event.thread,
            "direct": origin.is_direct,
            "user_id": author.id,
            "user_name": author.display_name,
            "source": "knowrithm-bots",
        }
