"""Roll-over: natural boundaries, never inside a word or a character, code fences reopened."""

from __future__ import annotations

from knowrithm_bots.core.adapter import Limits
from knowrithm_bots.core.markup.split import utf16_len
from knowrithm_bots.core.streaming import Layout, ReplyStream
from knowrithm_bots.core.testing import FakePlatformAdapter, ManualClock
from tests.core.streaming.drive import agent, drive


async def stream(text: str, *, limit: int, measure_utf16: bool = False, size: int = 7) -> list[str]:
    clock = ManualClock()
    fake = FakePlatformAdapter(
        clock=clock, limits=Limits(max_message_length=limit, edit_interval=0.3)
    )
    if measure_utf16:
        fake.measure = utf16_len  # type: ignore[method-assign]
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    pieces = [text[i : i + size] for i in range(0, len(text), size)]
    await drive(clock, agent(clock, reply, pieces, every=0.05))
    messages = fake.messages_in("c1")
    assert all(fake.measure(m) <= limit for m in messages)
    assert reply.message_ids == list(fake.messages)
    return messages


async def test_rolls_over_at_a_paragraph_before_a_sentence() -> None:
    first = "First paragraph has two sentences. It ends here."
    second = "Second paragraph. It is long enough to need a message of its own, surely."
    text = f"{first}\n\n{second}"
    messages = await stream(text, limit=90)
    assert messages == [f"{first}\n\n", second]


async def test_rolls_over_at_a_sentence_and_never_inside_a_word() -> None:
    text = " ".join(f"Sentence {i} is here." for i in range(40))
    messages = await stream(text, limit=100)
    assert "".join(messages) == text
    assert len(messages) >= 8
    for message in messages[:-1]:
        assert message.endswith(". ")


async def test_never_cuts_inside_a_multibyte_character() -> None:
    text = "👍🏽🇫🇷é" * 60  # no spaces at all: only grapheme boundaries are left
    messages = await stream(text, limit=50, measure_utf16=True, size=3)
    assert "".join(messages) == text
    for message in messages:
        assert utf16_len(message) <= 50
        assert not message.startswith(("\U0001f3fd", "\u0301"))
        assert message.count("\U0001f1eb") == message.count("\U0001f1f7")  # flags stay whole


async def test_code_fence_cut_by_a_roll_over_is_closed_and_reopened() -> None:
    code = "\n".join(f"    value_{i} = compute({i})" for i in range(12))
    text = f"Here is the code:\n\n```python\n{code}\n```\n\nDone."
    messages = await stream(text, limit=200)
    assert len(messages) == 3
    assert messages[0] == "Here is the code:\n\n"  # a cut outside the block comes first
    for message in messages:
        assert message.count("```") % 2 == 0  # every message renders its code block whole
    assert messages[1].endswith("compute(6)\n```")
    assert messages[2].startswith("```python\n    value_7")
    # Taking the closing and reopening fence lines away gives the answer back exactly.
    assert "".join(messages).replace("``````python\n", "", 1) == text


def test_layout_keeps_frozen_messages_while_the_answer_grows() -> None:
    layout = Layout(limit=40)
    text = "One sentence here. Another one there. "
    assert layout.segments(text) == [text]
    grown = text + "And a third that rolls over."
    first = layout.segments(grown)
    assert len(first) == 2 and first[0] == text
    assert layout.segments(grown + " More.")[0] == text
