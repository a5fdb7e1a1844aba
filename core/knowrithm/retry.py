"""When and how long to wait before repeating a Knowrithm request."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

import httpx


class Safety(Enum):
    """How safe it is to send a request again after a failure."""

    # Repeating cannot change the outcome (reads, metadata patch, rating, ending).
    IDEMPOTENT = "idempotent"
    # Repeating could duplicate something (a chat message, a conversation, a lead): only
    # repeat when the request certainly never reached the service.
    ONCE = "once"


# Failures before a single byte of the request could reach the service.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures after which the service may or may not have acted on the request.
_MAYBE_SENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with jitter.

    ``attempts`` counts the first try; ``max_retry_after`` is the longest ``Retry-After`` the
    client waits out instead of raising ``RateLimitedError``.
    """

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.5
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1.")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("RetryPolicy delays must not be negative.")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter must be between 0 and 1.")

    def backoff(self, *, attempt: int, rand: float | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based).

        The delay doubles per try up to ``max_delay``; the last ``jitter`` fraction of it is
        random so that many clients do not retry in step.
        """
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** max(0, attempt - 1))
        draw = random.random() if rand is None else rand
        return ceiling * (1 - self.jitter) + ceiling * self.jitter * draw

    def delay(self, *, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before the next try, or None when the client should give up now."""
        if attempt >= self.attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return self.backoff(attempt=attempt)


# One try only: for probes that must report a failure at once, not after backing off.
NO_RETRY = RetryPolicy(attempts=1)


def transport_retryable(*, exc: httpx.HTTPError, safety: Safety) -> bool:
    """Whether a request that got no answer may be sent again."""
    if isinstance(exc, _NOT_SENT):
        return True
    return safety is Safety.IDEMPOTENT and isinstance(exc, _MAYBE_SENT)


def status_retryable(*, status: int, safety: Safety) -> bool:
    """Whether a request answered with ``status`` may be sent again."""
    if status == 429:
        # A 429 is a refusal: the service did not act on the request.
        return True
    return safety is Safety.IDEMPOTENT and (status >= 500 or status == 408)
