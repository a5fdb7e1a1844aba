"""Start, stop, credentials and logs: failures are one clear sentence, secrets stay hidden."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

import pytest
import yaml

from knowrithm_bots.adapters.slack import SlackAdapter
from knowrithm_bots.adapters.slack.threads import MessageRef, ThreadKey
from knowrithm_bots.core.errors import PlatformAuthError, PlatformUnavailable
from knowrithm_bots.core.testing.conformance.recorder import EventRecorder
from tests.adapters.slack.helpers import slack_bot, slack_config
from tests.emulators.slack_api import SlackEmulator, events, ids
from tests.support import NullSink, env_without_proxies

BIN = Path(sys.executable).parent
MENTION = f"<@{ids.BOT_USER_ID}>"


def secrets_of(emu: SlackEmulator) -> tuple[str, ...]:
    identity = emu.identity
    return (identity.bot_token, identity.app_token, identity.signing_secret)


async def test_secrets_never_reach_the_logs(
    emu: SlackEmulator, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm

    caplog.set_level(logging.DEBUG)
    async with LocalKnowrithm() as server, slack_bot(emu, server, mode=mode) as bot:
        emu.fail_next("chat.stopStream", "ratelimited", status=429, retry_after=0)
        await bot.send(events.app_mention(text=f"{MENTION} hello"))
        await bot.settle()
        # Even a token a library might print is masked on the way through the SDK logger.
        logging.getLogger("knowrithm_bots.adapters.slack.sdk").debug(
            "token=%s", emu.identity.bot_token
        )
    assert "Sending a request" in caplog.text  # slack-sdk's debug lines were captured
    assert "token=[redacted]" in caplog.text
    for secret in secrets_of(emu):
        assert secret not in caplog.text


async def test_a_wrong_bot_token_fails_start_naming_the_key(emu: SlackEmulator) -> None:
    adapter = SlackAdapter.from_config(
        config=slack_config(emu, mode="socket", bot_token="xoxb-wrong-and-secret")
    )
    with pytest.raises(PlatformAuthError) as caught:
        await adapter.start(sink=NullSink())
    assert "adapters.slack.bot_token" in str(caught.value)
    assert "xoxb-wrong-and-secret" not in str(caught.value)
    await adapter.stop()
    assert emu.socket_connections == 0


async def test_a_wrong_app_token_fails_start_naming_the_key(emu: SlackEmulator) -> None:
    adapter = SlackAdapter.from_config(
        config=slack_config(emu, mode="socket", app_token="xapp-wrong-and-secret")
    )
    with pytest.raises(PlatformAuthError) as caught:
        await adapter.start(sink=NullSink())
    assert "adapters.slack.app_token" in str(caught.value)
    assert "xapp-wrong-and-secret" not in str(caught.value)


async def test_start_and_stop_are_idempotent(emu: SlackEmulator) -> None:
    adapter = SlackAdapter.from_config(config=slack_config(emu, mode="socket"))
    await adapter.stop()  # never started: nothing to do
    await adapter.start(sink=NullSink())
    await adapter.start(sink=NullSink())
    await emu.wait_for_socket()
    assert emu.socket_connects == 1
    await adapter.stop()
    await adapter.stop()
    await emu.wait_for(lambda: emu.socket_connections == 0, what="the socket closed")
    assert adapter.events_url is None


async def test_the_command_line_runs_the_slack_adapter(emu: SlackEmulator, tmp_path: Path) -> None:
    config = tmp_path / "bot.yaml"
    section = slack_config(emu, mode="socket")
    config.write_text(
        yaml.safe_dump(
            {
                "knowrithm": {"base_url": "local"},
                "store": {"backend": "memory"},
                "adapters": {"slack": section},
            }
        )
    )
    env = env_without_proxies()
    process = await asyncio.create_subprocess_exec(
        str(BIN / "knowrithm-bots"),
        "run",
        "slack",
        "--config",
        str(config),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await emu.wait_for_socket(within=20)
        mention = events.app_mention(text=f"{MENTION} hello from the CLI")
        await emu.wait_for_ack(await emu.push_socket_event(mention))
        await emu.wait_for_call("chat.stopStream", within=10)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 130, stderr.decode()  # stopped by Ctrl-C
    (answer,) = emu.bot_messages(ids.CHANNEL_ID)
    assert answer.thread_ts == mention["ts"]
    assert "hello from the CLI" in answer.text
    for secret in secrets_of(emu):
        assert secret not in stderr.decode()


async def test_calls_before_start_and_after_stop_are_platform_unavailable(
    emu: SlackEmulator,
) -> None:
    adapter = SlackAdapter.from_config(config=slack_config(emu, mode="http"))
    thread = ThreadKey(
        team=ids.TEAM_ID, bot=ids.BOT_USER_ID, channel=ids.CHANNEL_ID, thread_ts="1700000000.1"
    ).encode()
    message = MessageRef(team=ids.TEAM_ID, channel=ids.CHANNEL_ID, ts="1700000000.2").encode()

    async def refused_everything() -> None:
        calls = (
            adapter.post(thread=thread, text="hi"),
            adapter.edit(thread=thread, message_id=message, text="hi"),
            adapter.delete(thread=thread, message_id=message),
            adapter.typing(thread=thread),
            adapter.open_native_stream(thread=thread),
        )
        for call in calls:
            # PlatformUnavailable is what the engine retries; a plain PlatformError it gives up.
            with pytest.raises(PlatformUnavailable, match="the Slack adapter is not running"):
                await call

    await refused_everything()
    await adapter.start(sink=NullSink())
    await adapter.post(thread=thread, text="while running")
    await adapter.stop()
    await refused_everything()
    chat_calls = [c.method for c in emu.calls if c.method.startswith(("chat.", "assistant."))]
    assert chat_calls == ["chat.postMessage"]


async def test_stop_leaves_no_task_running_while_an_event_is_being_looked_up(
    emu: SlackEmulator, mode: str
) -> None:
    before = asyncio.all_tasks()
    # slack-sdk sleeps through this 429 of users.info, so the event is still being
    # translated (queued in the adapter, not yet at the sink) when stop() comes.
    emu.fail_next("users.info", "ratelimited", status=429, retry_after=30)
    adapter = SlackAdapter.from_config(config=slack_config(emu, mode=mode))
    sink = EventRecorder()
    await adapter.start(sink=sink)
    try:
        if mode == "socket":
            await emu.wait_for_socket()
            await emu.wait_for_ack(await emu.push_socket_event(events.im_message(text="hi")))
        else:
            url = adapter.events_url
            assert url is not None
            assert await emu.deliver_event(url=url, event=events.im_message(text="hi")) == 200
        await emu.wait_for_call("users.info")
    finally:
        await adapter.stop()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 2.0
    while left := [t for t in asyncio.all_tasks() - before if t is not asyncio.current_task()]:
        assert loop.time() < deadline, f"left running: {sorted(t.get_name() for t in left)}"
        await asyncio.sleep(0.01)
    assert not sink.messages
