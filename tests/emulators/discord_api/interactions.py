"""Message component clicks: INTERACTION_CREATE over the gateway and the callback endpoint.

Discord's documentation, "Receiving and Responding"
(https://discord.com/developers/docs/interactions/receiving-and-responding): a click on a
button of a message sends an Interaction of type 3 (MESSAGE_COMPONENT) whose ``data``
holds the button's ``custom_id`` and ``component_type`` 2, with the message, the channel,
and ``member`` (in a guild) or ``user`` (in a DM). Every interaction reaches a gateway bot
whatever its intents. The bot answers once, within 3 seconds, with
``POST /interactions/{id}/{token}/callback`` (no bot token: the interaction token is the
credential); a second answer is refused with code 40060, a late or unknown one with 10062.
Type 4 (CHANNEL_MESSAGE_WITH_SOURCE) with ``flags`` 64 (EPHEMERAL) shows a message to the
clicker only. ``with_response=true`` makes the endpoint return the InteractionCallbackResponse
instead of 204.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .components import BUTTON, buttons_of
from .models import DM
from .rest import API_PREFIX, BODY_JSON, INTERACTION_CALLBACK, json_response
from .world import ApiError

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

INTERACTION_MESSAGE_COMPONENT = 3
EPHEMERAL = 1 << 6
ANSWER_WITHIN = 3.0


@dataclass
class Interaction:
    """One click the emulator sent, and the answer the bot gave it (if any)."""

    id: int
    token: str
    channel_id: int
    message_id: int
    user_id: int
    custom_id: str
    sent_at: float
    response: dict[str, Any] | None = None
    answered_at: float | None = None
    refused: list[int] = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        data = (self.response or {}).get("data") or {}
        return bool(int(data.get("flags") or 0) & EPHEMERAL)

    @property
    def content(self) -> str | None:
        data = (self.response or {}).get("data") or {}
        content = data.get("content")
        return content if isinstance(content, str) else None


class Interactions:
    """Sends component interactions and takes their callbacks, for one emulator."""

    def __init__(self, *, emulator: DiscordEmulator) -> None:
        self._emu = emulator
        self.sent: dict[int, Interaction] = {}

    def install(self, app: web.Application) -> None:
        app.router.add_post(API_PREFIX + INTERACTION_CALLBACK, self.callback)

    async def click(
        self,
        *,
        channel_id: int,
        message_id: int,
        user_id: int,
        custom_id: str | None = None,
        emoji: str | None = None,
    ) -> Interaction:
        """``user_id`` clicks the button with this ``custom_id`` (or emoji) on a message:
        INTERACTION_CREATE. LookupError when the message shows no such button."""
        emu, world = self._emu, self._emu.world
        message = world.message(channel_id=channel_id, message_id=message_id)
        channel = world.channel(channel_id)
        button = next(
            (
                b
                for b in buttons_of(message.components)
                if "custom_id" in b
                and (custom_id is None or b["custom_id"] == custom_id)
                and (emoji is None or (b.get("emoji") or {}).get("name") == emoji)
            ),
            None,
        )
        if button is None or button.get("disabled"):
            raise LookupError(f"message {message_id} shows no such button to click")
        interaction = Interaction(
            id=emu.ids.next(),
            token=f"interaction-token-{emu.ids.next()}",
            channel_id=channel_id,
            message_id=message_id,
            user_id=user_id,
            custom_id=str(button["custom_id"]),
            sent_at=emu.clock(),
        )
        self.sent[interaction.id] = interaction
        data: dict[str, Any] = {
            "id": str(interaction.id),
            "application_id": str(world.application_id),
            "type": INTERACTION_MESSAGE_COMPONENT,
            "data": {"custom_id": interaction.custom_id, "component_type": BUTTON},
            "channel_id": str(channel_id),
            "channel": world.channel_json(channel),
            "token": interaction.token,
            "version": 1,
            "message": world.message_json(message),
            "app_permissions": "0",
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(channel.guild_id or user_id)},
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if channel.type == DM:
            data["user"] = world.user(user_id).to_json()
            data["context"] = 1
        else:
            data["guild_id"] = str(channel.guild_id)
            data["member"] = {**world.member_json(user_id), "permissions": "0"}
            data["guild_locale"] = "en-US"
            data["context"] = 0
        await emu.gateway.dispatch(event="INTERACTION_CREATE", data=data, intent=0)
        return interaction

    async def callback(self, request: web.Request) -> web.Response:
        interaction = self.sent.get(int(request.match_info["interaction_id"]))
        if interaction is None or request.match_info["interaction_token"] != interaction.token:
            raise ApiError(status=404, code=10062, message="Unknown interaction")
        if interaction.response is not None:
            interaction.refused.append(40060)
            raise ApiError(
                status=400, code=40060, message="Interaction has already been acknowledged."
            )
        if self._emu.clock() - interaction.sent_at > ANSWER_WITHIN:
            interaction.refused.append(10062)
            raise ApiError(status=404, code=10062, message="Unknown interaction")
        body = request[BODY_JSON]
        payload = body if isinstance(body, dict) else {}
        if payload.get("type") not in (4, 5, 6, 7, 9):
            raise ApiError(status=400, code=50035, message="Invalid Form Body")
        if payload.get("type") == 9:
            from .modals import check_modal  # modals builds on this module

            check_modal(payload.get("data"))
        interaction.response = payload
        interaction.answered_at = self._emu.clock()
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        # json_response: discord.py parses only a bare application/json content type.
        return json_response(
            {
                "interaction": {
                    "id": str(interaction.id),
                    "type": INTERACTION_MESSAGE_COMPONENT,
                    "response_message_id": str(self._emu.ids.next()),
                    "response_message_loading": payload["type"] == 5,
                    "response_message_ephemeral": interaction.ephemeral,
                },
                "resource": {"type": payload["type"]},
            }
        )
