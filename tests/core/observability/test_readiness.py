"""/readyz's checks: adapters started, connected and not given up; Knowrithm and store probed."""

from __future__ import annotations

from pathlib import Path

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from knowrithm_bots.core.knowrithm import KnowrithmClient
from knowrithm_bots.core.observability.readiness import OK, Readiness
from knowrithm_bots.core.store import MemoryStore, SqliteStore
from knowrithm_bots.core.testing import ManualClock
from knowrithm_bots.core.testing.recording_adapter import RecordingAdapter


async def test_adapters_not_started_or_given_up_are_named() -> None:
    started = False
    failed: dict[str, str] = {}
    adapters = {"one": RecordingAdapter(name="one"), "two": RecordingAdapter(name="two")}

    async def healthy() -> bool:
        return True

    readiness = Readiness(
        adapters=adapters,
        knowrithm_health=healthy,
        store=MemoryStore(),
        started=lambda: started,
        failed=lambda: failed,
    )
    report = await readiness.report()
    assert report.not_ready() == ["adapter:one", "adapter:two"]
    assert report.checks["adapter:one"] == "not taking messages (starting or stopping)"
    started = True
    assert (await readiness.report()).ready
    failed["two"] = "the two adapter stopped for good: token revoked"
    report = await readiness.report()
    assert report.not_ready() == ["adapter:two"]
    assert report.checks["adapter:two"] == failed["two"]


async def test_knowrithm_is_probed_once_per_ttl_and_a_failure_is_seen_after_it() -> None:
    clock = ManualClock()
    async with LocalKnowrithm() as server:
        client = KnowrithmClient(
            base_url=server.base_url, api_key=server.api_key, api_secret=server.api_secret
        )
        probes = 0

        async def health() -> bool:
            nonlocal probes
            probes += 1
            return await client.health()

        async with client:
            readiness = Readiness(
                adapters={},
                knowrithm_health=health,
                store=MemoryStore(),
                started=lambda: True,
                failed=dict,
                ttl=5.0,
                clock=clock,
            )
            assert (await readiness.report()).checks["knowrithm"] == OK
            server.faults.fail_next(path_contains="/health", status=503, count=100)
            # Within the TTL the cached answer stands, and Knowrithm is not asked again.
            assert (await readiness.report()).ready
            assert probes == 1
            clock.advance(5.0)
            report = await readiness.report()
            assert report.not_ready() == ["knowrithm"]
            assert probes == 2


async def test_a_store_that_cannot_be_read_is_not_ready(tmp_path: Path) -> None:
    # A folder where the sqlite file should be: every read fails.
    store = SqliteStore(path=tmp_path)

    async def healthy() -> bool:
        return True

    readiness = Readiness(
        adapters={}, knowrithm_health=healthy, store=store, started=lambda: True, failed=dict
    )
    try:
        report = await readiness.report()
    finally:
        await store.close()
    assert report.not_ready() == ["store"]
    assert report.checks["store"].startswith("the store does not answer: ")
