"""Thread keys and message ids the bridge hands back garbled become core errors."""

from __future__ import annotations

import pytest

from knowrithm_bots.adapters.slack import SlackAdapter
from knowrithm_bots.adapters.slack.threads import ThreadKey
from knowrithm_bots.core.errors import MessageNotFound, PlatformError
from tests.adapters.slack.helpers import slack_config
from tests.emulators.slack_api import SlackEmulator, ids
from tests.support import NullSink

GARBLED_THREADS = ("slack:T1", "discord:1:dm:2", "", "slack:T1:U1::1.2")


async def test_garbled_keys_and_ids_become_core_errors(emu: SlackEmulator) -> None:
    adapter = SlackAdapter.from_config(config=slack_config(emu, mode="http"))
    await adapter.start(sink=NullSink())
    good = ThreadKey(
        team=ids.TEAM_ID, bot=ids.BOT_USER_ID, channel=ids.CHANNEL_ID, thread_ts=None
    ).encode()
    try:
        for garbled in GARBLED_THREADS:
            calls = (
                adapter.post(thread=garbled, text="hi"),
                adapter.edit(thread=garbled, message_id=f"{ids.TEAM_ID}:C1:1.2", text="hi"),
                adapter.delete(thread=garbled, message_id=f"{ids.TEAM_ID}:C1:1.2"),
                adapter.typing(thread=garbled),
                adapter.open_native_stream(thread=garbled),
            )
            for call in calls:
                with pytest.raises(PlatformError, match="is not a Slack thread key") as caught:
                    await call
                assert not isinstance(caught.value, ValueError)
            assert adapter.budget_keys(thread=garbled)["thread"] == garbled
        for garbled in ("nonsense", "T1:C1", "T1::1.2", ""):
            with pytest.raises(MessageNotFound, match="is not a Slack message id"):
                await adapter.edit(thread=good, message_id=garbled, text="hi")
            with pytest.raises(MessageNotFound, match="is not a Slack message id"):
                await adapter.delete(thread=good, message_id=garbled)
    finally:
        await adapter.stop()
