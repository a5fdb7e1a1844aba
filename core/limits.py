"""What a platform allows and offers, as data: rate budgets, limits and optional capabilities."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Budget:
    """A platform rate budget: at most ``rate`` calls per ``per`` seconds in one ``scope``.

    ``scope`` names what the budget is shared by, e.g. ``"thread"``, ``"chat"``,
    ``"group"``, ``"workspace"`` or ``"bot"``; the adapter's ``budget_keys`` says which chat,
    workspace, ... a thread belongs to, and a budget whose scope has no key for a thread
    does not apply to it (Telegram's group budget in a private chat). ``burst`` calls may go
    back to back after a quiet spell.

    ``kinds`` limits the budget to some calls: ``"post"``, ``"edit"``, ``"delete"``,
    ``"append"`` (native stream appends and finishes); empty means every call (Slack's
    ``chat.update`` Tier 3 is ``kinds=("edit",)``). ``shared_backoff`` says whether a 429 on
    a call charged here pauses the whole scope for ``retry_after``: set it to False for
    wide budgets (the whole bot) whose 429s usually belong to a narrower scope.
    """

    scope: str
    rate: float
    per: float = 1.0
    burst: int = 1
    kinds: tuple[str, ...] = ()
    shared_backoff: bool = True

    def charges(self, kind: str) -> bool:
        """Whether a call of ``kind`` counts against this budget."""
        return not self.kinds or kind in self.kinds


@dataclass(frozen=True, kw_only=True)
class Limits:
    """What the platform allows, as data the reply engine paces by.

    ``max_message_length`` is in the unit ``Adapter.measure`` returns. ``edit_interval`` is
    the minimum number of seconds between two edits of one message (and between two
    appends to one native stream), for a platform that limits edits per message; declare 0
    when the budgets say it all, or a final text may wait for it. ``budgets`` are the
    platform's shared rate budgets: the reply engine's process-wide pacer keeps every
    concurrent reply inside all of them, and never refreshes a message or appends to a
    native stream faster than the pace of the budgets that charge edits.
    """

    max_message_length: int
    edit_interval: float = 1.0
    budgets: tuple[Budget, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """Optional features; the core only calls what is declared."""

    edit: bool = True
    reactions: bool = False
    typing: bool = False
    native_stream: bool = False
    delete: bool = False
