"""A walk over the Markdown syntax tree that each platform's renderer specialises."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from markdown_it.tree import SyntaxTreeNode

from knowrithm_bots.core.markup._parser import clean_text, parse, parser

_SPANS = frozenset({"strong", "em", "s", "spoiler"})
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
RULE = "──────────"


def has_scheme(url: str) -> bool:
    """Tell whether ``url`` is absolute (``https:``, ``mailto:``...), not a relative path."""
    return _SCHEME.match(url) is not None


def display_width(text: str) -> int:
    """Monospace columns ``text`` takes: wide East Asian characters count 2, marks 0."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def layout_table(rows: list[list[str]]) -> str:
    """Lay rows out as aligned monospace columns, with a rule under the header row."""
    columns = max((len(row) for row in rows), default=0)
    padded = [row + [""] * (columns - len(row)) for row in rows]
    widths = [max(display_width(row[i]) for row in padded) for i in range(columns)]

    def line(cells: list[str]) -> str:
        used = len(cells)
        while used > 1 and not cells[used - 1]:
            used -= 1  # no dangling separators for missing trailing cells
        padded_cells = (
            c + " " * (w - display_width(c)) for c, w in zip(cells, widths, strict=True)
        )
        return " | ".join(list(padded_cells)[:used]).rstrip()

    lines = [line(row) for row in padded]
    if len(lines) > 1:
        lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _node_str(node: SyntaxTreeNode, name: str) -> str:
    value = node.attrs.get(name)
    return value if isinstance(value, str) else ""


class MarkupRenderer:
    """Renders Markdown block by block; this base class produces plain text.

    Subclasses override the hooks below to emit a platform's markup. The walk itself
    guarantees that every character of text, code and URLs reaches some hook, so a
    hook that keeps what it is given keeps all the words of the answer.
    """

    bullet = "• "

    # ---- hooks -------------------------------------------------------------------------

    def escape(self, text: str) -> str:
        """Make literal text safe for the platform's markup."""
        return text

    def style(self, inner: str, *, kind: str) -> str:
        """Wrap rendered ``inner`` in a span of ``kind`` (strong, em, s, spoiler)."""
        return inner

    def code_span(self, code: str, *, in_link: bool) -> str:
        """Render inline code (``in_link``: inside a link, where code cannot nest)."""
        return self.escape(code)

    def link(self, *, href: str, inner: str, plain: str) -> str:
        """Render a link whose text is ``inner`` (rendered) or ``plain`` (unformatted)."""
        return self.plain_link(href=href, inner=inner, plain=plain)

    def heading(self, inner: str) -> str:
        """Render a heading's rendered text as its own line."""
        return inner

    def quote(self, inner: str, *, nested: bool) -> str:
        """Render a block quote around already rendered blocks."""
        if not inner:
            return ""
        return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))

    def code_block(self, code: str, *, language: str) -> str:
        """Render a fenced or indented code block."""
        return self.escape(code)

    def table(self, rows: list[list[str]]) -> str:
        """Render a table given as rows of plain-text cells."""
        return self.escape(layout_table(rows))

    def rule(self) -> str:
        """Render a thematic break."""
        return RULE

    # ---- shared behaviour ----------------------------------------------------------

    def plain_link(self, *, href: str, inner: str, plain: str) -> str:
        """Keep both the text and the URL visible: ``text (url)``, or one when they agree."""
        if not href or plain == href or f"mailto:{plain}" == href:
            return inner if inner else self.escape(href)
        return f"{inner} ({self.escape(href)})" if inner else self.escape(href)

    def render(self, markdown: str) -> str:
        """Convert ``markdown``; never raises on unbalanced input and never drops text."""
        text = clean_text(markdown)
        tokens = parse(text)
        if tokens is None:
            return self.escape(text)
        return self._blocks(SyntaxTreeNode(tokens).children, quoted=False, sep="\n\n")

    # ---- block level ---------------------------------------------------------------

    def _blocks(self, nodes: list[SyntaxTreeNode], *, quoted: bool, sep: str) -> str:
        rendered = (self._block(node, quoted=quoted) for node in nodes)
        return sep.join(part for part in rendered if part)

    def _block(self, node: SyntaxTreeNode, *, quoted: bool) -> str:
        kind = node.type
        if kind == "paragraph":
            return self._inline_children(node, frozenset())
        if kind == "heading":
            return self.heading(self._inline_children(node, frozenset({"strong"})))
        if kind in ("bullet_list", "ordered_list"):
            return self._list(node, quoted=quoted)
        if kind == "blockquote":
            inner = self._blocks(node.children, quoted=True, sep="\n\n")
            return self.quote(inner, nested=quoted)
        if kind in ("fence", "code_block"):
            code = node.content[:-1] if node.content.endswith("\n") else node.content
            language = node.info.split()[0] if node.info.split() else ""
            return self.code_block(code, language=language)
        if kind == "hr":
            return self.rule()
        if kind == "table":
            return self.table(self._table_rows(node))
        if kind == "inline":
            return self._spans(node, frozenset(), in_link=False)
        if node.children:
            return self._blocks(node.children, quoted=quoted, sep="\n")
        return self.escape(node.content)

    def _list(self, node: SyntaxTreeNode, *, quoted: bool) -> str:
        items: list[str] = []
        for item in node.children:
            if node.type == "bullet_list":
                marker = self.bullet
            else:
                marker = self.escape(f"{item.info}{item.markup} ")
            pad = " " * len(marker)
            parts: list[str] = []
            for child in item.children:
                body = self._block(child, quoted=quoted)
                if child.type in ("bullet_list", "ordered_list"):
                    # Only nested lists are indented: indenting code would change it.
                    body = "\n".join(pad + line if line else line for line in body.split("\n"))
                if body:
                    parts.append(body)
            text = "\n".join(parts)
            if parts and parts[0].startswith(pad) and item.children[0].type.endswith("_list"):
                text = text[len(pad) :]
            items.append((marker + text) if text else marker.rstrip())
        return "\n".join(items)

    def _table_rows(self, node: SyntaxTreeNode) -> list[list[str]]:
        meta: dict[str, Any] = node.meta
        rows: list[list[str]] = meta.get("rows", [])
        return [[inline_plain(cell) for cell in row] for row in rows]

    # ---- inline level --------------------------------------------------------------

    def _inline_children(self, node: SyntaxTreeNode, active: frozenset[str]) -> str:
        """Render the inline content of a paragraph or heading."""
        return "".join(self._spans(child, active, in_link=False) for child in node.children)

    def _inline(self, node: SyntaxTreeNode, active: frozenset[str], *, in_link: bool) -> str:
        kind = node.type
        if kind == "text":
            return self.escape(node.content)
        if kind in ("softbreak", "hardbreak"):
            return "\n"
        if kind == "code_inline":
            return self.code_span(node.content, in_link=in_link)
        if kind in _SPANS:
            inner = self._spans(node, active | {kind}, in_link=in_link)
            if kind in active or not inner.strip():
                return inner
            return self.style(inner, kind=kind)
        if kind == "link":
            href = _node_str(node, "href")
            inner = self._spans(node, active, in_link=True)
            plain = _PLAIN._spans(node, frozenset(), in_link=True)
            return self._linked(href=href, inner=inner, plain=plain, node=node, in_link=in_link)
        if kind == "image":
            src = _node_str(node, "src")
            alt = _PLAIN._spans(node, frozenset(), in_link=True)
            return self._linked(
                href=src, inner=self.escape(alt), plain=alt, node=node, in_link=in_link
            )
        return self.escape(node.content) + self._spans(node, active, in_link=in_link)

    def _spans(self, node: SyntaxTreeNode, active: frozenset[str], *, in_link: bool) -> str:
        return "".join(self._inline(child, active, in_link=in_link) for child in node.children)

    def _linked(
        self, *, href: str, inner: str, plain: str, node: SyntaxTreeNode, in_link: bool
    ) -> str:
        if in_link:
            # An image inside a link: links cannot nest anywhere, so keep it as text.
            rendered = MarkupRenderer.plain_link(self, href=href, inner=inner, plain=plain)
        else:
            rendered = self.link(href=href, inner=inner, plain=plain)
        title = _node_str(node, "title")
        return f"{rendered}{self.escape(f' ({title})')}" if title else rendered


_PLAIN = MarkupRenderer()


def inline_plain(source: str) -> str:
    """Plain text of one line of inline Markdown (used for table cells)."""
    tokens = parser().parseInline(source)
    return _PLAIN._blocks(SyntaxTreeNode(tokens).children, quoted=False, sep="")
