"""The stored record of an answer not yet shown in full, so that a restart can finish it."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.events import Author, ContextMessage, Inbound, InboundFile, Origin
from knowrithm_bots.core.store import JSON, Store

log = logging.getLogger(__name__)

PREFIX = "reply:"
# The mark of a handled event (the same key a reaction's delivery is marked with).
EVENT_PREFIX = "event:"
# An answer unfinished for longer than a day is not worth finishing: the person has moved on.
TTL = 24 * 3600.0

Stage = Literal["received", "sending", "accepted"]
Claim = Literal["new", "pending", "done"]
_STAGES: tuple[Stage, ...] = ("received", "sending", "accepted")


@dataclass(frozen=True, kw_only=True)
class PendingReply:
    """What it takes to finish one answer: stored before the first post, gone once final.

    ``stage`` says how far the question got: ``received`` (never sent), ``sending`` (the send
    began at ``sending_at`` and may have reached Knowrithm) or ``accepted`` (Knowrithm has it,
    as ``question_id`` when it said so: it is never sent again). ``shown`` lists the platform
    messages showing the answer so far, so that a restart edits them instead of leaving them.
    ``with_context`` says the question goes to a conversation started for it, so it carries
    the thread's earlier messages (``core.question.compose``): a restart sends or looks up
    the very same text.
    """

    event: Inbound
    stage: Stage = "received"
    conversation_id: str | None = None
    sending_at: float | None = None
    question_id: str | None = None
    shown: tuple[str, ...] = ()
    with_context: bool = False

    @property
    def key(self) -> str:
        return key_of(adapter=self.event.adapter, event_id=self.event.event_id)

    def to_json(self) -> JSON:
        return {
            "event": _event_json(self.event),
            "stage": self.stage,
            "conversation_id": self.conversation_id,
            "sending_at": self.sending_at,
            "question_id": self.question_id,
            "shown": list(self.shown),
            "with_context": self.with_context,
        }

    @classmethod
    def from_json(cls, value: JSON) -> PendingReply | None:
        """A stored record, or None when it is not one this version can read."""
        if not isinstance(value, dict):
            return None
        try:
            event = _event_from(value["event"])
            stage = value["stage"]
            if event is None or stage not in _STAGES:
                return None
            shown = value.get("shown") or []
            sending_at = value.get("sending_at")
            if not isinstance(shown, list) or not all(isinstance(i, str) for i in shown):
                return None
            return cls(
                event=event,
                stage=stage,
                conversation_id=_optional_str(value.get("conversation_id")),
                sending_at=float(sending_at) if isinstance(sending_at, int | float) else None,
                question_id=_optional_str(value.get("question_id")),
                shown=tuple(str(i) for i in shown),
                with_context=value.get("with_context") is True,
            )
        except (KeyError, TypeError, ValueError):
            return None


def key_of(*, adapter: str, event_id: str) -> str:
    return f"{PREFIX}{adapter}:{event_id}"


def event_mark(*, adapter: str, event_id: str) -> str:
    return f"{EVENT_PREFIX}{adapter}:{event_id}"


class PendingReplies:
    """Claims events, records how far their answers got, and lists the unfinished ones.

    An event is done once its mark (``event:<adapter>:<id>``) exists; until then its record
    (``reply:<adapter>:<id>``) says what is left. Finishing writes the mark first and then
    drops the record, so a crash between the two leaves a record that the mark shows done.
    """

    def __init__(self, *, store: Store, ttl: float = TTL) -> None:
        self._store = store
        self._ttl = ttl

    async def claim(self, event: Inbound) -> Claim:
        """``new``: the event is now recorded as received; ``pending``: a record of it was
        there already (an answer begun, by this process or one before it); ``done``."""
        mark = event_mark(adapter=event.adapter, event_id=event.event_id)
        reply = PendingReply(event=event)
        if await self._store.add_if_absent(reply.key, value=reply.to_json(), ttl=self._ttl):
            if await self._store.get(mark) is None:
                return "new"
            await self._store.delete(reply.key)
            return "done"
        if await self._store.get(mark) is not None:
            await self._store.delete(reply.key)
            return "done"
        return "pending"

    async def get(self, event: Inbound) -> PendingReply | None:
        """The record of ``event``; one this version cannot read is set aside, not lost."""
        key = key_of(adapter=event.adapter, event_id=event.event_id)
        value = await self._store.get(key)
        reply = PendingReply.from_json(value)
        if reply is None and value is not None:
            moved = await self._store.quarantine(key)
            log.warning(
                "%s: the unfinished answer cannot be read; it was kept under %s", key, moved
            )
        return reply

    async def save(self, reply: PendingReply) -> None:
        await self._store.set(reply.key, value=reply.to_json(), ttl=self._ttl)

    async def finish(self, event: Inbound) -> None:
        """The answer is final: mark the event done and drop its record."""
        mark = event_mark(adapter=event.adapter, event_id=event.event_id)
        await self._store.set(mark, value=1, ttl=self._ttl)
        await self._store.delete(key_of(adapter=event.adapter, event_id=event.event_id))

    async def release(self, event: Inbound) -> None:
        """Forget the event without marking it done, so a redelivery is answered afresh."""
        await self._store.delete(key_of(adapter=event.adapter, event_id=event.event_id))

    async def unfinished(self) -> AsyncIterator[PendingReply]:
        """Every readable record whose event is not marked done (records shown done go)."""
        async for key, value in self._store.scan(PREFIX):
            reply = PendingReply.from_json(value)
            if reply is None:
                log.warning("%s: an unfinished answer this version cannot read; left as it is", key)
                continue
            mark = event_mark(adapter=reply.event.adapter, event_id=reply.event.event_id)
            if await self._store.get(mark) is not None:
                await self._store.delete(key)
                continue
            yield reply


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _event_json(event: Inbound) -> JSON:
    record: dict[str, JSON] = {
        "thread": event.thread,
        "event_id": event.event_id,
        "text": event.text,
        "message_id": event.message_id,
        "author": _flat(event.author),
        "origin": _flat(event.origin),
    }
    # Left out when empty, so records without them read the same in older versions.
    if event.context:
        record["context"] = [_flat(message) for message in event.context]
    if event.files:
        record["files"] = [_flat(file) for file in event.files]
    return record


def _flat(item: Author | Origin | ContextMessage | InboundFile) -> dict[str, JSON]:
    """The fields of a record whose values are all plain (str, int, bool or None).

    Not ``dataclasses.asdict``: it deep-copies every value, and the record is written several
    times per answer."""
    return {field.name: getattr(item, field.name) for field in dataclasses.fields(item)}


def _event_from(value: Any) -> Inbound | None:
    if not isinstance(value, dict):
        return None
    author, origin = value.get("author"), value.get("origin")
    if not isinstance(author, dict) or not isinstance(origin, dict):
        return None
    return Inbound(
        thread=str(value["thread"]),
        event_id=str(value["event_id"]),
        text=str(value["text"]),
        message_id=_optional_str(value.get("message_id")),
        author=Author(**_known(Author, author)),
        origin=Origin(**_known(Origin, origin)),
        context=tuple(
            ContextMessage(**_known(ContextMessage, item)) for item in _dicts(value, "context")
        ),
        files=tuple(InboundFile(**_known(InboundFile, f)) for f in _dicts(value, "files")),
    )


def _dicts(value: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The list of records under ``name``; absent in records written before it existed."""
    items = value.get(name) or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ValueError(f"{name} is not a list of records")
    return items


def _known(kind: type, fields: dict[str, Any]) -> dict[str, Any]:
    """Only the fields ``kind`` has: a record from a newer version may carry more."""
    names = {field.name for field in dataclasses.fields(kind)}
    return {name: value for name, value in fields.items() if name in names}


class Tracker:
    """Keeps one answer's record current while it is being answered.

    The record is a safety net for a crash: a write that fails is logged, never raised, so
    the answer in progress goes on being shown.
    """

    def __init__(self, *, replies: PendingReplies, reply: PendingReply) -> None:
        self._replies = replies
        self.reply = reply
        self._finished = False

    def note(self, **changes: Any) -> None:
        """Change the record without writing it: the next ``update`` writes it with its own
        changes (one store write where two would follow each other)."""
        self.reply = dataclasses.replace(self.reply, **changes)

    async def update(self, **changes: Any) -> None:
        self.note(**changes)
        try:
            await self._replies.save(self.reply)
        except Exception as exc:
            log.warning("%s: could not record how far the answer got: %s", self.reply.key, exc)

    async def finish(self) -> None:
        """The answer is final: mark its event done and drop the record, once. A failure is
        logged; the record then stays for the next run to finish."""
        if self._finished:
            return
        try:
            await self._replies.finish(self.reply.event)
        except StoreError as exc:
            log.error("%s: could not mark the answer done: %s", self.reply.key, exc)
        else:
            self._finished = True

    async def shown(self, message_ids: list[str]) -> None:
        if tuple(message_ids) != self.reply.shown:
            await self.update(shown=tuple(message_ids))
