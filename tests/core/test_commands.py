"""Command parsing shared by every adapter."""

from __future__ import annotations

import pytest

from knowrithm_bots.core.commands import (
    Command,
    CommandError,
    EndArgs,
    parse_command,
    parse_end_args,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/new", Command(name="new", args="")),
        ("  /END 4 thanks a lot ", Command(name="end", args="4 thanks a lot")),
        ("/end@knowrithm_bot 3", Command(name="end", args="3")),
        ("/help", Command(name="help", args="")),
        ("/weird_cmd x", Command(name="weird_cmd", args="x")),
        ("hello /new", None),
        ("/usr/bin is a folder", None),
        ("/ 5", None),
        ("", None),
    ],
)
def test_parse_command(text: str, expected: Command | None) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("", EndArgs(rating=None, feedback=None)),
        ("5", EndArgs(rating=5, feedback=None)),
        ("1 too slow", EndArgs(rating=1, feedback="too slow")),
        ("great bot", EndArgs(rating=None, feedback="great bot")),
    ],
)
def test_end_args(args: str, expected: EndArgs) -> None:
    assert parse_end_args(args, max_feedback=100) == expected


@pytest.mark.parametrize("bad", ["9", "0", "-1", "4.5", "6 nice"])
def test_end_rating_out_of_range_is_one_clear_sentence(bad: str) -> None:
    with pytest.raises(CommandError, match="from 1 to 5") as info:
        parse_end_args(bad, max_feedback=100)
    assert str(info.value).count(".") <= 2


def test_feedback_longer_than_the_limit_given_is_one_clear_sentence() -> None:
    assert parse_end_args("4 " + "x" * 10, max_feedback=10) == EndArgs(rating=4, feedback="x" * 10)
    with pytest.raises(CommandError, match="11 characters long and the limit is 10"):
        parse_end_args("4 " + "x" * 11, max_feedback=10)
    with pytest.raises(CommandError, match="limit is 10"):
        parse_end_args("y" * 11, max_feedback=10)
