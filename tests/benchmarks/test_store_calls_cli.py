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
    assert store_calls.main() == 0
    rows = [line for line in out.read_text().splitlines() if re.match(r"\| (worker|sqlite)", line)]
    assert len(rows) == 4
    for row in rows:
        cpu, wall = (float(cell) for cell in row.strip("|").split("|")[-2:])
        assert cpu > 0 and wall > 0
    assert store_calls.RESULTS.read_bytes() == recorded
