"""Examples of Markdown converted to Telegram HTML and to the plain-text fallback."""

from __future__ import annotations

import pytest

from knowrithm_bots.core.markup import to_plain_text, to_telegram_html
from tests.core.markup.oracles import TelegramHtml


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("**bold** __bold__", "<b>bold</b> <b>bold</b>"),
        ("*it* _it_", "<i>it</i> <i>it</i>"),
        ("~~gone~~", "<s>gone</s>"),
        ("||hidden *twist*||", "<tg-spoiler>hidden <i>twist</i></tg-spoiler>"),
        ("`a<b>&c`", "<code>a&lt;b&gt;&amp;c</code>"),
        (
            '[docs](https://x.y/?a=1&b="2")',
            '<a href="https://x.y/?a=1&amp;b=&quot;2&quot;">docs</a>',
        ),
        ("[**bold** `code`](https://x.y)", '<a href="https://x.y"><b>bold</b> code</a>'),
        ("[rel](/path)", "rel (/path)"),
        ("<me@x.io>", "me@x.io"),
        ("![chart](https://x.y/c.png)", '<a href="https://x.y/c.png">chart</a>'),
        ("# Title *x*", "<b>Title <i>x</i></b>"),
        ("## **Bold** title", "<b>Bold title</b>"),
        ("- a\n- b\n  1. c", "• a\n• b\n  1. c"),
        (
            "```python\nx = a < b\n```",
            '<pre><code class="language-python">x = a &lt; b</code></pre>',
        ),
        ("```\nplain\n```", "<pre>plain</pre>"),
        ('```we"ird\nx\n```', "<pre>x</pre>"),
        ("> quote **b**\n> > nested", "<blockquote>quote <b>b</b>\n\nnested</blockquote>"),
        ("1 < 2 & 3 > 2", "1 &lt; 2 &amp; 3 &gt; 2"),
        ("#", ""),
    ],
)
def test_construct(markdown: str, expected: str) -> None:
    html = to_telegram_html(markdown)
    assert html == expected
    assert TelegramHtml(html).errors == []


def test_code_block_inside_a_quote_is_lifted_out_of_it() -> None:
    html = to_telegram_html("> before\n> ```sh\n> ls\n> ```\n> after")
    assert html == (
        '<blockquote>before</blockquote>\n\n<pre><code class="language-sh">ls</code></pre>'
        "\n\n<blockquote>after</blockquote>"
    )


def test_table_becomes_a_pre_block_with_every_cell() -> None:
    html = to_telegram_html("| a | b |\n|---|---|\n| <1> | 2 | 3 |")
    assert html == "<pre>a   | b\n----+---+--\n&lt;1&gt; | 2 | 3</pre>"


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("**unclosed", "**unclosed"),
        ("```py\nprint(1", '<pre><code class="language-py">print(1</code></pre>'),
        ("```", ""),
        ("> half `code", "<blockquote>half `code</blockquote>"),
    ],
)
def test_unbalanced_input_stays_balanced_html(markdown: str, expected: str) -> None:
    html = to_telegram_html(markdown)
    assert html == expected
    assert TelegramHtml(html).errors == []


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("**b** *i* ~~s~~ `c` ||sp||", "b i s c sp"),
        ("[text](https://x.y) <https://a.b>", "text (https://x.y) https://a.b"),
        ("# Head\n\n- one\n- two", "Head\n\n• one\n• two"),
        ("> quoted", "> quoted"),
        ("```py\na < b\n```", "a < b"),
        ("5 < 6 & 7", "5 < 6 & 7"),
    ],
)
def test_plain_text(markdown: str, expected: str) -> None:
    assert to_plain_text(markdown) == expected
