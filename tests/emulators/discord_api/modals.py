"""Modals: the MODAL interaction response and the MODAL_SUBMIT interaction a person sends.

Discord's documentation, "Receiving and Responding", interaction response type 9 (MODAL,
https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-modal):
``data`` holds a ``custom_id`` (1-100 characters), a ``title`` (at most 45) and 1-5
``components``: action rows (type 1) of one text input each, or labels (type 18) holding
one. A text input (https://discord.com/developers/docs/components/reference#text-input) is
type 4 with a ``custom_id``, a ``style`` 1 (short) or 2 (paragraph), and ``min_length`` /
``max_length`` within 0-4000; an action row's input has a ``label`` of at most 45
characters. A modal is refused with 400 / 50035 otherwise.

When the person submits, the bot gets an INTERACTION_CREATE of type 5 (MODAL_SUBMIT)
whose ``data`` holds the modal's ``custom_id`` and its components with each input's
``value`` (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-modal-submit-data-structure);
a modal opened from a message component also carries that ``message``. It is answered
like any interaction, once, within 3 seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .interactions import Interaction
from .models import DM
from .world import ApiError

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

MODAL = 9
MODAL_SUBMIT = 5
ACTION_ROW, TEXT_INPUT, LABEL = 1, 4, 18
MAX_TITLE = 45
MAX_INPUT_LABEL = 45
MAX_INPUT_LENGTH = 4000


def _invalid(path: str, message: str) -> ApiError:
    return ApiError(
        status=400,
        code=50035,
        message="Invalid Form Body",
        errors={path: {"_errors": [{"code": "BASE_TYPE_INVALID", "message": message}]}},
    )


def check_modal(data: Any) -> None:
    """Refuse a MODAL response Discord would refuse (see the module's docstring)."""
    if not isinstance(data, dict):
        raise _invalid("data", "This field is required")
    custom_id = data.get("custom_id")
    if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
        raise _invalid("data.custom_id", "Must be between 1 and 100 in length.")
    title = data.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= MAX_TITLE:
        raise _invalid("data.title", f"Must be between 1 and {MAX_TITLE} in length.")
    components = data.get("components")
    if not isinstance(components, list) or not 1 <= len(components) <= 5:
        raise _invalid("data.components", "Must be between 1 and 5 in length.")
    for index, component in enumerate(components):
        path = f"data.components.{index}"
        if not isinstance(component, dict):
            raise _invalid(path, "Must be an object.")
        if component.get("type") == ACTION_ROW:
            inner = component.get("components")
            if not isinstance(inner, list) or len(inner) != 1:
                raise _invalid(f"{path}.components", "Must be 1 in length.")
            _check_input(inner[0], path=f"{path}.components.0", labelled=True)
        elif component.get("type") == LABEL:
            _check_input(component.get("component"), path=f"{path}.component", labelled=False)
        else:
            raise _invalid(f"{path}.type", "Value must be one of {1, 18}.")


def _check_input(item: Any, *, path: str, labelled: bool) -> None:
    if not isinstance(item, dict) or item.get("type") != TEXT_INPUT:
        raise _invalid(f"{path}.type", "Value must be 4.")
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
        raise _invalid(f"{path}.custom_id", "Must be between 1 and 100 in length.")
    if item.get("style") not in (1, 2):
        raise _invalid(f"{path}.style", "Value must be one of {1, 2}.")
    if labelled:
        label = item.get("label")
        if not isinstance(label, str) or not 1 <= len(label) <= MAX_INPUT_LABEL:
            raise _invalid(f"{path}.label", f"Must be between 1 and {MAX_INPUT_LABEL} in length.")
    for bound in ("min_length", "max_length"):
        value = item.get(bound)
        if value is not None and not (isinstance(value, int) and 0 <= value <= MAX_INPUT_LENGTH):
            raise _invalid(f"{path}.{bound}", f"Must be between 0 and {MAX_INPUT_LENGTH}.")


def _inputs(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for component in components:
        if component.get("type") == ACTION_ROW:
            found.extend(component.get("components") or [])
        elif component.get("type") == LABEL:
            found.append(component["component"])
    return found


async def submit(
    emu: DiscordEmulator, *, opened_by: Interaction, values: dict[str, str]
) -> Interaction:
    """The clicker fills in the modal ``opened_by`` was answered with and submits it:
    INTERACTION_CREATE of type 5. LookupError when that interaction opened no modal."""
    response = opened_by.response or {}
    if response.get("type") != MODAL:
        raise LookupError(f"interaction {opened_by.id} opened no modal")
    modal = response["data"]
    rows = []
    for item in _inputs(modal["components"]):
        value = values.get(item["custom_id"], "")
        maximum = item.get("max_length", MAX_INPUT_LENGTH)
        if item.get("required", True) and not value:
            raise ValueError(f"the modal requires {item['custom_id']!r}: Discord would not send it")
        if len(value) > maximum:
            raise ValueError(f"{item['custom_id']!r} holds at most {maximum} characters")
        rows.append(
            {
                "type": ACTION_ROW,
                "components": [
                    {"type": TEXT_INPUT, "custom_id": item["custom_id"], "value": value}
                ],
            }
        )
    world = emu.world
    channel = world.channel(opened_by.channel_id)
    message = world.message(channel_id=opened_by.channel_id, message_id=opened_by.message_id)
    interaction = Interaction(
        id=emu.ids.next(),
        token=f"interaction-token-{emu.ids.next()}",
        channel_id=opened_by.channel_id,
        message_id=opened_by.message_id,
        user_id=opened_by.user_id,
        custom_id=str(modal["custom_id"]),
        sent_at=emu.clock(),
    )
    emu.interactions.sent[interaction.id] = interaction
    user_id = opened_by.user_id
    data: dict[str, Any] = {
        "id": str(interaction.id),
        "application_id": str(world.application_id),
        "type": MODAL_SUBMIT,
        "data": {"custom_id": interaction.custom_id, "components": rows},
        "channel_id": str(opened_by.channel_id),
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
