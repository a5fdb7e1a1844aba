"""The Stop button rides on the calls a reply makes anyway, and never outlives the answer."""

from __future__ import annotations

from knowrithm_bots.core.streaming.messages import Shown, Step, next_step


def test_the_first_post_of_an_answer_being_written_carries_the_button() -> None:
    step = next_step(shown=[], segments=["Hello"], can_delete=True, stop_button=True)
    assert step == Step(kind="post", index=0, text="Hello", stop_button=True)


def test_a_refresh_keeps_the_button_and_a_notice_never_gets_one() -> None:
    shown = [Shown(id="1", text="Hel", stop_button=True)]
    step = next_step(shown=shown, segments=["Hello"], can_delete=True, stop_button=True)
    assert step == Step(kind="edit", index=0, text="Hello", stop_button=True)
    notice = next_step(shown=[], segments=["Sorry"], can_delete=True)
    assert notice is not None and not notice.stop_button


def test_the_final_text_takes_the_button_away_even_when_the_text_is_unchanged() -> None:
    shown = [Shown(id="1", text="Hello", stop_button=True)]
    step = next_step(shown=shown, segments=["Hello"], can_delete=True, stop_button=False)
    assert step == Step(kind="edit", index=0, text="Hello", stop_button=False)
    done = [Shown(id="1", text="Hello", stop_button=False)]
    assert next_step(shown=done, segments=["Hello"], can_delete=True) is None


def test_on_a_roll_over_the_button_moves_to_the_new_last_message() -> None:
    shown = [Shown(id="1", text="first part", stop_button=True)]
    segments = ["first part", "second"]
    # The message the answer rolled out of is fixed first, losing the button...
    step = next_step(shown=shown, segments=segments, can_delete=True, stop_button=True)
    assert step == Step(kind="edit", index=0, text="first part", stop_button=False)
    shown[0].stop_button = False
    # ...then the new last message is posted with it.
    step = next_step(shown=shown, segments=segments, can_delete=True, stop_button=True)
    assert step == Step(kind="post", index=1, text="second", stop_button=True)
