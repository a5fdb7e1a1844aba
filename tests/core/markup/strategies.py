"""Hypothesis strategies for Markdown as an agent streams it: mostly text, often cut."""

from __future__ import annotations

from hypothesis import strategies as st

MARKUP = [
    "**", "*", "_", "__", "~~", "~", "`", "``", "```", "```py\n", "~~~\n", "\n", "\n\n",
    "# ", "#### ", "> ", ">> ", "- ", "* ", "1. ", "2) ", "  ", "    ", "\t", "[", "](",
    ")", "](http://ex.am/p?q=1&r=2)", "![", "<", ">", "&", "&amp;", "&#65;", "|", "||",
    "|---|---|\n", "| a | b |\n", "---", "===", "\\", "\\*", "<https://a.b/c>", "<x@y.zz>",
    "e\u0301", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "\ud800", "\udc00", "\x00", "\r\n", "\r",
    '"t"', "(", "。", "é", "ß", "٣", "中文",
]  # fmt: skip

WORDS = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "Zs"]), min_size=1, max_size=6
)

markdownish = st.lists(st.one_of(st.sampled_from(MARKUP), WORDS, st.just(" ")), max_size=40).map(
    "".join
)

any_text = st.one_of(markdownish, st.text(max_size=80))
