"""What a platform allows and offers, as data: rate budgets, limits and optional capabilities."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

CallKind = Literal["post", "edit", "delete", "append", "typing"]
"""A platform call a budget can charge; ``"append"`` is a native stream's append or finish,
``"typing"`` a typing notice (the engine sends one only when the budgets have room to spare)."""

Scope = Literal["thread", "chat", "group", "workspace", "bot"]
"""What a budget is shared by; ``Adapter.budget_keys`` names the one a thread belongs to."""

CALL_KINDS: tuple[CallKind, ...] = get_args(CallKind)
SCOPES: tuple[Scope, ...] = get_args(Scope)


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(repr(value) for value in values)


def _is_positive(value: object, *, whole: bool) -> bool:
    if isinstance(value, bool):
        return False
    if whole:
        return isinstance(value, int) and value > 0
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


@dataclass(frozen=True, kw_only=True)
class Budget:
    """A platform rate budget: at most ``rate`` calls per ``per`` seconds in one ``scope``.

    ``scope`` names what the budget is shared by (a ``Scope``); the adapter's
    ``budget_keys`` says which chat, workspace, ... a thread belongs to, and a budget whose
    scope has no key for a thread does not apply to it (Telegram's group budget in a private
    chat). ``burst`` calls may go back to back after a quiet spell.

    ``kinds`` limits the budget to some calls (``CallKind``s); empty means every call
    (Slack's ``chat.update`` Tier 3 is ``kinds=("edit",)``). ``shared_backoff`` says whether
    a 429 on a call charged here pauses the whole scope for ``retry_after``: set it to False
    for wide budgets (the whole bot) whose 429s usually belong to a narrower scope. Such a
    budget still backs off when calls through two different narrower scopes are refused
    within a second (``streaming.budgets.CORROBORATION_WINDOW``).

    Construction raises ``ValueError`` for a scope or kind that is not a known one, and for
    a ``rate``, ``per`` or ``burst`` (a whole number) that is not positive.
    """

    scope: Scope
    rate: float
    per: float = 1.0
    burst: int = 1
    kinds: tuple[CallKind, ...] = ()
    shared_backoff: bool = True

    def __post_init__(self) -> None:
        # Adapters from third parties are not type-checked by us, and a misspelt scope or
        # kind would make the budget silently never apply: refuse it where it is declared.
        if self.scope not in SCOPES:
            raise ValueError(f"Budget scope {self.scope!r} is not one of {_one_of(SCOPES)}")
        kinds: object = self.kinds
        if not isinstance(kinds, tuple | list):
            raise ValueError(f"Budget kinds must be a tuple such as ('edit',), not {kinds!r}")
        for kind in kinds:
            if kind not in CALL_KINDS:
                raise ValueError(f"Budget kind {kind!r} is not one of {_one_of(CALL_KINDS)}")
        # A list would leave the budget unhashable, and the pacer keys its buckets by budget.
        object.__setattr__(self, "kinds", tuple(kinds))
        for name, whole in (("rate", False), ("per", False), ("burst", True)):
            value = getattr(self, name)
            if not _is_positive(value, whole=whole):
                number = "a positive whole number" if whole else "a positive number"
                raise ValueError(f"Budget {name} must be {number}, not {value!r}")

    @property
    def shared(self) -> bool:
        """Whether several bot instances may spend this budget at once, so that with a
        shared store (Redis) it is kept there: every scope but ``"thread"``. One thread's
        calls come from one instance at a time, but a chat's threads, a group, a workspace
        and the bot are served by all of them together."""
        return self.scope != "thread"

    def charges(self, kind: CallKind) -> bool:
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

    ``typing_shows_for`` is how many seconds the platform shows one typing notice: while an
    answer shows nothing yet, the engine repeats the notice a little before it lapses.
    """

    max_message_length: int
    edit_interval: float = 1.0
    budgets: tuple[Budget, ...] = ()
    typing_shows_for: float = 5.0


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    """Optional features; the core only calls what is declared."""

    edit: bool = True
    reactions: bool = False
    typing: bool = False
    native_stream: bool = False
    delete: bool = False
