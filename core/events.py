"""Platform-neutral events that adapters hand to the bridge."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Author:
    """Who wrote a message or reacted.

    ``external`` marks a person from outside the bot's own workspace (a Slack Connect guest,
    a Discord user sharing no configured guild, a Telegram user not on the staff list).
    """

    id: str
    display_name: str = ""
    is_bot: bool = False
    external: bool = False
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class Origin:
    """Where on the platform a thread lives; becomes the conversation's metadata."""

    adapter: str
    channel_id: str
    workspace_id: str | None = None
    thread_id: str | None = None
    channel_name: str | None = None
    is_direct: bool = False


@dataclass(frozen=True, kw_only=True)
class ContextMessage:
    """An earlier message of the thread a conversation starts in, as people saw it.

    ``text`` is cleaned like the message itself (mentions of the bot gone, markup as words);
    ``from_bot`` marks the bot's own earlier answers.
    """

    author: str
    text: str
    from_bot: bool = False


@dataclass(frozen=True, kw_only=True)
class InboundFile:
    """A file attached to a message.

    ``text`` is the decoded content of a text-like file; ``problem`` is one sentence saying
    why a file that looked readable could not be read (too big, not UTF-8, binary posing as
    text). A file with neither (an image, a PDF) is only named to the agent.
    """

    name: str
    mime_type: str
    size: int | None = None
    text: str | None = None
    problem: str | None = None


@dataclass(frozen=True, kw_only=True)
class Inbound:
    """A user's message in a thread.

    ``thread`` is the adapter's thread key, always prefixed ``"<adapter>:"``; the bridge treats
    it as opaque and hands it back to the same adapter to answer.
    ``event_id`` is unique per platform delivery target and stable across redeliveries, so
    the bridge can drop duplicates.
    ``context`` holds the thread's earlier messages, oldest first, when the message is inside
    a thread that already had some (the adapter cannot know whether the conversation is new:
    the bridge sends them only on a conversation's first message). ``files`` are the files
    attached to the message.
    """

    thread: str
    event_id: str
    text: str
    author: Author
    origin: Origin
    message_id: str | None = None
    context: tuple[ContextMessage, ...] = ()
    files: tuple[InboundFile, ...] = ()

    @property
    def adapter(self) -> str:
        return self.origin.adapter


@dataclass(frozen=True, kw_only=True)
class Reaction:
    """A reaction added to or removed from a platform message.

    ``message_id`` is the platform's id of the reacted message, in the same form the adapter
    returned from ``post``; ``emoji`` is a Unicode emoji or the platform's name for it.
    ``feedback`` is the reason the person gave for a rating (a 👎 button's "Tell us why"),
    sent to Knowrithm with it.
    """

    thread: str
    event_id: str
    message_id: str
    emoji: str
    added: bool
    author: Author
    origin: Origin
    feedback: str | None = None

    @property
    def adapter(self) -> str:
        return self.origin.adapter


def adapter_of(thread: str) -> str:
    """The adapter name a thread key starts with."""
    name, sep, _ = thread.partition(":")
    if not sep or not name:
        raise ValueError(f"thread key {thread!r} does not start with '<adapter>:'")
    return name
