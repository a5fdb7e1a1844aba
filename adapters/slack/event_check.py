"""Screens Events API payloads before bolt reads them: a malformed one is acked and skipped.

Without this, an ``event_callback`` whose ``event`` is missing or has no usable ``type``
matches no listener: bolt logs the whole payload as an "Unhandled request" and answers 404,
so over HTTP Slack delivers it three more times, and in Socket Mode it is never acked. Events
of the kinds the adapter answers must also carry what answering needs (who wrote, where,
which message), with the types Slack documents (https://api.slack.com/events). Anything else
the adapter has no listener for is acked quietly.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest

from knowrithm_bots.adapters.slack.inbound import ANSWERED_SUBTYPES
from knowrithm_bots.core.bounded import Lru

log = logging.getLogger(__name__)

MESSAGE_KINDS = frozenset({"message", "app_mention"})
REACTION_KINDS = frozenset({"reaction_added", "reaction_removed"})
QUIET_KINDS = frozenset({"assistant_thread_started", "assistant_thread_context_changed"})
HANDLED_KINDS = MESSAGE_KINDS | REACTION_KINDS | QUIET_KINDS
_REPORTED = 4096


def _text(value: object, path: str, *, required: bool) -> str | None:
    if value is None:
        return f"{path} is missing" if required else None
    if not isinstance(value, str):
        return f"{path} is not a string"
    if required and not value:
        return f"{path} is empty"
    return None


def _first(*problems: str | None) -> str | None:
    return next((p for p in problems if p is not None), None)


def _message_problem(event: Mapping[str, Any]) -> str | None:
    subtype = event.get("subtype")
    if not (subtype is None or isinstance(subtype, str)) or subtype not in ANSWERED_SUBTYPES:
        return None  # edits, joins, bot posts...: nothing the adapter reads
    if event.get("hidden") or event.get("bot_id") or event.get("bot_profile"):
        return None
    return _first(
        _text(event.get("user"), "event.user", required=True),
        _text(event.get("channel"), "event.channel", required=True),
        _text(event.get("ts"), "event.ts", required=True),
        _text(event.get("thread_ts"), "event.thread_ts", required=False),
        _text(event.get("channel_type"), "event.channel_type", required=False),
    )


def _reaction_problem(event: Mapping[str, Any]) -> str | None:
    item = event.get("item")
    if not isinstance(item, Mapping):
        return "event.item is missing" if item is None else "event.item is not an object"
    if item.get("type") != "message":
        return None  # a reaction on a file: nothing the adapter reads
    return _first(
        _text(event.get("user"), "event.user", required=True),
        _text(event.get("reaction"), "event.reaction", required=True),
        _text(item.get("channel"), "event.item.channel", required=True),
        _text(item.get("ts"), "event.item.ts", required=True),
    )


def problem_of(body: Mapping[str, Any]) -> str | None:
    """What makes an ``event_callback`` body unusable (naming the field, never its content),
    or None when the adapter can read it or has nothing to read in it."""
    if body.get("type") != "event_callback":
        return None
    event = body.get("event")
    if not isinstance(event, Mapping):
        return "event is missing" if event is None else "event is not an object"
    kind = event.get("type")
    if not isinstance(kind, str) or not kind:
        return "event.type is missing" if kind is None else "event.type is not a string"
    if kind in MESSAGE_KINDS:
        return _message_problem(event)
    if kind in REACTION_KINDS:
        return _reaction_problem(event)
    return None


def is_handled(body: Mapping[str, Any]) -> bool:
    """Whether a listener of the adapter takes ``body`` (every non-event payload counts)."""
    if body.get("type") != "event_callback":
        return True
    event = body.get("event")
    return isinstance(event, Mapping) and event.get("type") in HANDLED_KINDS


def _fingerprint(body: object) -> str:
    text = json.dumps(body, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class EventScreen:
    """Decides which payloads reach bolt: malformed ones are logged once (by ``event_id``)
    and skipped, events of kinds nobody listens to are skipped quietly; both are acked."""

    def __init__(self) -> None:
        self._reported: Lru[str, bool] = Lru(size=_REPORTED)

    def admits(self, body: object) -> bool:
        """Whether bolt should see ``body`` (a decoded payload); when not, the caller acks."""
        problem = _problem(body)
        if problem is None:
            if isinstance(body, Mapping) and not is_handled(body):
                log.debug("a Slack event was acknowledged: no listener takes its kind")
                return False
            return True
        self.skipped(body, problem=problem)
        return False

    def skipped(self, body: object, *, problem: str) -> None:
        """Log once that ``body`` was skipped because of ``problem``."""
        event_id = body.get("event_id") if isinstance(body, Mapping) else None
        named = isinstance(event_id, str) and bool(event_id)
        key = str(event_id) if named else _fingerprint(body)
        if key in self._reported:
            return
        self._reported.put(key, value=True)
        log.warning(
            "Slack event %s was skipped: %s", event_id if named else "without an id", problem
        )


def _problem(body: object) -> str | None:
    if not isinstance(body, Mapping):
        return "the payload is not a JSON object"
    problem = problem_of(body)
    if problem is not None:
        return problem
    try:
        # What bolt reads from every payload before any middleware runs (authorizations,
        # team and user ids): a payload it cannot read would fail there, unacked.
        AsyncBoltRequest(body=dict(body), mode="socket_mode")
    except Exception as exc:
        return f"slack-bolt cannot read it ({type(exc).__name__})"
    return None
