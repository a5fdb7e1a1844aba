"""A Store in Redis, for several bot processes sharing one state: atomic writes, leased locks."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import NoReturn, TypeVar
from urllib.parse import unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import AuthenticationError, RedisError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError

from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.log_redaction import Redactor
from knowrithm_bots.core.store.base import JSON
from knowrithm_bots.core.store.expiry import (
    QUARANTINE_PREFIX,
    Stored,
    Unreadable,
    parse,
    unwrap,
    warn_moved,
    warn_unreadable,
    wrap,
)
from knowrithm_bots.core.store.redis_lock import Leases, lease_ms
from knowrithm_bots.core.store.redis_scripts import (
    ACQUIRE,
    DELETE_IF_UNCHANGED,
    RELEASE,
    RENEW,
    WRITE,
)

log = logging.getLogger("knowrithm_bots.core.store")

T = TypeVar("T")

DEFAULT_PREFIX = "knowrithm-bots:"
DEFAULT_TIMEOUT = 5.0
# Lock leases live beside the records, under a kind of key no caller writes.
LEASE_PREFIX = "lease:"
# Keys read per SCAN step and per MGET.
SCAN_BATCH = 500
# A dropped connection (a Redis restart) is retried at once on a fresh one, a refused one a
# few times within a second: a call during an outage fails in about a second, not hangs.
RETRIES = 3
# Connections one store opens at most; calls beyond wait for one to come free.
MAX_CONNECTIONS = 32


def describe(url: str) -> str:
    """The URL as it may be shown: scheme, host, port and database, never the credentials."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    path = parts.path if parts.path not in ("", "/") else ""
    if parts.scheme == "unix":
        return f"unix://{path}"
    return f"{parts.scheme}://{host}{port}{path}"


def _credentials(url: str) -> list[str | None]:
    parts = urlsplit(url)
    return [
        unquote(parts.password) if parts.password else None,
        # The password may also come as a query parameter.
        *(unquote(v) for k, _, v in (p.partition("=") for p in parts.query.split("&")) if v),
    ]


def _glob_escaped(text: str) -> str:
    """``text`` matched literally by SCAN MATCH, whose patterns are globs."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class RedisStore:
    """Store in one Redis database, shared by every bot process pointed at it.

    Records are the JSON the other backends write, ``{"v": value, "exp": time}``, under
    ``key_prefix + key``; a ttl is also a native Redis expiry, so expired records leave
    Redis by themselves. Every read-decide-write step (``add_if_absent``, moving an
    unreadable record aside) is one Lua script, atomic in Redis; expiry is judged with this
    process's clock (``now``), as in the other backends. Locks are leases under
    ``key_prefix + "lease:" + key`` (see ``Leases``). Nothing connects at construction;
    a call while Redis is unreachable raises ``StoreError`` within ``timeout`` seconds, and
    the next call after Redis is back works. The URL's credentials never appear in an error
    or a log line. A standalone Redis (or one reached through a proxy) is expected; the
    scripts touch keys they do not declare, which Redis Cluster refuses.
    """

    def __init__(
        self,
        *,
        url: str,
        key_prefix: str = DEFAULT_PREFIX,
        now: Callable[[], float] = time.time,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._where = describe(url)
        self._redact = Redactor(_credentials(url))
        self._prefix = key_prefix
        self._now = now
        self._timeout = timeout
        # Blocking: a burst of calls waits for a free connection instead of failing.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=timeout,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(ExponentialBackoff(cap=0.25, base=0.02), RETRIES),
        )
        self._client = Redis.from_pool(pool)
        self._write_script = self._client.register_script(WRITE)
        self._delete_if_unchanged = self._client.register_script(DELETE_IF_UNCHANGED)
        self._leases = Leases(
            acquire=self._client.register_script(ACQUIRE),
            renew=self._client.register_script(RENEW),
            release=self._client.register_script(RELEASE),
            call=self._call,
            where=self._where,
        )
        self._closed = False
        self._failure: str | None = None

    # --- talking to Redis -----------------------------------------------------------------

    async def _call(self, request: Callable[[], Awaitable[T]]) -> T:
        """Run one request; a failure becomes one StoreError sentence without credentials."""
        if self._closed:
            raise StoreError(f"the Redis store at {self._where} is closed")
        try:
            async with asyncio.timeout(self._timeout):
                result = await request()
        except TimeoutError:
            self._failed(f"did not answer within {self._timeout:g} s")
        except AuthenticationError:
            self._failed("refused the user name or password in store.url")
        except (RedisConnectionError, OSError) as exc:
            self._failed(f"cannot be reached ({self._redact(str(exc)).rstrip('.')})")
        except RedisError as exc:
            self._failed(f"cannot be used ({self._redact(str(exc)).rstrip('.')})")
        if self._failure is not None:
            log.warning("the Redis store at %s works again", self._where)
            self._failure = None
        return result

    def _failed(self, reason: str) -> NoReturn:
        """Log the start of an outage (or a new reason) as an ERROR, once, then raise.

        Raised without its cause: the client's own exception is not ours to vouch for."""
        message = f"the Redis store at {self._where} {reason}"
        if message != self._failure:
            log.error("%s; messages get a sentence instead of an answer until it works", message)
            self._failure = message
        raise StoreError(message) from None

    def _key(self, key: str) -> str:
        return self._prefix + key

    def _name(self, stored_key: bytes | str) -> str | None:
        """The caller's key for a Redis key, or None for one that is not this store's."""
        try:
            text = stored_key.decode() if isinstance(stored_key, bytes) else stored_key
        except UnicodeDecodeError:
            return None
        return text[len(self._prefix) :] if text.startswith(self._prefix) else None

    async def _write(
        self, mode: str, key: str, *, record: str = "", ttl: float | None = None, nonce: str = ""
    ) -> tuple[bool, str | None]:
        """Run the write script; whether it acted, and where an unreadable record went."""
        args = [
            mode,
            repr(self._now()),
            record,
            "" if ttl is None else str(lease_ms(ttl)),
            self._key(QUARANTINE_PREFIX + key),
            nonce,
        ]
        reply = await self._call(lambda: self._write_script(keys=[self._key(key)], args=args))
        done, moved = reply
        target = self._name(moved) if moved else None
        if target is not None and mode != "quarantine":
            warn_moved(key, target=target)
        return bool(done), target

    async def _read(self, key: str) -> Stored | None:
        async def get() -> Stored | None:
            try:
                raw = await self._client.get(self._key(key))
            except ResponseError as exc:
                if str(exc).startswith("WRONGTYPE"):
                    return Unreadable(None)  # a list, a hash ...: not a record of ours
                raise
            return None if raw is None else parse(raw)

        return await self._call(get)

    # --- the Store contract ---------------------------------------------------------------

    async def get(self, key: str) -> JSON:
        state, value = unwrap(await self._read(key), now=self._now)
        if state == "unreadable":
            warn_unreadable(key)
        return value

    async def set(self, key: str, *, value: JSON, ttl: float | None = None) -> None:
        record = json.dumps(wrap(value, ttl=ttl, now=self._now))
        await self._write("set", key, record=record, ttl=ttl)

    async def delete(self, key: str) -> None:
        await self._write("delete", key)

    async def add_if_absent(self, key: str, *, value: JSON, ttl: float | None = None) -> bool:
        # The nonce tells this call's record from another's if a lost reply makes the client
        # send the script again: the retry then answers True, not "already there".
        nonce = uuid.uuid4().hex
        record = json.dumps({**wrap(value, ttl=ttl, now=self._now), "w": nonce})
        stored, _ = await self._write("add", key, record=record, ttl=ttl, nonce=nonce)
        return stored

    async def quarantine(self, key: str) -> str | None:
        _, target = await self._write("quarantine", key)
        return target

    async def _scan_step(
        self, *, cursor: int, pattern: str
    ) -> tuple[int, list[tuple[bytes | str, bytes | None]]]:
        found_cursor, found = await self._client.scan(
            cursor=cursor, match=pattern, count=SCAN_BATCH
        )
        # MGET answers nil for keys gone meanwhile and for values that are not strings.
        values = await self._client.mget(found) if found else []
        raws = [v.encode() if isinstance(v, str) else v for v in values]
        return int(found_cursor), list(zip(found, raws, strict=True))

    async def _batches(self, prefix: str) -> AsyncIterator[list[tuple[str, bytes | None]]]:
        """Every Redis key under ``prefix`` with its raw value, a SCAN step at a time."""
        pattern = _glob_escaped(self._key(prefix)) + "*"
        cursor = 0
        while True:
            step = functools.partial(self._scan_step, cursor=cursor, pattern=pattern)
            cursor, found = await self._call(step)
            batch = [(name, raw) for key, raw in found if (name := self._name(key)) is not None]
            if batch:
                yield batch
            if cursor == 0:
                return

    async def scan(self, prefix: str) -> AsyncIterator[tuple[str, JSON]]:
        async for batch in self._batches(prefix):
            for key, raw in batch:
                state, value = unwrap(None if raw is None else parse(raw), now=self._now)
                if state == "live":
                    yield key, value

    def lock(self, key: str, *, ttl: float = 60.0) -> AbstractAsyncContextManager[None]:
        return self._leases.hold(self._key(LEASE_PREFIX + key), name=key, ttl=ttl)

    async def purge_expired(self) -> int:
        """Records expired by this process's clock; Redis drops records at their own expiry,
        so with clocks in step this finds none."""
        purged = 0
        async for batch in self._batches(""):
            for key, raw in batch:
                if raw is None or unwrap(parse(raw), now=self._now)[0] != "expired":
                    continue
                stored_key = self._key(key)
                # Deleted only if still the record read: a rewrite meanwhile is kept.
                request = functools.partial(
                    self._delete_if_unchanged, keys=[stored_key], args=[raw]
                )
                purged += int(await self._call(request))
        return purged

    async def ping(self) -> None:
        """Reach Redis now, so that a wrong URL or a Redis that is down shows at start-up."""
        await self._call(self._client.ping)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._client.aclose()
