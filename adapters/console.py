"""A terminal chat: one thread on stdin/stdout, the answer growing in place on a TTY."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import io
import shutil
import sys
import termios
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TextIO

from knowrithm_bots.core.adapter import Adapter, Capabilities, EventSink, Limits, Posted
from knowrithm_bots.core.config import AdapterConfig
from knowrithm_bots.core.events import Author, Inbound, Origin, Reaction

_CLEAR_TO_END = "\x1b[J"

CONSOLE_HELP = (
    "Write a message and press Enter; the answer streams in below it.\n"
    "  /new               start a fresh conversation\n"
    "  /end [1-5] [text]  end this conversation, optionally rated with a comment\n"
    "  /react 👍          rate the last answer (👍 👎 or 1️⃣-5️⃣)\n"
    "  /quit              leave (or Ctrl-D)"
)


def _login_name() -> str:
    """Who is at the terminal, or "local" when the system cannot say.

    ``getpass.getuser`` raises when USER and LOGNAME are unset and the uid has no passwd
    entry (common in containers); the chat must still start.
    """
    try:
        return getpass.getuser() or "local"
    except Exception:
        return "local"


def _terminal_mode(stream: TextIO) -> list[Any] | None:
    """The terminal's settings, when ``stream`` is a real terminal whose echo we may switch."""
    try:
        return termios.tcgetattr(stream.fileno())
    except (OSError, ValueError, termios.error, io.UnsupportedOperation):
        return None


class ConsoleConfig(AdapterConfig):
    """The console adapter's config section (all optional)."""

    user_name: str | None = None
    prompt: str = "you › "
    agent_label: str = "agent › "


class ConsoleAdapter(Adapter):
    """Reads one message per line and writes answers; ``/react 👍`` rates the last answer.

    On a terminal the answer is redrawn in place as it grows. When stdout is not a terminal
    only appended text is written, so piped output is the plain conversation. End of input
    (or ``/quit``) closes the adapter; the runner then waits for pending answers and exits.
    ``stop`` is the last thing written: it ends the line in progress and, when an answer was
    still coming, says on a line of its own that it was interrupted; nothing follows it.
    """

    name: ClassVar[str] = "console"
    limits: ClassVar[Limits] = Limits(max_message_length=100_000, edit_interval=0.05)
    capabilities: ClassVar[Capabilities] = Capabilities(edit=True, reactions=True)
    config_model: ClassVar[type[AdapterConfig] | None] = ConsoleConfig

    def __init__(
        self,
        *,
        config: ConsoleConfig | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        interactive: bool | None = None,
    ) -> None:
        self._config = config or ConsoleConfig()
        self._stdin = stdin
        self._stdout = stdout
        self._interactive = interactive
        self._run = uuid.uuid4().hex[:8]
        self._thread = f"console:{self._config.user_name or 'local'}"
        self._sink: EventSink | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._serial = 0
        self._shown = ""  # what the active message shows; older ones scrolled away
        self._last_answer: list[str] = []
        self._active: str | None = None
        self._turn_done = asyncio.Event()
        self._waiting = False  # a message was sent and its answer is not finished
        self._stopped = False
        self._echoing = True
        self._at_line_start = True
        self._saved_tty: list[Any] | None = None

    @classmethod
    def from_config(cls, *, config: Mapping[str, Any]) -> ConsoleAdapter:
        return cls(config=ConsoleConfig.load(config, prefix="adapters.console"))

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def _in(self) -> TextIO:
        return self._stdin or sys.stdin

    @property
    def _out(self) -> TextIO:
        return self._stdout or sys.stdout

    @property
    def _tty(self) -> bool:
        if self._interactive is None:
            self._interactive = self._out.isatty() and self._in.isatty()
        return self._interactive

    async def start(self, *, sink: EventSink) -> None:
        if self._reader is not None:
            return
        self._sink = sink
        if self._tty:
            self._saved_tty = _terminal_mode(self._in)
            self._write("Chat with the agent. /help for commands, /quit to leave.\n")
            self._prompt()
        self._reader = asyncio.create_task(self._read_lines(), name="console input")

    async def stop(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        self._restore_terminal()
        if not self._stopped:
            self._leave_screen()
            self._stopped = True  # an answer still arriving is not drawn any more
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def _read_lines(self) -> None:
        try:
            user = self._config.user_name or _login_name()
            author = Author(id=user, display_name=user)
            origin = Origin(adapter=self.name, channel_id="console", is_direct=True)
            lines = self._line_feed()
            while True:
                line, echoed = await lines.get()
                if not line or line.strip() in ("/quit", "/exit"):
                    return
                text = line.rstrip("\r\n")
                if self._tty:
                    # Typed while an answer streamed (echo off): show it at its prompt now.
                    self._write("" if echoed else text + "\n")
                    self._at_line_start = True
                if not text.strip():
                    self._prompt()  # an empty line is not a message
                    continue
                if text.strip() == "/help":
                    self._write(CONSOLE_HELP + "\n")
                    self._prompt()
                    continue
                assert self._sink is not None
                if text.startswith("/react"):
                    await self._react(text.removeprefix("/react").strip(), author, origin)
                    continue
                self._serial += 1
                event = Inbound(
                    thread=self._thread,
                    event_id=f"{self._run}-{self._serial}",
                    text=text,
                    author=author,
                    origin=origin,
                )
                # One turn at a time: a piped transcript reacts to the answer it just got.
                self._turn_done.clear()
                self._waiting = True
                try:
                    await self._sink.on_message(event)
                except Exception:
                    self._waiting = False
                    self._turn_done.set()
                    raise
                await self._turn_done.wait()
        finally:
            self._closed.set()

    def _line_feed(self) -> asyncio.Queue[tuple[str, bool]]:
        """Lines of stdin ("" at the end) and whether the terminal echoed them, read by a
        daemon thread.

        A blocked ``readline`` cannot be interrupted; in a daemon thread (not the loop's
        executor, which ``asyncio.run`` waits for) it cannot keep Ctrl-C from ending the bot.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
        # A byte the terminal's encoding cannot decode must cost one character, not the chat:
        # a strict decoder raises, and a read error means the end of input.
        reconfigure = getattr(self._in, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(Exception):
                reconfigure(errors="replace")

        def read() -> None:
            while True:
                try:
                    line = self._in.readline()
                except (OSError, ValueError):
                    line = ""
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, (line, self._echoing))
                except RuntimeError:
                    return  # the loop is gone: the bot has stopped
                if not line:
                    return

        threading.Thread(target=read, name="console stdin", daemon=True).start()
        return queue

    async def _react(self, emoji: str, author: Author, origin: Origin) -> None:
        if not emoji:
            self._write("(usage: /react 👍 rates the last answer; 👎 and 1️⃣-5️⃣ work too)\n")
            self._prompt()
            return
        if not self._last_answer:
            self._write("(nothing to react to yet: /react 👍 rates the last answer)\n")
            self._prompt()
            return
        self._serial += 1
        assert self._sink is not None
        await self._sink.on_reaction(
            Reaction(
                thread=self._thread,
                event_id=f"{self._run}-{self._serial}",
                message_id=self._last_answer[-1],
                emoji=emoji,
                added=True,
                author=author,
                origin=origin,
            )
        )
        self._write(f"(you reacted {emoji} to the last answer)\n")
        self._prompt()

    # --- outbound ------------------------------------------------------------------------

    async def post(self, *, thread: str, text: str, reply_to: str | None = None) -> Posted:
        self._serial += 1
        message_id = f"{self._run}-m{self._serial}"
        self._end_active()
        if not self._at_line_start:
            self._write("\n")
        # What the user types while the answer streams would land inside it: hide the echo
        # and show those lines at their prompt afterwards.
        self._set_echo(on=False)
        self._active = message_id
        self._shown = ""
        self._write(self._config.agent_label)
        self._redraw(text)
        return Posted(id=message_id)

    async def edit(self, *, thread: str, message_id: str, text: str) -> None:
        if message_id != self._active:
            return  # an older message scrolled away; the terminal cannot reach it
        self._redraw(text)

    async def reply_done(self, *, thread: str, message_ids: Sequence[str]) -> None:
        if message_ids:
            self._last_answer = list(message_ids)
        self._end_active()
        self._set_echo(on=True)
        self._waiting = False
        self._prompt()
        self._turn_done.set()

    # --- drawing -------------------------------------------------------------------------

    def _redraw(self, text: str) -> None:
        shown = self._shown
        if text.startswith(shown):
            self._write(text[len(shown) :])
        elif self._tty:
            self._write(self._cursor_back(shown) + _CLEAR_TO_END + text)
        else:
            # A pipe cannot be rewritten: start the corrected text on a new line.
            self._write("\n" + self._config.agent_label + text)
        self._shown = text

    def _cursor_back(self, shown: str) -> str:
        """ANSI moves from the end of ``shown`` back to its first character."""
        width = max(1, shutil.get_terminal_size().columns)
        label = self._config.agent_label
        lines = (label + shown).split("\n")
        rows = sum(max(1, -(-len(line) // width)) for line in lines) - 1
        up = f"\x1b[{rows}A" if rows else ""
        return f"{up}\r\x1b[{len(label)}C"

    def _end_active(self) -> None:
        if self._active is not None:
            self._write("\n")
            self._active = None

    def _leave_screen(self) -> None:
        """End the line in progress, so the shell prompt starts on its own; on a terminal,
        say when the answer being waited for will not be shown (Ctrl-C quit meanwhile)."""
        end = "" if self._at_line_start else "\n"
        if self._waiting and self._tty:
            what = "before the end of the answer" if self._active else "before the answer"
            self._write(f"{end}(interrupted {what})\n")
        else:
            self._write(end)

    def _prompt(self) -> None:
        if self._tty:
            self._write(self._config.prompt)

    def _restore_terminal(self) -> None:
        """Give the terminal back exactly as ``start`` found it, echo included."""
        saved, self._saved_tty = self._saved_tty, None
        self._echoing = True
        if saved is None:
            return
        with contextlib.suppress(OSError, ValueError, termios.error):
            termios.tcsetattr(self._in.fileno(), termios.TCSANOW, saved)

    def _set_echo(self, *, on: bool) -> None:
        if self._saved_tty is None or self._echoing == on:
            return
        self._echoing = on
        with contextlib.suppress(OSError, ValueError, termios.error):
            attrs = termios.tcgetattr(self._in.fileno())
            attrs[3] = attrs[3] | termios.ECHO if on else attrs[3] & ~termios.ECHO
            termios.tcsetattr(self._in.fileno(), termios.TCSANOW, attrs)

    def _write(self, text: str) -> None:
        if self._stopped or not text:
            return
        self._out.write(text)
        self._out.flush()
        self._at_line_start = text.endswith("\n")
