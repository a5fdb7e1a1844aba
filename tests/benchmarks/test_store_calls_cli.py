"""The store-call benchmark's command line: a smoke run measures every row and writes only
where it is told."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from benchmarks import store_calls


def test_a_smoke_run_measures_each_kind_of_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = store_calls.RESULTS.read_bytes()
    out = tmp_path / "store_calls.md"
    monkeypatch.setattr(sys, "argv", ["store_calls", "--smoke", "--out", str(out)])
    interval = sys.getswitchinterval()
    assert store_calls.main() == 0
    assert sys.getswitchinterval() == interval  # measuring at two intervals leaves ours
    rows = [line for line in out.read_text().splitlines() if re.match(r"\| (worker|sqlite)", line)]
    assert len(rows) == 4
    for row in rows:
        cpu, wall = (float(cell.replace(",", "")) for cell in row.strip("|").split("|")[-2:])
        assert cpu > 0 and wall > 0
    # The store while the loop computes, at both switch intervals: every call answered or
    # failed by the store's timeout.
    busy = [line for line in out.read_text().splitlines() if re.match(r"\| [\d.]+ ms \|", line)]
    assert [line.split("|")[1].strip() for line in busy] == ["5 ms", "0.5 ms"]
    for line in busy:
        calls, answered, _, failed = (cell.strip() for cell in line.strip("|").split("|")[1:])
        assert int(answered) + int(failed) == int(calls) == 1
    assert store_calls.RESULTS.read_bytes() == recorded
