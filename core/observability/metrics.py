"""What the bot reports to operators; the base class does nothing, so metrics off cost nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from knowrithm_bots.core.errors import KnowrithmBotsError

__all__ = ["NO_METRICS", "AnswerTiming", "BotMetrics", "BudgetLevel", "failure_kind"]


@dataclass(frozen=True, kw_only=True)
class BudgetLevel:
    """How much of one adapter's budgets of one scope is left, the tightest key counting.

    ``headroom`` is the share of the burst available now (1: full, 0: the next call waits);
    ``rate`` the share of the declared rate in force (below 1 after a 429, until earned back).
    """

    adapter: str
    scope: str
    headroom: float
    rate: float


def failure_kind(error: BaseException) -> str:
    """A bounded label for ``error``: the class name within the project's exception tree,
    ``unexpected`` for anything else (a bug)."""
    if isinstance(error, KnowrithmBotsError):
        return type(error).__name__
    return "unexpected"


class AnswerTiming:
    """The timing of one answer, from the message's arrival to its final text.

    The bridge gets one from ``BotMetrics.answer`` per answered message and calls
    ``first_text`` once the first words are visible (later calls are ignored), ``final_text``
    once the whole answer is, and ``close`` exactly once at the end, whatever happened.
    This base records nothing.
    """

    def first_text(self) -> None:
        """The first words of the answer are visible now."""

    def final_text(self) -> None:
        """The whole answer is visible now."""

    def close(self) -> None:
        """The bridge is done with this message (answered, failed or cancelled)."""


_NO_TIMING = AnswerTiming()


class BotMetrics:
    """The bot's measurements, one object per bot (so several bots in one process never
    share counters). This base records nothing and every method returns at once, so the
    callers need no check for whether metrics are on; ``PrometheusMetrics`` records them.

    Callers: the bridge (answers, failures, queue), the pacer (platform calls, 429s, budget
    levels) and the Knowrithm transport (request latency, errors). None of the methods
    raises or blocks.
    """

    enabled: bool = False

    # --- bridge --------------------------------------------------------------------------

    def answer(self, *, adapter: str, since: float | None = None) -> AnswerTiming:
        """Start timing one answer in ``adapter``: counted as in progress until ``close``.

        ``since`` is the ``Clock.monotonic`` time the message arrived (default: now).
        """
        return _NO_TIMING

    def failure(self, *, adapter: str, error: BaseException) -> None:
        """Answering a message in ``adapter`` failed with ``error`` (counted by kind)."""

    def watch_queue(self, depth: Callable[[], int]) -> None:
        """``depth()`` is the number of messages received but not yet being answered; it
        is read when metrics are collected."""

    # --- pacer ---------------------------------------------------------------------------

    def platform_call(self, *, adapter: str, scope: str) -> None:
        """A platform call charged to a budget of ``scope`` was answered (not a 429)."""

    def rate_limited(self, *, adapter: str, scope: str, retry_after: float) -> None:
        """A platform call charged to a budget of ``scope`` got a 429 asking to wait
        ``retry_after`` seconds."""

    def watch_budgets(self, levels: Callable[[], Iterable[BudgetLevel]]) -> None:
        """``levels()`` says how much of each budget is left; read when collected."""

    # --- Knowrithm -----------------------------------------------------------------------

    def knowrithm_request(self, *, method: str, seconds: float) -> None:
        """A request to Knowrithm got its response headers after ``seconds``."""

    def knowrithm_error(self, *, kind: str) -> None:
        """A request to Knowrithm failed: ``kind`` is ``timeout``, ``connection``,
        ``rate_limited``, ``auth``, ``not_found``, ``refused`` (another 4xx), ``server``
        (5xx) or ``stream`` (the response broke off)."""


NO_METRICS = BotMetrics()
