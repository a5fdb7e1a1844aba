"""Knobs that tests flip to make the local server misbehave on purpose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class InjectedFailure:
    """What one failing request answers."""

    status: int
    body: str | None
    retry_after: float | None


@dataclass
class _FailureRule:
    method: str | None
    path_contains: str
    failure: InjectedFailure
    remaining: int


class Faults:
    """Mutable at any time; the server reads every knob on each request or reply."""

    def __init__(self) -> None:
        self.streaming_enabled: bool = True
        self.emit_chunks: bool = True
        self.cut_stream_after_chunks: int | None = None
        self.chat_mode: Literal["task", "sync"] = "task"
        self.start_mode: Literal["object", "task"] = "object"
        self._rules: list[_FailureRule] = []

    def fail_next(
        self,
        *,
        method: str | None = None,
        path_contains: str,
        status: int,
        body: str | None = None,
        retry_after: float | None = None,
        count: int = 1,
    ) -> None:
        """Make the next `count` requests whose path contains `path_contains` answer `status`.

        `body` is sent raw (default: a JSON error body); `retry_after` adds a Retry-After header.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        self._rules.append(
            _FailureRule(
                method=method.upper() if method else None,
                path_contains=path_contains,
                failure=InjectedFailure(status=status, body=body, retry_after=retry_after),
                remaining=count,
            )
        )

    def take_failure(self, *, method: str, path: str) -> InjectedFailure | None:
        """Consume and return the first armed failure matching this request, if any."""
        for rule in self._rules:
            if rule.method not in (None, method.upper()) or rule.path_contains not in path:
                continue
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._rules.remove(rule)
            return rule.failure
        return None

    def take_stream_cut(self) -> int | None:
        """Consume the one-shot stream cut for the reply that is starting."""
        cut, self.cut_stream_after_chunks = self.cut_stream_after_chunks, None
        return cut

    def clear(self) -> None:
        """Disarm every pending injected failure."""
        self._rules.clear()
