"""Conformance checks that platform failures become the core's PlatformError subclasses."""

from __future__ import annotations

import asyncio

from knowrithm_bots.core.adapter import Adapter
from knowrithm_bots.core.errors import PlatformError, PlatformRateLimited
from knowrithm_bots.core.testing.conformance.base import A, ConformanceBase, check, fail, shows
from knowrithm_bots.core.testing.conformance.harness import (
    EXPECTED_ERRORS,
    RETRY_AFTER,
    AdapterHarness,
    Failure,
    Operation,
)
from knowrithm_bots.core.testing.conformance.texts import marker

_FAILURE_WORDS = {
    Failure.RATE_LIMITED: f"answered 429 (retry after {RETRY_AFTER:g} s)",
    Failure.NOT_FOUND: "said the message does not exist",
    Failure.AUTH: "rejected the credentials",
    Failure.UNAVAILABLE: "failed on its side",
}

# Whole seconds survive any rounding; a fallback wait (usually 1 s) does not come this close.
_RETRY_AFTER_TOLERANCE = 0.5


class FailureChecks(ConformanceBase):
    """Each simulated failure raises its core error, leaks no secret, and is survivable."""

    async def _meets(
        self, harness: AdapterHarness, *, failure: Failure, operations: tuple[Operation, ...]
    ) -> None:
        self._require(
            failure in harness.features.failures, f"the harness cannot simulate {failure.name}"
        )
        adapter = harness.adapter
        expected = EXPECTED_ERRORS[failure]
        async with self._running(harness) as recorder:
            event = await self._receive(harness, recorder, place=A, text=marker("ask"))
            shown: list[str] = []
            for operation in operations:
                target = await self._post(adapter, thread=event.thread, text=marker("target"))
                shown.append(target.id)
                await harness.fail_next(failure=failure, operation=operation)
                error = await self._failing_call(
                    adapter, operation=operation, thread=event.thread, message_id=target.id
                )
                when = f"{operation}() when the platform {_FAILURE_WORDS[failure]}"
                check(
                    isinstance(error, expected),
                    message=f"{when} raised {type(error).__name__}, not {expected.__name__}",
                )
                if isinstance(error, PlatformRateLimited):
                    check(
                        abs(error.retry_after - RETRY_AFTER) <= _RETRY_AFTER_TOLERANCE,
                        message=f"{when} gave retry_after={error.retry_after}, not the platform's "
                        f"{RETRY_AFTER:g}",
                    )
                for secret in harness.features.secrets:
                    check(
                        secret not in str(error),
                        message=f"{when}: the error message shows a secret",
                    )
                after = marker("after failure")
                shown.append((await self._post(adapter, thread=event.thread, text=after)).id)
                await self._visible_until(
                    harness,
                    place=A,
                    condition=shows(after),
                    expected=f"{after!r}: the adapter must keep working after {when}",
                )
            await adapter.reply_done(thread=event.thread, message_ids=shown)

    async def _failing_call(
        self, adapter: Adapter, *, operation: Operation, thread: str, message_id: str
    ) -> PlatformError:
        deadline = asyncio.timeout(self.timeout)
        try:
            async with deadline:
                if operation == "post":
                    await adapter.post(thread=thread, text=marker("during failure"))
                else:
                    await adapter.edit(thread=thread, message_id=message_id, text=marker("edit"))
        except PlatformError as exc:
            return exc
        except Exception as exc:
            if deadline.expired():
                fail(
                    f"{operation}() did not return within {self.timeout:g} s of a platform "
                    "failure; raise the core error instead of retrying or waiting"
                )
            fail(
                f"{operation}() let {type(exc).__name__} ({exc}) escape; adapters translate "
                "platform failures into core.errors.PlatformError subclasses"
            )
        fail(f"{operation}() returned normally although the platform failed the call")

    async def test_rate_limits_become_platform_rate_limited(self, harness: AdapterHarness) -> None:
        await self._meets(harness, failure=Failure.RATE_LIMITED, operations=("post", "edit"))

    async def test_missing_message_becomes_message_not_found(self, harness: AdapterHarness) -> None:
        await self._meets(harness, failure=Failure.NOT_FOUND, operations=("edit",))

    async def test_rejected_credentials_become_auth_error(self, harness: AdapterHarness) -> None:
        await self._meets(harness, failure=Failure.AUTH, operations=("post", "edit"))

    async def test_outages_become_platform_unavailable(self, harness: AdapterHarness) -> None:
        await self._meets(harness, failure=Failure.UNAVAILABLE, operations=("post", "edit"))
