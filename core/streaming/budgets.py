"""Token buckets: how many calls a rate budget allows now, and when the next one may go."""

from __future__ import annotations

import math
from collections import deque

from knowrithm_bots.core.streaming.shared_budgets import SharedState

# Floating-point slack, so a bucket woken exactly at its refill time counts as full.
EPSILON = 1e-9
# After a 429 the bucket slows to this share of its rate, then earns the rate back call by call
# and with quiet time: each RECOVERY_HALF_LIFE seconds the bucket spends full (nobody used
# it; a busy bucket at the slower rate proves nothing about the faster one) halves the rate
# still missing.
SLOWDOWN = 0.5
RECOVERY = 0.01
SLOWEST = 0.1
RECOVERY_HALF_LIFE = 60.0
# A missing share of the rate this small is forgotten: the bucket is back at full rate.
RECOVERED = 0.01
# A bucket this long past its last 429 may be forgotten even when its rate is not fully back.
FORGET_AFTER = 600.0
# Refreshes leave this many calls of a budget's burst for the calls a user waits on (first
# posts and final texts): enough that the next two go at once. Keeping more (the whole burst
# but one, as before) starves refreshes on a wide budget with a large burst: Slack's
# workspace-wide stream budget (burst 20) let no refresh go for ~12 s after a crowd of
# first appends.
URGENT_RESERVE = 2.0
# A wide budget that does not back off for one 429 (``Budget.shared_backoff``: the platform
# does not say which limit a 429 belongs to, and most belong to one chat) backs off when
# calls through two different narrower scopes are refused this close together: then it is
# the budget they share that ran out.
CORROBORATION_WINDOW = 1.0
# The spread of the last JITTER_SAMPLES round trips to a platform stands for how much closer
# together than sent two calls may arrive there (a round trip spreads at least as much as its
# way out, so this errs safe once enough trips were seen: a few trips understate the spread).
# Until JITTER_MIN_SAMPLES were measured, a quarter of the longest round trip seen stands for
# it (half of the way out).
JITTER_MIN_SAMPLES = 32
JITTER_SAMPLES = 64
UNMEASURED_JITTER_SHARE = 0.25
# Never less than this, measured or not: a call can wait this long on a busy host before
# either end's process runs it, and a sender sees little of that in a few round trips (three
# bot processes sharing a Telegram chat on two busy cores got a 429 for a call that arrived
# 3 ms early, its bucket's first call having waited longer on the way than the later one).
MIN_JITTER = 0.025


class Jitter:
    """How much closer together than sent calls to one platform may arrive there, in seconds.

    A sender that keeps to a budget's rate and to its burst less ``rate × seconds`` calls
    keeps to the whole budget on arrival however the delay varies within that spread, at the
    full declared rate: the jitter costs a fixed moment once, not a share of every second.
    """

    __slots__ = ("_trips", "seconds")

    def __init__(self) -> None:
        self.seconds = MIN_JITTER
        self._trips: deque[float] = deque(maxlen=JITTER_SAMPLES)

    def observe(self, round_trip: float) -> None:
        """Count one measured round trip."""
        trips = self._trips
        trips.append(round_trip)
        longest = max(trips)
        if len(trips) >= JITTER_MIN_SAMPLES:
            spread = longest - min(trips)
        else:
            spread = UNMEASURED_JITTER_SHARE * longest
        self.seconds = max(MIN_JITTER, spread)


class TokenBucket:
    """One platform budget applied to one scope key (one chat, one workspace, the whole bot).

    ``rate`` is calls per second, ``burst`` the most calls that may go back to back. A 429
    blocks the bucket for the platform's ``retry_after``, lets exactly one call through when
    that has passed, and slows the rate (the declared budget was too generous); each
    successful call then wins a little of the rate back, and quiet time the rest. A 429
    slows the bucket again only after a call went through at the slower rate: refusals with
    no success between them (the calls in flight when the first came back, or the one call
    let through after a block, refused again by a platform still punishing) say nothing
    about the slower rate.
    """

    __slots__ = (
        "_last_refusal",
        "_limited_at",
        "_proven",
        "_tokens",
        "_updated",
        "backs_off",
        "blocked_until",
        "burst",
        "jitter",
        "labels",
        "rate",
        "scale",
        "shared",
        "waiting",
    )

    def __init__(
        self,
        *,
        rate: float,
        burst: float,
        now: float,
        backs_off: bool = True,
        jitter: Jitter | None = None,
        labels: tuple[str, str] = ("", ""),
        shared: SharedState | None = None,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a budget needs a positive rate and a burst of at least 1 ({rate=})")
        self.rate = rate
        self.burst = float(burst)
        self.backs_off = backs_off
        self.jitter = jitter
        # (adapter, scope): what the bucket's calls and 429s are counted under in metrics.
        self.labels = labels
        # Set when other instances spend this budget too: its twin in the shared store is
        # then the authority, and this bucket only the first gate (see SharedPacing).
        self.shared = shared
        # Calls charged to this bucket that wait for their turn, wherever their lane is held
        # (kept by the Scheduler): a typing notice must leave their tokens alone.
        self.waiting = 0
        self.scale = 1.0
        self.blocked_until = -math.inf
        self._limited_at = -math.inf
        # When and through which narrower scope a call was last refused (``corroborated``).
        self._last_refusal: tuple[float, int] = (-math.inf, 0)
        # Whether a call went through since the last slowdown (the declared rate is on trial
        # until the first 429).
        self._proven = True
        self._tokens = self.burst
        self._updated = now

    @property
    def effective_rate(self) -> float:
        return self.rate * self.scale

    def _refill(self, now: float) -> None:
        if now > self._updated:
            rate = self.effective_rate
            full_at = self._updated + (self.burst - self._tokens) / rate
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * rate)
            self._updated = now
            self._recover(quiet_since=max(full_at, self.blocked_until), now=now)

    def _recover(self, *, quiet_since: float, now: float) -> None:
        """Win back rate for the time the bucket has been full and unblocked."""
        if self.scale >= 1.0 or now <= quiet_since:
            return
        missing = (1.0 - self.scale) * 0.5 ** ((now - quiet_since) / RECOVERY_HALF_LIFE)
        self.scale = 1.0 if missing <= RECOVERED else 1.0 - missing

    def headroom(self, now: float) -> float:
        """The share of the burst available at ``now`` (1: full, 0: the next call waits),
        read without changing the bucket."""
        if now < self.blocked_until:
            return 0.0
        refilled = max(0.0, now - self._updated) * self.effective_rate
        return max(0.0, min(self.burst, self._tokens + refilled)) / self.burst

    def need(self, *, full: bool = False) -> float:
        """Tokens the bucket must hold for one call to go: one, plus what arrival jitter may
        take (``jitter``); for a call that must not spend the burst (``full``), enough to
        leave ``URGENT_RESERVE`` calls after it (at most the burst but one). A bucket slowed
        by a 429 has no burst left to keep."""
        need = 1.0 if self.jitter is None else 1.0 + self.rate * self.jitter.seconds
        if full and self.scale >= 1.0:
            need = max(need, min(self.burst - 1.0, need + URGENT_RESERVE))
        return min(self.burst, need)

    def ready_at(self, now: float, *, full: bool = False) -> float:
        """The earliest time (``>= now``) at which one call may go; ``full``: without
        spending the burst (the bucket must be full)."""
        self._refill(now)
        need = self.need(full=full)
        if self._tokens >= need - EPSILON:
            at = now
        else:
            at = max(now, self._updated) + (need - self._tokens) / self.effective_rate
        return max(at, self.blocked_until)

    def is_ready(self, now: float, *, full: bool = False) -> bool:
        return self.ready_at(now, full=full) <= now + EPSILON

    def has_spare(self, now: float) -> bool:
        """Whether a call nobody waits on (a typing notice) may go now: at the full rate,
        with the call a refresh would need to spare (``URGENT_RESERVE`` kept after it). A
        bucket slowed by a 429 has nothing to spare until it has earned its rate back."""
        return self.is_ready(now, full=True) and self.scale >= 1.0  # refilled, so recovered

    def take(self, now: float) -> None:
        """Spend one call (the caller checked ``is_ready``)."""
        self._refill(now)
        self._tokens -= 1.0

    def refund(self, now: float) -> None:
        """Give back a call that was granted but not made."""
        self._refill(now)
        self._tokens = min(self.burst, self._tokens + 1.0)

    def is_idle(self, now: float) -> bool:
        """Full, unblocked, and at full rate or long past its last 429: forgetting the
        bucket changes nothing, or only what time is about to change anyway."""
        self._refill(now)
        if self._tokens < self.burst - EPSILON or self.blocked_until > now:
            return False
        return self.scale >= 1.0 or now - self._limited_at >= FORGET_AFTER

    def rate_limited(self, *, now: float, retry_after: float) -> None:
        """The platform answered 429: wait ``retry_after``, then go on more slowly."""
        self._refill(now)
        if (self._proven or self.scale >= 1.0) and now >= self.blocked_until:
            # One slowdown per block, and none before the slower rate was tried: the 429s of
            # calls already in flight when the first came back answer the same overload.
            self.scale = max(SLOWEST, self.scale * SLOWDOWN)
            self._proven = False
        self._limited_at = now
        until = max(self.blocked_until, now + max(0.0, retry_after))
        self.blocked_until = until
        # Empty, refilling so that exactly one token is there when the block ends: the
        # platform forgave one call, not a burst.
        self._tokens = 0.0
        self._updated = max(now, until - 1.0 / self.effective_rate)

    def corroborated(self, *, now: float, source: int) -> bool:
        """A call charged here was refused through the narrower scope ``source`` (any id of
        it): whether a call through another one was refused within
        ``CORROBORATION_WINDOW``, so this budget should back off too."""
        at, previous = self._last_refusal
        self._last_refusal = (now, source)
        return previous != source and now - at <= CORROBORATION_WINDOW

    def succeeded(self, *, charged: float | None = None) -> None:
        """A call charged here (at ``charged``, when known) went through: win back some of
        the rate lost to 429s. Only a call charged after the last 429 tried the slower rate:
        one sent before it and answered late proves nothing about it."""
        if charged is None or charged >= self._limited_at:
            self._proven = True
        if self.scale < 1.0:
            self.scale = min(1.0, self.scale + RECOVERY)
