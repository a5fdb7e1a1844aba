"""The real ``knowrithm-bots`` command on a pseudo-terminal, driven as a person would drive it.

The terminal is the child's controlling terminal, so typing Ctrl-C (``\\x03``) makes the
kernel send SIGINT, exactly as in a shell; stdout and stderr both go to the screen, so a
log line that would land in the chat is on the screen too.
"""

from __future__ import annotations

import asyncio
import os
import pty
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.support import env_without_proxies

BIN = Path(sys.executable).parent
CTRL_C = b"\x03"
CTRL_D = b"\x04"

# Makes the terminal on fd 0 the controlling terminal of this new session, then becomes the
# command: what a shell does for a foreground job.
_TAKE_TERMINAL = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


class Terminal:
    """A running command and everything it has written to its screen."""

    def __init__(self, *, master: int, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._master = master
        self.screen = b""
        self._grew = asyncio.Event()
        self._closed = asyncio.Event()
        os.set_blocking(master, False)
        asyncio.get_running_loop().add_reader(master, self._read)

    @classmethod
    async def start(cls, *args: str, cwd: Path | None = None) -> Self:
        master, follower = pty.openpty()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                _TAKE_TERMINAL,
                str(BIN / "knowrithm-bots"),
                *args,
                stdin=follower,
                stdout=follower,
                stderr=follower,
                start_new_session=True,
                cwd=cwd,
                env=env_without_proxies(),
            )
        finally:
            os.close(follower)
        return cls(master=master, process=process)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if not self._closed.is_set():
            asyncio.get_running_loop().remove_reader(self._master)
        os.close(self._master)

    @property
    def text(self) -> str:
        return self.screen.decode("utf-8", errors="replace")

    def type(self, keys: bytes) -> None:
        os.write(self._master, keys)

    async def wait_for(self, check: Callable[[str], bool], *, within: float = 30) -> None:
        """Wait until ``check`` holds for the screen; fail showing the screen if it never does."""
        try:
            async with asyncio.timeout(within):
                while not check(self.text):
                    self._grew.clear()
                    await self._grew.wait()
        except TimeoutError:
            raise AssertionError(
                f"the screen never showed what was expected:\n{self.text!r}"
            ) from None

    async def exit_status(self, *, within: float) -> int:
        """The exit status, once the command ended and its last output was read."""
        try:
            code = await asyncio.wait_for(self.process.wait(), within)
            await asyncio.wait_for(self._closed.wait(), 5)
        except TimeoutError:
            raise AssertionError(
                f"the command did not end within {within}s; screen:\n{self.text!r}"
            ) from None
        return code

    def _read(self) -> None:
        try:
            chunk = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""  # EIO: every holder of the terminal's other side has closed it
        if chunk:
            self.screen += chunk
        else:
            asyncio.get_running_loop().remove_reader(self._master)
            self._closed.set()
        self._grew.set()
