"""Parses the chat commands every adapter shares: /new, /end [1-5] [feedback], /help."""

from __future__ import annotations

import re
from dataclasses import dataclass

HELP_TEXT = (
    "Write a message and the agent answers in this thread. Commands: "
    "/new starts a fresh conversation; /end [1-5] [feedback] ends this one, optionally "
    "with a rating and a comment; /help shows this. React with 👍 or 👎 (or 1️⃣–5️⃣) "
    "on an answer to rate it."
)

_COMMAND = re.compile(r"^/([A-Za-z][A-Za-z0-9_]*)(?:@\S+)?(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Command:
    """A parsed command; ``args`` is the rest of the line, stripped."""

    name: str
    args: str


@dataclass(frozen=True)
class EndArgs:
    rating: int | None
    feedback: str | None


class CommandError(ValueError):
    """A command the user typed cannot be carried out; ``str()`` is the sentence to show."""


def parse_command(text: str) -> Command | None:
    """The command in ``text``, or None if the text is an ordinary message.

    ``/usr/bin`` or ``/ 5`` are ordinary messages; ``/end@my_bot 5`` is ``end`` (Telegram
    appends the bot's name in groups).
    """
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    return Command(name=match.group(1).lower(), args=(match.group(2) or "").strip())


def parse_end_args(args: str) -> EndArgs:
    """``[1-5] [feedback]``; raise CommandError with the sentence to show otherwise."""
    if not args:
        return EndArgs(rating=None, feedback=None)
    first, _, rest = args.partition(" ")
    if first.isdigit() or re.fullmatch(r"-?\d+(\.\d+)?", first):
        if not first.isdigit() or not 1 <= int(first) <= 5:
            raise CommandError(
                f"A rating must be a whole number from 1 to 5, not {first}: try /end 4 thanks!"
            )
        return EndArgs(rating=int(first), feedback=rest.strip() or None)
    return EndArgs(rating=None, feedback=args)
