"""The console adapter passes the conformance kit (and the harness's terminal reads right)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from knowrithm_bots.core.testing.conformance import AdapterConformance
from tests.core.conformance.console_harness import ConsoleHarness, Terminal


class TestConsoleAdapter(AdapterConformance):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[ConsoleHarness]:
        # Async, so it is torn down inside the loop: closing the keyboard ends the adapter's
        # reader thread before the loop waits for its executor.
        harness = ConsoleHarness()
        yield harness
        harness.close()


def test_terminal_wraps_and_redraws_like_a_screen() -> None:
    screen = Terminal(width=10)
    screen.write("agent › 0123456789abc")
    assert screen.lines() == ["agent › 0123456789abc"]
    # Up two rows, to column 8, clear and write: the message is replaced, not appended.
    screen.write("\x1b[2A\r\x1b[8C\x1b[Jnew\n")
    screen.write("you › ")
    assert screen.lines() == ["agent › new", "you › "]
