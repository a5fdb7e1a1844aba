"""Property tests: roll-over splits respect the limit, graphemes and the fence invariant."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowrithm_bots.core.markup import (
    split_for_rollover,
    to_slack_mrkdwn,
    to_telegram_html,
    utf16_len,
)
from tests.core.markup.strategies import any_text

FAST = settings(max_examples=200, deadline=None)
_OPENER = re.compile(r"[ \t]*(`{3,}|~{3,})[^\n]*")

# Each entry is one grapheme cluster; multi-character ASCII pieces are split per character.
CLUSTERS = [
    "e\u0301", "a\u0308\u0301", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "❤\ufe0f", "1\ufe0f\u20e3",
    "\u1100\u1161\u11a8", "각", "\ud83d\ude00", "\r\n", "😀", "中", "ß",
    "🏴\U000e0067\U000e0062\U000e007f",
]  # fmt: skip
ASCII_PIECES = [
    "word", "x", " ", "  ", "\n", "\n\n", ". ", "! ", "? ", "```\n", "```py\n", "~~~\n",
    "\n```\n", "  ```sh\n", "- ", "> ", "**", "`", "\t",
]  # fmt: skip

clusters = st.lists(
    st.one_of(st.sampled_from(CLUSTERS), st.sampled_from(ASCII_PIECES).map(list)),
    min_size=1,
    max_size=60,
).map(lambda parts: [c for part in parts for c in (part if isinstance(part, list) else [part])])

MEASURES: dict[str, Callable[[str], int]] = {"len": len, "utf16": utf16_len}


def original_cut(text: str, head: str, tail: str) -> int:
    """Check the documented invariant and return where in ``text`` the cut fell."""
    if head + tail == text:
        return len(head)
    reopen, newline, rest = tail.partition("\n")
    opener = _OPENER.fullmatch(reopen)
    assert newline and opener, (head, tail)
    closer = reopen[: opener.end(1)]
    # The closing fence is added as "\n" + closer, or as closer after a newline.
    for added in (closer, "\n" + closer):
        base = head.removesuffix(added)
        if base != head and base + rest == text and (added == closer) == base.endswith("\n"):
            assert reopen in text[: len(base)].split("\n"), "tail must reopen its own fence"
            return len(base)
    raise AssertionError(f"head/tail do not reassemble: {head!r} / {tail!r}")


@pytest.mark.parametrize("measure_name", sorted(MEASURES))
@FAST
@given(parts=clusters, limit=st.integers(min_value=1, max_value=60))
def test_split_respects_limit_and_graphemes(
    measure_name: str, parts: list[str], limit: int
) -> None:
    measure = MEASURES[measure_name]
    text = "".join(parts)
    boundaries = {sum(len(p) for p in parts[:i]) for i in range(len(parts) + 1)}
    if measure(parts[0]) > limit and measure(text) > limit:
        # Only a grapheme longer than the limit is cut, and then between code points.
        if measure(text[0]) > limit:
            with pytest.raises(ValueError, match="too small"):
                split_for_rollover(text, limit=limit, measure=measure)
            return
        head, tail = split_for_rollover(text, limit=limit, measure=measure)
        assert head + tail == text
        assert parts[0].startswith(head)
        assert 0 < measure(head) <= limit
        return
    head, tail = split_for_rollover(text, limit=limit, measure=measure)
    assert measure(head) <= limit
    assert head
    cut = original_cut(text, head, tail)
    assert cut in boundaries, (text, head)
    if measure(text) > limit:
        assert cut < len(text)
    else:
        assert (head, tail) == (text, "")


@FAST
@given(text=any_text, limit=st.integers(min_value=4, max_value=120))
def test_split_of_arbitrary_markdown_reassembles(text: str, limit: int) -> None:
    head, tail = split_for_rollover(text, limit=limit)
    assert len(head) <= limit
    original_cut(text, head, tail)


@pytest.mark.parametrize("convert", [to_telegram_html, to_slack_mrkdwn])
@settings(max_examples=60, deadline=None)
@given(text=any_text, limit=st.integers(min_value=12, max_value=120))
def test_split_respects_a_measure_of_converted_markup(
    convert: Callable[[str], str], text: str, limit: int
) -> None:
    def measure(part: str) -> int:
        return utf16_len(convert(part))

    # limit >= 12 always holds one converted character (the worst is "<" -> "&lt;").
    head, tail = split_for_rollover(text, limit=limit, measure=measure)
    assert measure(head) <= limit
    original_cut(text, head, tail)
