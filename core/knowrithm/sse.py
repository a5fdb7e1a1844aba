"""An incremental Server-Sent Events parser: feed it bytes as they arrive, get whole events."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from knowrithm_bots.core.errors import ProtocolError

_DIGITS = re.compile(r"[0-9]+")
# Knowrithm's events are a few kilobytes; a line or event far beyond this is a broken stream.
MAX_EVENT_CHARS = 1 << 20


@dataclass(frozen=True, kw_only=True)
class SSEEvent:
    """One dispatched event; ``id`` is the stream's last event id when it was dispatched."""

    event: str
    data: str
    id: str | None = None


class SSEParser:
    """Parses the ``text/event-stream`` format as the HTML standard defines it.

    Lines may end in CRLF, LF or CR, and a chunk may end anywhere, even between the CR and the
    LF of one line ending. An event that is not finished by a blank line is never dispatched.
    Each chunk is scanned once, so the cost grows with the stream, not with its square. A line,
    or the data of one event, longer than ``max_chars`` raises ``ProtocolError``; the parser
    is unusable after that.
    """

    def __init__(self, *, max_chars: int = MAX_EVENT_CHARS) -> None:
        if max_chars < 1:
            raise ValueError("SSEParser max_chars must be positive.")
        self._max = max_chars
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        # The unfinished last line, in the pieces it arrived in (joined once it ends).
        self._partial: list[str] = []
        self._partial_len = 0
        self._skip_lf = False
        self._started = False
        self._data: list[str] = []
        self._data_len = 0
        self._event = ""
        self.last_event_id: str | None = None
        self.retry_ms: int | None = None

    def feed_bytes(self, chunk: bytes) -> list[SSEEvent]:
        """Parse more raw bytes; a multi-byte character split across chunks is kept whole."""
        return self.feed(self._decoder.decode(chunk))

    def feed(self, text: str) -> list[SSEEvent]:
        """Parse more text and return the events it completed."""
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._skip_lf and text:
            # The previous chunk ended in CR; an LF now is the second half of that line end.
            text = text.removeprefix("\n")
            self._skip_lf = False
        if not text:
            return []
        if "\r" in text:
            # A CR at the very end may be half of a CRLF split across chunks.
            self._skip_lf = text.endswith("\r")
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        # Only the new text is scanned: the unfinished line never holds a line end.
        lines = text.split("\n")
        tail = lines.pop()
        events: list[SSEEvent] = []
        if lines and self._partial:
            self._extend(lines[0])
            lines[0] = "".join(self._partial)
            self._partial.clear()
            self._partial_len = 0
        for line in lines:
            if not line:
                event = self._dispatch()
                if event is not None:
                    events.append(event)
            elif len(line) > self._max:
                self._give_up(f"a line longer than {self._max:,} characters")
            elif line[0] != ":":  # a comment otherwise
                self._field(line)
        self._extend(tail)
        return events

    def _extend(self, piece: str) -> None:
        if not piece:
            return
        self._partial_len += len(piece)
        if self._partial_len > self._max:
            self._give_up(f"a line longer than {self._max:,} characters")
        self._partial.append(piece)

    def _give_up(self, what: str) -> None:
        # Drop what was buffered: the stream cannot be read past this point anyway.
        self._partial, self._partial_len = [], 0
        self._data, self._data_len = [], 0
        raise ProtocolError(f"Knowrithm's event stream sent {what}.")

    def _field(self, line: str) -> None:
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            # Counting the joining newline too keeps the dispatched data within the limit.
            self._data_len += len(value) + (1 if self._data else 0)
            if self._data_len > self._max:
                self._give_up(f"an event with more than {self._max:,} characters of data")
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self.last_event_id = value
        elif name == "retry" and _DIGITS.fullmatch(value):
            self.retry_ms = int(value)

    def _dispatch(self) -> SSEEvent | None:
        data, event = self._data, self._event
        self._data, self._data_len, self._event = [], 0, ""
        if not data:
            return None
        return SSEEvent(
            event=event or "message",
            data="\n".join(data),
            id=self.last_event_id,
        )
