"""``python -m benchmarks.smoke_summary``: both benchmark smokes, one summary line.

Runs ``benchmarks.streaming --smoke`` (when present) and ``benchmarks.bridge --smoke`` one
after the other, keeps their output to themselves unless one fails (then it is shown), and
prints one line with their key figures. Exits with status 1 when either fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _run(module: str, *options: str) -> tuple[bool, str]:
    command = [sys.executable, "-m", module, "--smoke", *options]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        print(done.stdout + done.stderr, file=sys.stderr)
    return done.returncode == 0, done.stdout


def _streaming() -> tuple[bool, str]:
    if not (ROOT / "benchmarks" / "streaming" / "__main__.py").exists():
        return True, "streaming smoke: not present"
    with tempfile.TemporaryDirectory(prefix="streaming-smoke-") as folder:
        ok, _ = _run("benchmarks.streaming", "--out", folder)
        try:
            record: dict[str, Any] = json.loads((Path(folder) / "streaming.json").read_text())
        except (OSError, ValueError):
            return ok, f"streaming smoke: {'passed' if ok else 'FAILED'}"
    targets = record.get("targets", [])
    met = sum(1 for t in targets if t.get("met"))
    engine_429s = sum(
        int(r.get("rate_limited") or 0)
        for r in record.get("results", [])
        if r.get("policy") == "engine"
    )
    verdict = "passed" if ok else "FAILED"
    return (
        ok,
        f"streaming smoke {verdict}: {met}/{len(targets)} targets met, engine 429s {engine_429s}",
    )


def _bridge() -> tuple[bool, str]:
    ok, output = _run("benchmarks.bridge")
    lines = [line for line in output.splitlines() if line.startswith("bridge bench:")]
    figures = lines[-1].removeprefix("bridge bench: ") if lines else "no figures"
    return ok, f"bridge smoke {'passed' if ok else 'FAILED'}: {figures}"


def main() -> int:
    streaming_ok, streaming = _streaming()
    bridge_ok, bridge = _bridge()
    print(f"benchmarks: {streaming} | {bridge}", flush=True)
    return 0 if streaming_ok and bridge_ok else 1


if __name__ == "__main__":
    sys.exit(main())
