"""Independent checks for the markup tests: visible words, Telegram HTML validity."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

# A fence opener, possibly inside quotes or list items; group 3 is its info string.
_FENCE_INFO = re.compile(
    r"^((?:[ \t>]|[-*+][ \t]|\d{1,9}[.)][ \t])*)(`{3,}|~{3,})(.*)$", re.MULTILINE
)
_CHAR_REFERENCE = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
TELEGRAM_TAGS = frozenset({"b", "i", "u", "s", "code", "pre", "a", "blockquote", "tg-spoiler"})
TELEGRAM_ENTITIES = frozenset({"lt", "gt", "amp", "quot"})


def word_chars(text: str) -> str:
    """The letters and digits of ``text``, in order."""
    return "".join(c for c in text if unicodedata.category(c)[0] in "LN")


def is_subsequence(needle: str, haystack: str) -> bool:
    chars = iter(haystack)
    return all(char in chars for char in needle)


def expected_words(markdown: str, *, drop_fence_info: bool) -> str:
    """Words a converter must keep.

    Two documented exceptions: character references (``&amp;``) are decoded by
    CommonMark inside link destinations and titles, which is their meaning, so they
    are not counted; and fence info strings are metadata (Slack drops the language
    tag, Telegram keeps only the first word as a class), so they are not counted for
    converters that re-render code blocks.
    """
    text = re.sub(r"\r\n?", "\n", _CHAR_REFERENCE.sub("", markdown))  # CommonMark line ends
    if drop_fence_info:
        text = _FENCE_INFO.sub(
            lambda m: m.group(0) if "`" in m.group(3) and m.group(2)[0] == "`" else m.group(1),
            text,
        )
    return word_chars(text)


def slack_visible(mrkdwn: str) -> str:
    """What a Slack reader sees in order: link text then URL, entities decoded."""
    linked = re.sub(r"<([^<>|]*)\|([^<>]*)>", r"\2 \1", mrkdwn)
    linked = re.sub(r"<([^<>|]*)>", r"\1", linked)
    return linked.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_escaping_problems(mrkdwn: str) -> list[str]:
    """Raw &, < or > outside links and quote prefixes (Slack would misread them)."""
    problems = []
    for line in mrkdwn.split("\n"):
        # Quote prefixes are meant as markup, also after a list bullet ("• > quoted").
        body = re.sub(r"^[ \t]*(?:(?:•|\d+[.)]) )*>(?: |$)", "", line)
        body = re.sub(r"<[^<>|\s]+(?:\|[^<>]*)?>", "", body)
        body = re.sub(r"&(?:amp|lt|gt);", "", body)
        problems += [char for char in body if char in "&<>"]
    return problems


class TelegramHtml(HTMLParser):
    """Parses Telegram HTML, recording its visible text and every rule it breaks."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=False)
        self.errors: list[str] = []
        self.text: list[str] = []
        self._stack: list[tuple[str, str]] = []
        self.feed(html)
        self.close()
        if self._stack:
            self.errors.append(f"unclosed tags {self._stack}")

    def visible(self) -> str:
        return "".join(self.text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        open_tags = [name for name, _ in self._stack]
        if tag not in TELEGRAM_TAGS:
            self.errors.append(f"tag {tag} not allowed")
        names = [name for name, _ in attrs]
        if tag == "a":
            if names != ["href"] or not attrs[0][1]:
                self.errors.append(f"a needs exactly one non-empty href: {attrs}")
            if "a" in open_tags or "code" in open_tags or "pre" in open_tags:
                self.errors.append("a nested in a, code or pre")
        elif tag == "code" and names:
            value = attrs[0][1] or ""
            if names != ["class"] or not re.fullmatch(r"language-\S+", value):
                self.errors.append(f"bad code attributes {attrs}")
            if not open_tags or open_tags[-1] != "pre":
                self.errors.append("code with a language outside pre")
        elif names:
            self.errors.append(f"{tag} takes no attributes: {attrs}")
        if tag == "blockquote" and "blockquote" in open_tags:
            self.errors.append("nested blockquote")
        if ("code" in open_tags or "pre" in open_tags) and not (tag == "code" and names):
            self.errors.append(f"{tag} inside code or pre")
        if tag == "code" and "a" in open_tags:
            self.errors.append("code inside a link")
        if tag == "pre" and "blockquote" in open_tags:
            self.errors.append("pre inside blockquote")
        self._stack.append((tag, dict(attrs).get("href") or ""))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(f"self-closing tag {tag}")

    def handle_endtag(self, tag: str) -> None:
        if not self._stack or self._stack[-1][0] != tag:
            self.errors.append(f"unbalanced </{tag}> with open {self._stack}")
            return
        _, href = self._stack.pop()
        if href:
            self.text.append(f" {href}")  # the reader sees the text, then the link target

    def handle_data(self, data: str) -> None:
        for char in "<>&":
            if char in data:
                self.errors.append(f"unescaped {char!r} in {data!r}")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in TELEGRAM_ENTITIES:
            self.errors.append(f"entity &{name}; not supported")
        self.text.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}.get(name, ""))

    def handle_charref(self, name: str) -> None:
        self.errors.append(f"numeric reference &#{name}; not expected")

    def handle_comment(self, data: str) -> None:
        self.errors.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.errors.append("declaration")

    def handle_pi(self, data: str) -> None:
        self.errors.append("processing instruction")

    def unknown_decl(self, data: str) -> None:
        self.errors.append("unknown declaration")
