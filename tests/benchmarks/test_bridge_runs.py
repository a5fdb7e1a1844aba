"""The bridge benchmark's repeated runs (the middle one is shown, none is hidden) and its
measure of conversation starts."""

from __future__ import annotations

from typing import Any

from benchmarks.bridge.report import _starts, _verdicts
from benchmarks.bridge.runs import median_run, run_starts


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


def test_starts_time_each_request_of_a_question_in_a_real_bot_process() -> None:
    """A few questions at once through the real bot and local server processes: every
    question's three requests are timed, in the order a question makes them; and the same
    by bare aiohttp (the floor), in a process of its own against a fresh server."""
    starts = run_starts(replies=5, word_delay=0.01)
    assert starts["scenario"] == "5 starts"
    assert (starts["complete"], starts["errors"]) == (5, 0)
    requests = starts["requests"]
    assert [requests[kind]["count"] for kind in ("start", "stream", "chat")] == [5, 5, 5]
    # A question's stream is opened once its conversation exists, and the question is sent
    # once its stream is open.
    assert requests["start"]["left_s_p50"] <= requests["stream"]["left_s_p50"]
    assert requests["stream"]["left_s_p50"] <= requests["chat"]["left_s_p50"]
    assert all(requests[kind]["took_ms_p50"] > 0 for kind in requests)
    assert starts["store_call_ms"]["count"] >= 5 * 5  # at least five calls per question
    table = "\n".join(_starts(starts))
    assert "| start the conversation (POST /conversation) | 5 |" in table
    assert "| send the question (POST …/chat) | 5 |" in table
    floor = starts["floor"]
    assert [floor["requests"][kind]["count"] for kind in ("start", "stream", "chat")] == [5] * 3
    assert floor["requests"]["stream"]["left_s_p50"] <= floor["requests"]["chat"]["left_s_p50"]
    # The wait it reports is until its chat requests left, timed by the same clock.
    chat_left_ms = 1000 * floor["requests"]["chat"]["left_s_p50"]
    assert abs(floor["inbound_to_chat_ms"]["p50"] - chat_left_ms) < 1.0
    assert floor["inbound_to_chat_ms"]["p50"] > 0
    assert "| bare aiohttp: left s p50 / p99 |" in table
    assert f"server: chat requests left {round(floor['inbound_to_chat_ms']['p50'])} ms" in table
    row = {**run(20.0), "replies": 10, "groups": 0}
    row |= {"client_cpu_ms_per_message": 2.0, "client_cpu_ms_per_message_at_21_events": 2.0}
    verdict = "\n".join(_verdicts([row], starts))
    assert "5 questions asked at the same instant, one-word answers" in verdict
    bot, bare = starts["inbound_to_chat_ms"]["p99"], floor["inbound_to_chat_ms"]["p99"]
    assert f"| bot {bot:,.1f} ms; floor {bare:,.1f} ms | yes |" in verdict
