"""Secrets stay out of every covered log record, tracebacks and late child loggers included."""

from __future__ import annotations

import logging

import pytest

from knowrithm_bots.adapters.slack import SlackAdapter
from tests.adapters.slack.helpers import slack_config
from tests.emulators.slack_api import SlackEmulator
from tests.support import CollectLogs, NullSink

OTHER_TOKEN = "xoxb-123-abc"


def _raise_with(secret: str) -> None:
    raise RuntimeError(f"the server said: bad {secret}")


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
                # The second token was never configured: its shape alone gives it away.
                _raise_with(f"{secrets[0]} and {OTHER_TOKEN}")
            except RuntimeError:
                logger.exception("request failed; signing secret %s", secrets[1])
    finally:
        await adapter.stop()
        lonely.removeHandler(collect)
        lonely.propagate = True
    assert logging.getLogRecordFactory() is factory  # stop puts the factory back
    rendered = [caplog.text, *collect.texts]
    assert all("request failed; signing secret [redacted]" in text for text in rendered)
    assert all(
        "RuntimeError: the server said: bad [redacted] and [redacted]" in text for text in rendered
    )
    assert all("_raise_with" in text for text in rendered)  # the traceback itself is kept
    for text in rendered:
        for secret in (*secrets, OTHER_TOKEN):
            assert secret not in text
