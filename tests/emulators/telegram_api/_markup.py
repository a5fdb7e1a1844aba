"""Telegram's HTML parse mode: turns marked-up text into plain text plus entities, or an error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_MENTION_LINK = re.compile(r"tg://user\?id=(\d+)")

_ENTITY_FOR_TAG = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NUMERIC_ENTITY = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
_NAMED_ENTITY = re.compile(r"&([a-zA-Z]{1,10});")
_TAG_NAME = re.compile(r"[a-zA-Z0-9-]*")
_ATTRIBUTE = re.compile(r"""\s*([a-zA-Z0-9_-]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+))?""")


class MarkupError(ValueError):
    """Unparseable markup; the message is what Telegram puts after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    tag: str
    kind: str
    start: int
    attributes: dict[str, str]
    merged_into_pre: bool = False


@dataclass
class _Parser:
    source: str
    parts: list[str] = field(default_factory=list)
    position: int = 0
    stack: list[_Open] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.position += utf16_len(text)

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode("utf-8"))

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        index = 0
        source = self.source
        while index < len(source):
            char = source[index]
            if char == "<":
                index = self.tag(index)
            elif char == "&":
                index = self.entity(index)
            else:
                next_special = _next_special(source, index)
                self.emit(source[index:next_special])
                index = next_special
        if self.stack:
            raise MarkupError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        return "".join(self.parts), self.entities

    def entity(self, index: int) -> int:
        numeric = _NUMERIC_ENTITY.match(self.source, index)
        if numeric:
            value = int(numeric.group(1), 16) if numeric.group(1) else int(numeric.group(2))
            if 0 < value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF:
                self.emit(chr(value))
                return numeric.end()
        named = _NAMED_ENTITY.match(self.source, index)
        if named and named.group(1) in _NAMED_ENTITIES:
            self.emit(_NAMED_ENTITIES[named.group(1)])
            return named.end()
        # Telegram keeps an unrecognised "&" as literal text rather than failing.
        self.emit("&")
        return index + 1

    def tag(self, index: int) -> int:
        if self.source.startswith("</", index):
            return self.end_tag(index)
        offset = self.byte_offset(index)
        name_match = _TAG_NAME.match(self.source, index + 1)
        assert name_match is not None
        name = name_match.group(0).lower()
        if name not in _ENTITY_FOR_TAG:
            raise MarkupError(f'Unsupported start tag "{name}" at byte offset {offset}')
        attributes, after = self.attributes(name_match.end(), offset)
        self.open_tag(name, attributes, offset)
        return after

    def attributes(self, index: int, offset: int) -> tuple[dict[str, str], int]:
        attributes: dict[str, str] = {}
        source = self.source
        while True:
            while index < len(source) and source[index].isspace():
                index += 1
            if index >= len(source):
                raise MarkupError(f"Unclosed start tag at byte offset {offset}")
            if source[index] == ">":
                return attributes, index + 1
            if source.startswith("/>", index):
                return attributes, index + 2
            match = _ATTRIBUTE.match(source, index)
            if match is None or match.end() == index:
                raise MarkupError(f"Empty attribute name in the tag at byte offset {offset}")
            value = match.group(2) or ""
            if value[:1] in {'"', "'"}:
                value = value[1:-1]
            attributes[match.group(1).lower()] = _decode_attribute(value)
            index = match.end()

    def open_tag(self, name: str, attributes: dict[str, str], offset: int) -> None:
        kind = _ENTITY_FOR_TAG[name]
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise MarkupError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        opened = _Open(tag=name, kind=kind, start=self.position, attributes=attributes)
        parent = self.stack[-1] if self.stack else None
        if name == "code" and parent is not None and parent.tag == "pre":
            # <pre><code class="language-x"> is one pre entity carrying a language.
            language = attributes.get("class", "")
            if language.startswith("language-"):
                parent.attributes["language"] = language.removeprefix("language-")
            opened.merged_into_pre = True
        self.stack.append(opened)

    def end_tag(self, index: int) -> int:
        offset = self.byte_offset(index)
        close = self.source.find(">", index)
        if close < 0:
            raise MarkupError(f"Unclosed end tag at byte offset {offset}")
        name = self.source[index + 2 : close].strip().lower()
        if not self.stack:
            raise MarkupError(f"Unexpected end tag at byte offset {offset}")
        opened = self.stack.pop()
        if name != opened.tag:
            raise MarkupError(
                f'Unmatched end tag at byte offset {offset}, expected "</{opened.tag}>", '
                f'found "</{name}>"'
            )
        self.close_entity(opened)
        return close + 1

    def close_entity(self, opened: _Open) -> None:
        length = self.position - opened.start
        if length <= 0 or opened.merged_into_pre:
            return
        entity: dict[str, Any] = {"type": opened.kind, "offset": opened.start, "length": length}
        if opened.kind == "text_link":
            href = opened.attributes.get("href", "")
            if not href:
                return
            mentioned = _MENTION_LINK.fullmatch(href)
            if mentioned is not None:
                # https://core.telegram.org/bots/api#html-style: a tg://user?id= link is an
                # inline mention of that user, a text_mention entity carrying the User.
                entity["type"] = "text_mention"
                entity["user"] = {"id": int(mentioned.group(1)), "is_bot": False, "first_name": ""}
            else:
                entity["url"] = href
        elif opened.kind == "pre" and opened.attributes.get("language"):
            entity["language"] = opened.attributes["language"]
        elif opened.kind == "blockquote" and "expandable" in opened.attributes:
            entity["type"] = "expandable_blockquote"
        elif opened.kind == "custom_emoji":
            emoji_id = opened.attributes.get("emoji-id", "")
            if not emoji_id:
                return
            entity["custom_emoji_id"] = emoji_id
        self.entities.append(entity)


def _next_special(source: str, index: int) -> int:
    positions = [p for p in (source.find("<", index), source.find("&", index)) if p >= 0]
    return min(positions) if positions else len(source)


def _decode_attribute(value: str) -> str:
    parser = _Parser(source=value.replace("<", "&lt;"))
    text, _ = parser.run()
    return text


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of HTML-marked text; raises MarkupError like Telegram would."""
    text, entities = _Parser(source=source).run()
    return strip_text(text=text, entities=entities)


def strip_text(*, text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace as Telegram does, keeping entities aligned with the text."""
    stripped = text.strip()
    if not stripped:
        return "", []
    head = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    kept: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - head, 0)
        end = min(entity["offset"] + entity["length"] - head, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    kept.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return stripped, kept
