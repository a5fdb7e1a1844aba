"""Examples of Markdown converted to Slack mrkdwn, one construct at a time."""

from __future__ import annotations

import pytest

from knowrithm_bots.core.markup import to_slack_mrkdwn


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("**bold** and __bold__", "*bold* and *bold*"),
        ("*italic* and _italic_", "_italic_ and _italic_"),
        ("~~strike~~", "~strike~"),
        ("**bold _both_**", "*bold _both_*"),
        ("***all***", "_*all*_"),
        ("[text](https://ex.am/p?a=1&b=2)", "<https://ex.am/p?a=1&amp;b=2|text>"),
        ("[**bold** text](https://x.y)", "<https://x.y|bold text>"),
        ("<https://x.y/z>", "<https://x.y/z>"),
        ("[pipe](https://x.y/a|b>c)", "<https://x.y/a%7Cb%3Ec|pipe>"),
        ("[see](docs/page)", "see (docs/page)"),
        ('[t](https://x.y "Title")', "<https://x.y|t> (Title)"),
        ("![a chart](https://x.y/c.png)", "<https://x.y/c.png|a chart>"),
        ("# Heading **one**\n\ntext", "*Heading one*\n\ntext"),
        ("###### Small", "*Small*"),
        ("Setext\n---", "*Setext*"),
        ("- one\n- two\n  - nested", "• one\n• two\n  • nested"),
        ("* star\n+ plus", "• star\n\n• plus"),
        ("3. three\n4. four", "3. three\n4. four"),
        ("1) paren", "1) paren"),
        ("use `a < b` here", "use `a &lt; b` here"),
        ("```python\nif a < b:\n    pass\n```", "```\nif a &lt; b:\n    pass\n```"),
        ("    indented code", "```\nindented code\n```"),
        ("> quoted *line*\n> second", "> quoted _line_\n> second"),
        ("> outer\n> > inner", "> outer\n>\n> inner"),
        ("Tom & Jerry <3 >_<", "Tom &amp; Jerry &lt;3 &gt;_&lt;"),
        ("---", "──────────"),
        ("||secret||", "||secret||"),
        ("line one  \nline two", "line one\nline two"),
        ("**bold over\ntwo lines**", "*bold over*\n*two lines*"),
    ],
)
def test_construct(markdown: str, expected: str) -> None:
    assert to_slack_mrkdwn(markdown) == expected


def test_table_becomes_an_aligned_code_block() -> None:
    markdown = "| Name | Qty |\n|------|----:|\n| apple | 3 |\n| kiwi | 12 | extra |"
    assert to_slack_mrkdwn(markdown) == (
        "```\nName  | Qty\n------+-----+------\napple | 3\nkiwi  | 12  | extra\n```"
    )


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("**half-streamed bold", "**half-streamed bold"),
        ("```js\nlet x = 1;", "```\nlet x = 1;\n```"),
        ("[partial link](https://x.y", "[partial link](https://x.y"),
        ("_open *mixed", "_open *mixed"),
    ],
)
def test_unbalanced_stream_cuts_render_literally(markdown: str, expected: str) -> None:
    assert to_slack_mrkdwn(markdown) == expected


def test_entities_stay_as_written() -> None:
    assert to_slack_mrkdwn("AT&amp;T &copy;") == "AT&amp;amp;T &amp;copy;"
