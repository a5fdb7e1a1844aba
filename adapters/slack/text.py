"""Reads Slack's message markup (``<@U1>``, ``<url|label>``, ``&amp;``) as plain words."""

from __future__ import annotations

import re

_ANGLE = re.compile(r"<([^<>]*)>")
_SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


def _label(inner: str) -> str:
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        name = target[1:].split("^", 1)[0]
        if name in _SPECIAL:
            return _SPECIAL[name]
        return label or ""
    if target.startswith("mailto:"):
        return label or target.removeprefix("mailto:")
    if label and label != target:
        return f"{label} ({target})"
    return target


def mentions(text: str, *, user_id: str) -> bool:
    """Whether ``text`` mentions ``user_id`` (``<@U123>`` or ``<@U123|name>``)."""
    return f"<@{user_id}>" in text or f"<@{user_id}|" in text


def to_plain(text: str, *, bot_user_id: str | None = None) -> str:
    """The text a person meant: the bot's own mention dropped, links and names spelled out."""
    if bot_user_id is not None:
        # The mention and the space after it go together, so "hi <@B> there" reads naturally.
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>[ \t]?", "", text)
    plain = _ANGLE.sub(lambda match: _label(match.group(1)), text)
    return plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()
