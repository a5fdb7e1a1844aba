"""Examples of where split_for_rollover cuts, and how it carries code blocks over."""

from __future__ import annotations

import pytest

from knowrithm_bots.core.markup import split_for_rollover, to_telegram_html, utf16_len


def test_text_that_fits_is_not_split() -> None:
    assert split_for_rollover("short", limit=5) == ("short", "")
    assert split_for_rollover("", limit=1) == ("", "")


def test_paragraph_break_beats_a_later_line_break() -> None:
    text = "First para.\n\nSecond line one\nsecond line two"
    assert split_for_rollover(text, limit=35) == (
        "First para.\n\n",
        "Second line one\nsecond line two",
    )


def test_line_break_beats_a_later_sentence_end() -> None:
    text = "Line one\nSentence one. Sentence two. Three"
    assert split_for_rollover(text, limit=30) == ("Line one\n", "Sentence one. Sentence two. Three")


def test_sentence_end_beats_a_later_space() -> None:
    text = 'He said "stop." Then we left the place'
    assert split_for_rollover(text, limit=30) == ('He said "stop." ', "Then we left the place")


def test_space_when_nothing_better_fits() -> None:
    assert split_for_rollover("alpha beta gamma delta", limit=12) == ("alpha beta ", "gamma delta")


def test_separator_goes_to_the_head_only_when_it_fits() -> None:
    assert split_for_rollover("abcd\n\nefgh", limit=4) == ("abcd", "\n\nefgh")
    assert split_for_rollover("abcd\n\nefgh", limit=5) == ("abcd\n", "\nefgh")


def test_cjk_full_stop_is_a_sentence_end() -> None:
    assert split_for_rollover("今日は晴れ。明日は雨です", limit=8) == (
        "今日は晴れ。",
        "明日は雨です",
    )


def test_long_word_is_cut_between_graphemes_only() -> None:
    word = "x" * 9 + "e\u0301" + "yy"
    assert split_for_rollover(word, limit=10) == ("x" * 9, "e\u0301yy")
    assert split_for_rollover(word, limit=11) == ("x" * 9 + "e\u0301", "yy")


@pytest.mark.parametrize(
    "cluster",
    [
        "👨\u200d👩\u200d👧",  # ZWJ sequence
        "🇫🇷",  # regional indicator pair
        "❤\ufe0f",  # variation selector
        "👍🏽",  # skin-tone modifier
        "1\ufe0f\u20e3",  # keycap
        "\u1100\u1161\u11a8",  # conjoining Hangul jamo
        "\ud83d\ude00",  # a surrogate pair held as two code points
        "\r\n",
    ],
)
def test_grapheme_clusters_are_never_split(cluster: str) -> None:
    text = "ab" + cluster + "cd"
    for limit in range(2, len(text)):
        head, tail = split_for_rollover(text, limit=limit)
        assert head in ("ab", "ab" + cluster, "ab" + cluster + "c"), (limit, head)
        assert head + tail == text


def test_flags_in_a_row_split_between_pairs() -> None:
    head, tail = split_for_rollover("🇫🇷🇩🇪🇮🇹", limit=5)
    assert (head, tail) == ("🇫🇷🇩🇪", "🇮🇹")


def test_utf16_measure_counts_astral_characters_twice() -> None:
    assert utf16_len("a😀é") == 4
    assert utf16_len("\ud800") == 1
    head, tail = split_for_rollover("😀😀 😀😀", limit=5, measure=utf16_len)
    assert (head, tail) == ("😀😀 ", "😀😀")


def test_prefers_a_boundary_outside_a_code_block() -> None:
    text = "Here is code.\n\n```py\na = 1\nb = 2\n```\nDone."
    assert split_for_rollover(text, limit=30) == (
        "Here is code.\n\n",
        "```py\na = 1\nb = 2\n```\nDone.",
    )


def test_code_block_cut_is_closed_and_reopened_with_its_language() -> None:
    text = "```python\nline_one = 1\nline_two = 2\nline_three = 3\n```"
    head, tail = split_for_rollover(text, limit=40)
    assert head == "```python\nline_one = 1\nline_two = 2\n```"
    assert tail == "```python\nline_three = 3\n```"
    # Invariant: drop the added closing fence and reopened fence line, get the text back.
    assert head.removesuffix("```") + tail.removeprefix("```python\n") == text


def test_code_block_cut_mid_line_adds_a_newline_before_the_closing_fence() -> None:
    text = "~~~\n" + "word " * 10 + "\n~~~"
    head, tail = split_for_rollover(text, limit=28)
    assert head == "~~~\nword word word word \n~~~"
    assert tail == "~~~\nword word word word word word \n~~~"
    assert head.removesuffix("\n~~~") + tail.removeprefix("~~~\n") == text


def test_indented_fence_in_a_list_keeps_its_indentation() -> None:
    text = "   ```bash\n   make a\n   make b\n   ```"
    head, tail = split_for_rollover(text, limit=30)
    assert head == "   ```bash\n   make a\n   ```"
    assert tail == "   ```bash\n   make b\n   ```"


def test_a_boundary_before_a_list_item_code_block_wins() -> None:
    text = "1. Run:\n   ```bash\n   make a\n   make b\n   ```"
    assert split_for_rollover(text, limit=42)[0] == "1. Run:\n"


def test_unclosed_streaming_code_block_is_closed_in_the_head() -> None:
    text = "```js\nconst a = 1;\nconst b = 2;\nconst c"
    head, tail = split_for_rollover(text, limit=35)
    assert head == "```js\nconst a = 1;\nconst b = 2;\n```"
    assert tail == "```js\nconst c"


def test_fence_line_longer_than_the_limit_is_cut_as_text() -> None:
    text = "```" + "x" * 20
    assert split_for_rollover(text, limit=10) == (text[:10], text[10:])


def test_markup_measure_that_is_not_monotonic_is_still_respected() -> None:
    text = "**bold** " * 30

    def measure(part: str) -> int:
        return utf16_len(to_telegram_html(part))

    head, tail = split_for_rollover(text, limit=50, measure=measure)
    assert measure(head) <= 50
    assert head + tail == text
    assert head.endswith("** ")


@pytest.mark.parametrize("limit", [0, -3])
def test_non_positive_limit_is_rejected(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        split_for_rollover("text", limit=limit)


def test_a_grapheme_longer_than_the_limit_is_cut_between_code_points() -> None:
    family = "👨\u200d👩\u200d👧"
    head, tail = split_for_rollover(family + " family", limit=4)
    assert head == family[:4]
    assert head + tail == family + " family"


def test_limit_smaller_than_the_first_code_point_is_rejected() -> None:
    with pytest.raises(ValueError, match="too small"):
        split_for_rollover("😀 smile", limit=1, measure=utf16_len)


def test_a_heading_is_not_left_at_the_end_of_a_message() -> None:
    text = "Intro text.\n\n## Details\n\nBody of the details section goes here."
    assert split_for_rollover(text, limit=30) == ("Intro text.\n\n", text[13:])
