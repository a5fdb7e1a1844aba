"""What a Telegram message carries besides its words: the message it replies to, and files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from telegram import Bot, Message

from knowrithm_bots.core.attached_files import read_attached
from knowrithm_bots.core.config.models import FileSettings
from knowrithm_bots.core.events import ContextMessage, InboundFile


@dataclass(frozen=True, kw_only=True)
class FileRef:
    """A file of a message, known by its id: the bytes come through ``getFile`` later."""

    file_id: str
    name: str
    mime_type: str
    size: int | None


def replied_context(
    message: Message, *, bot_id: int, clean: Callable[[Message], str]
) -> tuple[ContextMessage, ...]:
    """The message ``message`` replies to, as context (Telegram has no history API for bots:
    a reply is the only earlier message a bot is shown).

    ``clean`` gives a message's words as the adapter reads them (its mention of the bot cut).
    """
    replied = message.reply_to_message
    # In forums every message replies to the topic's creation: that is no earlier message.
    if replied is None or replied.forum_topic_created is not None:
        return ()
    text = clean(replied)
    names = [ref.name for ref in file_refs(replied)]
    if names:
        text = " ".join([text, *(f"[file {name}]" for name in names)]).strip()
    if not text:
        return ()
    sender = replied.sender_chat
    user = replied.from_user
    if sender is not None:
        author = sender.title or "a chat"
    elif user is not None:
        author = user.full_name or (f"@{user.username}" if user.username else str(user.id))
    else:
        author = "Someone"
    return (
        ContextMessage(author=author, text=text, from_bot=user is not None and user.id == bot_id),
    )


def file_refs(message: Message) -> list[FileRef]:
    """The files of ``message``: a document as sent, a photo at its largest size, media named."""
    refs: list[FileRef] = []
    document = message.document
    if document is not None:
        refs.append(
            FileRef(
                file_id=document.file_id,
                name=document.file_name or "document",
                mime_type=document.mime_type or "application/octet-stream",
                size=document.file_size,
            )
        )
    if message.photo:
        largest = message.photo[-1]  # Bot API: "available sizes of the photo", smallest first
        refs.append(
            FileRef(
                file_id=largest.file_id,
                name="photo.jpg",
                mime_type="image/jpeg",
                size=largest.file_size,
            )
        )
    for kind, default_type in (
        ("audio", "audio/mpeg"),
        ("video", "video/mp4"),
        ("voice", "audio/ogg"),
        ("video_note", "video/mp4"),
        ("animation", "video/mp4"),
    ):
        media = getattr(message, kind, None)
        if media is not None:
            refs.append(
                FileRef(
                    file_id=media.file_id,
                    name=getattr(media, "file_name", None) or kind.replace("_", " "),
                    mime_type=getattr(media, "mime_type", None) or default_type,
                    size=media.file_size,
                )
            )
    return refs


async def read_files(
    *, bot: Bot, refs: list[FileRef], settings: FileSettings
) -> tuple[InboundFile, ...]:
    """The files of ``refs``, text-like ones downloaded through python-telegram-bot.

    The file URL holds the bot token (``/file/bot<token>/<path>``): it stays inside the
    library's request, never in an ``InboundFile``, and failures are logged by kind only.
    """
    files = []
    for ref in refs:

        async def download(ref: FileRef = ref) -> bytes:
            found = await bot.get_file(ref.file_id)
            return bytes(await found.download_as_bytearray())

        files.append(
            await read_attached(
                name=ref.name,
                mime_type=ref.mime_type,
                size=ref.size,
                download=download,
                settings=settings,
            )
        )
    return tuple(files)
