"""Maps reaction emoji to 1-5 ratings, ignoring skin tones and presentation selectors."""

from __future__ import annotations

import re
from collections.abc import Mapping

_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff]")
_SLACK_SKIN_TONE = re.compile(r"::skin-tone-\d$")


def normalize_emoji(emoji: str) -> str:
    """One spelling per emoji: no skin tone, no VS16, no Slack colons or ``::skin-tone-N``."""
    name = emoji.strip()
    if name.startswith(":") and name.endswith(":") and len(name) > 2:
        name = name[1:-1]
    name = _SLACK_SKIN_TONE.sub("", name)
    name = _SKIN_TONES.sub("", name)
    # Keycaps need their VS16 to stay distinct from the bare digit; elsewhere it is noise.
    if "\u20e3" not in name:
        name = name.replace("\ufe0f", "")
    return name


def rating_for(emoji: str, *, table: Mapping[str, int]) -> int | None:
    """The rating ``emoji`` stands for in ``table``, or None when it is not a rating."""
    wanted = normalize_emoji(emoji)
    for key, rating in table.items():
        if normalize_emoji(key) == wanted:
            return rating
    # A keycap typed without VS16 ("1\u20e3") is the same key as "1\ufe0f\u20e3".
    if "\u20e3" in wanted:
        bare = wanted.replace("\ufe0f", "")
        for key, rating in table.items():
            if normalize_emoji(key).replace("\ufe0f", "") == bare:
                return rating
    return None
