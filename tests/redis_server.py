"""A real redis-server on a free loopback port, for the tests of the Redis store.

Where redis-server is not installed the tests that need it skip, unless
KNOWRITHM_BOTS_REQUIRE_REDIS=1 (CI sets it), where they fail saying so.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.support import free_port

REQUIRE_ENV = "KNOWRITHM_BOTS_REQUIRE_REDIS"
# Nothing written to disk: the tests' data dies with the server.
NO_PERSISTENCE = ("--save", "", "--appendonly", "no")
# Every write on disk before Redis answers it: nothing acknowledged is lost to a kill -9.
FULL_PERSISTENCE = ("--save", "", "--appendonly", "yes", "--appendfsync", "always")


def redis_server_binary() -> str:
    """The redis-server to run; skips the test (fails it where Redis is required) if none."""
    found = shutil.which("redis-server")
    if found is not None:
        return found
    reason = "redis-server is not installed (apt-get install redis-server), so Redis tests skip"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason.split(',')[0]}", pytrace=False)
    pytest.skip(reason)


class RedisServer:
    """One redis-server process in its own directory; can be killed and started again on the
    same port and directory, as an operator's restart would."""

    def __init__(self, *, binary: str, folder: Path, options: Sequence[str]) -> None:
        self.binary = binary
        self.folder = folder
        self.options = tuple(options)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, within: float = 10.0) -> None:
        command = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.folder),
            "--daemonize", "no",
            "--logfile", str(self.folder / "redis.log"),
            *self.options,
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + within
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server did not start on port {self.port}:\n{log}")
            time.sleep(0.02)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                # Any reply will do: one that wants a password answers -NOAUTH.
                return conn.recv(16)[:1] in (b"+", b"-")
        except OSError:
            return False

    def kill(self) -> None:
        """kill -9: no shutdown save, connections cut as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def prefix(self) -> str:
        """A key prefix of its own, so tests sharing this server never see each other's keys."""
        return f"test-{uuid.uuid4().hex[:12]}:"


def started_server(*, folder: Path, options: Sequence[str] = NO_PERSISTENCE) -> RedisServer:
    server = RedisServer(binary=redis_server_binary(), folder=folder, options=options)
    server.start()
    return server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for this pytest process (each xdist worker has its own)."""
    binary = redis_server_binary()
    with tempfile.TemporaryDirectory(prefix="knowrithm-redis-") as folder:
        server = RedisServer(binary=binary, folder=Path(folder), options=NO_PERSISTENCE)
        server.start()
        try:
            yield server
        finally:
            server.stop()
