"""The Slack emulator driven by the real slack-sdk and slack-bolt over HTTP and WebSocket."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from knowrithm_bots.bots.local_site import LocalSite
from tests.emulators.slack_api import ManualClock, SlackEmulator, events, ids


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


def web_client(emu: SlackEmulator, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=emu.identity.bot_token, base_url=emu.api_url, **kwargs)


@contextlib.asynccontextmanager
async def served(app: web.Application) -> AsyncIterator[str]:
    """``app`` on a free loopback port, as its base URL, for the block."""
    site = LocalSite()
    port = await site.start(app)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await site.stop()


@contextlib.asynccontextmanager
async def socket_mode(emu: SlackEmulator, app: AsyncApp) -> AsyncIterator[AsyncSocketModeHandler]:
    handler = AsyncSocketModeHandler(app, app_token=emu.identity.app_token, ping_interval=1)
    await handler.connect_async()
    try:
        await emu.wait_for_socket()
        yield handler
    finally:
        await handler.close_async()
        await emu.wait_for(lambda: emu.socket_connections == 0, what="sockets closed")
        # Let the client's cancelled reader tasks unwind before the loop closes.
        await asyncio.sleep(0.05)


async def api_error(awaitable: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await awaitable
    return caught.value


# --- Web API ---------------------------------------------------------------------------


async def test_auth_test_answers_the_bot_identity(emu: SlackEmulator) -> None:
    answer = await web_client(emu).auth_test()
    assert answer["user_id"] == ids.BOT_USER_ID
    assert answer["bot_id"] == ids.BOT_ID
    assert answer["team_id"] == ids.TEAM_ID
    assert answer["team"] == ids.TEAM_NAME
    assert answer["url"] == f"https://{ids.TEAM_DOMAIN}.slack.com/"


async def test_post_update_delete_keep_history(emu: SlackEmulator) -> None:
    client = web_client(emu)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    posted = await client.chat_postMessage(
        channel="C1", text="hello", thread_ts="1700000000.000001", blocks=blocks
    )
    ts = posted["ts"]
    assert posted["message"]["bot_id"] == ids.BOT_ID
    await client.chat_update(channel="C1", ts=ts, text="hello again")
    await client.chat_update(channel="C1", ts=ts, text="final")

    message = emu.messages[("C1", ts)]
    assert message.thread_ts == "1700000000.000001"
    assert message.blocks == blocks
    assert message.texts == ["hello", "hello again", "final"]
    assert message.edits == 2

    await client.chat_delete(channel="C1", ts=ts)  # sent as query parameters
    assert message.deleted
    error = await api_error(client.chat_update(channel="C1", ts=ts, text="too late"))
    assert error.response["error"] == "message_not_found"

    assert [call.method for call in emu.calls] == [
        "chat.postMessage",
        "chat.update",
        "chat.update",
        "chat.delete",
        "chat.update",
    ]
    assert all("token" not in call.params for call in emu.calls)
    assert emu.calls[-1].error == "message_not_found"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
async def test_form_bodies_and_errors(emu: SlackEmulator) -> None:
    client = web_client(emu)
    blocks = [{"type": "divider"}]
    form = await client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "form", "blocks": json.dumps(blocks)}
    )
    assert emu.messages[("C1", form["ts"])].blocks == blocks

    bad = AsyncWebClient(token="xoxb-wrong", base_url=emu.api_url)
    assert (await api_error(bad.auth_test())).response["error"] == "invalid_auth"
    app_token_client = AsyncWebClient(token=emu.identity.app_token, base_url=emu.api_url)
    error = await api_error(app_token_client.chat_postMessage(channel="C1", text="x"))
    assert error.response["error"] == "not_allowed_token_type"
    error = await api_error(client.apps_connections_open(app_token=emu.identity.bot_token))
    assert error.response["error"] == "not_allowed_token_type"
    assert (await api_error(client.api_call("chat.frobnicate"))).response[
        "error"
    ] == "unknown_method"
    assert (await api_error(client.chat_postMessage(channel="C1"))).response["error"] == "no_text"


async def test_injected_429_is_retried_by_the_sdk_handler(emu: SlackEmulator) -> None:
    client = web_client(emu, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    emu.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=0)
    answer = await client.chat_postMessage(channel="C1", text="after a pause")
    assert answer["ok"]
    assert [call.status for call in emu.calls_to("chat.postMessage")] == [429, 200]
    assert emu.calls[0].error == "ratelimited"
    assert len(emu.bot_messages("C1")) == 1


async def test_rate_limits_follow_tiers_and_the_injected_clock() -> None:
    clock = ManualClock()
    async with SlackEmulator(clock=clock) as emu:
        client = web_client(emu)
        posted = [await client.chat_postMessage(channel="C1", text=str(n)) for n in range(3)]
        error = await api_error(client.chat_postMessage(channel="C1", text="burst over"))
        assert error.response.status_code == 429
        assert error.response.headers["Retry-After"] == "1"
        assert error.response["error"] == "ratelimited"
        await client.chat_postMessage(channel="C2", text="other channel, own bucket")
        clock.advance(1.0)
        await client.chat_postMessage(channel="C1", text="one per second again")

        ts = posted[0]["ts"]
        for n in range(10):  # Tier 3 bucket, shared by the whole workspace
            await client.chat_update(channel="C1", ts=ts, text=f"edit {n}")
        error = await api_error(client.chat_update(channel="C1", ts=ts, text="edit 11"))
        assert error.response.status_code == 429
        assert error.response.headers["Retry-After"] == "2"  # 50/min refills one in 1.2 s

        emu.rate_limits_enabled = False
        for n in range(5):
            await client.chat_update(channel="C1", ts=ts, text=f"unlimited {n}")
        assert emu.messages[("C1", ts)].text == "unlimited 4"


# --- streaming -------------------------------------------------------------------------


async def test_chat_stream_helper_start_append_stop(emu: SlackEmulator) -> None:
    client = web_client(emu)
    streamer = await client.chat_stream(
        channel="C1",
        thread_ts="1700000000.000100",
        recipient_user_id=ids.USER_ID,
        recipient_team_id=ids.TEAM_ID,
        buffer_size=8,
    )
    assert await streamer.append(markdown_text="Hello ") is None  # still buffered
    await streamer.append(markdown_text="world, ")
    await streamer.append(markdown_text="how are you?")
    stopped = await streamer.stop(markdown_text="!")

    methods = [call.method for call in emu.calls]
    assert methods == ["chat.startStream", "chat.appendStream", "chat.stopStream"]
    start = emu.calls[0].params
    assert start["thread_ts"] == "1700000000.000100"
    assert start["recipient_user_id"] == ids.USER_ID
    assert start["recipient_team_id"] == ids.TEAM_ID

    assert streamer.ts is not None
    message = emu.messages[("C1", streamer.ts)]
    assert message.is_stream
    assert message.stream_state == "stopped"
    assert message.streamed_text == "Hello world, how are you?!"
    assert message.stream_appends == 1
    assert stopped["message"]["text"] == "Hello world, how are you?!"


async def test_streaming_disabled_surfaces_feature_not_enabled() -> None:
    async with SlackEmulator(streaming_enabled=False) as emu:
        client = web_client(emu)
        streamer = await client.chat_stream(channel=ids.IM_CHANNEL_ID, thread_ts="1.000001")
        error = await api_error(streamer.append(markdown_text="x" * 300))
        assert error.response["error"] == "feature_not_enabled"
        assert not emu.messages

        emu.streaming_enabled = True
        started = await client.chat_startStream(channel=ids.IM_CHANNEL_ID, thread_ts="1.000001")
        assert emu.messages[(ids.IM_CHANNEL_ID, started["ts"])].stream_state == "streaming"


async def test_expired_stream_rejects_appends_and_allows_update(emu: SlackEmulator) -> None:
    client = web_client(emu)
    streamer = await client.chat_stream(channel=ids.IM_CHANNEL_ID, thread_ts="1.1", buffer_size=1)
    await streamer.append(markdown_text="partial")
    assert [m.ts for m in emu.expire_streams()] == [streamer.ts]

    error = await api_error(streamer.append(markdown_text=" more"))
    assert error.response["error"] == "message_not_in_streaming_state"
    error = await api_error(streamer.stop())
    assert error.response["error"] == "message_not_in_streaming_state"

    assert streamer.ts is not None
    await client.chat_update(channel=ids.IM_CHANNEL_ID, ts=streamer.ts, text="partial more")
    message = emu.messages[(ids.IM_CHANNEL_ID, streamer.ts)]
    assert message.texts == ["partial", "partial more"]
    assert message.stream_state == "expired"


async def test_stream_rules_recipient_and_ttl() -> None:
    clock = ManualClock()
    async with SlackEmulator(clock=clock, stream_ttl=300) as emu:
        client = web_client(emu)
        error = await api_error(client.chat_startStream(channel="C1", thread_ts="1.1"))
        assert error.response["error"] == "missing_recipient_user_id"
        started = await client.chat_startStream(
            channel="C1", thread_ts="1.1", recipient_user_id="U1", recipient_team_id="T1"
        )
        await client.chat_appendStream(channel="C1", ts=started["ts"], markdown_text="a")
        clock.advance(301)
        error = await api_error(
            client.chat_appendStream(channel="C1", ts=started["ts"], markdown_text="b")
        )
        assert error.response["error"] == "message_not_in_streaming_state"
        assert emu.messages[("C1", started["ts"])].streamed_text == "a"


# --- reactions, users, statuses, conversations ---------------------------------------


async def test_reactions_users_statuses_conversations(emu: SlackEmulator) -> None:
    client = web_client(emu)
    ts = (await client.chat_postMessage(channel="C1", text="react to me"))["ts"]
    await client.reactions_add(channel="C1", name="eyes", timestamp=ts)
    error = await api_error(client.reactions_add(channel="C1", name="eyes", timestamp=ts))
    assert error.response["error"] == "already_reacted"
    got = await client.reactions_get(channel="C1", timestamp=ts)
    assert got["message"]["reactions"] == [{"name": "eyes", "users": [ids.BOT_USER_ID], "count": 1}]
    await client.reactions_remove(channel="C1", name="eyes", timestamp=ts)
    error = await api_error(client.reactions_remove(channel="C1", name="eyes", timestamp=ts))
    assert error.response["error"] == "no_reaction"
    error = await api_error(client.reactions_add(channel="C1", name="eyes", timestamp="9.9"))
    assert error.response["error"] == "message_not_found"
    assert emu.reactions[("C1", ts)] == {}

    emu.add_user(
        user_id="U0EXT00001", real_name="Ext Person", email="ext@example.com", team_id="T0OTHER01"
    )
    user = (await client.users_info(user="U0EXT00001"))["user"]
    assert (user["real_name"], user["team_id"], user["is_bot"]) == (
        "Ext Person",
        "T0OTHER01",
        False,
    )
    assert user["profile"]["email"] == "ext@example.com"
    assert (await client.users_info(user=ids.BOT_USER_ID))["user"]["is_bot"] is True
    error = await api_error(client.users_info(user="U0NOBODY"))
    assert error.response["error"] == "user_not_found"

    await client.assistant_threads_setStatus(
        channel_id=ids.IM_CHANNEL_ID, thread_ts="1.5", status="is thinking…", loading_messages=["a"]
    )
    await client.assistant_threads_setStatus(
        channel_id=ids.IM_CHANNEL_ID, thread_ts="1.5", status=""
    )
    assert [s.status for s in emu.statuses] == ["is thinking…", ""]
    assert emu.statuses[0].loading_messages == ("a",)

    emu.add_channel(channel_id="C0SHARED01", name="partners", is_ext_shared=True)
    shared = (await client.conversations_info(channel="C0SHARED01"))["channel"]
    assert (shared["name"], shared["is_ext_shared"]) == ("partners", True)
    assert (await client.conversations_info(channel="D0ABC"))["channel"]["is_im"] is True


# --- Events API over HTTP ------------------------------------------------------------


async def test_http_mode_bolt_app_receives_signed_event(emu: SlackEmulator) -> None:
    app = AsyncApp(client=web_client(emu), signing_secret=emu.identity.signing_secret)
    seen: list[dict[str, Any]] = []

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: Any) -> None:
        seen.append(event)
        await say(text=f"echo: {event['text']}", thread_ts=event["ts"])

    async with served(app.web_app(path="/slack/events")) as base:
        url = f"{base}/slack/events"
        mention = events.app_mention(text=f"<@{ids.BOT_USER_ID}> hello")
        assert await emu.deliver_event(url=url, event=mention, event_id="Ev0000000001") == 200
        reply = await emu.wait_for_call("chat.postMessage")
        assert reply.params["text"] == f"echo: <@{ids.BOT_USER_ID}> hello"
        assert reply.params["thread_ts"] == mention["ts"]
        assert len(emu.calls_to("auth.test")) == 1

        forged = events.app_mention(text=f"<@{ids.BOT_USER_ID}> forged")
        assert await emu.deliver_event(url=url, event=forged, bad_signature=True) == 401
        stale = events.app_mention(text=f"<@{ids.BOT_USER_ID}> stale")
        old = int(emu.clock()) - 600
        assert await emu.deliver_event(url=url, event=stale, request_timestamp=old) == 401
        # A genuine event after the rejected ones: once its reply is out, anything the
        # rejected ones could have triggered would have shown up before it.
        marker = events.app_mention(text=f"<@{ids.BOT_USER_ID}> marker")
        assert await emu.deliver_event(url=url, event=marker, event_id="Ev0000000002") == 200
        await emu.wait_for_call("chat.postMessage", count=2)
    assert [event["text"] for event in seen] == [mention["text"], marker["text"]]
    replies = [call.params["text"] for call in emu.calls_to("chat.postMessage")]
    assert replies == [f"echo: {mention['text']}", f"echo: {marker['text']}"]


async def test_deliver_with_retries_repeats_until_acked(emu: SlackEmulator) -> None:
    received: list[tuple[dict[str, str], dict[str, Any]]] = []
    verifier = SignatureVerifier(emu.identity.signing_secret)
    # The second attempt's handler holds its answer until the test has seen the emulator
    # give up on it, so the timeout is forced by ordering, not by racing the clock.
    release_slow = asyncio.Event()
    slow_finished = asyncio.Event()

    async def flaky(request: web.Request) -> web.Response:
        body = await request.text()
        assert verifier.is_valid_request(body, dict(request.headers))
        received.append((dict(request.headers), json.loads(body)))
        if len(received) == 1:
            return web.Response(status=500)
        if len(received) == 2:
            try:
                await release_slow.wait()
            finally:
                slow_finished.set()
        return web.Response(status=200)

    async def refuses(request: web.Request) -> web.Response:
        return web.Response(status=500, headers={"X-Slack-No-Retry": "1"})

    app = web.Application()
    app.router.add_post("/flaky", flaky)
    app.router.add_post("/refuses", refuses)
    async with served(app) as base:
        try:
            # Generous, so a quick answer is never mistaken for a timeout on a loaded machine.
            attempts = await emu.deliver_with_retries(
                url=f"{base}/flaky",
                event=events.im_message(text="hi"),
                ack_timeout=2.0,
                retry_delays=(0.0, 0.01),
            )
        finally:
            release_slow.set()
        assert [a.outcome for a in attempts] == ["http_error", "http_timeout", "acked"]
        assert [a.retry_reason for a in attempts] == [None, "http_error", "http_timeout"]
        assert attempts[1].elapsed >= 1.9
        headers = [(h.get("X-Slack-Retry-Num"), h.get("X-Slack-Retry-Reason")) for h, _ in received]
        assert headers == [(None, None), ("1", "http_error"), ("2", "http_timeout")]
        assert len({body["event_id"] for _, body in received}) == 1
        assert received[0][1]["type"] == "event_callback"
        assert received[0][1]["authorizations"][0]["user_id"] == ids.BOT_USER_ID

        refused = await emu.deliver_with_retries(
            url=f"{base}/refuses", event=events.im_message(text="x")
        )
        assert [a.status for a in refused] == [500]
        async with asyncio.timeout(10):
            await slow_finished.wait()  # the held handler ends before the server stops


# --- Socket Mode -----------------------------------------------------------------------


async def test_socket_mode_bolt_app_receives_and_acks(emu: SlackEmulator) -> None:
    client = web_client(emu)
    app = AsyncApp(client=client, signing_secret=emu.identity.signing_secret)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: Any) -> None:
        await client.reactions_add(channel=event["channel"], name="eyes", timestamp=event["ts"])
        await say(text="on it", thread_ts=event["ts"])

    async with socket_mode(emu, app):
        hello = emu.socket_messages_sent[0]
        assert hello["type"] == "hello"
        assert hello["connection_info"]["app_id"] == ids.APP_ID
        await emu.wait_for(lambda: emu.socket_pings >= 1, what="the client's first ping")

        mention = events.app_mention(text=f"<@{ids.BOT_USER_ID}> help", user_team="T0OTHER01")
        envelope_id = await emu.push_socket_event(mention)
        assert await emu.wait_for_ack(envelope_id) == {"envelope_id": envelope_id}
        reply = await emu.wait_for_call("chat.postMessage")
        assert reply.params["thread_ts"] == mention["ts"]
        await emu.wait_for_call("reactions.add")
        assert emu.reactions[(ids.CHANNEL_ID, mention["ts"])] == {"eyes": [ids.BOT_USER_ID]}
        payload = emu.socket_messages_sent[-1]["payload"]
        assert payload["is_ext_shared_channel"] is True

        # Slack rotates connections with a `disconnect` message; the client must come back.
        await emu.disconnect_sockets()
        await emu.wait_for_call("apps.connections.open", count=2)
        await emu.wait_for(lambda: emu.socket_connects == 2 and emu.socket_connections == 1)
        again = await emu.push_socket_event(events.app_mention(text=f"<@{ids.BOT_USER_ID}> 2"))
        await emu.wait_for_ack(again)
        await emu.wait_for_call("chat.postMessage", count=2)


async def test_socket_ticket_is_single_use(emu: SlackEmulator) -> None:
    url = (await web_client(emu).apps_connections_open(app_token=emu.identity.app_token))["url"]
    assert url.startswith("ws://127.0.0.1:")
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as ws:
            hello = await ws.receive_json(timeout=2)
            assert hello["type"] == "hello"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url)
        assert refused.value.status == 401


async def test_builders_route_through_bolt_like_real_events(emu: SlackEmulator) -> None:
    app = AsyncApp(client=web_client(emu), signing_secret=emu.identity.signing_secret)
    seen: list[dict[str, Any]] = []

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        seen.append(event)

    @app.event("reaction_added")
    async def on_added(event: dict[str, Any]) -> None:
        seen.append(event)

    @app.event("reaction_removed")
    async def on_removed(event: dict[str, Any]) -> None:
        seen.append(event)

    parent = events.channel_message(text="question")
    pushed = [
        parent,
        events.im_message(text="dm"),
        events.thread_reply(text="follow-up", thread_ts=parent["ts"], user_team="T0OTHER01"),
        events.bot_message(text="from another bot"),
        events.bot_message(text="from ourselves", bot_id=ids.BOT_ID),
        events.message_changed(
            channel=ids.CHANNEL_ID, ts=parent["ts"], text="q2", previous_text="q"
        ),
        events.message_deleted(channel=ids.CHANNEL_ID, deleted_ts=parent["ts"]),
        events.file_share(),
        events.reaction_added(reaction="+1", item_channel=ids.CHANNEL_ID, item_ts=parent["ts"]),
        events.reaction_removed(reaction="+1", item_channel=ids.CHANNEL_ID, item_ts=parent["ts"]),
    ]
    async with socket_mode(emu, app):
        for event in pushed:
            await emu.wait_for_ack(await emu.push_socket_event(event))
        await emu.wait_for(lambda: len(seen) == len(pushed) - 1, what="all listeners")

    kinds = [(event["type"], event.get("subtype"), event.get("channel_type")) for event in seen]
    assert sorted(kinds, key=str) == sorted(
        [
            ("message", None, "channel"),
            ("message", None, "im"),
            ("message", None, "channel"),
            ("message", "bot_message", "channel"),
            ("message", "message_changed", "channel"),
            ("message", "message_deleted", "channel"),
            ("message", "file_share", "channel"),
            ("reaction_added", None, None),
            ("reaction_removed", None, None),
        ],
        key=str,
    )
    assert all(event.get("bot_id") != ids.BOT_ID for event in seen)  # bolt ignores its own
    reply = next(event for event in seen if event.get("thread_ts") == parent["ts"])
    assert (reply["user_team"], reply["parent_user_id"]) == ("T0OTHER01", ids.USER_ID)
    added = next(event for event in seen if event["type"] == "reaction_added")
    assert added["item"] == {"type": "message", "channel": ids.CHANNEL_ID, "ts": parent["ts"]}
    assert emu.messages[(ids.CHANNEL_ID, parent["ts"])].deleted
    assert emu.messages[(ids.CHANNEL_ID, parent["ts"])].texts == ["question", "q2"]


# --- what Slack's chat streams refuse (PLATFORMS.md, "Slack chat streams") -------------


async def test_an_open_stream_refuses_update_and_delete_until_stopped(emu: SlackEmulator) -> None:
    client = web_client(emu)
    started = await client.chat_startStream(
        channel=ids.IM_CHANNEL_ID, thread_ts="1.1", markdown_text="half"
    )
    ts = started["ts"]
    error = await api_error(client.chat_update(channel=ids.IM_CHANNEL_ID, ts=ts, text="x"))
    assert error.response["error"] == "streaming_state_conflict"
    error = await api_error(client.chat_delete(channel=ids.IM_CHANNEL_ID, ts=ts))
    assert error.response["error"] == "cant_delete_message"
    await client.chat_stopStream(channel=ids.IM_CHANNEL_ID, ts=ts)
    await client.chat_update(channel=ids.IM_CHANNEL_ID, ts=ts, text="whole")
    assert emu.messages[(ids.IM_CHANNEL_ID, ts)].texts == ["half", "whole"]


async def test_a_stream_the_user_stopped_refuses_appends_and_stops(emu: SlackEmulator) -> None:
    client = web_client(emu)
    started = await client.chat_startStream(
        channel=ids.IM_CHANNEL_ID, thread_ts="1.1", markdown_text="half"
    )
    emu.user_stops_stream(channel=ids.IM_CHANNEL_ID, ts=started["ts"])
    for call in (
        client.chat_appendStream(channel=ids.IM_CHANNEL_ID, ts=started["ts"], markdown_text="x"),
        client.chat_stopStream(channel=ids.IM_CHANNEL_ID, ts=started["ts"]),
    ):
        assert (await api_error(call)).response["error"] == "stopped_by_user"
    assert emu.messages[(ids.IM_CHANNEL_ID, started["ts"])].text == "half"


async def test_streams_close_after_30_idle_seconds_and_channels_can_refuse_them() -> None:
    clock = ManualClock()
    async with SlackEmulator(clock=clock) as emu:
        client = web_client(emu)
        started = await client.chat_startStream(channel=ids.IM_CHANNEL_ID, thread_ts="1.1")
        for _ in range(3):  # appends keep it open well past 30 s in all
            clock.advance(20)
            await client.chat_appendStream(
                channel=ids.IM_CHANNEL_ID, ts=started["ts"], markdown_text="a"
            )
        clock.advance(31)
        error = await api_error(
            client.chat_appendStream(channel=ids.IM_CHANNEL_ID, ts=started["ts"], markdown_text="b")
        )
        assert error.response["error"] == "message_not_in_streaming_state"
        emu.refuse_streams_in(ids.IM_CHANNEL_ID)
        error = await api_error(client.chat_startStream(channel=ids.IM_CHANNEL_ID, thread_ts="2.2"))
        assert error.response["error"] == "channel_type_not_supported"


async def test_raw_payloads_reach_the_app_as_given(emu: SlackEmulator) -> None:
    seen: list[Any] = []
    app = AsyncApp(
        client=web_client(emu),
        signing_secret=emu.identity.signing_secret,
        raise_error_for_unhandled_request=False,
    )

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any]) -> None:
        seen.append(body)

    async with served(app.web_app(path="/slack/events")) as base:
        url = f"{base}/slack/events"
        body = json.dumps({"type": "event_callback", "event": ["odd"]}).encode()
        assert await emu.deliver_raw(url=url, body=body) == 500  # signed: bolt fails on it
        assert await emu.deliver_raw(url=url, body=body, sign=False) == 401
        assert await emu.deliver_raw(url=url, body=body, signature="v0=00") == 401
        assert await emu.deliver_raw(url=url, body=body, timestamp="1") == 401  # stale
    async with socket_mode(emu, app):
        unrouted = await emu.push_raw_socket_event({"type": "event_callback"})
        envelope_id = await emu.push_socket_event(events.app_mention(text="routed"))
        await emu.wait_for_ack(envelope_id)
        await asyncio.sleep(0.2)
        assert unrouted not in emu.acks  # bolt's handler does not ack what it cannot route
    assert [body["event"]["text"] for body in seen] == ["routed"]


_RATE_BLOCKS = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "the *answer*"}},
    {
        "type": "actions",
        "block_id": "rate",
        "elements": [
            {
                "type": "button",
                "action_id": "up",
                "text": {"type": "plain_text", "text": "👍"},
                "value": "u",
            }
        ],
    },
]


async def test_buttons_are_checked_and_clicks_reach_bolt_in_both_modes(
    emu: SlackEmulator,
) -> None:
    client = web_client(emu)
    posted = await client.chat_postMessage(channel=ids.CHANNEL_ID, text="the *answer*")
    ts = str(posted["ts"])
    with pytest.raises(LookupError):
        await emu.click(channel=ids.CHANNEL_ID, ts=ts)  # no buttons yet
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    error = await api_error(
        client.chat_update(channel=ids.CHANNEL_ID, ts=ts, text="x", blocks=too_long)
    )
    assert error.response["error"] == "invalid_blocks"
    twice = [{**_RATE_BLOCKS[1], "elements": _RATE_BLOCKS[1]["elements"] * 2}]  # type: ignore[index]
    error = await api_error(
        client.chat_update(channel=ids.CHANNEL_ID, ts=ts, text="x", blocks=twice)
    )
    assert error.response["error"] == "invalid_blocks"  # action ids repeat
    await client.chat_update(
        channel=ids.CHANNEL_ID, ts=ts, text="the *answer*", blocks=_RATE_BLOCKS
    )
    # A later text-only update keeps the blocks, as Slack does.
    await client.chat_update(channel=ids.CHANNEL_ID, ts=ts, text="the *answer*!")
    assert emu.messages[(ids.CHANNEL_ID, ts)].blocks == _RATE_BLOCKS

    app = AsyncApp(client=client, signing_secret=emu.identity.signing_secret)
    clicks: list[dict[str, Any]] = []

    @app.action("up")
    async def on_up(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        clicks.append(body)
        container = body["container"]
        await client.chat_postEphemeral(
            channel=container["channel_id"], user=body["user"]["id"], text="noted"
        )

    async with socket_mode(emu, app):
        sent = await emu.click(channel=ids.CHANNEL_ID, ts=ts, text="👍")
    async with served(app.web_app(path="/slack/events")) as base:
        await emu.click(channel=ids.CHANNEL_ID, ts=ts, action_id="up", url=f"{base}/slack/events")
    assert len(clicks) == 2
    first = clicks[0]
    assert first["type"] == "block_actions"
    assert first["trigger_id"] == sent["trigger_id"]
    assert first["container"]["message_ts"] == ts
    assert first["actions"][0]["action_id"] == "up"
    assert first["actions"][0]["block_id"] == "rate"
    assert first["user"]["id"] == ids.USER_ID
    assert first["message"]["blocks"] == _RATE_BLOCKS
    assert [(e.user, e.text) for e in emu.ephemerals] == [(ids.USER_ID, "noted")] * 2
    # Ephemeral notes are not part of the channel's history.
    assert [m.ts for m in emu.bot_messages(ids.CHANNEL_ID)] == [ts]


_WHY_VIEW: dict[str, Any] = {
    "type": "modal",
    "callback_id": "why",
    "title": {"type": "plain_text", "text": "Tell us why"},
    "submit": {"type": "plain_text", "text": "Send"},
    "private_metadata": "about-this",
    "blocks": [
        {
            "type": "input",
            "block_id": "b",
            "label": {"type": "plain_text", "text": "Why?"},
            "element": {"type": "plain_text_input", "action_id": "reason", "max_length": 1000},
        }
    ],
}


async def test_views_open_takes_a_fresh_trigger_once_and_submissions_reach_bolt(
    emu: SlackEmulator,
) -> None:
    client = web_client(emu)
    error = await api_error(client.views_open(trigger_id="made.up.trigger", view=_WHY_VIEW))
    assert error.response["error"] == "invalid_trigger_id"
    posted = await client.chat_postMessage(channel=ids.CHANNEL_ID, text="x", blocks=_RATE_BLOCKS)
    ts = str(posted["ts"])
    app = AsyncApp(client=client, signing_secret=emu.identity.signing_secret)
    submitted: list[dict[str, Any]] = []

    @app.action("up")
    async def on_up(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        no_submit = {k: v for k, v in _WHY_VIEW.items() if k != "submit"}
        refused = await api_error(client.views_open(trigger_id=body["trigger_id"], view=no_submit))
        assert refused.response["error"] == "invalid_arguments"  # an input needs a submit
        await client.views_open(trigger_id=body["trigger_id"], view=_WHY_VIEW)
        again = await api_error(client.views_open(trigger_id=body["trigger_id"], view=_WHY_VIEW))
        assert again.response["error"] == "exchanged_trigger_id"

    @app.view("why")
    async def on_why(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        submitted.append(body)

    async with socket_mode(emu, app):
        await emu.click(channel=ids.CHANNEL_ID, ts=ts, action_id="up")
        await emu.wait_for(lambda: len(emu.views.opened) == 1, what="the modal")
        await emu.submit_view(emu.views.opened[0], values={"reason": "too vague"})
    async with served(app.web_app(path="/slack/events")) as base:
        await emu.submit_view(
            emu.views.opened[0], values={"reason": "still vague"}, url=f"{base}/slack/events"
        )
    assert [s["type"] for s in submitted] == ["view_submission"] * 2
    view = submitted[0]["view"]
    assert (view["callback_id"], view["private_metadata"]) == ("why", "about-this")
    assert view["state"]["values"]["b"]["reason"]["value"] == "too vague"
    assert submitted[1]["view"]["state"]["values"]["b"]["reason"]["value"] == "still vague"
    assert submitted[0]["user"]["id"] == ids.USER_ID
