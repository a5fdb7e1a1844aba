"""Chooses what ``observability:`` asks for: Prometheus metrics and the operators' listener."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import httpx

from knowrithm_bots.core.adapter import Adapter
from knowrithm_bots.core.clock import Clock, SystemClock
from knowrithm_bots.core.config import ObservabilitySettings
from knowrithm_bots.core.knowrithm.pools import TransportWrapper
from knowrithm_bots.core.observability import NO_METRICS, BotMetrics
from knowrithm_bots.core.observability.knowrithm_transport import MeteredTransport
from knowrithm_bots.core.observability.listener import Exposition, ObservabilityListener
from knowrithm_bots.core.observability.readiness import Readiness
from knowrithm_bots.core.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Observability:
    """The bot's metrics (``NO_METRICS`` when off) and how to serve them.

    ``exposition`` is None when the listener is off or prometheus-client is missing (the
    listener then still serves ``/healthz`` and ``/readyz`` and explains ``/metrics``).
    """

    settings: ObservabilitySettings
    metrics: BotMetrics = NO_METRICS
    exposition: Exposition | None = None

    @property
    def enabled(self) -> bool:
        return self.settings.listen is not None

    def knowrithm_transport(self) -> httpx.AsyncBaseTransport | None:
        """The transport for ``KnowrithmClient``: metered when metrics are on, else None
        (the client's default, untouched)."""
        return MeteredTransport(metrics=self.metrics) if self.metrics.enabled else None

    def knowrithm_transport_wrapper(self) -> TransportWrapper | None:
        """What ``KnowrithmClient`` wraps each of its connection pools in: metered when
        metrics are on, else None. Unlike one injected transport, it keeps the reply streams
        and the calls in pools of their own."""
        if not self.metrics.enabled:
            return None
        metrics = self.metrics
        return lambda inner: MeteredTransport(metrics=metrics, inner=inner)

    def listener(
        self,
        *,
        adapters: Mapping[str, Adapter],
        knowrithm_health: Callable[[], Awaitable[bool]],
        store: Store,
        started: Callable[[], bool],
        failed: Callable[[], Mapping[str, str]],
    ) -> ObservabilityListener | None:
        """The listener for one running bot, or None when ``listen`` is not set."""
        if self.settings.listen is None:
            return None
        readiness = Readiness(
            adapters=adapters,
            knowrithm_health=knowrithm_health,
            store=store,
            started=started,
            failed=failed,
            ttl=self.settings.readiness_cache_seconds,
        )
        return ObservabilityListener(
            host=self.settings.host,
            port=self.settings.port,
            readiness=readiness,
            exposition=self.exposition,
        )


def build_observability(
    settings: ObservabilitySettings, *, clock: Clock | None = None
) -> Observability:
    """Metrics in a registry of this bot's own when ``listen`` is set; nothing otherwise."""
    if settings.listen is None:
        return Observability(settings=settings)
    try:
        # Imported only when asked for: prometheus-client is an optional extra.
        from knowrithm_bots.core.observability.prometheus import CONTENT_TYPE, PrometheusMetrics
    except ImportError:
        return Observability(settings=settings)
    metrics = PrometheusMetrics(clock=clock or SystemClock())
    exposition = Exposition(render=metrics.exposition, content_type=CONTENT_TYPE)
    return Observability(settings=settings, metrics=metrics, exposition=exposition)
