"""Builds the text Knowrithm receives for a message: earlier thread messages, the words, files."""

from __future__ import annotations

from collections.abc import Sequence

from knowrithm_bots.core.attached_files import size_text
from knowrithm_bots.core.config.models import ContextSettings
from knowrithm_bots.core.events import ContextMessage, Inbound, InboundFile
from knowrithm_bots.core.store import JSON

# Delimiters the agent can tell apart from anything people write in a chat.
HISTORY_START = "[Earlier messages in this thread, oldest first]"
HISTORY_END = "[End of earlier messages. The new message follows.]"
BOT_LABEL = "Assistant (you)"
ELLIPSIS = "…"


def compose(*, event: Inbound, with_context: bool, settings: ContextSettings) -> str:
    """The question for Knowrithm: the thread's earlier messages when ``with_context`` (the
    first send of a new conversation) and the settings allow, then the words, then the files.
    """
    parts: list[str] = []
    if with_context and settings.enabled and event.context:
        transcript = history(messages=event.context, settings=settings)
        if transcript:
            parts.append(transcript)
    text = event.text.strip()
    if text:
        parts.append(text)
    parts.extend(_file_block(file) for file in event.files)
    return "\n\n".join(parts)


def history(*, messages: Sequence[ContextMessage], settings: ContextSettings) -> str:
    """The newest of ``messages`` within the caps as a delimited transcript ("" if none fit)."""
    kept: list[str] = []
    room = settings.history_chars
    for message in reversed(messages[-settings.history_messages :]):
        words = " ".join(message.text.split())
        if not words:
            continue
        line = f"{BOT_LABEL if message.from_bot else _name(message.author)}: {words}"
        if len(line) > room:
            if not kept:
                # The newest message alone is over the cap: its end is what led up to now.
                kept.append(ELLIPSIS + line[len(line) - room + len(ELLIPSIS) :])
            break
        kept.append(line)
        room -= len(line) + 1
    if not kept:
        return ""
    left_out = sum(1 for m in messages if " ".join(m.text.split())) - len(kept)
    lines = [HISTORY_START]
    if left_out > 0:
        lines.append(f"({left_out} older messages left out)")
    lines.extend(reversed(kept))
    lines.append(HISTORY_END)
    return "\n".join(lines)


def file_problems(*, event: Inbound) -> str | None:
    """One sentence telling the sender which files could not be read, or None."""
    troubled = [file for file in event.files if file.problem is not None]
    if not troubled:
        return None
    reasons = "; ".join(f"{file.name}: {file.problem}" for file in troubled)
    rest = " The rest of your message was passed on." if event.text.strip() else ""
    noun = "this file" if len(troubled) == 1 else "these files"
    return f"I could not read {noun} ({reasons}).{rest}"


def attachments(*, event: Inbound) -> list[dict[str, JSON]]:
    """The files as items of Knowrithm's ``attachments`` field (``files.send_as_attachments``).

    The field's item shape is not documented: name, type, size and, for text, the content.
    No platform URL is ever included (private ones carry or need the bot's credentials).
    """
    items: list[dict[str, JSON]] = []
    for file in event.files:
        item: dict[str, JSON] = {"name": file.name, "mime_type": file.mime_type}
        if file.size is not None:
            item["size"] = file.size
        if file.text is not None:
            item["content"] = file.text
        items.append(item)
    return items


def _name(author: str) -> str:
    # A name is one line and cannot pose as a delimiter or as the bot's label.
    name = " ".join(author.split()).strip("[]") or "Someone"
    return "Someone" if name == BOT_LABEL else name


def _file_block(file: InboundFile) -> str:
    if file.text is not None:
        return f"[File {file.name}]\n{file.text.rstrip()}\n[End of file {file.name}]"
    size = "" if file.size is None else f", {size_text(file.size)}"
    described = f"[File {file.name} ({file.mime_type}{size})"
    if file.problem is not None:
        return f"{described}: not read, because {file.problem}]"
    return f"{described}: its content cannot be read as text]"
