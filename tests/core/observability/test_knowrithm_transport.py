"""The metered transport times the real client's requests to Knowrithm and sorts its failures."""

from __future__ import annotations

import socket

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.errors import AuthError
from knowrithm_bots.core.knowrithm import KnowrithmClient, RetryPolicy
from knowrithm_bots.core.observability.knowrithm_transport import MeteredTransport
from knowrithm_bots.core.observability.prometheus import PrometheusMetrics
from tests.core.knowrithm.steps import new_conversation, reply_events
from tests.harness import client_for
from tests.observability_support import sample

ERRORS = "knowrithm_bots_knowrithm_errors_total"
REQUESTS = "knowrithm_bots_knowrithm_request_seconds_count"


async def test_requests_are_timed_and_error_statuses_counted_by_kind() -> None:
    metrics = PrometheusMetrics()
    async with (
        LocalKnowrithm() as server,
        client_for(server, transport=MeteredTransport(metrics=metrics)) as client,
    ):
        assert await client.health()
        server.faults.fail_next(path_contains="/health", status=503)
        assert not await client.health()
        server.faults.fail_next(path_contains="/conversation", status=401, count=5)
        with pytest.raises(AuthError):
            await new_conversation(client, server)
        text = metrics.exposition().decode()
    assert sample(text, REQUESTS, method="GET") == 2
    assert sample(text, ERRORS, kind="server") == 1
    assert sample(text, ERRORS, kind="auth") >= 1
    assert sample(text, ERRORS, kind="timeout") == 0


async def test_a_stream_cut_mid_answer_is_counted_and_the_answer_still_arrives() -> None:
    metrics = PrometheusMetrics()
    async with (
        LocalKnowrithm() as server,
        client_for(server, transport=MeteredTransport(metrics=metrics)) as client,
    ):
        cid = await new_conversation(client, server)
        server.faults.cut_stream_after_chunks = 3
        events = await reply_events(client, cid, "Tell me a story")
        text = metrics.exposition().decode()
    assert events  # the client resumed the stream; the transport passed it through
    assert sample(text, ERRORS, kind="stream") == 1


async def test_no_answer_at_all_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port now: the connection is refused.
    metrics = PrometheusMetrics()
    async with KnowrithmClient(
        base_url=f"http://127.0.0.1:{port}",
        api_key="key",
        api_secret="secret",
        retry=RetryPolicy(attempts=1),
        transport=MeteredTransport(metrics=metrics),
    ) as client:
        assert not await client.health()
    text = metrics.exposition().decode()
    assert sample(text, ERRORS, kind="connection") == 1
    assert sample(text, REQUESTS) == 0
