"""The REST call log: recording, waiting for calls, and injected failures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .models import Call, InjectedFailure

CallPredicate = Callable[[Call], bool]


class CallLog:
    """Every REST request answered, plus the failures queued by `fail_next`."""

    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.calls: list[Call] = []
        self._failures: list[InjectedFailure] = []
        self._waiters: list[tuple[CallPredicate, asyncio.Future[Call]]] = []

    def record(
        self,
        *,
        method: str,
        path: str,
        route: str,
        payload: Any,
        query: dict[str, str],
        status: int,
        files: tuple[str, ...],
    ) -> None:
        call = Call(
            method=method,
            path=path,
            route=route,
            json=payload,
            query=query,
            status=status,
            time=self._clock(),
            files=files,
        )
        self.calls.append(call)
        for matches, future in list(self._waiters):
            if not future.done() and matches(call):
                future.set_result(call)

    def queue_failure(self, failure: InjectedFailure, *, times: int) -> None:
        self._failures.extend([failure] * times)

    def take_failure(self, *, method: str, route: str, path: str) -> InjectedFailure | None:
        for index, failure in enumerate(self._failures):
            if (
                (failure.method is None or failure.method == method)
                and (failure.route is None or failure.route == route)
                and (failure.path is None or failure.path == path)
            ):
                return self._failures.pop(index)
        return None

    async def wait_for(
        self, *, matches: CallPredicate, since: int, timeout_s: float, described: str
    ) -> Call:
        for call in self.calls[since:]:
            if matches(call):
                return call
        future: asyncio.Future[Call] = asyncio.get_running_loop().create_future()
        entry = (matches, future)
        self._waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            seen = [f"{c.method} {c.path} -> {c.status}" for c in self.calls[since:][-10:]]
            raise TimeoutError(
                f"no call matched {described} within {timeout_s}s; last calls: {seen}"
            ) from None
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    def cancel_waiters(self) -> None:
        for _, future in self._waiters:
            future.cancel()
        self._waiters.clear()
