"""The Slack slash command (``/knowrithm new|end|stop|help``): read, checked, handed on.

Slack (https://api.slack.com/interactivity/slash-commands) sends a slash command as a form
payload (``command``, ``text``, ``user_id``, ``channel_id``, ``team_id``, ``response_url``,
``trigger_id``): over Socket Mode as an envelope of type ``slash_commands``, over HTTP as a
signed form POST to the command's Request URL. The app must acknowledge within 3 seconds; a
text in the acknowledgement is shown to the user alone ("ephemeral", the default
``response_type``), and ``response_url`` takes up to 5 more answers within 30 minutes.

Slash commands of apps cannot be used in threads, so the payload names no thread: a command
acts on the conversation the user last had with the bot in that channel or DM (a thread, as
this process saw it), or else on the conversation of the channel or DM itself.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from knowrithm_bots.adapters.slack.threads import ThreadKey
from knowrithm_bots.core.bounded import Lru
from knowrithm_bots.core.commands import Command, CommandError, parse_end_args
from knowrithm_bots.core.user_messages import NOTHING_TO_END, NOTHING_TO_STOP, STOPPED

log = logging.getLogger(__name__)

SUBCOMMANDS = ("new", "end", "stop", "help")
# The bridge's replies to these commands concern the whole channel, but for these sentences.
PUBLIC_COMMANDS = frozenset({"new", "end"})
PRIVATE_REPLIES = frozenset({NOTHING_TO_END})
RESPONSE_TIMEOUT = 10
# Only the rating is checked here; the bridge holds feedback to its own length limit.
_ANY_LENGTH = 1 << 30


def help_text(name: str) -> str:
    """What ``<name> help`` answers, naming the slash forms."""
    return (
        f"`{name} new` starts a fresh conversation; `{name} end [1-5] [feedback]` ends it, "
        f"optionally with a rating and a comment; `{name} stop` stops the answer being "
        f"written; `{name} help` shows this. A command acts on your latest conversation with "
        "the agent in this channel or DM (Slack does not allow app commands in threads). "
        "In a thread, mention the bot instead: `@bot /new`, `@bot /end 4 thanks`, `@bot /stop`. "
        "Rate an answer with its 👍/👎 buttons or a reaction."
    )


@dataclass(frozen=True)
class Invocation:
    """One use of the slash command, as Slack's payload tells it."""

    command: Command
    user: str
    team: str
    channel: str
    channel_name: str | None
    response_url: str | None
    # Unique per use, the same when Slack delivers the payload again.
    event_id: str

    @property
    def is_direct(self) -> bool:
        return self.channel.startswith("D")

    @property
    def message_id(self) -> str:
        """What stands for the command as ``Inbound.message_id`` (a message it never was)."""
        return f"{self.team}:{self.channel}:{self.event_id}"


def read_invocation(body: Mapping[str, Any], *, team: str) -> Invocation | CommandError | None:
    """The command in a slash command payload; a CommandError (the sentence to show) for a
    command the user got wrong; None when the payload lacks who or where."""
    user, channel = body.get("user_id"), body.get("channel_id")
    if not (isinstance(user, str) and user and isinstance(channel, str) and channel):
        return None
    text = body.get("text")
    command = parse_text(text if isinstance(text, str) else "", name=str(body.get("command")))
    if isinstance(command, CommandError):
        return command
    url, trigger = body.get("response_url"), body.get("trigger_id")
    name = body.get("channel_name")
    return Invocation(
        command=command,
        user=user,
        team=str(body.get("team_id") or team),
        channel=channel,
        channel_name=name if isinstance(name, str) and name else None,
        response_url=url if isinstance(url, str) and url.startswith("http") else None,
        # Slack always sends a trigger_id; without one, a redelivery cannot be told apart.
        event_id=f"slash.{trigger if isinstance(trigger, str) and trigger else uuid.uuid4().hex}",
    )


def parse_text(text: str, *, name: str) -> Command | CommandError:
    """``end 4 thanks`` (a leading ``/`` allowed) as the command the text path gives; no
    text is ``help``. The arguments of ``end`` are checked here, so that a mistake is told
    to the user alone."""
    word, _, args = text.strip().partition(" ")
    word = word.lstrip("/").lower() or "help"
    args = args.strip()
    if word not in SUBCOMMANDS:
        return CommandError(
            f"I don't know `{name} {word}`. Try `{name} new`, `{name} end [1-5] [feedback]`, "
            f"`{name} stop` or `{name} help`."
        )
    if word == "end":
        try:
            parse_end_args(args, max_feedback=_ANY_LENGTH)
        except CommandError as exc:
            return CommandError(str(exc).replace("/end", f"{name} end"))
    return Command(name=word, args=args)


def stop_result(*, stopped: bool) -> str:
    """What ``stop`` tells its user: whether an answer was stopped."""
    return STOPPED if stopped else NOTHING_TO_STOP


def as_text(command: Command) -> str:
    """The text command the bridge runs for ``command``."""
    return f"/{command.name} {command.args}".rstrip()


class SlashTargets:
    """Where each person last talked with the bot, per channel, so that a slash command
    (which names no thread) acts on that conversation. In memory: after a restart, or on
    another instance, commands act on the channel's own conversation until the person
    writes again."""

    def __init__(self, *, size: int) -> None:
        self._latest: Lru[str, ThreadKey] = Lru(size=size)
        # Commands whose replies may be told to the user alone, by their stand-in message id.
        self._asked: Lru[str, Invocation] = Lru(size=size)

    def saw(self, *, thread: ThreadKey, user: str) -> None:
        self._latest.put(f"{thread.team}:{thread.channel}:{user}", value=thread)

    def target(
        self, invocation: Invocation, *, bot: str, whole_dm: bool, per_user: bool = False
    ) -> ThreadKey:
        """The conversation ``invocation`` acts on; ``whole_dm`` when a DM is one conversation,
        ``per_user`` when each person in a channel has their own (the caller's, then)."""
        channel_level = ThreadKey(
            team=invocation.team,
            bot=bot,
            channel=invocation.channel,
            thread_ts=None,
            user=invocation.user if per_user and not invocation.is_direct else None,
        )
        if invocation.is_direct and whole_dm:
            return channel_level
        latest = self._latest.get(f"{invocation.team}:{invocation.channel}:{invocation.user}")
        return latest if latest is not None and latest.bot == bot else channel_level

    def asked(self, invocation: Invocation) -> None:
        self._asked.put(invocation.message_id, value=invocation)

    def private(self, *, reply_to: str | None, text: str) -> Invocation | None:
        """The command a reply answers when the reply is for its user alone, else None."""
        if reply_to is None:
            return None
        invocation = self._asked.get(reply_to)
        if invocation is None:
            return None
        public = invocation.command.name in PUBLIC_COMMANDS and text not in PRIVATE_REPLIES
        return None if public else invocation


async def tell_user(
    *, invocation: Invocation, text: str, session: aiohttp.ClientSession | None
) -> bool:
    """Show ``text`` to the user of ``invocation`` alone, through its ``response_url``;
    False when that could not be done (the URL is missing, used up or expired)."""
    if invocation.response_url is None:
        return False
    client = AsyncWebhookClient(invocation.response_url, session=session, timeout=RESPONSE_TIMEOUT)
    try:
        response = await client.send(text=text, response_type="ephemeral")
    except Exception as exc:  # the URL is Slack's secret: never in the log
        log.warning("could not answer a slash command: %s", type(exc).__name__)
        return False
    if response.status_code != 200:
        log.warning("Slack refused a slash command answer (HTTP %s)", response.status_code)
        return False
    return True
