"""Keeps Slack tokens and the signing secret out of log records, tracebacks included.

While the adapter runs, ``core.log_redaction`` cleans every record made by a logger under
the covered names, including the loggers bolt makes per request by copying the base logger's
filters once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from adapters.slack.config import SlackConfig
from core.log_redaction import RedactionScope as _Scope
from core.log_redaction import clean_record

REDACTED = "[redacted]"
_TOKEN = re.compile(r"\b(?:xox[a-z]|xapp|xoxe\.xox[a-z])-[A-Za-z0-9-]+")
# The adapter's own loggers (slack-sdk and bolt are handed one of them) and the libraries'.
COVERED_LOGGERS = ("adapters.slack", "slack_sdk", "slack_bolt")


def secrets_of(config: SlackConfig) -> list[str]:
    values = [config.bot_token, config.app_token, config.signing_secret]
    return [v.get_secret_value() for v in values if v is not None]


class Redactor(logging.Filter):
    """Replaces Slack tokens and the configured secrets in log records with ``[redacted]``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return _TOKEN.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        clean_record(record, clean=self.redact)
        return True


class RedactionScope(_Scope):
    """Hides Slack secrets in records of the covered loggers while installed."""

    def __init__(self, *, redactor: Redactor, loggers: Iterable[str] = COVERED_LOGGERS) -> None:
        super().__init__(clean=redactor.redact, loggers=loggers)
