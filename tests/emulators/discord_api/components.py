"""Message components as Discord checks them: action rows of buttons.

Discord's documentation (https://discord.com/developers/docs/components/reference): a
message holds up to 5 action rows (type 1), a row up to 5 buttons (type 2). A button has a
``style`` 1-6: styles 1-4 need a ``custom_id`` (1-100 characters, unique in the message),
style 5 (link) a ``url`` and no ``custom_id``, style 6 (premium) a ``sku_id``; a ``label``
holds at most 80 characters, and a button shows a label or an emoji. Anything else is
refused with 400 and code 50035 (Invalid Form Body).
"""

from __future__ import annotations

from typing import Any

from .world import ApiError

ACTION_ROW = 1
BUTTON = 2
MAX_ROWS = 5
MAX_PER_ROW = 5
MAX_CUSTOM_ID = 100
MAX_LABEL = 80


def _invalid(path: str, message: str) -> ApiError:
    return ApiError(
        status=400,
        code=50035,
        message="Invalid Form Body",
        errors={path: {"_errors": [{"code": "COMPONENT_INVALID", "message": message}]}},
    )


def check_components(components: Any) -> None:
    """Refuse components Discord would refuse (see the module's docstring)."""
    if not isinstance(components, list) or len(components) > MAX_ROWS:
        raise _invalid("components", "Must be 5 or fewer in length.")
    custom_ids: set[str] = set()
    for index, row in enumerate(components):
        path = f"components.{index}"
        if not isinstance(row, dict) or row.get("type") != ACTION_ROW:
            raise _invalid(path, "Only action rows are allowed at the top level.")
        buttons = row.get("components")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= MAX_PER_ROW:
            raise _invalid(f"{path}.components", "Must be between 1 and 5 in length.")
        for position, button in enumerate(buttons):
            _check_button(button, path=f"{path}.components.{position}", custom_ids=custom_ids)


def _check_button(button: Any, *, path: str, custom_ids: set[str]) -> None:
    if not isinstance(button, dict) or button.get("type") != BUTTON:
        return  # select menus and the like: not modelled here
    style = button.get("style")
    if style not in (1, 2, 3, 4, 5, 6):
        raise _invalid(f"{path}.style", "Value must be one of {1, 2, 3, 4, 5, 6}.")
    custom_id = button.get("custom_id")
    if style in (1, 2, 3, 4):
        if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= MAX_CUSTOM_ID:
            raise _invalid(f"{path}.custom_id", "A custom id of 1-100 characters is required.")
        if custom_id in custom_ids:
            raise _invalid(f"{path}.custom_id", "Component custom id cannot be duplicated.")
        custom_ids.add(custom_id)
    elif style == 5 and (custom_id is not None or not button.get("url")):
        raise _invalid(path, "A link button needs a url and no custom id.")
    label = button.get("label")
    if label is not None and len(str(label)) > MAX_LABEL:
        raise _invalid(f"{path}.label", "Must be 80 or fewer in length.")
    if not label and not button.get("emoji") and style != 6:
        raise _invalid(path, "A button needs a label or an emoji.")


def buttons_of(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The buttons of a message's action rows, in order."""
    return [
        item
        for row in components
        if row.get("type") == ACTION_ROW
        for item in row.get("components", [])
        if item.get("type") == BUTTON
    ]
