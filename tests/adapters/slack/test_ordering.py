"""Events of one thread reach the sink in order, even while looking up their author waits."""

from __future__ import annotations

from knowrithm_bots.adapters.slack import SlackAdapter
from knowrithm_bots.core.testing.conformance.recorder import EventRecorder
from tests.adapters.slack.helpers import slack_config
from tests.emulators.slack_api import SlackEmulator, events, ids

MENTION = f"<@{ids.BOT_USER_ID}>"
SECOND_USER = "U0SECOND01"
DM_USER = "U0DMUSER01"


async def test_a_quick_second_message_waits_for_the_first_of_its_thread(
    emu: SlackEmulator,
) -> None:
    emu.add_user(user_id=ids.USER_ID, real_name="First Asker")
    emu.add_user(user_id=SECOND_USER, real_name="Second Asker")
    emu.add_user(user_id=DM_USER, real_name="Elsewhere")
    # The first users.info is rate-limited: slack-sdk waits a second before asking again,
    # while the second message's author is known at once.
    emu.fail_next("users.info", "ratelimited", status=429, retry_after=1)
    adapter = SlackAdapter.from_config(config=slack_config(emu, mode="http"))
    sink = EventRecorder()
    await adapter.start(sink=sink)
    try:
        url = adapter.events_url
        assert url is not None
        first = events.app_mention(text=f"{MENTION} first")
        second = events.thread_reply(text="second", thread_ts=first["ts"], user=SECOND_USER)
        other = events.im_message(text="another thread", user=DM_USER)
        for event in (first, second):
            assert await emu.deliver_event(url=url, event=event) == 200
        limited = await emu.wait_for_call("users.info")
        assert (limited.status, limited.params["user"]) == (429, ids.USER_ID)
        assert await emu.deliver_event(url=url, event=other) == 200
        await adapter.settled()
    finally:
        await adapter.stop()

    # One thread keeps its order; another thread is not held up behind the slow look-up.
    assert [m.text for m in sink.messages] == ["another thread", "first", "second"]
    first_event, second_event = sink.messages[1:]
    assert first_event.thread == second_event.thread
    assert (first_event.author.display_name, second_event.author.display_name) == (
        "First Asker",
        "Second Asker",
    )
