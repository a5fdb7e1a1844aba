"""The waiting settings: a "still working" notice after a while, a limit after a longer one."""

from __future__ import annotations

import pytest

from knowrithm_bots.core.config import parse_settings
from knowrithm_bots.core.errors import ConfigError
from knowrithm_bots.core.user_messages import STILL_WORKING


def test_defaults_are_a_notice_after_15_s_and_a_limit_of_120_s() -> None:
    conversations = parse_settings({}).conversations
    assert conversations.still_working_after_seconds == 15
    assert conversations.still_working_text == STILL_WORKING
    assert conversations.answer_timeout_seconds == 120


def test_each_can_be_set_and_the_notice_switched_off() -> None:
    conversations = parse_settings(
        {
            "conversations": {
                "still_working_after_seconds": None,
                "still_working_text": "Un instant…",
                "answer_timeout_seconds": 30,
            }
        }
    ).conversations
    assert conversations.still_working_after_seconds is None
    assert conversations.still_working_text == "Un instant…"
    assert conversations.answer_timeout_seconds == 30


@pytest.mark.parametrize(
    ("section", "key", "says"),
    [
        (
            {"still_working_after_seconds": 60, "answer_timeout_seconds": 60},
            "still_working_after_seconds",
            "shorter than answer_timeout_seconds",
        ),
        ({"still_working_after_seconds": 0}, "still_working_after_seconds", "greater than 0"),
        ({"answer_timeout_seconds": -1}, "answer_timeout_seconds", "greater than 0"),
        ({"still_working_text": "  "}, "still_working_text", "must not be empty"),
    ],
)
def test_a_bad_value_names_its_key(section: dict[str, object], key: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"conversations": section})
    assert caught.value.key_path == f"conversations.{key}"
    assert says in str(caught.value)
