"""Small helpers several test packages share."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
from collections.abc import Callable
from pathlib import Path

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, StoredMessage
from knowrithm_bots.core.events import Inbound, Reaction

# Below the usual ephemeral ranges (Linux 32768-60999, macOS and Windows 49152-65535).
_FIXED_PORTS = range(20000, 32768)
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")

# Hosts every client must reach directly; test traffic never goes through a proxy.
LOOPBACK_NO_PROXY = "127.0.0.1,localhost"


def is_proxy_variable(name: str) -> bool:
    """True for HTTP_PROXY, https_proxy, ALL_PROXY, no_proxy ...: any case, any scheme."""
    return name.lower().endswith("_proxy")


def env_without_proxies() -> dict[str, str]:
    """A copy of this process's environment for a subprocess.

    Every proxy variable is dropped, whatever its case, and loopback is named as direct for
    any library that still looks for a proxy elsewhere.
    """
    env = {name: value for name, value in os.environ.items() if not is_proxy_variable(name)}
    env["NO_PROXY"] = env["no_proxy"] = LOOPBACK_NO_PROXY
    return env


def stored_replies(
    server: LocalKnowrithm, *, conversation: str | None = None
) -> list[StoredMessage]:
    """The assistant messages ``server`` stored: in ``conversation``, or in every conversation
    (in the order they started, each oldest first)."""
    conversations = (
        [server.state.messages[conversation]]
        if conversation is not None
        else list(server.state.messages.values())
    )
    return [m for messages in conversations for m in messages if m.role == "assistant"]


async def eventually(
    check: Callable[[], bool], *, within: float = 8.0, what: str = "condition"
) -> None:
    """Wait until ``check()`` holds, polling briefly; fail the test after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.02)


class NullSink:
    """An event sink that drops everything, for adapters started only to be called."""

    async def on_message(self, event: Inbound) -> None:
        return None

    async def on_reaction(self, event: Reaction) -> None:
        return None

    async def on_notice(self, *, thread: str, text: str, reply_to: str | None = None) -> None:
        return None


class CollectLogs(logging.Handler):
    """Keeps each record as formatted text, traceback included, as a log file would show it."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


def free_port() -> int:
    """A loopback TCP port that is free now, for a server that cannot be told to bind port 0.

    Prefer binding port 0 and reading the port back: this is for listeners whose port must
    be known before they start (a webhook URL). The port comes from outside the kernel's
    ephemeral range, so no port-0 bind or outgoing connection can be handed it between this
    check and the server's own bind.
    """
    ephemeral = _ephemeral_ports()
    candidates = [port for port in _FIXED_PORTS if port not in ephemeral]
    for port in random.sample(candidates, k=min(len(candidates), 200)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    # No room outside the ephemeral range on this machine: fall back to the kernel's pick.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ephemeral_ports() -> range:
    try:
        low, high = (int(part) for part in _EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        return range(49152, 65536)
    return range(low, high + 1)
