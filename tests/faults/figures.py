"""The figures each fault test records for the README, written only when asked for."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

ENV = "KNOWRITHM_BOTS_FAULT_FIGURES"
RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "faults"


@dataclass
class Figures:
    """What one fault did to the people chatting, over its trials.

    ``delivered`` counts answers shown in full; ``duplicates`` extra copies of an answer;
    ``fragments`` half-written messages left behind; ``sentences`` one-sentence explanations
    shown instead of (or before) an answer; ``asked_twice`` questions Knowrithm got twice.
    """

    fault: str
    order: int
    trials: int = 0
    delivered: int = 0
    duplicates: int = 0
    fragments: int = 0
    sentences: int = 0
    asked_twice: int = 0


def wanted() -> bool:
    return os.environ.get(ENV) == "1"


def record(figures: Figures) -> None:
    """Write ``figures`` under benchmarks/results/faults/ when the figures run asked for it;
    otherwise nothing (tests never write into the repository on their own)."""
    if not wanted():
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^a-z0-9]+", "-", figures.fault.lower()).strip("-")
    (RESULTS / f"{name}.json").write_text(json.dumps(asdict(figures), indent=2) + "\n")
