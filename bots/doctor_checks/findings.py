"""What a doctor check reports: one sentence each, saying what is wrong and how to fix it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["ok", "warning", "error"]

# A platform that accepts the connection and never answers must not hold the doctor up.
CHECK_DEADLINE = 10.0


@dataclass(frozen=True)
class Finding:
    """One result of a check: ``error`` blocks the bot, ``warning`` makes part of it fail
    silently, ``ok`` says what was proved to work."""

    where: str
    severity: Severity
    text: str

    def line(self) -> str:
        return f"{self.severity}: {self.where}: {self.text}"


class Findings:
    """The findings of one check, in the order they were made."""

    def __init__(self, *, where: str) -> None:
        self.where = where
        self.items: list[Finding] = []

    def ok(self, text: str) -> None:
        self.items.append(Finding(where=self.where, severity="ok", text=text))

    def warning(self, text: str) -> None:
        self.items.append(Finding(where=self.where, severity="warning", text=text))

    def error(self, text: str) -> None:
        self.items.append(Finding(where=self.where, severity="error", text=text))


Check = Callable[[Findings], Awaitable[None]]


async def run_check(
    check: Check, *, where: str, address_key: str, deadline: float = CHECK_DEADLINE
) -> list[Finding]:
    """The findings of ``check``; one error naming ``address_key`` if it did not finish in
    time (what it found until then is kept)."""
    findings = Findings(where=where)
    try:
        async with asyncio.timeout(deadline):
            await check(findings)
    except TimeoutError:
        findings.error(
            f"no answer within {deadline:g} seconds: check {address_key} and the network"
        )
    return findings.items
