"""An incremental Server-Sent Events parser: feed it bytes as they arrive, get whole events."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_LINE_END = re.compile(r"\r\n|\r|\n")
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched event; ``id`` is the stream's last event id when it was dispatched."""

    event: str
    data: str
    id: str | None = None


class SSEParser:
    """Parses the ``text/event-stream`` format as the HTML standard defines it.

    Lines may end in CRLF, LF or CR, and a chunk may end anywhere, even between the CR and the
    LF of one line ending. An event that is not finished by a blank line is never dispatched.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._skip_lf = False
        self._started = False
        self._data: list[str] = []
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
        buffer = self._buffer + text
        events: list[SSEEvent] = []
        start = 0
        for match in _LINE_END.finditer(buffer):
            event = self._line(buffer[start : match.start()])
            if event is not None:
                events.append(event)
            start = match.end()
        self._buffer = buffer[start:]
        self._skip_lf = start == len(buffer) and buffer.endswith("\r")
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\x00" not in value:
                self.last_event_id = value
        elif name == "retry" and _DIGITS.fullmatch(value):
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return SSEEvent(
            event=event or "message",
            data="\n".join(data),
            id=self.last_event_id,
        )
