"""Reaction emoji → rating mapping."""

from __future__ import annotations

import pytest

from knowrithm_bots.core.config.models import DEFAULT_RATING_EMOJI
from knowrithm_bots.core.ratings import normalize_emoji, rating_for


@pytest.mark.parametrize(
    ("emoji", "rating"),
    [
        ("👍", 5),
        ("👍🏽", 5),
        ("👎🏿", 1),
        ("1️⃣", 1),
        ("1\u20e3", 1),
        ("3️⃣", 3),
        ("5️⃣", 5),
        ("+1", 5),
        (":+1:", 5),
        ("+1::skin-tone-4", 5),
        ("-1", 1),
        ("thumbsdown", 1),
        ("four", 4),
        ("🎉", None),
        ("heart", None),
        ("1", None),
    ],
)
def test_default_table(emoji: str, rating: int | None) -> None:
    assert rating_for(emoji, table=DEFAULT_RATING_EMOJI) == rating


def test_custom_table() -> None:
    table = {"🔥": 5, "💩": 1}
    assert rating_for("🔥", table=table) == 5
    assert rating_for("👍", table=table) is None


def test_normalize_keeps_keycap_selector() -> None:
    assert normalize_emoji("❤️") == "❤"
    assert normalize_emoji("2️⃣") == "2️⃣"
