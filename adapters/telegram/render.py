"""The agent's Markdown as Telegram text: HTML (or plain), and its length as Telegram counts it."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal

from knowrithm_bots.core.markup import to_plain_text, to_telegram_html, utf16_len

Formatting = Literal["html", "plain"]
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Rendered:
    """Text ready for the Bot API, with the parse mode that reads it (None: plain text)."""

    text: str
    parse_mode: str | None


def render(markdown: str, *, formatting: Formatting) -> Rendered:
    if formatting == "html":
        return Rendered(text=to_telegram_html(markdown), parse_mode="HTML")
    return plain(markdown)


def plain(markdown: str) -> Rendered:
    """The fallback when Telegram rejects the markup: same words, no formatting."""
    return Rendered(text=to_plain_text(markdown), parse_mode=None)


def visible_html_length(markup: str) -> int:
    """UTF-16 length of what Telegram shows for HTML made by ``to_telegram_html``.

    The converter escapes ``<``, ``>`` and ``&`` in text and attributes, so every ``<`` starts
    a tag; Telegram also trims surrounding whitespace before counting.
    """
    return utf16_len(html.unescape(_TAG.sub("", markup)).strip())


def measure(markdown: str, *, formatting: Formatting) -> int:
    """The length that must stay within 4,096: the larger of the formatted and the
    plain-text retry, since either may end up being sent."""
    fallback = utf16_len(to_plain_text(markdown).strip())
    if formatting == "plain":
        return fallback
    return max(visible_html_length(to_telegram_html(markdown)), fallback)
