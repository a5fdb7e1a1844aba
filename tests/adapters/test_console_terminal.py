"""The console adapter on a real (pseudo) terminal: stop gives the terminal back as found."""

from __future__ import annotations

import os
import pty
import termios
import threading
from typing import TextIO

from knowrithm_bots.adapters.console import ConsoleAdapter
from tests.support import NullSink


def _keyboard_and_screen(fd: int) -> tuple[TextIO, TextIO]:
    """Text streams on the terminal ``fd``; closing them leaves ``fd`` open."""
    keyboard = open(fd, encoding="utf-8", closefd=False)  # noqa: SIM115 - the caller closes it
    screen = open(fd, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    return keyboard, screen


async def test_stop_mid_answer_gives_the_terminal_back_as_start_found_it() -> None:
    leader, follower = pty.openpty()
    attrs = termios.tcgetattr(follower)
    # The user's own choice (stty -echo, or a tool driving the terminal): hiding the echo
    # during an answer and then stopping must leave it as it was, not switch echo on.
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(follower, termios.TCSANOW, attrs)
    before = termios.tcgetattr(follower)
    keys, screen = _keyboard_and_screen(follower)
    try:
        adapter = ConsoleAdapter(stdin=keys, stdout=screen)
        await adapter.start(sink=NullSink())
        await adapter.post(thread="console:local", text="half an ans")
        await adapter.stop()
        assert termios.tcgetattr(follower) == before
    finally:
        os.close(leader)  # the reader thread's readline now fails and the thread ends
        for thread in threading.enumerate():
            if thread.name == "console stdin":
                thread.join(timeout=5)
        keys.close()
        screen.close()
        os.close(follower)
