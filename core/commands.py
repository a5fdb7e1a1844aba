"""Parses the chat commands every adapter shares: /new, /end [1-5] [feedback], /stop, /help."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

HELP_TEXT = (
    "Write a message and the agent answers in this thread. Commands: "
    "/new starts a fresh conversation; /end [1-5] [feedback] ends this one, optionally "
    "with a rating and a comment; /stop stops the answer being written; /help shows this. "
    "React with 👍 or 👎 (or 1️⃣–5️⃣) on an answer to rate it."
)

_COMMAND = re.compile(r"^/([A-Za-z][A-Za-z0-9_]*)(?:@\S+)?(?:\s+(.*))?$", re.DOTALL)
# What a rating attempt looks like; \d is any decimal digit (Arabic-Indic too), as int() reads.
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_DIGITS = re.compile(r"\d+")
_SHOWN_WORD = 20  # a rating echoed back in an error is cut to this many characters


@dataclass(frozen=True, kw_only=True)
class Command:
    """A parsed command; ``args`` is the rest of the line, stripped."""

    name: str
    args: str


@dataclass(frozen=True, kw_only=True)
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


def parse_end_args(args: str, *, max_feedback: int) -> EndArgs:
    """``[1-5] [feedback]``, feedback at most ``max_feedback`` characters; raise CommandError
    with the sentence to show otherwise.

    The rating ends at the first whitespace of any kind (``/end 3`` then a new line is a
    rating of 3 with the next line as feedback).
    """
    if not args:
        return EndArgs(rating=None, feedback=None)
    first, *rest = args.split(maxsplit=1)
    feedback = (rest[0].strip() if rest else "") or None
    rating: int | None = None
    if first.isdigit() or _NUMBER.fullmatch(first):
        rating = _rating(first)
    else:
        feedback = args
    if feedback is not None and len(feedback) > max_feedback:
        raise CommandError(
            f"Your feedback is {len(feedback):,} characters long and the limit is "
            f"{max_feedback:,}; please shorten it and send /end again."
        )
    return EndArgs(rating=rating, feedback=feedback)


def _rating(word: str) -> int:
    """``word`` as a rating from 1 to 5; CommandError for anything else that looks numeric.

    ``str.isdigit`` also holds for superscripts and circled digits, which ``int`` refuses;
    ``int`` also refuses digit strings past its length limit.
    """
    value: int | None = None
    if _DIGITS.fullmatch(word):
        with contextlib.suppress(ValueError):
            value = int(word)
    if value is None or not 1 <= value <= 5:
        shown = word if len(word) <= _SHOWN_WORD else word[: _SHOWN_WORD - 1] + "…"
        raise CommandError(
            f"A rating must be a whole number from 1 to 5, not {shown}: try /end 4 thanks!"
        )
    return value
