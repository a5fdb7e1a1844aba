"""Calls the public sources spell two ways: send the documented form, fall back once, remember."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from knowrithm_bots.core.errors import KnowrithmError
from knowrithm_bots.core.knowrithm.retry import Safety
from knowrithm_bots.core.knowrithm.session import Answer, HttpSession

# Only these say "no such route or method here"; any other answer came from the operation
# itself, and sending the other form then could repeat something the service already did.
_WRONG_FORM = frozenset({404, 405})


@dataclass(frozen=True, kw_only=True)
class Form:
    """One spelling of an operation: a method and a path template with one ``{id}``."""

    method: str
    path: str

    def path_for(self, ident: str) -> str:
        """The path with ``ident`` escaped into it."""
        return self.path.format(id=quote(ident, safe=""))


class FormChoice:
    """Which of two forms of one operation the deployment takes, learnt on the first success.

    Until a form has succeeded, the first form is sent and, on a 404 or 405 only, the
    alternative once. The form that succeeds is then the only one sent for the life of this
    object (the client keeps one per process), so a later 404 means an unknown id, not a
    wrong form. Concurrent first calls may each probe; each request is still sent at most
    once per form, and a refused form did nothing.
    """

    def __init__(self, *, first: Form, alternative: Form) -> None:
        self.first = first
        self.alternative = alternative
        self.taken: Form | None = None

    async def call(
        self,
        *,
        http: HttpSession,
        ident: str,
        action: str,
        safety: Safety,
        json: Mapping[str, Any],
    ) -> Answer:
        """Send the operation for ``ident``; raise the mapped error as ``HttpSession.call``."""
        if self.taken is not None:
            return await self._send(
                self.taken, http=http, ident=ident, action=action, safety=safety, json=json
            )
        try:
            answer = await self._send(
                self.first, http=http, ident=ident, action=action, safety=safety, json=json
            )
        except KnowrithmError as refused:
            if refused.status not in _WRONG_FORM:
                raise
            try:
                answer = await self._send(
                    self.alternative,
                    http=http,
                    ident=ident,
                    action=action,
                    safety=safety,
                    json=json,
                )
            except KnowrithmError as also:
                if also.status in _WRONG_FORM:
                    # Neither form knows it: the documented form's answer says most.
                    raise refused from None
                raise
            self.taken = self.alternative
            return answer
        self.taken = self.first
        return answer

    @staticmethod
    async def _send(
        form: Form,
        *,
        http: HttpSession,
        ident: str,
        action: str,
        safety: Safety,
        json: Mapping[str, Any],
    ) -> Answer:
        return await http.call(
            method=form.method,
            path=form.path_for(ident),
            action=action,
            safety=safety,
            json=dict(json),
        )


class WireForms:
    """The two-form operations of one client, each remembering what the deployment took."""

    def __init__(self) -> None:
        # knowrithm-py 0.1.4 `ConversationService.update` sends PUT; PATCH is the older
        # reading this project once had, which a deployment may still take.
        self.update_conversation = FormChoice(
            first=Form(method="PUT", path="/v1/conversation/{id}"),
            alternative=Form(method="PATCH", path="/v1/conversation/{id}"),
        )
        # knowrithm-py 0.1.4 `rate_message` posts to the plural prefix; the documented
        # delete and restore calls of a message use the singular one.
        self.rate_message = FormChoice(
            first=Form(method="POST", path="/v1/messages/{id}/rate"),
            alternative=Form(method="POST", path="/v1/message/{id}/rate"),
        )
