"""The benchmark's yardstick: token offsets and the budget buckets it schedules calls by."""

from __future__ import annotations

from benchmarks.streaming.agent import Answer
from benchmarks.streaming.metrics import _Buckets
from knowrithm_bots.core.adapter import Budget


def test_answer_offsets_count_the_characters_generated_after_each_token() -> None:
    answer = Answer(tokens=("Hi", " there", ".\n\n"), times=(0.1, 0.2, 0.3))
    assert answer.offsets == (2, 8, 11)
    assert answer.offsets[-1] == len(answer.text)


def test_budget_buckets_are_shared_within_a_scope_and_charged_by_kind() -> None:
    buckets = _Buckets(
        (
            Budget(scope="chat", rate=1, kinds=("post",)),
            Budget(scope="workspace", rate=50, per=60, burst=5, kinds=("edit",)),
        )
    )
    one, two = ({"chat": chat, "workspace": "T1"} for chat in ("C1", "C2"))
    (post,) = buckets.charged(one, "post")
    assert buckets.charged(one, "post") == [post]  # made once, then found again
    assert buckets.charged(two, "post") != [post]  # another chat, another bucket
    (edit,) = buckets.charged(one, "edit")
    assert edit is not post and edit.rate == 50 / 60
    assert buckets.charged(two, "edit") == [edit]  # one workspace, one bucket
    assert buckets.charged({"chat": "C3"}, "edit") == []  # no workspace key: no budget
