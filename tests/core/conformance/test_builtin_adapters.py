"""Every built-in adapter runs the conformance kit somewhere in the test suite."""

from __future__ import annotations

import re
from pathlib import Path

from knowrithm_bots.core.plugins import BUILTIN_DISTRIBUTION, discover

TESTS = Path(__file__).resolve().parents[2]

_SUBCLASS = re.compile(r"^class\s+\w+\((?:[\w.]+\.)?AdapterConformance\)", re.MULTILINE)


def _runs_the_kit(name: str) -> bool:
    candidates = [
        *(TESTS / "adapters" / name).rglob("test_*.py"),
        *TESTS.rglob(f"test_{name}_conformance.py"),
    ]
    return any(_SUBCLASS.search(path.read_text(encoding="utf-8")) for path in candidates)


def test_every_builtin_adapter_runs_the_conformance_kit() -> None:
    builtin = sorted(
        name
        for name, infos in discover().items()
        if any(info.distribution == BUILTIN_DISTRIBUTION for info in infos)
    )
    assert "console" in builtin
    missing = [name for name in builtin if not _runs_the_kit(name)]
    assert not missing, (
        f"built-in adapters {missing} do not run the conformance kit: subclass "
        "knowrithm_bots.core.testing.conformance.AdapterConformance in "
        "tests/adapters/<name>/test_conformance.py"
    )
