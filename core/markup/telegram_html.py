"""Convert the agent's Markdown into Telegram's HTML subset, or into plain text."""

from __future__ import annotations

import re
from html import escape as html_escape

from knowrithm_bots.core.markup._blocks import MarkupRenderer, layout_table

_TAGS = {"strong": "b", "em": "i", "s": "s", "spoiler": "tg-spoiler"}
# Telegram rejects links it cannot open; others are shown as "text (url)" instead.
_LINK_SCHEMES = ("http://", "https://", "tg://", "ftp://")
_LANGUAGE = re.compile(r"[\w+#.-]+")
_PRE = re.compile(r"(<pre>.*?</pre>)", re.DOTALL)


def _escape(text: str) -> str:
    return html_escape(text, quote=False)


class _TelegramRenderer(MarkupRenderer):
    def escape(self, text: str) -> str:
        return _escape(text)

    def style(self, inner: str, *, kind: str) -> str:
        tag = _TAGS.get(kind, "")
        return f"<{tag}>{inner}</{tag}>" if tag else inner

    def code_span(self, code: str, *, in_link: bool) -> str:
        # Telegram does not allow code inside a link.
        return _escape(code) if in_link else f"<code>{_escape(code)}</code>"

    def link(self, *, href: str, inner: str, plain: str) -> str:
        if not href.lower().startswith(_LINK_SCHEMES) or not inner.strip():
            return self.plain_link(href=href, inner=inner, plain=plain)
        return f'<a href="{html_escape(href, quote=True)}">{inner}</a>'

    def heading(self, inner: str) -> str:
        return f"<b>{inner}</b>" if inner.strip() else inner

    def quote(self, inner: str, *, nested: bool) -> str:
        if nested:
            return inner  # blockquotes cannot nest in Telegram
        # Nor can a blockquote contain a pre block: quote the text around each one.
        parts = []
        for part in _PRE.split(inner):
            if part.startswith("<pre>") or not part.strip():
                parts.append(part)
            else:
                body = part.strip("\n")
                lead = part[: len(part) - len(part.lstrip("\n"))]
                trail = part[len(part.rstrip("\n")) :]
                parts.append(f"{lead}<blockquote>{body}</blockquote>{trail}")
        return "".join(parts)

    def code_block(self, code: str, *, language: str) -> str:
        if not code:
            return ""  # Telegram refuses empty entities
        if _LANGUAGE.fullmatch(language):
            return f'<pre><code class="language-{language}">{_escape(code)}</code></pre>'
        return f"<pre>{_escape(code)}</pre>"

    def table(self, rows: list[list[str]]) -> str:
        return self.code_block(layout_table(rows), language="")


_HTML = _TelegramRenderer()
_PLAIN = MarkupRenderer()


def to_telegram_html(markdown: str) -> str:
    """Convert Markdown to Telegram HTML (``parse_mode="HTML"``), keeping every word.

    Only Telegram's tags are produced (b, i, s, code, pre, ``pre><code class="language-x"``,
    a href, blockquote, tg-spoiler), always balanced, with ``&``, ``<`` and ``>`` escaped.
    Headings become bold lines, lists ``•``/numbered lines, tables aligned ``pre`` blocks.
    """
    return _HTML.render(markdown)


def to_plain_text(markdown: str) -> str:
    """Convert Markdown to unformatted text, for the retry when Telegram rejects markup.

    Markup characters are removed, links become ``text (url)``, lists keep ``•`` and
    numbers, quotes keep ``>``, and nothing is escaped (send without ``parse_mode``).
    """
    return _PLAIN.render(markdown)
