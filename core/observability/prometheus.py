"""``BotMetrics`` recorded with prometheus-client, in a registry of the bot's own."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from knowrithm_bots.core.clock import Clock, SystemClock
from knowrithm_bots.core.observability.metrics import (
    AnswerTiming,
    BotMetrics,
    BudgetLevel,
    failure_kind,
)

__all__ = ["CONTENT_TYPE", "PrometheusMetrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
PREFIX = "knowrithm_bots"
# Seconds: a first word within a second is good, a final text after two minutes has timed out.
TEXT_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 60.0, 120.0)
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Timing(AnswerTiming):
    __slots__ = ("_adapter", "_closed", "_metrics", "_shown", "_since")

    def __init__(self, *, metrics: PrometheusMetrics, adapter: str, since: float) -> None:
        self._metrics = metrics
        self._adapter = adapter
        self._since = since
        self._shown = False
        self._closed = False

    def first_text(self) -> None:
        if not self._shown:
            self._shown = True
            self._metrics._first_text.labels(self._adapter).observe(self._elapsed())

    def final_text(self) -> None:
        # An answer shown whole at once (a short one, a native stream) showed its first
        # words then too.
        self.first_text()
        self._metrics._final_text.labels(self._adapter).observe(self._elapsed())

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._metrics._in_progress.labels(self._adapter).dec()

    def _elapsed(self) -> float:
        return max(0.0, self._metrics.clock.monotonic() - self._since)


class _Watched(Collector):
    """Values read from the running bot when Prometheus scrapes, never kept up to date."""

    def __init__(self) -> None:
        self.queue: list[Callable[[], int]] = []
        self.budgets: list[Callable[[], Iterable[BudgetLevel]]] = []

    def collect(self) -> Iterator[Metric]:
        queued = GaugeMetricFamily(
            f"{PREFIX}_queued_messages",
            "Messages received and not yet being answered.",
        )
        queued.add_metric([], float(sum(depth() for depth in self.queue)))
        yield queued
        headroom = GaugeMetricFamily(
            f"{PREFIX}_budget_headroom_ratio",
            "Share of the burst of the tightest budget of this scope available now (1: full).",
            labels=["adapter", "scope"],
        )
        rate = GaugeMetricFamily(
            f"{PREFIX}_budget_rate_ratio",
            "Share of the declared rate in force for the slowest budget of this scope "
            "(below 1 after a 429).",
            labels=["adapter", "scope"],
        )
        for levels in self.budgets:
            for level in levels():
                headroom.add_metric([level.adapter, level.scope], level.headroom)
                rate.add_metric([level.adapter, level.scope], level.rate)
        yield headroom
        yield rate


class PrometheusMetrics(BotMetrics):
    """Records every ``BotMetrics`` call in ``registry`` (a new one by default, never the
    process-wide default registry, so several bots and tests in one process do not mix)."""

    enabled = True

    def __init__(
        self, *, registry: CollectorRegistry | None = None, clock: Clock | None = None
    ) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.clock = clock or SystemClock()
        on = self.registry
        self._in_progress = Gauge(
            f"{PREFIX}_answers_in_progress",
            "Messages being answered now.",
            ["adapter"],
            registry=on,
        )
        self._first_text = Histogram(
            f"{PREFIX}_time_to_first_text_seconds",
            "From a message's arrival until the first words of its answer are visible.",
            ["adapter"],
            buckets=TEXT_BUCKETS,
            registry=on,
        )
        self._final_text = Histogram(
            f"{PREFIX}_time_to_final_text_seconds",
            "From a message's arrival until its whole answer is visible.",
            ["adapter"],
            buckets=TEXT_BUCKETS,
            registry=on,
        )
        self._failures = Counter(
            f"{PREFIX}_failures",
            "Messages whose answer failed, by the kind of error.",
            ["adapter", "kind"],
            registry=on,
        )
        self._calls = Counter(
            f"{PREFIX}_platform_calls",
            "Platform calls answered (429s included), per budget scope they were charged to.",
            ["adapter", "scope"],
            registry=on,
        )
        self._limited = Counter(
            f"{PREFIX}_platform_rate_limited",
            "Platform calls refused with a 429, per budget scope they were charged to.",
            ["adapter", "scope"],
            registry=on,
        )
        self._retry_after = Counter(
            f"{PREFIX}_platform_retry_after_seconds",
            "Seconds of waiting the platform's 429s asked for, per budget scope.",
            ["adapter", "scope"],
            registry=on,
        )
        self._requests = Histogram(
            f"{PREFIX}_knowrithm_request_seconds",
            "Time from sending a request to Knowrithm until its response headers arrive.",
            ["method"],
            buckets=REQUEST_BUCKETS,
            registry=on,
        )
        self._errors = Counter(
            f"{PREFIX}_knowrithm_errors",
            "Requests to Knowrithm that failed, by kind.",
            ["kind"],
            registry=on,
        )
        self._watched = _Watched()
        self.registry.register(self._watched)

    def exposition(self) -> bytes:
        """The registry in Prometheus text format (content type ``CONTENT_TYPE``)."""
        return _generate_latest(self.registry)

    def answer(self, *, adapter: str, since: float | None = None) -> AnswerTiming:
        self._in_progress.labels(adapter).inc()
        start = self.clock.monotonic() if since is None else since
        return _Timing(metrics=self, adapter=adapter, since=start)

    def failure(self, *, adapter: str, error: BaseException) -> None:
        self._failures.labels(adapter, failure_kind(error)).inc()

    def watch_queue(self, depth: Callable[[], int]) -> None:
        self._watched.queue.append(depth)

    def platform_call(self, *, adapter: str, scope: str) -> None:
        self._calls.labels(adapter, scope).inc()

    def rate_limited(self, *, adapter: str, scope: str, retry_after: float) -> None:
        self._calls.labels(adapter, scope).inc()
        self._limited.labels(adapter, scope).inc()
        self._retry_after.labels(adapter, scope).inc(max(0.0, retry_after))

    def watch_budgets(self, levels: Callable[[], Iterable[BudgetLevel]]) -> None:
        self._watched.budgets.append(levels)

    def knowrithm_request(self, *, method: str, seconds: float) -> None:
        self._requests.labels(method).observe(max(0.0, seconds))

    def knowrithm_error(self, *, kind: str) -> None:
        self._errors.labels(kind).inc()
