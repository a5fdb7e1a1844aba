"""Token buckets in Redis that every bot instance on it spends together (``SharedBudgets``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import NoReturn, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, RedisError
from redis.exceptions import ConnectionError as RedisConnectionError

from knowrithm_bots.core.errors import StoreError
from knowrithm_bots.core.log_redaction import Redactor
from knowrithm_bots.core.store.redis import DEFAULT_PREFIX, _credentials, describe
from knowrithm_bots.core.streaming.budgets import (
    FORGET_AFTER,
    RECOVERED,
    RECOVERY,
    RECOVERY_HALF_LIFE,
    SLOWDOWN,
    SLOWEST,
)
from knowrithm_bots.core.streaming.shared_budgets import SharedBucket, SharedGrant, SharedLevel

T = TypeVar("T")

# Budgets live beside the store's records, under a kind of key no store caller writes.
BUDGET_PREFIX = "budget:"
# A take stands between a reply and its next call: an unreachable Redis must show within
# this, so the pacer falls back on its own buckets before anyone notices.
DEFAULT_TIMEOUT = 1.0
# Takes are short and one at a time per set of buckets: a few connections serve them.
MAX_CONNECTIONS = 8

# Each bucket is a hash {tokens, updated, blocked, scale}, times in ms of Redis's own clock
# (TIME), the one clock every instance shares. ``updated`` may lie ahead after a 429: the
# bucket refills from there, so that exactly one token is back when the block ends. ``scale``
# is the share of the declared rate in force, shared too: a 429 slows every instance, and
# takes and quiet time win the rate back, as ``TokenBucket`` does for one process.
_BUCKET = f"""
local SLOWDOWN, SLOWEST, RECOVERY = {SLOWDOWN!r}, {SLOWEST!r}, {RECOVERY!r}
local HALF_LIFE, RECOVERED = {RECOVERY_HALF_LIFE * 1000!r}, {RECOVERED!r}
local FORGET_AFTER = {FORGET_AFTER * 1000!r}
local now
do
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local function load(key, rate, burst)
  local h = redis.call('HMGET', key, 'tokens', 'updated', 'blocked', 'scale')
  local tokens = math.min(burst, tonumber(h[1]) or burst)
  local updated = tonumber(h[2]) or now
  local blocked = tonumber(h[3]) or 0
  local scale = tonumber(h[4]) or 1
  if now > updated then
    local pace = rate * scale
    local full_at = updated + (burst - tokens) / pace
    tokens = math.min(burst, tokens + (now - updated) * pace)
    updated = now
    local quiet = math.max(full_at, blocked)
    if scale < 1 and now > quiet then
      local missing = (1 - scale) * 0.5 ^ ((now - quiet) / HALF_LIFE)
      if missing <= RECOVERED then scale = 1 else scale = 1 - missing end
    end
  end
  return tokens, updated, blocked, scale
end
local function save(key, tokens, updated, blocked, scale, rate, burst)
  redis.call('HSET', key, 'tokens', tostring(tokens), 'updated', tostring(updated),
             'blocked', tostring(blocked), 'scale', tostring(scale))
  -- Gone once it would be full again (a bucket nobody uses is a full one), or, slowed by a
  -- 429, once that is long past.
  local ttl = math.max(updated, blocked) - now + (burst - tokens) / (rate * scale)
  if scale < 1 then ttl = math.max(ttl, FORGET_AFTER) end
  redis.call('PEXPIRE', key, math.ceil(ttl) + 1000)
end
"""

# KEYS: the buckets; ARGV: per bucket its declared rate (tokens per second), burst, need.
# One token from each if every one holds its need, else none. Returns {wait ms, then per
# bucket tokens, blocked ms and scale}, as strings (a Lua number would come back cut to an
# integer).
TAKE = (
    _BUCKET
    + """
local state, wait = {}, 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[3 * i - 2]) / 1000
  local burst, need = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  local tokens, updated, blocked, scale = load(key, rate, burst)
  local ready = now
  if tokens < need - 1e-9 then
    ready = math.max(now, updated) + (need - tokens) / (rate * scale)
  end
  ready = math.max(ready, blocked)
  wait = math.max(wait, ready - now)
  state[i] = {tokens, updated, blocked, scale, rate, burst}
end
local reply = {tostring(wait)}
for i, key in ipairs(KEYS) do
  local s = state[i]
  if wait <= 0 then
    s[1] = s[1] - 1
    s[4] = math.min(1, s[4] + RECOVERY)
    save(key, s[1], s[2], s[3], s[4], s[5], s[6])
    -- Calls given since the last slowdown, once its block ended (see BLOCK).
    if now >= s[3] and redis.call('HEXISTS', key, 'trial') == 1 then
      redis.call('HINCRBY', key, 'trial', 1)
    end
  end
  reply[3 * i - 1] = tostring(s[1])
  reply[3 * i] = tostring(math.max(0, s[3] - now))
  reply[3 * i + 1] = tostring(s[4])
end
return reply
"""
)

# KEYS: the buckets; ARGV[1] retry_after in ms, then per bucket declared rate (per second)
# and burst. Each is emptied and blocked; slowed as ``TokenBucket.rate_limited`` slows, once
# per block and only after the slower rate was tried: ``trial`` counts the calls given since
# the last slowdown's block ended, and the first of them is the one call a block lets
# through (its own 429 says nothing of the slower rate), so a second one stands for "a call
# went through at that rate".
BLOCK = (
    _BUCKET
    + """
local retry = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i]) / 1000
  local burst = tonumber(ARGV[2 * i + 1])
  local trial = tonumber(redis.call('HGET', key, 'trial'))
  local _, _, blocked, scale = load(key, rate, burst)
  if now >= blocked and (trial == nil or trial >= 2 or scale >= 1) then
    scale = math.max(SLOWEST, scale * SLOWDOWN)
    redis.call('HSET', key, 'trial', 0)
  elseif now >= blocked then
    -- A new block, not slowed: the call it lets through starts the trial again.
    redis.call('HSET', key, 'trial', 0)
  end
  blocked = math.max(blocked, now + retry)
  save(key, 0, math.max(now, blocked - 1 / (rate * scale)), blocked, scale, rate, burst)
end
return 1
"""
)


class RedisBudgets:
    """The budgets several instances share, kept in Redis under ``key_prefix + "budget:"``.

    Each take or 429 is one Lua script, atomic over every bucket it names, timed by Redis's
    clock so instances' clocks never disagree on a refill. It has its own small connection
    pool, failing within ``timeout`` and retried once at once (a connection a Redis restart
    dropped), so that a Redis outage costs the pacer a moment, not the store's patience.
    Nothing connects at construction. Failures raise ``StoreError`` without credentials.
    """

    def __init__(
        self, *, url: str, key_prefix: str = DEFAULT_PREFIX, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.where = describe(url)
        self._redact = Redactor(_credentials(url))
        self._prefix = key_prefix + BUDGET_PREFIX
        self._timeout = timeout
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=MAX_CONNECTIONS,
            timeout=timeout,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        self._client = Redis.from_pool(pool)
        self._take = self._client.register_script(TAKE)
        self._block = self._client.register_script(BLOCK)
        self._closed = False

    def key(self, shared_key: str) -> str:
        """The Redis key holding the bucket ``shared_key``."""
        return self._prefix + shared_key

    async def take(self, *, buckets: Sequence[SharedBucket]) -> SharedGrant:
        keys = [self.key(bucket.key) for bucket in buckets]
        args = [
            value
            for bucket in buckets
            for value in (repr(bucket.rate), repr(bucket.burst), repr(bucket.need))
        ]
        reply = await self._call(lambda: self._take(keys=keys, args=args))
        numbers = [float(item) for item in reply]
        levels = tuple(
            SharedLevel(tokens=numbers[i], blocked_for=numbers[i + 1] / 1000, scale=numbers[i + 2])
            for i in range(1, len(numbers) - 2, 3)
        )
        return SharedGrant(wait=numbers[0] / 1000, levels=levels)

    async def block(self, *, buckets: Sequence[SharedBucket], retry_after: float) -> None:
        keys = [self.key(bucket.key) for bucket in buckets]
        args = [repr(max(0.0, retry_after) * 1000)]
        for bucket in buckets:
            args += [repr(bucket.rate), repr(bucket.burst)]
        await self._call(lambda: self._block(keys=keys, args=args))

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._client.aclose()

    async def _call(self, request: Callable[[], Awaitable[T]]) -> T:
        if self._closed:
            raise StoreError(f"the shared rate budgets in Redis at {self.where} are closed")
        try:
            async with asyncio.timeout(self._timeout):
                return await request()
        except TimeoutError:
            self._failed(f"did not answer within {self._timeout:g} s")
        except AuthenticationError:
            self._failed("refused the user name or password in store.url")
        except (RedisConnectionError, OSError) as exc:
            self._failed(f"cannot be reached ({self._redact(str(exc)).rstrip('.')})")
        except RedisError as exc:
            self._failed(f"cannot be used ({self._redact(str(exc)).rstrip('.')})")

    def _failed(self, reason: str) -> NoReturn:
        # Without its cause: the client's own exception is not ours to vouch for.
        raise StoreError(f"the shared rate budgets in Redis at {self.where} {reason}") from None
