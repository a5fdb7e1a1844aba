"""Real disk faults for store tests: a file or folder nobody may write, even root; a full disk.

Tests run as root, for whom file modes do not stop writes: the immutable attribute
(``chattr +i``) does, and a small tmpfs mount fills up for real. Where this machine cannot
do either, the tests that need it are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=30)


def _wrote(fd: int) -> bool:
    """Append a block; False once the disk is full."""
    try:
        os.write(fd, b"\0" * 1024)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        return False
    return True


class Disk:
    """Faults made on purpose, each undone by ``restore_all`` whatever the test did."""

    def __init__(self) -> None:
        self._immutable: list[Path] = []
        self._mounts: list[Path] = []

    def read_only(self, path: Path) -> None:
        """Make ``path`` immutable: no write, no delete, and for a folder no new file."""
        done = _run("chattr", "+i", str(path))
        if done.returncode != 0:
            pytest.skip(f"cannot make a file read-only for root here: {done.stderr.strip()}")
        self._immutable.append(path)

    def writable(self, path: Path) -> None:
        done = _run("chattr", "-i", str(path))
        assert done.returncode == 0, done.stderr
        self._immutable.remove(path)

    def small_disk(self, folder: Path, *, size: str = "256k") -> Path:
        """Mount a tmpfs of ``size`` on ``folder`` (created); the folder."""
        folder.mkdir(parents=True, exist_ok=True)
        done = _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small disk here: {done.stderr.strip()}")
        self._mounts.append(folder)
        return folder

    def fill(self, folder: Path) -> Path:
        """Write a file into ``folder`` until its disk is full; the file."""
        filler = folder / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while _wrote(fd):
                pass
        finally:
            os.close(fd)
        return filler

    def restore_all(self) -> None:
        for path in reversed(self._immutable):
            _run("chattr", "-i", str(path))
        self._immutable.clear()
        for folder in reversed(self._mounts):
            # Lazy: a bot process that still holds a file there must not keep it mounted.
            _run("umount", "-l", str(folder))
        self._mounts.clear()


@contextlib.contextmanager
def disk_faults() -> Iterator[Disk]:
    disk = Disk()
    try:
        yield disk
    finally:
        disk.restore_all()
