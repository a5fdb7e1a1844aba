"""Turns the JSON figures the fault tests wrote into the markdown table the README quotes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COLUMNS = (
    ("fault", "Fault"),
    ("trials", "Trials"),
    ("delivered", "Answered in full"),
    ("duplicates", "Duplicates"),
    ("fragments", "Fragments left"),
    ("sentences", "Sentences shown"),
    ("asked_twice", "Asked Knowrithm twice"),
)

NOTES = """\
"Answered in full" counts answers shown complete (for the malformed-input rows: the question
after each poison class answered; for Slack HTTP: requests answered 401). "Sentences shown"
counts one-sentence explanations in the chat (store faults, a hung Knowrithm) or, for a dead
adapter, on stderr. A kill -9 trial asks in two chats at once, holds both replies mid-way at
the local Knowrithm, kills the bot once the partial answers show, lets Knowrithm finish and
restarts the bot on the same store.
"""


def read(folder: Path) -> list[dict[str, Any]]:
    rows = [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]
    return sorted(rows, key=lambda row: (row["order"], row["fault"]))


def markdown(rows: list[dict[str, Any]], *, command: str) -> str:
    header = "| " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|" + "|".join("---" if key == "fault" else "---:" for key, _ in COLUMNS) + "|"
    lines = ["| " + " | ".join(str(row.get(key, "")) for key, _ in COLUMNS) + " |" for row in rows]
    return "\n".join(
        [
            "# Fault suite figures",
            "",
            f"Written by `{command}` (real bot processes against the project's emulators and",
            "local Knowrithm server; see tests/faults/).",
            "",
            header,
            rule,
            *lines,
            "",
            NOTES,
        ]
    )
