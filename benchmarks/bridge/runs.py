"""Starting the local server and the bot in their own processes, and collecting the figures."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
_URL = re.compile(r"Local Knowrithm API on (\S+)")


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """``replies`` asked at once, each in its own private chat, or over ``groups`` groups."""

    replies: int
    words: int = 300
    groups: int = 0
    # Questions asked once every answer has been read, while the platform's pace holds
    # answers back (see ``bot._ask_late``).
    late: int = 20

    @property
    def name(self) -> str:
        where = f"in {self.groups} groups" if self.groups else "chats"
        return f"{self.replies:,} {where}"


@contextmanager
def local_server(*, words: int, word_delay: float) -> Iterator[str]:
    """``knowrithm-bots local-knowrithm`` in its own process; yields its base URL."""
    command = [
        str(ROOT / ".venv" / "bin" / "knowrithm-bots"),
        "local-knowrithm",
        "--port",
        "0",
        "--word-delay",
        f"{word_delay:.6f}",
        "--answer-words",
        str(words),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = _URL.search(line)
        if found is None:
            raise RuntimeError(f"the local server did not start: {line!r}")
        yield found.group(1)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # The run's figures are in hand; a server slow to stop must not lose them.
            print("the local server did not stop within 30 s of SIGTERM; killed", file=sys.stderr)
            process.kill()
            process.wait()


def _bot(base_url: str, *options: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.bridge.bot", "--base-url", base_url, *options]
    # Its stderr (progress, warnings) goes straight to ours.
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the bot process failed (status {done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_scenario(
    scenario: Scenario, *, word_delay: float, profile: str | None, httpx: bool = False
) -> dict[str, Any]:
    """The client alone (full and short answers), bare aiohttp on the same streams, then the
    whole bridge, each against a fresh server."""
    load_before = os.getloadavg()
    started = time.monotonic()
    transport = ["--httpx"] if httpx else []
    common = ["--replies", str(scenario.replies), "--words", str(scenario.words), *transport]
    # The client alone and the floor are asked the late questions too, at the same moments:
    # read while little else streams, their events cost more than the first wave's.
    late = ["--late", str(scenario.late)]
    # Measured alone, the questions are spread over one word's time. Asked in the same
    # instant, every stream's words would leave the server in the same turn of its loop and
    # reach the client together, sharing the turns of its loop: a saving that independent
    # conversations do not get, and that the bot (which starts them one by one) does not
    # get either. ``loop_turns`` in the results shows it.
    stagger = ["--stagger", f"{word_delay:.6f}"]
    with local_server(words=scenario.words, word_delay=word_delay) as url:
        client = _bot(url, *common, "--client-only", *stagger, *late)
    # The same questions with answers a tenth as long: the difference is the cost per event,
    # the rest the cost of a message (stream open, POST, final event).
    short_words = max(1, scenario.words // 10)
    with local_server(words=short_words, word_delay=word_delay) as url:
        short = _bot(
            url,
            "--replies",
            str(scenario.replies),
            "--words",
            str(short_words),
            "--client-only",
            *stagger,
            *late,
            *transport,
        )
    client["short"] = short
    # The floor: bare aiohttp reading the same streams (what the runtime costs, not us).
    with local_server(words=scenario.words, word_delay=word_delay) as url:
        client["floor"] = _bot(
            url,
            "--replies",
            str(scenario.replies),
            "--words",
            str(scenario.words),
            "--floor",
            *stagger,
            *late,
        )
    with local_server(words=scenario.words, word_delay=word_delay) as url:
        extra = ["--groups", str(scenario.groups)] if scenario.groups else []
        extra += late
        if profile:
            extra += ["--profile", profile]
        bridge = _bot(url, *common, *extra)
    load_after = os.getloadavg()
    row = _derive(scenario, bridge=bridge, client=client)
    row["load_average"] = [round(load_before[0], 2), round(load_after[0], 2)]
    row["wall_s"] = round(time.monotonic() - started, 1)
    print(f"{scenario.name}: {json.dumps(row)}", file=sys.stderr, flush=True)
    return row


def _derive(
    scenario: Scenario, *, bridge: dict[str, Any], client: dict[str, Any]
) -> dict[str, Any]:
    chunks = max(1, bridge["chunks"])
    bot_cpu = bridge["cpu_s"] - bridge["platform_sim_cpu_s"]
    client_per_message = client["cpu_s"] / max(1, client["replies"])
    # The client alone was asked the same questions, the late ones too, at the same moments.
    if client["replies"] != scenario.replies + int(bridge.get("late", 0)):
        raise RuntimeError("the client alone was not asked the questions the bot was")
    client_share = client["cpu_s"]
    short = client["short"]
    per_event = (client["cpu_s"] - short["cpu_s"]) / max(1, client["chunks"] - short["chunks"])
    per_message_fixed = (client["cpu_s"] - per_event * client["chunks"]) / max(1, client["replies"])
    return {
        "scenario": scenario.name,
        **bridge,
        "client_only": client,
        "bot_cpu_us_per_chunk": round(1e6 * bot_cpu / chunks, 1),
        "client_cpu_ms_per_message": round(1e3 * client_per_message, 3),
        "client_cpu_us_per_chunk": round(1e6 * client["cpu_s"] / max(1, client["chunks"]), 1),
        "floor_cpu_us_per_chunk": round(
            1e6 * client["floor"]["cpu_s"] / max(1, client["floor"]["chunks"]), 1
        ),
        "client_cpu_us_per_event": round(1e6 * per_event, 1),
        "client_cpu_ms_per_message_fixed": round(1e3 * per_message_fixed, 3),
        "client_cpu_ms_per_message_at_21_events": round(
            1e3 * (per_message_fixed + 21 * per_event), 3
        ),
        "bridge_cpu_us_per_chunk": round(1e6 * (bot_cpu - client_share) / chunks, 1),
        "loop_turns_per_chunk": {
            "bot": round(bridge["loop_turns"] / chunks, 2),
            "client": round(client["loop_turns"] / max(1, client["chunks"]), 2),
            "floor": round(client["floor"]["loop_turns"] / max(1, client["floor"]["chunks"]), 2),
        },
    }


def median_run(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the middle bridge share (the lower middle of an even number), with
    every run's bridge, bot and client CPU per chunk listed under ``runs``."""
    ordered = sorted(rows, key=lambda row: row["bridge_cpu_us_per_chunk"])
    middle = dict(ordered[(len(ordered) - 1) // 2])
    middle["runs"] = [
        {
            key: row[key]
            for key in (
                "bridge_cpu_us_per_chunk",
                "bot_cpu_us_per_chunk",
                "client_cpu_us_per_chunk",
                "loop_lag_ms",
                "errors",
            )
        }
        for row in rows
    ]
    # A failure in any run is a failure of the scenario, whichever run is shown.
    middle["errors"] = max(row["errors"] for row in rows)
    return middle


def run_starts(*, replies: int, word_delay: float) -> dict[str, Any]:
    """``replies`` questions at once, answered in one word each: what it costs to start
    their conversations and send them, with next to nothing streamed meanwhile; and, under
    ``floor``, the same questions making only the protocol's three requests with bare
    aiohttp (what the server on this host allows any bot), each against a fresh server."""
    load_before = os.getloadavg()
    started = time.monotonic()
    asked = ["--replies", str(replies), "--words", "1"]
    with local_server(words=1, word_delay=word_delay) as url:
        floor = _bot(url, *asked, "--floor-starts")
    with local_server(words=1, word_delay=word_delay) as url:
        result = _bot(url, *asked, "--late", "0")
    result["floor"] = floor
    result["scenario"] = f"{replies:,} starts"
    result["load_average"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    result["wall_s"] = round(time.monotonic() - started, 1)
    print(f"{result['scenario']}: {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


def run_soak(
    *, minutes: float, word_delay: float, rate: float = 5.0, idle_minutes: float | None = None
) -> dict[str, Any]:
    """One bot process starting ``rate`` threads per second for ``minutes``; conversations
    end after ``idle_minutes`` idle (the bot's default when None)."""
    load_before = os.getloadavg()
    idle = [] if idle_minutes is None else ["--idle-minutes", str(idle_minutes)]
    with local_server(words=300, word_delay=word_delay) as url:
        result = _bot(url, "--soak", str(minutes), "--rate", str(rate), "--words", "300", *idle)
    result["load_average"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    return result
