"""The sqlite file behind a store: opened on demand, reopened when it was replaced, restored
when it was deleted while open."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from pathlib import Path

from knowrithm_bots.core.errors import StoreError

log = logging.getLogger("knowrithm_bots.core.store")


def create_table_sql(table: str) -> str:
    # The layout sqlitedict uses, so files stay readable by it and by older versions.
    quoted = table.replace('"', '""')
    return f'CREATE TABLE IF NOT EXISTS "{quoted}" (key TEXT PRIMARY KEY, value BLOB)'


# What sqlite's primary error codes mean for the person who runs the bot.
_CAUSES = {
    "SQLITE_READONLY": "is read-only",
    "SQLITE_FULL": "cannot grow: its disk is full",
    "SQLITE_CANTOPEN": "cannot be opened (is its folder read-only or gone?)",
    "SQLITE_IOERR": "cannot be read or written",
    "SQLITE_BUSY": "is locked by another program",
    "SQLITE_LOCKED": "is locked by another program",
    "SQLITE_NOTADB": "cannot be opened as a sqlite database",
    "SQLITE_CORRUPT": "is damaged",
}


def store_error(path: Path, exc: Exception) -> StoreError:
    """One sentence naming the file, what is wrong with it, and sqlite's own words."""
    name = getattr(exc, "sqlite_errorname", "")
    cause = next((c for code, c in _CAUSES.items() if name.startswith(code)), "failed")
    return StoreError(f"the store file {path} {cause} ({exc})")


class SqliteFile:
    """The connection to whatever sqlite file is at ``path`` now; used by one thread only.

    Before each use the path is checked against the file that was opened:

    - replaced by another file (restored from a backup, recreated): the new one is opened;
    - deleted: the open connection can still read the deleted file, so it is copied back to
      ``path`` (nothing stored is lost) and opened there;
    - its folder gone (an unmounted volume): StoreError, until the folder is back.

    After a failed statement call ``failed``: the connection is dropped and the next use
    opens the file afresh, which creates the table again in a file truncated to nothing and
    writes again to a file that had only opened read-only.
    """

    def __init__(self, *, path: Path, table: str, busy_timeout: float) -> None:
        self._path = path
        self._table = table
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int] | None = None
        self._opened = False

    def connection(self) -> sqlite3.Connection:
        if self._conn is not None:
            self._check_still_there()
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def failed(self) -> None:
        """A statement failed: reopen before the next one, unless the file was deleted (the
        open connection is then the only copy, kept to write it back)."""
        if self._path.exists():
            self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        self._identity = None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _check_still_there(self) -> None:
        try:
            status = os.stat(self._path)
        except FileNotFoundError:
            self._restore()
            return
        if (status.st_dev, status.st_ino) != self._identity:
            log.warning(
                "the store file %s was replaced by another file; using that one", self._path
            )
            self.close()

    def _restore(self) -> None:
        folder = self._path.parent
        if not folder.is_dir():
            raise StoreError(f"the folder of the store file {self._path} has vanished")
        assert self._conn is not None
        partial = self._path.with_name(self._path.name + ".restoring")
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        try:
            with contextlib.closing(sqlite3.connect(partial)) as copy:
                self._conn.backup(copy)
            # A link, not a rename: a file someone put back meanwhile is not overwritten.
            with contextlib.suppress(FileExistsError):
                os.link(partial, self._path)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(
                f"the store file {self._path} was deleted and could not be written back ({exc})"
            ) from exc
        finally:
            with contextlib.suppress(OSError):
                partial.unlink()
        log.error(
            "the store file %s was deleted while the bot was running; it was written back "
            "from the copy still open, so nothing stored was lost",
            self._path,
        )
        self.close()

    def _open(self) -> sqlite3.Connection:
        if not self._opened:
            self._path.parent.mkdir(parents=True, exist_ok=True)
        elif not self._path.parent.is_dir():
            # Not created again: it may be a volume's mount point, to be mounted back.
            raise StoreError(f"the folder of the store file {self._path} has vanished")
        try:
            conn = sqlite3.connect(
                self._path,
                timeout=self._busy_timeout,
                isolation_level=None,  # transactions are begun and ended explicitly
                check_same_thread=False,  # one worker thread, though not the creating one
            )
        except sqlite3.Error as exc:
            raise store_error(self._path, exc) from exc
        try:
            conn.execute("PRAGMA schema_version")  # fails on a file that is not sqlite
            # The OS has every committed write, so a crash of the bot loses nothing; only a
            # crash of the machine could, and not syncing keeps writes fast (as sqlitedict).
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(create_table_sql(self._table))
            status = os.stat(self._path)
        except (sqlite3.Error, OSError) as exc:
            conn.close()
            raise store_error(self._path, exc) from exc
        self._identity = (status.st_dev, status.st_ino)
        self._opened = True
        return conn
