"""``python -m benchmarks.telegram_bot_budget [--answers N] [--out FILE]``.

1,000 people ask the Telegram bot a question at the same moment, each in a private chat:
the real adapter, python-telegram-bot and the whole bot run against the project's Telegram
emulator, which enforces the per-bot limit as Telegram is observed to, 30 calls within any
one second. The run counts the 429s, once with the bot budget the adapter declared before
(burst 30 + 30/s, which lets up to 60 calls into one second) and once with the shipped one.
It writes a Markdown table to ``benchmarks/results/telegram_bot_budget.md`` (or ``--out``)
and exits with status 1 when the shipped budget meets a 429 or leaves a question unanswered.
Takes about three minutes for 1,000 answers.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from pathlib import Path
from typing import ClassVar

from knowrithm_bots.adapters.telegram import TelegramAdapter
from knowrithm_bots.core.adapter import Budget, Limits
from tests.adapters.telegram.flood_run import FloodRun, concurrent_answers

RESULTS = Path(__file__).parent / "results" / "telegram_bot_budget.md"


def _with_bot_budget(budget: Budget) -> Limits:
    others = tuple(b for b in TelegramAdapter.limits.budgets if b.scope != "bot")
    return dataclasses.replace(TelegramAdapter.limits, budgets=(*others, budget))


class PreviousBudgetAdapter(TelegramAdapter):
    """The adapter as it declared the bot budget before: a full burst of a second's worth."""

    limits: ClassVar[Limits] = _with_bot_budget(
        Budget(scope="bot", rate=30.0, per=1.0, burst=30, shared_backoff=False)
    )


def _row(name: str, budget: Budget, run: FloodRun) -> str:
    declared = f"burst {budget.burst} + {budget.rate / budget.per:g}/s"
    return (
        f"| {name} | {declared} | {run.answered}/{run.answers} | {run.rate_limited} | "
        f"{run.limited_calls} | {run.busiest_second} | {run.seconds:.0f} s |"
    )


async def _main(answers: int) -> tuple[str, FloodRun]:
    rows = []
    shipped_run: FloodRun | None = None
    for name, cls in (("before", PreviousBudgetAdapter), ("shipped", TelegramAdapter)):
        (budget,) = [b for b in cls.limits.budgets if b.scope == "bot"]
        run = await concurrent_answers(count=answers, adapter_class=cls, within=600.0)
        rows.append(_row(name, budget, run))
        print(rows[-1], flush=True)
        shipped_run = run
    assert shipped_run is not None
    table = "\n".join(
        [
            f"# Telegram: {answers} concurrent answers against a rolling one-second limit",
            "",
            "Each answer is one private chat; the emulator refuses the 31st call within any",
            "one second with a 429. Calls: sendMessage, editMessageText and",
            "sendMessageDraft that went through; busiest second: the most of them the",
            "emulator accepted within any one second.",
            "",
            "| bot budget | declared | answered | 429s | calls | busiest second | took |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    return table, shipped_run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    table, shipped = asyncio.run(_main(args.answers))
    args.out.write_text(table)
    print(f"wrote {args.out}")
    ok = shipped.rate_limited == 0 and shipped.answered == shipped.answers
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
