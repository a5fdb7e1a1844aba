"""``python -m benchmarks.faults``: run the fault suite (tests/faults) with its figures
switched on, then write them as the table benchmarks/results/faults.md.

The suite's own pass or fail is reported as the exit status; the table is written either way,
so that a failing fault shows in the figures too. Extra arguments go to pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.faults.table import markdown, read

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "benchmarks" / "results" / "faults"
TABLE = ROOT / "benchmarks" / "results" / "faults.md"
ENV = "KNOWRITHM_BOTS_FAULT_FIGURES"  # tests/faults/figures.py reads it
COMMAND = "python -m benchmarks.faults"


def main(argv: list[str]) -> int:
    shutil.rmtree(FIGURES, ignore_errors=True)
    env = {**os.environ, ENV: "1"}
    tests = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "faults"]
    done = subprocess.run([*tests, "-n", "2", "tests/faults", *argv], cwd=ROOT, env=env)
    rows = read(FIGURES) if FIGURES.exists() else []
    TABLE.write_text(markdown(rows, command=COMMAND))
    print(TABLE.read_text())
    return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
