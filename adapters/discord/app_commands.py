"""Discord application commands /new, /end, /stop, /help: registered at start, run by the bridge.

Discord (https://discord.com/developers/docs/interactions/application-commands): the bot
registers its commands with a bulk overwrite, ``PUT /applications/{id}/commands`` (global)
or ``.../guilds/{guild id}/commands`` (one guild, shown at once); that needs the bot to be
installed with the ``applications.commands`` scope. A use arrives over the gateway as an
INTERACTION_CREATE of type 2 (APPLICATION_COMMAND) with ``data.name`` and ``data.options``
(https://discord.com/developers/docs/interactions/receiving-and-responding). It must be
answered within 3 seconds: here with type 4 (a message; flag 64 shows it to the user alone)
for help, refusals and ``/stop`` (the bridge stops an answer at once), or type 5 (deferred:
"thinking…") for ``/new`` and ``/end``, which the bridge runs in turn; its reply then becomes
that response, by ``PATCH /webhooks/{application id}/
{token}/messages/@original`` (the token stays valid for 15 minutes).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import discord

from knowrithm_bots.adapters.discord.config import DiscordConfig
from knowrithm_bots.adapters.discord.errors import translated
from knowrithm_bots.adapters.discord.inbound import Identity
from knowrithm_bots.adapters.discord.outbound import render
from knowrithm_bots.adapters.discord.places import interaction_place
from knowrithm_bots.adapters.discord.threads import MessageRef
from knowrithm_bots.core.adapter import EventSink, Posted
from knowrithm_bots.core.bounded import Lru
from knowrithm_bots.core.commands import Command
from knowrithm_bots.core.errors import PlatformError
from knowrithm_bots.core.events import Author, Inbound
from knowrithm_bots.core.user_messages import NOTHING_TO_STOP, STOPPED

log = logging.getLogger(__name__)

CHAT_INPUT = 1
STRING, INTEGER = 3, 4
GUILD, BOT_DM = 0, 1  # interaction contexts the commands are offered in
FEEDBACK_LENGTH = 1000
PENDING = 1000  # commands waiting for the bridge's reply, remembered at most
NOT_ALLOWED = "Sorry, this bot is not available here."

HELP = (
    "Write a message (or mention the bot) and the agent answers in the thread. "
    "`/new` starts a fresh conversation; `/end rating: feedback:` ends this one, optionally "
    "with a rating from 1 to 5 and a comment; `/stop` stops the answer being written; "
    "`/help` shows this. The same commands work typed as text. Rate an answer with its "
    "👍/👎 buttons or a reaction."
)


def command_specs(*, dm: bool) -> list[dict[str, Any]]:
    """The commands as Discord's bulk overwrite takes them; offered in DMs when ``dm``."""
    contexts = [GUILD, BOT_DM] if dm else [GUILD]

    def spec(name: str, description: str, options: Sequence[Mapping[str, Any]] = ()) -> Any:
        return {
            "type": CHAT_INPUT,
            "name": name,
            "description": description,
            "options": list(options),
            "contexts": contexts,
            "integration_types": [0],
        }

    rating = {
        "type": INTEGER,
        "name": "rating",
        "description": "How good the conversation was, from 1 to 5",
        "required": False,
        "choices": [{"name": str(n), "value": n} for n in range(1, 6)],
    }
    feedback = {
        "type": STRING,
        "name": "feedback",
        "description": "A comment for the agent's owners",
        "required": False,
        "max_length": FEEDBACK_LENGTH,
    }
    return [
        spec("new", "Start a fresh conversation with the agent"),
        spec("end", "End this conversation, optionally with a rating", [rating, feedback]),
        spec("stop", "Stop the answer being written"),
        spec("help", "What the bot does and its commands"),
    ]


async def register_commands(
    *, client: discord.Client, application_id: int, config: DiscordConfig
) -> None:
    """Overwrite the bot's commands, in each of ``command_guilds`` or globally.

    A refusal (most often a bot invited without the ``applications.commands`` scope) is
    logged and the bot runs on: text commands still work.
    """
    specs = command_specs(dm=config.direct_messages)
    guilds = config.command_guilds
    try:
        with translated(action="registering the application commands"):
            if guilds is None:
                await client.http.bulk_upsert_global_commands(application_id, specs)
            for guild_id in guilds or ():
                await client.http.bulk_upsert_guild_commands(application_id, guild_id, specs)
    except PlatformError as exc:
        log.warning(
            "%s; /new, /end, /stop and /help work as text commands only (invite the bot with "
            "the applications.commands scope)",
            exc,
        )
        return
    where = "globally" if guilds is None else f"in {len(guilds)} guild(s)"
    log.info("registered the application commands %s", where)


def command_of(data: Mapping[str, Any]) -> Command | None:
    """The text command an APPLICATION_COMMAND interaction stands for, or None if not ours."""
    name = data.get("name")
    if name not in ("new", "end", "stop", "help"):
        return None
    options = {
        str(o.get("name")): o.get("value")
        for o in data.get("options") or []
        if isinstance(o, Mapping)
    }
    if name != "end":
        return Command(name=str(name), args="")
    rating, feedback = options.get("rating"), options.get("feedback")
    words = [str(rating) if isinstance(rating, int) else ""]
    words.append(feedback.strip() if isinstance(feedback, str) else "")
    return Command(name="end", args=" ".join(w for w in words if w))


class AppCommands:
    """Answers application command interactions; the bridge's reply to each becomes the
    interaction's response instead of a post."""

    def __init__(self, *, identity: Identity, config: DiscordConfig, sink: EventSink) -> None:
        self._me = identity
        self._config = config
        self._sink = sink
        # Deferred uses waiting for the bridge's reply, by the stand-in message id.
        self._pending: Lru[str, discord.Interaction] = Lru(size=PENDING)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Run one command use; interactions of other kinds or commands are not ours."""
        if interaction.type is not discord.InteractionType.application_command:
            return
        command = command_of(interaction.data or {})
        if command is None:
            return
        if command.name == "help":
            await self._answer(interaction, HELP)
            return
        place = interaction_place(
            interaction, config=self._config, application_id=self._me.application_id
        )
        if place is None or interaction.user.bot:
            await self._answer(interaction, NOT_ALLOWED)
            return
        thread, origin = place
        user = interaction.user
        author = Author(id=str(user.id), display_name=user.display_name)
        if command.name == "stop":
            stopped = await self._sink.on_stop(thread=thread, by=author)
            await self._answer(interaction, STOPPED if stopped else NOTHING_TO_STOP)
            return
        try:
            with translated(action="answering an application command"):
                # Within Discord's 3 seconds; the bridge's reply comes in turn.
                await interaction.response.defer(thinking=True)
        except PlatformError as exc:
            log.warning("%s", exc)
            return
        stands_for = f"interaction:{interaction.id}"
        self._pending.put(stands_for, value=interaction)
        await self._sink.on_message(
            Inbound(
                thread=thread,
                # Unique per use, and the same when the gateway replays it after a RESUME.
                event_id=stands_for,
                text=f"/{command.name} {command.args}".rstrip(),
                author=author,
                origin=origin,
                message_id=stands_for,
            )
        )

    async def _answer(self, interaction: discord.Interaction, text: str) -> None:
        try:
            with translated(action="answering an application command"):
                await interaction.response.send_message(text, ephemeral=True)
        except PlatformError as exc:
            log.warning("%s", exc)

    async def reply(self, *, reply_to: str | None, text: str) -> Posted | None:
        """Show the bridge's reply to a command as the command's response; None when
        ``reply_to`` is no command waiting (the caller posts as usual)."""
        interaction = self._pending.pop(reply_to) if reply_to is not None else None
        if interaction is None:
            return None
        try:
            with translated(action="answering an application command"):
                message = await interaction.edit_original_response(content=render(text))
        except PlatformError as exc:
            # Its token expired (15 minutes) or Discord refused: posted as usual instead.
            log.warning("%s", exc)
            return None
        return Posted(id=MessageRef(message_id=message.id).encode())
