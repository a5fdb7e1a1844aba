"""Property tests: no converter loses words, emits bad text, or breaks its markup."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import example, given, settings

from knowrithm_bots.core.markup import (
    to_discord_markdown,
    to_plain_text,
    to_slack_mrkdwn,
    to_telegram_html,
)
from tests.core.markup.oracles import (
    TelegramHtml,
    expected_words,
    is_subsequence,
    slack_escaping_problems,
    slack_visible,
    word_chars,
)
from tests.core.markup.strategies import any_text

FAST = settings(max_examples=150, deadline=None)

# What a reader sees of each converter's output.
VISIBLE: dict[str, tuple[Callable[[str], str], Callable[[str], str], bool]] = {
    "slack": (to_slack_mrkdwn, slack_visible, True),
    "telegram": (to_telegram_html, lambda html: TelegramHtml(html).visible(), True),
    "plain": (to_plain_text, lambda text: text, True),
    # Discord keeps fence info strings, so they count as words there.
    "discord": (to_discord_markdown, lambda text: text, False),
}

TRICKY = [
    "**unclosed bold and `code",
    "```python\nprint('cut mid-stream'",
    "[link text](http://example.com/a_b",
    "> quote\n>> deeper ```\n- item ~~strike",
    "| a | b |\n|---|---|\n| 1 | 2 | 3 | 4 |",
    ">" * 60 + " deeply nested words",
    "- " * 40 + "deep list words",
    "[a](<b c> 'title words')",
    "\ud83d\ude00 pair \ud800 lone",
    "[||**|| spoiler in a link label",
    "![||**||",
]


@pytest.mark.parametrize("platform", sorted(VISIBLE))
@pytest.mark.parametrize("markdown", TRICKY)
def test_no_converter_loses_words_of_cut_or_odd_input(platform: str, markdown: str) -> None:
    _check_words(platform, markdown)


@pytest.mark.parametrize("platform", sorted(VISIBLE))
@FAST
@given(markdown=any_text)
def test_no_converter_loses_words(platform: str, markdown: str) -> None:
    _check_words(platform, markdown)


def _check_words(platform: str, markdown: str) -> None:
    convert, visible, drop_info = VISIBLE[platform]
    output = convert(markdown)
    seen = word_chars(visible(output))
    wanted = expected_words(markdown, drop_fence_info=drop_info)
    assert is_subsequence(wanted, seen), (markdown, output)


@pytest.mark.parametrize("platform", sorted(VISIBLE))
@FAST
@given(markdown=any_text)
@example(markdown="\ud800 lone \udfff surrogates \ud83d\ude00")
def test_output_is_valid_utf8_without_lone_surrogates(platform: str, markdown: str) -> None:
    output = VISIBLE[platform][0](markdown)
    output.encode("utf-8")  # raises on any lone surrogate
    assert not any("\ud800" <= char <= "\udfff" for char in output)


@FAST
@given(markdown=any_text)
@example(markdown="**a *b ~~c `d` [e](https://f.g) ||h||~~* i**")
@example(markdown="> x\n>\n> ```\n> code\n> ```\n> > y")
@example(markdown="[`code` **in** a link](https://x.y)")
def test_telegram_output_is_balanced_html_of_the_allowed_subset(markdown: str) -> None:
    html = to_telegram_html(markdown)
    assert TelegramHtml(html).errors == [], (markdown, html)


@FAST
@given(markdown=any_text)
@example(markdown="a < b && c > d <https://x.y|z>")
def test_slack_escapes_control_characters_outside_links(markdown: str) -> None:
    output = to_slack_mrkdwn(markdown)
    assert slack_escaping_problems(output) == [], (markdown, output)


def test_the_oracles_reject_lossy_or_broken_output() -> None:
    lost = word_chars(slack_visible("hello <http://x.y|lnk> world"))
    assert not is_subsequence(
        expected_words("hello [link](http://x.y) world", drop_fence_info=True), lost
    )
    assert TelegramHtml("<b>x<i>y</b></i>").errors
    assert TelegramHtml("<b>open").errors
    assert TelegramHtml("<p>not allowed</p>").errors
    assert TelegramHtml("a < b").errors
    assert TelegramHtml("<blockquote><pre>x</pre></blockquote>").errors
    assert slack_escaping_problems("a < b") == ["<"]
