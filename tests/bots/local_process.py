"""The `knowrithm-bots local-knowrithm` command as a process of its own, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from tests.support import env_without_proxies

BIN = Path(sys.executable).parent
BANNER = "Local Knowrithm API on "


@contextlib.asynccontextmanager
async def local_knowrithm_process(
    *args: str,
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """Start the command on a free port (port 0: it binds one itself and names it, so no
    other process can take it between a probe and the bind); yield it and its base URL.

    A test may signal the process and read its output itself; whatever is still running
    at the end is resumed (it may be SIGSTOPped) and terminated.
    """
    process = await asyncio.create_subprocess_exec(
        str(BIN / "knowrithm-bots"),
        "local-knowrithm",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env_without_proxies(),
    )
    assert process.stdout is not None
    try:
        banner = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        assert banner.startswith(BANNER), banner
        yield process, banner.removeprefix(BANNER).strip()
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)
                process.terminate()
            await asyncio.wait_for(process.communicate(), 20)
