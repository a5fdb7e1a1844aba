"""Reads a file attached to a message: a text-like one decoded, any other only named."""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Awaitable, Callable

from knowrithm_bots.core.config.models import FileSettings
from knowrithm_bots.core.events import InboundFile

log = logging.getLogger(__name__)

# Types that are text whatever their top-level type says; ``text/*`` always is.
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/ld+json",
        "application/xml",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/javascript",
        "application/x-javascript",
        "application/typescript",
        "application/x-sh",
        "application/x-python",
        "application/sql",
        "application/csv",
        "application/x-ndjson",
        "application/graphql",
    }
)
# Platforms often say application/octet-stream for source files: the name decides then.
_SUFFIX_WORDS = (
    ".txt .text .md .markdown .rst .csv .tsv .json .jsonl .ndjson .yaml .yml .toml .ini "
    ".cfg .conf .env.example .log .xml .html .htm .css .scss .js .mjs .cjs .ts .tsx .jsx "
    ".py .pyi .java .kt .kts .scala .c .h .cc .cpp .hpp .cs .go .rs .rb .php .pl .lua .r "
    ".swift .m .sh .bash .zsh .ps1 .bat .sql .graphql .proto .tf .dockerfile .gradle .vue "
    ".svelte .diff .patch .tex .srt .vtt"
)
_TEXT_SUFFIXES = frozenset(_SUFFIX_WORDS.split())
# Control characters besides tab, newline, carriage return and form feed mark binary data.
_CONTROL = frozenset(range(32)) - {9, 10, 12, 13}


def is_text_like(*, name: str, mime_type: str) -> bool:
    """Whether a file with this name and type is meant to be read as text."""
    kind = mime_type.split(";", 1)[0].strip().lower()
    if kind.startswith("text/") or kind in _TEXT_TYPES:
        return True
    if kind and kind not in ("application/octet-stream", "binary/octet-stream"):
        return False  # an image, a PDF, an archive: named, never read
    suffix = posixpath.splitext(name.lower())[1]
    return suffix in _TEXT_SUFFIXES


def size_text(size: int) -> str:
    """``size`` bytes the way people read it: 812 bytes, 48 KB, 1.2 MB."""
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.0f} KB"
    return f"{size / 1_000_000:.1f} MB"


def decode(*, name: str, mime_type: str, data: bytes, max_bytes: int) -> InboundFile:
    """The file holding ``data``: its text, or the one-sentence reason it has none."""
    size = len(data)
    if size > max_bytes:
        return InboundFile(
            name=name, mime_type=mime_type, size=size, problem=_too_big(max_bytes=max_bytes)
        )
    if any(byte in _CONTROL for byte in data[:4096]):
        return InboundFile(
            name=name,
            mime_type=mime_type,
            size=size,
            problem="it is binary data, not text, despite its name or type",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return InboundFile(
            name=name,
            mime_type=mime_type,
            size=size,
            problem="it is not UTF-8 text; save it as UTF-8 and send it again",
        )
    return InboundFile(name=name, mime_type=mime_type, size=size, text=text)


async def read_attached(
    *,
    name: str,
    mime_type: str,
    size: int | None,
    download: Callable[[], Awaitable[bytes]],
    settings: FileSettings,
) -> InboundFile:
    """The ``InboundFile`` of one attachment; ``download`` is called only for a text-like file
    that is not known to be too big, and its failure becomes the file's problem sentence.

    ``download`` may stop reading after ``settings.max_bytes + 1`` bytes: more than the cap
    is too big however much more it is.
    """
    mime_type = mime_type or "application/octet-stream"
    if not settings.enabled or not is_text_like(name=name, mime_type=mime_type):
        return InboundFile(name=name, mime_type=mime_type, size=size)
    if size is not None and size > settings.max_bytes:
        return InboundFile(
            name=name,
            mime_type=mime_type,
            size=size,
            problem=_too_big(max_bytes=settings.max_bytes),
        )
    try:
        data = await download()
    except Exception as exc:
        # Only the kind of failure: a platform error may quote a URL that holds a token.
        log.warning("file %r could not be downloaded (%s)", name, type(exc).__name__)
        return InboundFile(
            name=name,
            mime_type=mime_type,
            size=size,
            problem="it could not be downloaded from the chat platform",
        )
    read = decode(name=name, mime_type=mime_type, data=data, max_bytes=settings.max_bytes)
    if size is not None and read.size != size and read.problem is not None:
        return InboundFile(name=name, mime_type=mime_type, size=size, problem=read.problem)
    return read


def _too_big(*, max_bytes: int) -> str:
    return f"it is larger than the {size_text(max_bytes)} limit for files"
