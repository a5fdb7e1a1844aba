"""Bot processes behind one endpoint: each on a port of its own, all on one Redis."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from tests.faults.configs import write_config
from tests.faults.process import BotProcess, bot_process
from tests.redis_server import RedisServer


def listening(port: int) -> Callable[[], bool]:
    """Whether something accepts connections on ``port`` (the instance serves its endpoint)."""

    def check() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            return False

    return check


@asynccontextmanager
async def instances(
    tmp_path: Path,
    *,
    adapter: str,
    sections: Sequence[dict[str, Any]],
    ports: Sequence[int],
    server: LocalKnowrithm,
    redis: RedisServer,
) -> AsyncIterator[list[BotProcess]]:
    """Run one ``knowrithm-bots run <adapter>`` per section (its adapter config), all on one
    Redis key prefix and one Knowrithm, answering in turn (``busy: queue``); yield them once
    each listens on its port. Their logs must hold no traceback."""
    prefix = redis.prefix()
    async with AsyncExitStack() as stack:
        bots: list[BotProcess] = []
        for number, section in enumerate(sections):
            folder = tmp_path / f"instance-{number}"
            folder.mkdir()
            config = write_config(
                folder,
                server=server,
                adapters={adapter: section},
                conversations={"busy": "queue"},
                sections={"store": {"backend": "redis", "url": redis.url, "key_prefix": prefix}},
            )
            bots.append(
                await stack.enter_async_context(
                    bot_process(config=config, adapters=[adapter], folder=folder)
                )
            )
        await asyncio.gather(
            *(bot.start(ready=listening(port)) for bot, port in zip(bots, ports, strict=True))
        )
        yield bots
        logs = "\n".join(bot.all_logs() for bot in bots)
        assert "Traceback" not in logs, logs[-5000:]
