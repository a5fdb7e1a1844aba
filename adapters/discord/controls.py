"""The Stop button on a streaming answer, and the 👎 "Tell us why" modal.

Discord: the Stop button is a message component
(https://discord.com/developers/docs/components/reference#button) sent in the
``components`` of the answer's own create and edit calls; an edit with ``components: []``
takes it away, so the final edit removes it at no extra cost. The reason is asked with an
interaction response of type 9 (MODAL,
https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-modal)
holding one paragraph text input; its submission comes back as an interaction of type 5
(MODAL_SUBMIT) with the modal's ``custom_id`` and the input's ``value``.
"""

from __future__ import annotations

from collections.abc import Mapping

import discord

STOP = "knowrithm:stop"
# The modal's custom_id names the rated message (1-100 characters, back verbatim).
WHY_PREFIX = "knowrithm:why:"
REASON = "reason"
THANKS_FOR_REASON = "Thanks for telling us why."
# Knowrithm takes feedback as free text; a modal input holds at most 4000 characters.
MAX_REASON = 1000


def stop_view() -> discord.ui.View:
    """The Stop button, as a view discord.py only renders (stopped: see ``feedback_view``)."""
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Button(label="Stop", emoji="⏹", custom_id=STOP, style=discord.ButtonStyle.danger)
    )
    view.stop()
    return view


class _ReasonModal(discord.ui.Modal, title="Tell us why"):
    reason: discord.ui.TextInput[_ReasonModal] = discord.ui.TextInput(
        label="What was wrong with the answer?",
        style=discord.TextStyle.paragraph,
        custom_id=REASON,
        max_length=MAX_REASON,
    )


def reason_modal(*, message_id: int) -> discord.ui.Modal:
    """The "Tell us why" modal for a 👎 on message ``message_id``.

    Stopped before use, like the views: discord.py then keeps no state for it, and the
    submission reaches ``on_interaction`` like every other interaction.
    """
    modal = _ReasonModal(custom_id=f"{WHY_PREFIX}{message_id}", timeout=None)
    modal.stop()
    return modal


def submitted_reason(data: Mapping[str, object]) -> tuple[int, str] | None:
    """The rated message and the reason a MODAL_SUBMIT of ours carries; None otherwise."""
    custom_id = str(data.get("custom_id", ""))
    if not custom_id.startswith(WHY_PREFIX):
        return None
    try:
        message_id = int(custom_id.removeprefix(WHY_PREFIX))
    except ValueError:
        return None
    reason = _value(data.get("components"))
    if reason is None or not reason.strip():
        return None
    return message_id, reason.strip()[:MAX_REASON]


def _value(components: object) -> str | None:
    """The value of the text input named ``REASON``, in action rows or labels."""
    if not isinstance(components, list):
        return None
    for component in components:
        if not isinstance(component, dict):
            continue
        if component.get("custom_id") == REASON and isinstance(component.get("value"), str):
            return str(component["value"])
        nested = component.get("components")
        if "component" in component:
            nested = [component["component"]]  # a label holds one component
        found = _value(nested)
        if found is not None:
            return found
    return None
