"""RetryPolicy: exponential backoff with jitter, Retry-After, and what may be repeated."""

from __future__ import annotations

import httpx
import pytest

from knowrithm_bots.core.knowrithm import RetryPolicy
from knowrithm_bots.core.knowrithm.retry import Safety, status_retryable, transport_retryable
from knowrithm_bots.core.retry_after import parse_retry_after


def test_backoff_doubles_up_to_the_cap_with_jitter_inside_bounds() -> None:
    policy = RetryPolicy(attempts=10, base_delay=0.5, max_delay=3.0, jitter=0.5)
    assert policy.backoff(attempt=1, rand=1.0) == pytest.approx(0.5)
    assert policy.backoff(attempt=1, rand=0.0) == pytest.approx(0.25)
    assert policy.backoff(attempt=3, rand=1.0) == pytest.approx(2.0)
    assert policy.backoff(attempt=6, rand=1.0) == pytest.approx(3.0)
    for attempt in range(1, 8):
        ceiling = min(3.0, 0.5 * 2 ** (attempt - 1))
        assert ceiling / 2 <= policy.backoff(attempt=attempt) <= ceiling


def test_delay_gives_up_after_the_last_attempt_and_honours_retry_after() -> None:
    policy = RetryPolicy(attempts=3, max_retry_after=10.0)
    assert policy.delay(attempt=3, retry_after=None) is None
    assert policy.delay(attempt=1, retry_after=4.0) == 4.0
    assert policy.delay(attempt=1, retry_after=11.0) is None


def test_invalid_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=2.0)


def test_only_unsent_requests_are_repeated_when_repeating_is_unsafe() -> None:
    request = httpx.Request("POST", "http://x/")
    unsent = [httpx.ConnectError("no", request=request), httpx.ConnectTimeout("no")]
    maybe_sent = [
        httpx.ReadTimeout("slow", request=request),
        httpx.RemoteProtocolError("dropped", request=request),
        httpx.ReadError("reset", request=request),
        httpx.WriteError("reset", request=request),
    ]
    for exc in unsent:
        assert transport_retryable(exc=exc, safety=Safety.ONCE)
        assert transport_retryable(exc=exc, safety=Safety.IDEMPOTENT)
    for exc in maybe_sent:
        assert not transport_retryable(exc=exc, safety=Safety.ONCE)
        assert transport_retryable(exc=exc, safety=Safety.IDEMPOTENT)
    assert status_retryable(status=429, safety=Safety.ONCE)
    assert not status_retryable(status=500, safety=Safety.ONCE)
    assert status_retryable(status=503, safety=Safety.IDEMPOTENT)
    assert not status_retryable(status=404, safety=Safety.IDEMPOTENT)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after(value="3") == 3.0
    assert parse_retry_after(value=" 1.5 ") == 1.5
    assert parse_retry_after(value=None) is None
    assert parse_retry_after(value="soon") is None
    when = "Wed, 21 Oct 2015 07:28:10 GMT"
    assert parse_retry_after(value=when, now=1445412480.0) == pytest.approx(10.0)
