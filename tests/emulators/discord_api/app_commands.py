"""Application commands: their registration checked, their use sent, their response kept.

Discord's documentation, "Application Commands"
(https://discord.com/developers/docs/interactions/application-commands): a CHAT_INPUT
command (type 1) has a ``name`` of 1-32 lowercase letters, digits, ``-`` or ``_`` and a
``description`` of 1-100 characters; it takes at most 25 options, each named and described
the same way, required ones before optional ones, with at most 25 ``choices``; a bulk
overwrite holds at most 100 commands, and a name appears once per type. A use of a command
arrives as an Interaction of type 2 (APPLICATION_COMMAND) whose ``data`` holds the
command's ``id``, ``name``, ``type`` and the ``options`` given (``name``, ``type``,
``value``). "Receiving and Responding"
(https://discord.com/developers/docs/interactions/receiving-and-responding): after the
callback (type 4, or 5 to defer), ``PATCH /webhooks/{application.id}/{interaction.token}/
messages/@original`` edits the response for 15 minutes, authorised by the token alone; an
ephemeral response (flag 64) is seen by the user alone and is not in the channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .interactions import EPHEMERAL, Interaction
from .models import DM, StoredMessage, iso_now
from .rest import (
    API_PREFIX,
    BODY_JSON,
    ORIGINAL_RESPONSE,
    _checked_content,
    invalid_form,
    json_response,
)
from .world import ApiError

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

INTERACTION_APPLICATION_COMMAND = 2
CHAT_INPUT = 1
MAX_COMMANDS = 100
MAX_OPTIONS = 25
MAX_CHOICES = 25
TOKEN_LIFETIME = 15 * 60.0
_NAME = re.compile(r"^[-_a-z0-9]{1,32}$")


def check_commands(payload: list[Any]) -> None:
    """Refuse a bulk overwrite Discord would refuse (the rules in this module's docstring)."""
    if len(payload) > MAX_COMMANDS:
        raise invalid_form("_", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
    seen: set[tuple[str, int]] = set()
    for index, spec in enumerate(payload):
        if not isinstance(spec, dict):
            raise invalid_form(str(index), "DICT_TYPE_CONVERT", "Only dictionaries may be used")
        kind = int(spec.get("type", CHAT_INPUT))
        name = spec.get("name")
        if not isinstance(name, str) or (kind == CHAT_INPUT and not _NAME.match(name)):
            raise invalid_form(f"{index}.name", "APPLICATION_COMMAND_INVALID_NAME", "Invalid")
        if (name, kind) in seen:
            raise invalid_form(f"{index}.name", "APPLICATION_COMMANDS_DUPLICATE_NAME", "Taken")
        seen.add((name, kind))
        if kind == CHAT_INPUT:
            _check_described(spec, where=str(index))
            _check_options(spec.get("options") or [], where=f"{index}.options")


def _check_described(spec: dict[str, Any], *, where: str) -> None:
    description = spec.get("description")
    if not isinstance(description, str) or not 1 <= len(description) <= 100:
        raise invalid_form(
            f"{where}.description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )


def _check_options(options: list[Any], *, where: str) -> None:
    if len(options) > MAX_OPTIONS:
        raise invalid_form(where, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    optional_seen = False
    for index, option in enumerate(options):
        at = f"{where}.{index}"
        if not isinstance(option, dict) or not isinstance(option.get("type"), int):
            raise invalid_form(at, "DICT_TYPE_CONVERT", "Only dictionaries may be used")
        if not _NAME.match(str(option.get("name"))):
            raise invalid_form(f"{at}.name", "APPLICATION_COMMAND_INVALID_NAME", "Invalid")
        _check_described(option, where=at)
        if option.get("required"):
            if optional_seen:
                raise invalid_form(
                    at, "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options first"
                )
        else:
            optional_seen = True
        if len(option.get("choices") or []) > MAX_CHOICES:
            raise invalid_form(f"{at}.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer.")


@dataclass
class CommandUse(Interaction):
    """One use of an application command the emulator sent, and what answered it."""

    name: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)
    # The response message once the bot edited it in (in the channel unless ephemeral).
    original: StoredMessage | None = None
    original_edits: list[str] = field(default_factory=list)

    @property
    def original_content(self) -> str | None:
        return self.original_edits[-1] if self.original_edits else None


class AppCommandUses:
    """Sends application command interactions and serves their ``@original`` response."""

    def __init__(self, *, emulator: DiscordEmulator) -> None:
        self._emu = emulator
        self.uses: list[CommandUse] = []

    def install(self, app: web.Application) -> None:
        app.router.add_patch(API_PREFIX + ORIGINAL_RESPONSE, self.edit_original)

    async def use(
        self,
        *,
        channel_id: int,
        user_id: int,
        name: str,
        options: dict[str, Any] | None = None,
    ) -> CommandUse:
        """``user_id`` runs ``/name`` with ``options`` in a channel: INTERACTION_CREATE.
        LookupError when no command of that name is registered where the user is."""
        emu, world = self._emu, self._emu.world
        channel = world.channel(channel_id)
        guild_id = channel.guild_id
        registered = [*world.commands.get(guild_id, []), *world.commands.get(None, [])]
        command = next((c for c in registered if c["name"] == name), None)
        if command is None:
            raise LookupError(f"no command /{name} is registered for this channel")
        specs = {o["name"]: o for o in command.get("options") or []}
        given = [
            {"name": key, "type": specs[key]["type"], "value": value}
            for key, value in (options or {}).items()
        ]
        use = CommandUse(
            id=emu.ids.next(),
            token=f"interaction-token-{emu.ids.next()}",
            channel_id=channel_id,
            message_id=0,
            user_id=user_id,
            custom_id="",
            sent_at=emu.clock(),
            name=name,
            options=given,
        )
        # The callback endpoint answers every interaction the emulator sent.
        emu.interactions.sent[use.id] = use
        self.uses.append(use)
        data: dict[str, Any] = {
            "id": str(use.id),
            "application_id": str(world.application_id),
            "type": INTERACTION_APPLICATION_COMMAND,
            "data": {
                "id": command["id"],
                "name": name,
                "type": CHAT_INPUT,
                "options": given,
                **({"guild_id": str(guild_id)} if "guild_id" in command else {}),
            },
            "channel_id": str(channel_id),
            "channel": world.channel_json(channel),
            "token": use.token,
            "version": 1,
            "app_permissions": "0",
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild_id or user_id)},
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if channel.type == DM:
            data["user"] = world.user(user_id).to_json()
            data["context"] = 1
        else:
            data["guild_id"] = str(guild_id)
            data["member"] = {**world.member_json(user_id), "permissions": "0"}
            data["guild_locale"] = "en-US"
            data["context"] = 0
        await emu.gateway.dispatch(event="INTERACTION_CREATE", data=data, intent=0)
        return use

    async def edit_original(self, request: web.Request) -> web.Response:
        emu, world = self._emu, self._emu.world
        token = request.match_info["interaction_token"]
        use = next((u for u in self.uses if u.token == token), None)
        if (
            use is None
            or request.match_info["application_id"] != str(world.application_id)
            or use.response is None
            or emu.clock() - use.sent_at > TOKEN_LIFETIME
        ):
            raise ApiError(status=404, code=10015, message="Unknown Webhook")
        payload = request[BODY_JSON] or {}
        content = _checked_content(payload.get("content"))
        use.original_edits.append(content)
        channel = world.channel(use.channel_id)
        if use.original is None:
            use.original = StoredMessage(
                id=emu.ids.next(),
                channel_id=channel.id,
                guild_id=channel.guild_id,
                author_id=world.bot.id,
                content=content,
                timestamp=iso_now(),
                versions=[content],
                flags=EPHEMERAL if use.ephemeral else 0,
            )
            if not use.ephemeral:  # an ephemeral response is never in the channel
                world.messages[use.original.id] = use.original
                await emu.effects.emit_message(event="MESSAGE_CREATE", message=use.original)
        else:
            emu.effects.apply_edit(message=use.original, payload=payload, content=content)
            if not use.ephemeral:
                await emu.effects.emit_message(event="MESSAGE_UPDATE", message=use.original)
        return json_response(world.message_json(use.original))
