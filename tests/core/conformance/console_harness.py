"""Conformance harness for the console adapter: a pipe for the keyboard, a terminal for the screen.

The console redraws answers in place with ANSI cursor moves on a terminal, so the harness
interprets those moves (the subset the adapter writes) to read what a person would see.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from dataclasses import dataclass, field

from knowrithm_bots.adapters.console import ConsoleAdapter, ConsoleConfig
from knowrithm_bots.core.testing.conformance import Failure, Features, Operation

_ESCAPE = re.compile(r"\x1b\[(\d*)([ACJ])")


@dataclass
class _Row:
    cells: list[str] = field(default_factory=list)
    wrapped: bool = False  # continues the row above (the line was longer than the width)


class Terminal(io.TextIOBase):
    """A screen that understands newline, carriage return, cursor up/right and clear-to-end."""

    def __init__(self, *, width: int | None = None) -> None:
        self.width = width or shutil.get_terminal_size().columns
        self.rows = [_Row()]
        self.row = 0
        self.col = 0

    def isatty(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        position = 0
        for match in _ESCAPE.finditer(text):
            self._text(text[position : match.start()])
            self._control(int(match.group(1) or 1), match.group(2))
            position = match.end()
        self._text(text[position:])
        return len(text)

    def _text(self, text: str) -> None:
        for char in text:
            if char == "\n":
                self._move_to(self.row + 1, wrapped=False)
            elif char == "\r":
                self.col = 0
            else:
                if self.col >= self.width:
                    self._move_to(self.row + 1, wrapped=True)
                cells = self.rows[self.row].cells
                cells[self.col : self.col + 1] = [char]
                self.col += 1

    def _move_to(self, row: int, *, wrapped: bool) -> None:
        while len(self.rows) <= row:
            self.rows.append(_Row())
        self.rows[row].wrapped = wrapped
        self.row, self.col = row, 0

    def _control(self, count: int, kind: str) -> None:
        if kind == "A":
            self.row = max(0, self.row - count)
        elif kind == "C":
            self.col = min(self.width, self.col + count)
        else:  # J: clear from the cursor to the end of the screen
            del self.rows[self.row].cells[self.col :]
            del self.rows[self.row + 1 :]

    def lines(self) -> list[str]:
        """The screen's logical lines (wrapped rows joined back together)."""
        lines: list[str] = []
        for row in self.rows:
            text = "".join(row.cells)
            if row.wrapped and lines:
                lines[-1] += text
            else:
                lines.append(text)
        return lines


class ConsoleHarness:
    """The console adapter with a pipe for stdin and a ``Terminal`` for stdout (one place)."""

    def __init__(self) -> None:
        self.config = ConsoleConfig(user_name="ada")
        self.terminal = Terminal()
        read_end, self._keyboard = os.pipe()
        self._stdin = open(read_end, encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._adapter = ConsoleAdapter(
            config=self.config, stdin=self._stdin, stdout=self.terminal, interactive=True
        )

    @property
    def adapter(self) -> ConsoleAdapter:
        return self._adapter

    @property
    def features(self) -> Features:
        # One terminal is one thread; it has no other bots and no platform that can fail.
        return Features(
            places=1,
            bot_messages=False,
            own_messages=False,
            reaction_removal=False,
            failures=frozenset[Failure](),
        )

    def _type(self, line: str) -> None:
        self.terminal.write(line + "\n")  # the terminal echoes what the person types
        os.write(self._keyboard, (line + "\n").encode())

    async def user_message(self, *, place: str, text: str) -> None:
        self._type(text)

    async def bot_message(self, *, place: str, text: str) -> None:
        raise NotImplementedError("a terminal has no other bots")

    async def own_message(self, *, place: str, text: str) -> None:
        raise NotImplementedError("a terminal does not echo the bot's messages back")

    async def react(self, *, place: str, emoji: str, added: bool) -> None:
        self._type(f"/react {emoji}")

    async def visible(self, *, place: str) -> list[str]:
        label, prompt = self.config.agent_label, self.config.prompt
        messages: list[list[str]] = []
        inside = False
        for line in self.terminal.lines():
            if line.startswith(label):
                messages.append([line.removeprefix(label)])
                inside = True
            elif line.startswith((prompt, "(")) or not messages:
                inside = False
            elif inside:
                messages[-1].append(line)
        return ["\n".join(lines).strip() for lines in messages]

    async def fail_next(self, *, failure: Failure, operation: Operation) -> None:
        raise NotImplementedError("the console cannot fail")

    def close(self) -> None:
        # End of input lets the adapter's blocked reader thread return before the loop closes.
        os.close(self._keyboard)
        self._stdin.close()
