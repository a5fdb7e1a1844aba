"""The streaming benchmark's command line: scenario selection, seeds, where results go."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.streaming.__main__ import RESULTS, SEED, main


def test_one_scenario_with_another_seed_writes_only_where_told(tmp_path: Path) -> None:
    recorded = (RESULTS / "streaming.json").read_bytes()
    assert main(["--smoke", "--scenario", "1 reply", "--seed", "7", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "streaming.json").read_text())
    assert record["seed"] == 7
    assert {row["scenario"] for row in record["results"]} == {"1 reply"}
    assert {row["policy"] for row in record["results"]} == {
        "engine",
        "every 1 s",
        "every 2 s",
        "n3d1117 cut-offs",
    }
    engine = [row for row in record["results"] if row["policy"] == "engine"]
    assert [row["rate_limited"] for row in engine] == [0, 0, 0]
    assert {(check["platform"], check["scenario"]) for check in record["targets"]} == {
        (platform, "1 reply") for platform in ("telegram", "slack", "discord")
    }
    assert (tmp_path / "streaming_one_reply.png").stat().st_size > 0
    assert (RESULTS / "streaming.json").read_bytes() == recorded


def test_a_run_without_one_reply_draws_no_plot(tmp_path: Path) -> None:
    assert main(["--smoke", "--scenario", "20 chats", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "streaming.json").read_text())
    assert record["seed"] == SEED
    assert {row["scenario"] for row in record["results"]} == {"20 chats"}
    assert not (tmp_path / "streaming_one_reply.png").exists()


def test_a_scenario_the_run_does_not_have_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--scenario", "20 chats"])  # a smoke scenario, asked of the full run
    assert exited.value.code == 2
    assert "no scenario of this run has that name" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--scenario", "no such scenario"])
