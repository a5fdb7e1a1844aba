"""Adapt the agent's Markdown to what Discord renders, changing as little as possible."""

from __future__ import annotations

import re

from markdown_it.token import Token

from knowrithm_bots.core.markup._blocks import inline_plain, layout_table
from knowrithm_bots.core.markup._parser import clean_text, parse

_CONTAINER_PREFIX = re.compile(r"[ \t>*+\-\d.)]*")
_DISCORD_MAX_HEADING = 3


def _continuation(prefix: str) -> str:
    """The prefix for further lines of a block: list markers become spaces, quotes stay."""
    return re.sub(r"[^\s>]", " ", prefix)


def _is_container_prefix(prefix: str) -> bool:
    return _CONTAINER_PREFIX.fullmatch(prefix) is not None


def _heading_edit(tokens: list[Token], index: int, lines: list[str]) -> tuple[int, int, list[str]]:
    opener = tokens[index]
    assert opener.map is not None
    start, end = opener.map
    level = int(opener.tag[1])
    content = tokens[index + 1].content
    first = lines[start]
    if opener.markup.startswith("#"):
        if level <= _DISCORD_MAX_HEADING or not content.strip():
            return start, start, []
        prefix = first[: first.find("#")]
        # Discord renders only #, ## and ###; deeper headings become a bold line.
        replacement = f"**{content.replace('**', '')}**"
    else:
        # Discord ignores setext underlines (=== / ---): use the # form it does render.
        prefix = first[: max(first.find(content.split("\n")[0]), 0)]
        replacement = f"{'#' * level} {' '.join(content.split(chr(10)))}"
    if not _is_container_prefix(prefix):
        return start, start, []
    return start, end, [prefix + replacement]


def _table_edit(token: Token, lines: list[str]) -> tuple[int, int, list[str]]:
    assert token.map is not None
    start, end = token.map
    rows = [[inline_plain(cell) for cell in row] for row in token.meta.get("rows", [])]
    prefixes: list[str] = token.meta.get("prefixes", [""])
    first = prefixes[0] if prefixes else ""
    if not _is_container_prefix(first):
        return start, start, []
    more = _continuation(first)
    body = [more + line for line in layout_table(rows).split("\n")]
    # Discord has no tables: an aligned code block keeps the columns readable.
    return start, end, [f"{first}```", *body, f"{more}```"]


def _fence_edit(token: Token, lines: list[str]) -> tuple[int, int, list[str]]:
    """Close a fence the stream has not closed yet, so Discord shows it as code."""
    assert token.map is not None
    start, end = token.map
    marker = token.markup
    closing = re.compile(rf"[\s>]*{re.escape(marker[0])}{{{len(marker)},}}\s*")
    if end - start >= 2 and closing.fullmatch(lines[end - 1]):
        return start, start, []
    opener = lines[start]
    prefix = _continuation(opener[: opener.find(marker)])
    return end, end, [prefix + marker]


def to_discord_markdown(markdown: str) -> str:
    """Convert Markdown for Discord, keeping the text exactly as written elsewhere.

    Discord renders most Markdown itself, so only what it cannot render changes: tables
    become aligned code blocks, headings deeper than ``###`` become bold lines, setext
    headings become ``#`` headings, and a code fence left open by a cut stream is
    closed. Nothing is escaped, so no character of the answer is lost.
    """
    text = clean_text(markdown).replace("\r\n", "\n").replace("\r", "\n")
    tokens = parse(text)
    if tokens is None:
        return text
    lines = text.split("\n")
    edits: list[tuple[int, int, list[str]]] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            edits.append(_heading_edit(tokens, index, lines))
        elif token.type == "table_open":
            edits.append(_table_edit(token, lines))
        elif token.type == "fence":
            edits.append(_fence_edit(token, lines))
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0], reverse=True):
        if start != end or replacement:
            lines[start:end] = replacement
    return "\n".join(lines)
