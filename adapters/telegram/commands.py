"""The bot's command menu, and reading a leading ``/command@botname`` as the bridge wants it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import BotCommand

MENU = (
    BotCommand("new", "Start a new conversation"),
    BotCommand("end", "End this conversation: /end [1-5] [feedback]"),
    BotCommand("stop", "Stop the answer being written"),
    BotCommand("help", "How to use this bot"),
)
# Commands this bot answers when written without @botname in a group.
OWN_COMMANDS = frozenset({"new", "end", "stop", "help", "start"})

_LEADING = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?=\s|$)")


@dataclass(frozen=True)
class CommandText:
    """A message that starts with a command.

    ``text`` has the ``@botname`` suffix removed; ``for_us`` says whether the command names
    this bot (True), another bot (False) or no bot (None).
    """

    name: str
    text: str
    for_us: bool | None


def read_command(text: str, *, username: str) -> CommandText | None:
    """The command at the start of ``text``, or None for ordinary text."""
    match = _LEADING.match(text)
    if match is None:
        return None
    name, target = match.group(1).lower(), match.group(2)
    for_us = None if target is None else target.lower() == username.lower()
    return CommandText(name=name, text=f"/{match.group(1)}{text[match.end() :]}", for_us=for_us)
