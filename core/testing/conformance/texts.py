"""Texts the conformance checks send: unique markers, texts exactly at a limit, long answers."""

from __future__ import annotations

import uuid
from collections.abc import Callable

# Plain words (no Markdown syntax) so every platform shows them unchanged, with characters
# that count differently in UTF-16, bytes and code points.
_WORDS = ("Lorem", "ipsum", "über", "dolor", "😀", "sit", "amet,", "naïve", "café", "42.")

Measure = Callable[[str], int]


def marker(label: str) -> str:
    """A short text unique to one check, so stray or repeated messages are recognisable."""
    return f"{label} {uuid.uuid4().hex[:8]}"


def normalized(text: str) -> str:
    """``text`` with runs of whitespace folded, for comparing what a platform shows."""
    return " ".join(text.split())


def _words(count: int, *, first: str) -> str:
    return " ".join([first, *(_WORDS[i % len(_WORDS)] for i in range(count))])


def _largest(fits: Callable[[int], bool], *, high: int) -> int:
    """The largest ``n`` in ``[0, high]`` with ``fits(n)``, for ``fits`` true up to a point."""
    low = 0
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def text_at_limit(*, measure: Measure, limit: int, first: str) -> str:
    """Words starting with ``first``, padded so that ``measure`` of it is as close to ``limit``
    as the last character allows (exactly ``limit`` when ``x`` counts as one)."""
    count = _largest(lambda n: measure(_words(n, first=first)) <= limit, high=limit)
    text = _words(count, first=first)
    pad = _largest(lambda n: measure(text + "x" * n) <= limit, high=limit)
    return text + "x" * pad


def long_answer(*, measure: Measure, limit: int, first: str, times: float = 2.5) -> str:
    """An answer of about ``times`` the limit, in sentences and paragraphs of plain words."""
    paragraphs: list[str] = []
    size = 0
    target = int(limit * times)
    while size < target:
        paragraph = _words(40, first=f"{first} {len(paragraphs)}") + "."
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    answer = "\n\n".join(paragraphs)
    if measure(answer) <= limit:
        raise ValueError("measure() reports less than one character per character")
    return answer
