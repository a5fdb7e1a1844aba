"""Inline keyboards and the callback queries their buttons raise, as the Bot API describes.

https://core.telegram.org/bots/api#inlinekeyboardmarkup: ``inline_keyboard`` is an array
of button rows; each InlineKeyboardButton has a ``text`` and exactly one action field, and
``callback_data`` is 1-64 bytes. https://core.telegram.org/bots/api#callbackquery: a press
on a callback button reaches the bot as a ``callback_query`` update carrying the message
the keyboard is on and the button's data. https://core.telegram.org/bots/api#answercallbackquery:
the bot must answer the query (the client shows a progress bar until then); the answer's
text (0-200 characters) is shown to the presser only. A query can be answered once, and
only shortly after the press: Telegram then refuses it as "query is too old".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._records import CallbackAnswer, bad_request

# How long after the press Telegram still takes an answer (observed; the docs say "soon").
ANSWER_WINDOW = 64.0
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


def checked_markup(value: Any) -> dict[str, Any] | None:
    """A ``reply_markup`` parameter as kept on the message, an inline keyboard checked as
    Telegram checks it; None when there is none."""
    if not isinstance(value, dict):
        return None
    if "inline_keyboard" not in value:
        # A reply keyboard or a ForceReply (https://core.telegram.org/bots/api#forcereply:
        # force_reply True, selective, input_field_placeholder) is kept on the message as
        # sent, for tests to read; Telegram shows it in the client, not in the Message.
        return dict(value)
    rows = value["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'can\'t parse inline keyboard button: field "inline_keyboard" must be an Array of Array'
        )
    for row in rows:
        for button in row:
            _check_button(button)
    return {"inline_keyboard": [[dict(button) for button in row] for row in rows]}


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Text must be a String")
    actions = [name for name in button if name in _ACTIONS]
    if len(actions) != 1:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if "callback_data" in button and not (
        isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= 64
    ):
        raise bad_request("BUTTON_DATA_INVALID")


def find_button(
    markup: dict[str, Any] | None, *, text: str | None, data: str | None
) -> dict[str, Any]:
    """The callback button of ``markup`` with this text or data; LookupError if none shows."""
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if "callback_data" not in button:
                continue
            if (text is None or button["text"] == text) and (
                data is None or button["callback_data"] == data
            ):
                return dict(button)
    raise LookupError(f"no callback button with text={text!r} data={data!r} on the message")


class CallbackQueries:
    """The presses Telegram is waiting on an answer for, and the answers it got."""

    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._pressed: dict[str, float] = {}
        self.answers: list[CallbackAnswer] = []

    def pressed(self, query_id: str) -> None:
        self._pressed[query_id] = self._clock()

    def answer(self, params: dict[str, Any]) -> bool:
        query_id = params.get("callback_query_id")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        pressed = self._pressed.get(query_id) if isinstance(query_id, str) else None
        if pressed is None or self._clock() - pressed > ANSWER_WINDOW:
            raise bad_request(QUERY_INVALID)
        del self._pressed[str(query_id)]  # one answer per query
        self.answers.append(
            CallbackAnswer(
                callback_query_id=str(query_id),
                text=None if text is None else str(text),
                show_alert=params.get("show_alert") is True,
            )
        )
        return True
