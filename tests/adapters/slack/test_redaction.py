"""Secrets stay out of every covered log record, tracebacks and late child loggers included."""

from __future__ import annotations

import logging
import sys

import pytest

from adapters.slack import SlackAdapter
from adapters.slack.redaction import Redactor
from tests.adapters.slack.helpers import slack_config
from tests.emulators.slack_api import SlackEmulator
from tests.support import CollectLogs, NullSink


def _raise_with(secret: str) -> None:
    raise RuntimeError(f"the server said: bad {secret}")


def test_the_redactor_cleans_the_formatted_traceback() -> None:
    secret = "a-signing-secret-value"
    try:
        _raise_with(f"{secret} and xoxb-123-abc")
    except RuntimeError:
        record = logging.LogRecord(
            "adapters.slack.sdk", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    Redactor([secret]).filter(record)
    rendered = logging.Formatter().format(record)
    assert "RuntimeError: the server said: bad [redacted] and [redacted]" in rendered
    assert "_raise_with" in rendered  # the traceback itself is kept
    assert secret not in rendered
    assert "xoxb-123-abc" not in rendered


async def test_records_of_child_loggers_made_after_start_are_cleaned(
    emu: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = (emu.identity.bot_token, emu.identity.signing_secret)
    caplog.set_level(logging.DEBUG)
    factory = logging.getLogRecordFactory()
    adapter = SlackAdapter.from_config(config=slack_config(emu, mode="http"))
    await adapter.start(sink=NullSink())
    # Made only now; one propagates to the root's handlers, one keeps its own handler.
    late = logging.getLogger("slack_sdk.web.made_after_start")
    lonely = logging.getLogger("slack_bolt.made_after_start.lonely")
    collect = CollectLogs()
    lonely.addHandler(collect)
    lonely.propagate = False
    try:
        for logger in (late, lonely):
            try:
                _raise_with(secrets[0])
            except RuntimeError:
                logger.exception("request failed; signing secret %s", secrets[1])
    finally:
        await adapter.stop()
        lonely.removeHandler(collect)
        lonely.propagate = True
    assert logging.getLogRecordFactory() is factory  # stop puts the factory back
    rendered = [caplog.text, *collect.texts]
    assert all("request failed; signing secret [redacted]" in text for text in rendered)
    assert all("RuntimeError: the server said: bad [redacted]" in text for text in rendered)
    for text in rendered:
        for secret in secrets:
            assert secret not in text
