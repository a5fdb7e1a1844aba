"""What operators see: health, readiness and Prometheus metrics of a running bot.

Only the metrics interface is imported here (the pacer and the bridge use it); the listener,
the readiness checks, the Knowrithm transport and the prometheus-client recorder live in
their own modules, imported by the runner when ``observability.listen`` is set.
"""

from knowrithm_bots.core.observability.metrics import (
    NO_METRICS,
    AnswerTiming,
    BotMetrics,
    BudgetLevel,
    failure_kind,
)

__all__ = ["NO_METRICS", "AnswerTiming", "BotMetrics", "BudgetLevel", "failure_kind"]
