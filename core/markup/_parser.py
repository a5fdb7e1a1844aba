"""One shared, text-preserving Markdown parser configuration for every converter."""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.common.utils import mdTrim
from markdown_it.rules_block.state_block import StateBlock
from markdown_it.rules_block.table import escapedSplit, getLine
from markdown_it.rules_block.table import table as gfm_table
from markdown_it.rules_inline.state_inline import StateInline
from markdown_it.token import Token

# Re-exported: the converters take it from here.
from knowrithm_bots.core.text import clean_text as clean_text

# Deeper nesting makes markdown-it silently drop the rest of the document, so the
# converters detect it (see `parse`) and fall back to plain text instead.
MAX_NESTING = 40


class _TextPreservingParser(MarkdownIt):
    """CommonMark + tables + strikethrough + ||spoilers||, keeping URLs as written.

    Percent-encoding or punycode-decoding a URL would change the characters the agent
    wrote, so destinations and autolink texts are passed through untouched.
    """

    def normalizeLink(self, url: str) -> str:
        return url

    def normalizeLinkText(self, link: str) -> str:
        return link


def _spoiler(state: StateInline, silent: bool) -> bool:
    """Parse ``||hidden||`` (Discord and Telegram spoiler syntax) as a nested span."""
    start = state.pos
    if not state.src.startswith("||", start):
        return False
    close = state.src.find("||", start + 2, state.posMax)
    if close <= start + 2 or state.src[start + 2].isspace() or state.src[close - 1].isspace():
        return False
    if silent:
        state.pos = close + 2  # validation mode must still move past the span
        return True
    old_max = state.posMax
    state.push("spoiler_open", "tg-spoiler", 1).markup = "||"
    state.pos = start + 2
    state.posMax = close
    state.md.inline.tokenize(state)
    state.push("spoiler_close", "tg-spoiler", -1).markup = "||"
    state.pos = close + 2
    state.posMax = old_max
    return True


def _table_keeping_cells(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """Run the GFM table rule, then record every cell as written.

    GFM drops cells beyond the header's column count; a chat answer must not lose them,
    so the raw rows (and each line's container prefix, for source-level rewriting) are
    kept in the ``table_open`` token's ``meta``.
    """
    first = len(state.tokens)
    if not gfm_table(state, start_line, end_line, silent):
        return False
    if silent:
        return True
    rows: list[list[str]] = []
    prefixes: list[str] = []
    for line in range(start_line, state.line):
        content_start = state.bMarks[line] + state.tShift[line]
        line_start = state.src.rfind("\n", 0, content_start) + 1
        prefixes.append(state.src[line_start:content_start])
        if line == start_line + 1:
            continue  # the delimiter row carries alignment only
        cells = escapedSplit(mdTrim(getLine(state, line)))
        if cells and cells[0] == "":
            cells.pop(0)
        if cells and cells[-1] == "":
            cells.pop()
        rows.append([mdTrim(cell) for cell in cells])
    state.tokens[first].meta = {"rows": rows, "prefixes": prefixes}
    return True


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    """Return the shared parser (built once; markdown-it parsers are reusable)."""
    md = _TextPreservingParser("commonmark", {"html": False, "maxNesting": MAX_NESTING})
    md.enable(["table", "strikethrough"])
    # Entities stay literal text and reference definitions stay visible: both would
    # otherwise make words of the answer disappear.
    md.disable(["entity", "reference"])
    md.block.ruler.at("table", _table_keeping_cells, {"alt": ["paragraph"]})
    md.inline.ruler.before("strikethrough", "spoiler", _spoiler)
    md.inline.add_terminator_char("|")
    return md


def parse(markdown: str) -> list[Token] | None:
    """Tokenise ``markdown``; None when it nests too deeply to parse without losing text."""
    tokens = parser().parse(markdown)
    if any(token.level >= MAX_NESTING - 1 for token in tokens):
        return None
    return tokens
