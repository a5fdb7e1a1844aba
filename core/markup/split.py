"""Cut a long answer into a message-sized head and the tail that rolls over."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_OPEN_FENCE = re.compile(r"([ \t]*)(`{3,}|~{3,})(.*)")
_ZWJ = "\u200d"
_SENTENCE_END = ".!?…"
_CLOSERS = "\"')]}»”’"
_CJK_SENTENCE_END = "。！？"
_HEADING = re.compile(r"[ \t]*#{1,6}(?:[ \t]|$)", re.MULTILINE)

# Boundary classes, most natural first.
_PARAGRAPH, _LINE, _SENTENCE, _SPACE = range(4)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's 4,096 limit."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass(frozen=True)
class _Fence:
    """One fenced code block: offsets into the text and the fence lines to repeat."""

    start: int  # first character of the opening line
    body: int  # just after the opening line
    close: int  # first character of the closing line (len(text) if still open)
    end: int  # just after the closing line (len(text) if still open)
    opener: str  # the opening line as written, without its newline
    closer: str  # indentation + fence marker


def _fences(text: str) -> list[_Fence]:
    fences: list[_Fence] = []
    pos = 0
    length = len(text)
    current: tuple[int, int, str, str, re.Pattern[str]] | None = None
    while pos < length:
        newline = text.find("\n", pos)
        line_end = length if newline < 0 else newline
        after = length if newline < 0 else newline + 1
        line = text[pos:line_end]
        if current is None:
            match = _OPEN_FENCE.fullmatch(line)
            if match and not (match.group(2)[0] == "`" and "`" in match.group(3)):
                indent, marker = match.group(1), match.group(2)
                closing = re.compile(rf"[ \t]*{re.escape(marker[0])}{{{len(marker)},}}[ \t\r]*")
                current = (pos, after, line, indent + marker, closing)
        elif current[4].fullmatch(line):
            start, body, opener, closer, _ = current
            fences.append(_Fence(start, body, pos, after, opener, closer))
            current = None
        pos = after
    if current is not None:
        start, body, opener, closer, _ = current
        fences.append(_Fence(start, body, length, length, opener, closer))
    return fences


def _is_extend(char: str) -> bool:
    """Characters that attach to the one before them (combining marks, ZWJ, selectors...)."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char in (_ZWJ, "\u200c")
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF  # variation selectors supplement
        or 0x1F3FB <= code <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # emoji tag sequences (subdivision flags)
    )


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _hangul_kind(char: str) -> str:
    code = ord(char)
    if 0x1100 <= code <= 0x115F or 0xA960 <= code <= 0xA97C:
        return "L"
    if 0x1160 <= code <= 0x11A7 or 0xD7B0 <= code <= 0xD7C6:
        return "V"
    if 0x11A8 <= code <= 0x11FF or 0xD7CB <= code <= 0xD7FB:
        return "T"
    if 0xAC00 <= code <= 0xD7A3:
        return "LV" if (code - 0xAC00) % 28 == 0 else "LVT"
    return ""


_HANGUL_JOINS = {
    "L": ("L", "V", "LV", "LVT"),
    "V": ("V", "T"),
    "LV": ("V", "T"),
    "T": ("T",),
    "LVT": ("T",),
}


def _is_boundary(text: str, index: int) -> bool:
    """Whether a cut at ``index`` falls between two grapheme clusters (simplified UAX #29)."""
    if index <= 0 or index >= len(text):
        return True
    before, after = text[index - 1], text[index]
    if before == "\r" and after == "\n":
        return False
    if "\ud800" <= before <= "\udbff" and "\udc00" <= after <= "\udfff":
        return False  # a surrogate pair held as two code points
    if unicodedata.category(before) == "Cc" or unicodedata.category(after) == "Cc":
        return True
    if _is_extend(after) or before == _ZWJ:
        return False
    if _is_regional_indicator(before) and _is_regional_indicator(after):
        run = 0
        while index - run - 1 >= 0 and _is_regional_indicator(text[index - run - 1]):
            run += 1
        return run % 2 == 0  # flags are pairs of indicators
    kind = _hangul_kind(before)
    return not (kind and _hangul_kind(after) in _HANGUL_JOINS[kind])


def _natural_boundaries(text: str) -> dict[int, int]:
    """Map each cut position at a natural boundary to its class."""
    classes: dict[int, int] = {}
    length = len(text)
    pos = 0
    while pos < length:
        char = text[pos]
        if char in _CJK_SENTENCE_END and pos + 1 < length and not text[pos + 1].isspace():
            classes[pos + 1] = _SENTENCE
        if not char.isspace():
            pos += 1
            continue
        end = pos
        while end < length and text[end].isspace():
            end += 1
        newlines = text.count("\n", pos, end)
        if newlines >= 2:
            kind = _PARAGRAPH
        elif newlines == 1:
            kind = _LINE
        else:
            kind = _SENTENCE if _ends_sentence(text, pos) else _SPACE
        if newlines and _HEADING.match(text, text.rfind("\n", 0, pos) + 1):
            kind = min(kind + 1, _SPACE)  # a heading belongs with what follows it
        # Cut before the run or right after one of its newlines, never inside the
        # indentation of the next line (the tail would lose it).
        cuts = (
            [pos] + [i + 1 for i in range(pos, end) if text[i] == "\n"] if newlines else [pos, end]
        )
        for cut in cuts:
            classes[cut] = min(kind, classes.get(cut, kind))
        pos = end
    return classes


def _ends_sentence(text: str, index: int) -> bool:
    """Whether the text just before ``index`` closes a sentence (``end.``, ``"end!"``)."""
    while index > 0 and text[index - 1] in _CLOSERS:
        index -= 1
    return index > 0 and text[index - 1] in _SENTENCE_END + _CJK_SENTENCE_END


class _Cutter:
    """Builds (head, tail) for a cut position, adding fence lines inside code blocks."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.fences = _fences(text)
        # Per cut position: index of the enclosing fence (-1: none) and whether the cut
        # would land on a fence line itself, where no fence can be added cleanly.
        self._inside = [-1] * (len(text) + 1)
        self._on_fence_line = [False] * (len(text) + 1)
        for number, fence in enumerate(self.fences):
            still_open = fence.close == fence.end
            for cut in range(fence.start + 1, fence.end + 1 if still_open else fence.end):
                self._inside[cut] = number
                self._on_fence_line[cut] = cut <= fence.body or cut >= fence.close

    def fence_at(self, cut: int) -> tuple[_Fence | None, bool]:
        """The fence around ``cut`` and whether cutting there is awkward (on a fence line)."""
        number = self._inside[cut]
        return (self.fences[number] if number >= 0 else None), self._on_fence_line[cut]

    def split(self, cut: int) -> tuple[str, str]:
        head, tail = self.text[:cut], self.text[cut:]
        fence, _ = self.fence_at(cut)
        if fence is None:
            return head, tail
        close = fence.closer if head.endswith("\n") else f"\n{fence.closer}"
        return head + close, f"{fence.opener}\n{tail}"


def _longest_fitting(cuts: Sequence[int], fits: Callable[[int], bool]) -> int | None:
    """The largest cut that fits, by binary search (``measure`` grows with the text).

    A measure that does not grow strictly (a markup converter's length may shrink when
    a construct closes) can make the answer shorter than the best, never too long:
    the answer is always one that was checked.
    """
    low, high = 0, len(cuts) - 1
    best: int | None = None
    while low <= high:
        middle = (low + high) // 2
        if fits(cuts[middle]):
            best, low = cuts[middle], middle + 1
        else:
            high = middle - 1
    return best


def split_for_rollover(
    text: str, *, limit: int, measure: Callable[[str], int] = len
) -> tuple[str, str]:
    """Split ``text`` into ``(head, tail)`` with ``measure(head) <= limit``.

    The head is the longest prefix ending at the most natural boundary available:
    a paragraph break, else a line break, else a sentence end, else whitespace. A cut
    outside fenced code blocks is always preferred to one inside; only when no such
    boundary fits is a word cut, and then only between grapheme clusters (never inside
    a base character plus combining marks, ZWJ sequences, variation selectors, flags
    or a surrogate pair). Separator whitespace stays at the end of the head when it
    fits. If the whole text fits, the result is ``(text, "")``.

    Invariant: if the cut is outside any code block, ``head + tail == text``. If it is
    inside a fenced code block, exactly two things are added: ``head`` ends with the
    block's closing fence (its indentation and marker, preceded by ``"\\n"`` unless the
    cut already follows a newline) and ``tail`` starts with the block's opening line as
    written (same fence and language tag) followed by ``"\\n"``. Removing those two
    added fence lines gives back ``text`` exactly.

    Graphemes are only cut when one alone is longer than ``limit``; then the cut falls
    between its code points. Raises ValueError when ``limit`` cannot hold even the first
    code point.
    """
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    if measure(text) <= limit:
        return text, ""
    cutter = _Cutter(text)
    first_visible = next((i for i, char in enumerate(text) if not char.isspace()), len(text))
    natural = _natural_boundaries(text)

    def fits(cut: int) -> bool:
        return measure(cutter.split(cut)[0]) <= limit

    tiers: list[list[int]] = [[] for _ in range(8)]
    resort: list[int] = []
    awkward: list[int] = []
    for cut in range(1, len(text) + 1):
        if not _is_boundary(text, cut):
            continue
        fence, on_fence_line = cutter.fence_at(cut)
        if on_fence_line:
            awkward.append(cut)
            continue
        resort.append(cut)
        kind = natural.get(cut)
        if kind is not None and cut > first_visible:
            tiers[kind + (4 if fence else 0)].append(cut)

    for cuts in tiers:
        best = _longest_fitting(cuts, fits)
        if best is not None:
            return cutter.split(best)
    best = _longest_fitting(resort, fits)
    if best is not None:
        return cutter.split(best)
    # Only a fence line itself is left to cut (one longer than the limit): cut it as text.
    plain = _longest_fitting(awkward, lambda cut: measure(text[:cut]) <= limit)
    if plain is not None:
        return text[:plain], text[plain:]
    # A single grapheme (a long ZWJ sequence) is longer than the limit: cutting it between
    # code points shows it as its parts, which beats refusing to show the answer at all.
    points = _longest_fitting(range(1, len(text) + 1), lambda cut: measure(text[:cut]) <= limit)
    if points is not None:
        return text[:points], text[points:]
    raise ValueError(f"limit {limit} is too small to hold the first character of the text")
