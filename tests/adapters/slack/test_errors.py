"""slack-sdk failures become core errors through `translated`, streams' refusals included."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from knowrithm_bots.adapters.slack.errors import StreamRefused, translated
from knowrithm_bots.core.errors import (
    MessageNotFound,
    NativeStreamUnavailable,
    PlatformAuthError,
    PlatformError,
    PlatformRateLimited,
    PlatformUnavailable,
)
from tests.emulators.slack_api import SlackEmulator, ids


@pytest.fixture
async def client(emu: SlackEmulator) -> AsyncIterator[AsyncWebClient]:
    async with aiohttp.ClientSession() as session:
        # No retry handlers: each injected failure is what the block sees.
        yield AsyncWebClient(
            token=emu.identity.bot_token, base_url=emu.api_url, session=session, retry_handlers=[]
        )


async def start_stream(client: AsyncWebClient, *, stream: bool) -> None:
    with translated(action="chat.startStream", stream=stream):
        await client.chat_startStream(channel=ids.IM_CHANNEL_ID, thread_ts="1700000000.000100")


@pytest.mark.parametrize(
    ("error", "status", "plain", "streamed"),
    [
        ("feature_not_enabled", 200, PlatformError, StreamRefused),
        ("invalid_auth", 200, PlatformAuthError, StreamRefused),
        ("message_not_found", 200, MessageNotFound, StreamRefused),
        ("ratelimited", 429, PlatformRateLimited, PlatformRateLimited),
        ("internal_error", 500, PlatformUnavailable, PlatformUnavailable),
    ],
)
async def test_stream_calls_turn_refusals_into_a_fallback_and_keep_waits(
    emu: SlackEmulator,
    client: AsyncWebClient,
    error: str,
    status: int,
    plain: type[PlatformError],
    streamed: type[PlatformError],
) -> None:
    emu.fail_next("chat.startStream", error, status=status)
    with pytest.raises(plain) as without_stream:
        await start_stream(client, stream=False)
    assert not isinstance(without_stream.value, NativeStreamUnavailable)
    emu.fail_next("chat.startStream", error, status=status)
    with pytest.raises(streamed) as with_stream:
        await start_stream(client, stream=True)
    assert "chat.startStream" in str(with_stream.value)
    if isinstance(with_stream.value, StreamRefused):
        assert with_stream.value.code == error
    assert emu.identity.bot_token not in str(with_stream.value)


async def test_an_unreachable_slack_is_platform_unavailable() -> None:
    with socket.socket() as probe:  # a port nothing listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(
            token="xoxb-unreachable-secret",
            base_url=f"http://127.0.0.1:{port}/api/",
            session=session,
            retry_handlers=[],
        )
        with (
            pytest.raises(PlatformUnavailable, match=r"Slack could not be reached for auth\.test"),
            translated(action="auth.test"),
        ):
            await client.auth_test()


def test_failures_that_are_not_slack_s_pass_unchanged() -> None:
    with pytest.raises(KeyError), translated(action="chat.update"):
        raise KeyError("a bug of ours")
