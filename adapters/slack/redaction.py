"""Keeps Slack tokens and the signing secret out of log records, tracebacks included.

While the adapter runs, ``core.log_redaction`` cleans every record made by a logger under
the covered names, including the loggers bolt makes per request by copying the base logger's
filters once.
"""

from __future__ import annotations

from knowrithm_bots.adapters.slack.config import SlackConfig
from knowrithm_bots.core.log_redaction import RedactionScope, Redactor

# Any Slack token, configured or not (a token quoted back from another workspace, say).
SLACK_TOKEN = r"\b(?:xox[a-z]|xapp|xoxe\.xox[a-z])-[A-Za-z0-9-]+"
# The adapter's own loggers (slack-sdk and bolt are handed one of them), the libraries', and
# the thread queue's, which logs the failures of the event jobs it runs for the adapter.
COVERED_LOGGERS = (
    "knowrithm_bots.adapters.slack",
    "slack_sdk",
    "slack_bolt",
    "knowrithm_bots.core.thread_queue",
)


def redaction_scope(*, config: SlackConfig) -> RedactionScope:
    """Hides the configured secrets and anything shaped like a Slack token while installed."""
    values = (config.bot_token, config.app_token, config.signing_secret)
    secrets = [value.get_secret_value() for value in values if value is not None]
    return RedactionScope(clean=Redactor(secrets, patterns=(SLACK_TOKEN,)), loggers=COVERED_LOGGERS)
