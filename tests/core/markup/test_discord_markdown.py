"""Examples of Markdown adapted for Discord: what it renders stays byte for byte."""

from __future__ import annotations

import pytest

from knowrithm_bots.core.markup import to_discord_markdown


@pytest.mark.parametrize(
    "markdown",
    [
        "**bold** *it* __under__ ~~s~~ `code` ||spoiler||",
        "[masked](https://x.y) <https://a.b>",
        "# One\n## Two\n### Three",
        "- a\n  - b\n1. c",
        "> quote\n>>> not special here",
        "```python\nx = 1\n```",
        "a < b & c > d \\*escaped\\*",
        "snake_case_name and 2*3*4",
    ],
)
def test_what_discord_renders_is_kept_exactly(markdown: str) -> None:
    assert to_discord_markdown(markdown) == markdown


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("#### Deep *heading*", "**Deep *heading***"),
        ("###### **Already** bold", "**Already bold**"),
        ("> #### In a quote", "> **In a quote**"),
        ("Title\n=====\n\nbody", "# Title\n\nbody"),
        ("Sub\n---", "## Sub"),
    ],
)
def test_headings_discord_cannot_render(markdown: str, expected: str) -> None:
    assert to_discord_markdown(markdown) == expected


def test_table_becomes_an_aligned_code_block() -> None:
    markdown = "Intro\n\n| k | value |\n|---|---|\n| **a** | [x](https://x.y) |\n| b |\n\nEnd"
    assert to_discord_markdown(markdown) == (
        "Intro\n\n```\nk | value\n--+----------------\na | x (https://x.y)\nb\n```\n\nEnd"
    )


def test_table_in_a_list_item_keeps_its_indentation() -> None:
    markdown = "- item\n\n  | a | b |\n  |---|---|\n  | 1 | 2 |"
    assert to_discord_markdown(markdown) == "- item\n\n  ```\n  a | b\n  --+--\n  1 | 2\n  ```"


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("```py\nprint(1", "```py\nprint(1\n```"),
        ("text\n\n~~~~\ncode\n", "text\n\n~~~~\ncode\n~~~~\n"),
        ("> ```\n> in quote\n\nafter", "> ```\n> in quote\n> ```\n\nafter"),
        ("**unclosed bold", "**unclosed bold"),
    ],
)
def test_streamed_cuts(markdown: str, expected: str) -> None:
    assert to_discord_markdown(markdown) == expected


def test_line_endings_and_surrogates_are_normalised() -> None:
    assert to_discord_markdown("a\r\nb\rc \ud83d\ude00 \ud800") == "a\nb\nc 😀 \ufffd"
