"""Budgets refuse, where they are declared, what would make them silently never apply."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, get_args

import pytest

from knowrithm_bots.core.limits import CALL_KINDS, SCOPES, Budget, CallKind, Scope

ALL_KINDS = "'post', 'edit', 'delete', 'append', 'typing'"
ALL_SCOPES = "'thread', 'chat', 'group', 'workspace', 'bot'"


def budget(**fields: Any) -> Budget:
    return Budget(**{"scope": "chat", "rate": 1.0, **fields})


def refused(message: str) -> AbstractContextManager[pytest.ExceptionInfo[ValueError]]:
    """Expect ValueError saying exactly ``message``."""
    return pytest.raises(ValueError, match=f"^{re.escape(message)}$")


def test_the_literal_types_and_the_runtime_lists_agree() -> None:
    assert CALL_KINDS == get_args(CallKind) == ("post", "edit", "delete", "append", "typing")
    assert SCOPES == get_args(Scope) == ("thread", "chat", "group", "workspace", "bot")


@pytest.mark.parametrize("scope", SCOPES)
def test_every_known_scope_is_accepted(scope: str) -> None:
    assert budget(scope=scope).scope == scope


@pytest.mark.parametrize("scope", ["chats", "Chat", "per chat", "", "guild"])
def test_an_unknown_scope_is_refused_naming_it_and_the_known_ones(scope: str) -> None:
    with refused(f"Budget scope {scope!r} is not one of {ALL_SCOPES}"):
        budget(scope=scope)


def test_an_unknown_kind_is_refused_naming_it_and_the_known_ones() -> None:
    with refused(f"Budget kind 'edits' is not one of {ALL_KINDS}"):
        budget(kinds=("post", "edits"))


def test_a_kind_given_as_a_bare_string_is_refused() -> None:
    # ("edit") is the string "edit", not a tuple: its letters are no kinds.
    with pytest.raises(ValueError, match=r"Budget kinds must be a tuple such as \('edit',\)"):
        budget(kinds="edit")


def test_kinds_given_as_a_list_become_a_tuple_so_the_budget_stays_hashable() -> None:
    listed = budget(kinds=["post", "edit"])
    assert listed.kinds == ("post", "edit")
    assert hash(listed) == hash(budget(kinds=("post", "edit")))


@pytest.mark.parametrize("kind", CALL_KINDS)
def test_empty_kinds_still_charge_every_call(kind: CallKind) -> None:
    assert budget().charges(kind)


def test_kinds_charge_only_their_calls() -> None:
    edits = budget(kinds=("edit", "append"))
    assert [kind for kind in CALL_KINDS if edits.charges(kind)] == ["edit", "append"]


@pytest.mark.parametrize("field", ["rate", "per"])
@pytest.mark.parametrize("value", [0, -1, -0.5, float("nan"), float("inf"), "1", None, True])
def test_rate_and_period_must_be_positive_numbers(field: str, value: object) -> None:
    with refused(f"Budget {field} must be a positive number, not {value!r}"):
        budget(**{field: value})


@pytest.mark.parametrize("value", [0, -3, 2.5, 1.0, "3", None, True])
def test_burst_must_be_a_positive_whole_number(value: object) -> None:
    with refused(f"Budget burst must be a positive whole number, not {value!r}"):
        budget(burst=value)


def test_small_positive_numbers_are_budgets() -> None:
    slow = budget(rate=0.25, per=60, burst=1)
    assert (slow.rate, slow.per, slow.burst) == (0.25, 60, 1)


def test_changing_a_budget_checks_it_again() -> None:
    with pytest.raises(ValueError, match="Budget rate must be a positive number, not 0"):
        replace(budget(), rate=0)
