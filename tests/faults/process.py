"""The real ``knowrithm-bots run`` process for fault tests: start, wait until ready, kill -9,
SIGTERM within a limit, restart on the same config and store, and read what it logged."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

from tests.support import env_without_proxies

BIN = Path(sys.executable).parent
READY_WITHIN = 20.0
_TICKS = os.sysconf("SC_CLK_TCK")


class BotProcess:
    """One bot, run as its own process, perhaps several times in a row (one run after another
    on the same config file, so the same store). Each run logs to a file of its own."""

    def __init__(
        self,
        *,
        config: Path,
        adapters: Sequence[str],
        folder: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.config = config
        self.adapters = tuple(adapters)
        self.folder = folder
        self.env = {**env_without_proxies(), **(env or {})}
        self.runs = 0
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "the bot is not running"
        return self.process.pid

    def log_path(self, run: int | None = None) -> Path:
        return self.folder / f"bot-{run or self.runs}.log"

    def _output_path(self, run: int) -> Path:
        return self.folder / f"bot-{run}.out"

    def log(self, run: int | None = None) -> str:
        """What one run (default: the latest) logged, and wrote to stdout and stderr."""
        run = run or self.runs
        texts = [
            path.read_text(encoding="utf-8", errors="replace")
            for path in (self.log_path(run), self._output_path(run))
            if path.exists()
        ]
        return "\n".join(texts)

    def all_logs(self) -> str:
        return "\n".join(self.log(run) for run in range(1, self.runs + 1))

    async def start(self, *, ready: Callable[[], bool], within: float = READY_WITHIN) -> None:
        """Start a new run; return once ``ready()`` holds (the adapter reached its platform).

        A run that exits first, or is not ready in time, fails the test with its log.
        """
        assert self.process is None or self.process.returncode is not None, "already running"
        self.runs += 1
        with self._output_path(self.runs).open("wb") as output:
            self.process = await asyncio.create_subprocess_exec(
                str(BIN / "knowrithm-bots"),
                "--log-level",
                os.environ.get("FAULT_LOG_LEVEL", "INFO"),
                "--log-file",
                str(self.log_path()),
                "run",
                *self.adapters,
                "--config",
                str(self.config),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                env=self.env,
                start_new_session=True,
            )
        deadline = time.monotonic() + within
        while not ready():
            if self.process.returncode is not None:
                raise AssertionError(
                    f"the bot exited ({self.process.returncode}) before it was ready:\n"
                    + self.log()[-3000:]
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the bot was not ready within {within:g} s:\n" + self.log()[-3000:]
                )
            await asyncio.sleep(0.02)

    async def kill(self) -> None:
        """kill -9: no handler runs, nothing is flushed or finished."""
        process = self.process
        assert process is not None and process.returncode is None, "the bot is not running"
        process.send_signal(signal.SIGKILL)
        await process.wait()

    async def terminate(self, *, within: float) -> tuple[int, float]:
        """SIGTERM; the exit status and the seconds it took. Fails the test (after a kill
        -9) when the process is still running after ``within`` seconds."""
        process = self.process
        assert process is not None and process.returncode is None, "the bot is not running"
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        try:
            status = await asyncio.wait_for(process.wait(), within)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(
                f"SIGTERM did not stop the bot within {within:g} s:\n" + self.log()[-3000:]
            ) from None
        return status, time.monotonic() - sent

    async def exit_status(self, *, within: float) -> int:
        """Wait for the run to end by itself; its exit status."""
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), within)

    def cpu_seconds(self) -> float:
        """User plus system CPU time the running process has used so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        # The command name (field 2) may hold spaces: count fields after its closing ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        utime, stime = int(fields[11]), int(fields[12])
        return (utime + stime) / _TICKS

    async def stop(self) -> None:
        """End whatever still runs (a SIGSTOPped process included) at the end of a test."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGCONT)
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def bot_process(
    *,
    config: Path,
    adapters: Sequence[str],
    folder: Path,
    env: dict[str, str] | None = None,
) -> AsyncIterator[BotProcess]:
    """A `BotProcess` that is ended, whatever happened, when the block ends."""
    bot = BotProcess(config=config, adapters=adapters, folder=folder, env=env)
    try:
        yield bot
    finally:
        await bot.stop()


async def until(check: Callable[[], bool], *, within: float) -> bool:
    """Poll ``check`` for up to ``within`` seconds; whether it held (never fails the test)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True
