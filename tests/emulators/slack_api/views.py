"""Modals: ``views.open`` with a click's trigger_id, and the ``view_submission`` a person sends.

Slack documents ``views.open`` (https://api.slack.com/methods/views.open): it takes a
``trigger_id`` from an interaction, usable once and within 3 seconds (else
``expired_trigger_id``; again: ``exchanged_trigger_id``; unknown: ``invalid_trigger_id``),
and a ``view``. A modal view (https://api.slack.com/reference/surfaces/views) has
``type: modal``, a plain_text ``title`` of at most 24 characters, at most 100 ``blocks``,
plain_text ``submit`` / ``close`` of at most 24 characters (``submit`` is required when
the blocks hold an ``input`` block), a ``callback_id`` of at most 255 characters and a
``private_metadata`` of at most 3,000; a refused view answers ``invalid_arguments``.
An input block has a plain_text ``label`` (2,000) and an ``element``; a
``plain_text_input`` takes a ``max_length`` of at most 3,000.

When the person submits, the app gets a ``view_submission`` payload
(https://api.slack.com/reference/interaction-payloads/views#view_submission) with the
``view`` as opened, its ``state.values`` (block_id -> action_id -> ``{type, value}``), and
the ``user``; it is delivered and acked like any interaction payload.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .params import ApiError, json_field, required
from .workspace import Identity

TRIGGER_LIFETIME = 3.0
TITLE = 24
MAX_VIEW_BLOCKS = 100
CALLBACK_ID = 255
PRIVATE_METADATA = 3000
LABEL = 2000
INPUT_MAX_LENGTH = 3000


@dataclass
class OpenView:
    """A modal a person has in front of them."""

    id: str
    user: str
    view: dict[str, Any]
    hash: str = field(default_factory=lambda: f"{int(time.time())}.{uuid.uuid4().hex[:8]}")


def _plain(value: Any, *, limit: int) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") == "plain_text"
        and 1 <= len(str(value.get("text") or "")) <= limit
    )


def check_modal(view: Any) -> None:
    """Refuse a view Slack would refuse (see the module's docstring)."""
    if not isinstance(view, dict) or view.get("type") != "modal":
        raise ApiError("invalid_arguments")
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
        raise ApiError("invalid_arguments")
    if not _plain(view.get("title"), limit=TITLE):
        raise ApiError("invalid_arguments")
    for key in ("submit", "close"):
        if key in view and not _plain(view[key], limit=TITLE):
            raise ApiError("invalid_arguments")
    has_input = False
    for block in blocks:
        if not isinstance(block, dict):
            raise ApiError("invalid_arguments")
        if block.get("type") == "input":
            has_input = True
            element = block.get("element")
            if not _plain(block.get("label"), limit=LABEL) or not isinstance(element, dict):
                raise ApiError("invalid_arguments")
            maximum = element.get("max_length")
            if maximum is not None and not (
                isinstance(maximum, int) and 1 <= maximum <= INPUT_MAX_LENGTH
            ):
                raise ApiError("invalid_arguments")
    if has_input and "submit" not in view:
        raise ApiError("invalid_arguments")
    if len(str(view.get("callback_id") or "")) > CALLBACK_ID:
        raise ApiError("invalid_arguments")
    if len(str(view.get("private_metadata") or "")) > PRIVATE_METADATA:
        raise ApiError("invalid_arguments")


class Views:
    """The trigger_ids interactions handed out, and the modals opened with them."""

    def __init__(self, *, identity: Identity, clock: Callable[[], float] = time.monotonic) -> None:
        self._identity = identity
        self._clock = clock
        self._triggers: dict[str, tuple[str, float]] = {}
        self.opened: list[OpenView] = []

    def issued(self, trigger_id: str, *, user: str) -> None:
        """An interaction payload carrying ``trigger_id`` went to the app for ``user``."""
        self._triggers[trigger_id] = (user, self._clock())

    def open(self, params: dict[str, Any]) -> dict[str, Any]:
        """The ``views.open`` method."""
        trigger = required(params, "trigger_id", error="invalid_trigger_id")
        issued = self._triggers.get(trigger)
        if issued is None:
            raise ApiError("invalid_trigger_id" if trigger else "invalid_arguments")
        user, at = issued
        if at < 0:
            raise ApiError("exchanged_trigger_id")
        if self._clock() - at > TRIGGER_LIFETIME:
            raise ApiError("expired_trigger_id")
        view = json_field(params, "view")
        check_modal(view)
        self._triggers[trigger] = (user, -1.0)
        opened = OpenView(id=f"V{uuid.uuid4().hex[:10].upper()}", user=user, view=dict(view))
        self.opened.append(opened)
        return {"ok": True, "view": self._view_json(opened, values={})}

    def _view_json(self, opened: OpenView, *, values: dict[str, Any]) -> dict[str, Any]:
        identity = self._identity
        return {
            **opened.view,
            "id": opened.id,
            "team_id": identity.team_id,
            "app_id": identity.app_id,
            "bot_id": identity.bot_id,
            "state": {"values": values},
            "hash": opened.hash,
            "root_view_id": opened.id,
            "previous_view_id": None,
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            "private_metadata": str(opened.view.get("private_metadata") or ""),
            "callback_id": str(opened.view.get("callback_id") or ""),
        }

    def submission(
        self, opened: OpenView, *, values: dict[str, str], user_team: str
    ) -> dict[str, Any]:
        """The view_submission payload of ``opened`` filled in with ``values`` (by the
        action_id of each input)."""
        state: dict[str, Any] = {}
        for block in opened.view.get("blocks") or []:
            if block.get("type") != "input":
                continue
            element = block["element"]
            action_id = str(element.get("action_id") or "")
            value = values.get(action_id)
            if value is None and block.get("optional") is not True:
                raise ValueError(f"the modal requires {action_id!r}: Slack would not submit it")
            state[str(block.get("block_id"))] = {
                action_id: {"type": element.get("type"), "value": value}
            }
        identity = self._identity
        user = opened.user
        return {
            "type": "view_submission",
            "team": {"id": identity.team_id, "domain": identity.team_domain},
            "user": {
                "id": user,
                "username": user.lower(),
                "name": user.lower(),
                "team_id": user_team,
            },
            "api_app_id": identity.app_id,
            "token": identity.verification_token,
            "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
            "view": self._view_json(opened, values=state),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
