"""The bridge benchmark's repeated runs: the middle one is shown, none is hidden."""

from __future__ import annotations

from typing import Any

from benchmarks.bridge.runs import median_run


def run(bridge: float, *, errors: int = 0) -> dict[str, Any]:
    return {
        "bridge_cpu_us_per_chunk": bridge,
        "bot_cpu_us_per_chunk": bridge + 100,
        "client_cpu_us_per_chunk": 100.0,
        "loop_lag_ms": {"p99": bridge / 10},
        "errors": errors,
    }


def test_the_run_shown_is_the_middle_one_and_every_run_is_listed() -> None:
    shown = median_run([run(74.0), run(36.0), run(43.0)])
    assert shown["bridge_cpu_us_per_chunk"] == 43.0
    assert [r["bridge_cpu_us_per_chunk"] for r in shown["runs"]] == [74.0, 36.0, 43.0]


def test_an_error_in_any_run_is_an_error_of_the_scenario() -> None:
    shown = median_run([run(40.0), run(50.0, errors=2), run(60.0)])
    assert shown["bridge_cpu_us_per_chunk"] == 50.0
    assert shown["errors"] == 2
    shown = median_run([run(40.0), run(50.0), run(60.0, errors=1)])
    assert shown["errors"] == 1


def test_one_run_is_shown_as_it_is() -> None:
    shown = median_run([run(80.0)])
    assert shown["bridge_cpu_us_per_chunk"] == 80.0
    assert len(shown["runs"]) == 1
