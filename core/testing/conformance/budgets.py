"""Conformance checks that every declared rate budget can apply: its kinds and its scope."""

from __future__ import annotations

from knowrithm_bots.core.limits import Budget, CallKind, Capabilities
from knowrithm_bots.core.testing.conformance.base import A, B, ConformanceBase, fail
from knowrithm_bots.core.testing.conformance.harness import AdapterHarness
from knowrithm_bots.core.testing.conformance.texts import marker

# The capability without which the reply engine never makes a call of that kind.
_NEEDS: dict[CallKind, str] = {
    "edit": "edit",
    "delete": "delete",
    "append": "native_stream",
    "typing": "typing",
}


def _unmade(kind: CallKind, capabilities: Capabilities) -> str | None:
    """The capability a call of ``kind`` needs and the adapter does not declare, if any."""
    flag = _NEEDS.get(kind)
    if flag is None or getattr(capabilities, flag):
        return None
    return flag


def _named(index: int, budget: Budget) -> str:
    return f"limits.budgets[{index}] ({budget})"


class BudgetChecks(ConformanceBase):
    """A budget that can never charge a call paces nothing: it is a typo or a leftover."""

    async def test_budgets_charge_calls_the_adapter_makes(self, harness: AdapterHarness) -> None:
        cls = type(harness.adapter)
        problems = [
            f"{_named(index, budget)} charges {kind!r} calls, but the adapter never makes "
            f"one: capabilities.{flag} is not set"
            for index, budget in enumerate(cls.limits.budgets)
            for kind in budget.kinds
            if (flag := _unmade(kind, cls.capabilities)) is not None
        ]
        if problems:
            fail("; ".join(problems))

    async def test_budget_scopes_are_keys_the_adapter_gives(self, harness: AdapterHarness) -> None:
        adapter = harness.adapter
        budgets = type(adapter).limits.budgets
        self._require(bool(budgets), "the adapter declares no budgets")
        places = (A, B) if harness.features.places >= 2 else (A,)
        threads: list[str] = []
        async with self._running(harness) as recorder:
            for place in places:
                event = await self._receive(harness, recorder, place=place, text=marker("scope"))
                await adapter.reply_done(thread=event.thread, message_ids=[])
                threads.append(event.thread)
        scopes = {scope for thread in threads for scope in adapter.budget_keys(thread=thread)}
        problems = [
            f"{_named(index, budget)} is shared per {budget.scope!r}, but budget_keys() gives "
            f"no {budget.scope!r} key for any thread the kit saw ({', '.join(threads)}), so it "
            "never applies: return its key from budget_keys(), drop the budget, or let the "
            "harness offer a place where it applies"
            for index, budget in enumerate(budgets)
            if budget.scope not in scopes
        ]
        if problems:
            fail("; ".join(problems))
