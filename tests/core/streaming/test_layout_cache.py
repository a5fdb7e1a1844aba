"""Laying out text costs a measure (a whole markup render on Slack and Telegram): once per text."""

from __future__ import annotations

from collections import Counter

from knowrithm_bots.core.adapter import Limits
from knowrithm_bots.core.streaming import Layout, ReplyStream
from knowrithm_bots.core.testing import FakePlatformAdapter, ManualClock
from tests.core.streaming.drive import agent, drive, words


class CountingMeasure:
    """A length measure that counts what it was asked to measure."""

    def __init__(self) -> None:
        self.texts: Counter[str] = Counter()

    def __call__(self, text: str) -> int:
        self.texts[text] += 1
        return len(text)


def test_laying_out_unchanged_text_again_does_not_measure_it_again() -> None:
    measure = CountingMeasure()
    layout = Layout(limit=40, measure=measure)
    text = "One sentence here. Another one there. And a third that rolls over."
    first = layout.segments(text)
    measured = measure.texts.total()
    assert len(first) == 2 and measured >= 2  # the roll-over measured the candidates
    assert layout.segments(text) == first
    assert layout.segments(str(text)) == first  # an equal text, not only the same object
    assert layout.shown_upto([first[0]], text=text) == len(first[0])
    assert measure.texts.total() == measured
    grown = text + " More."
    assert layout.segments(grown)[0] == first[0]
    assert measure.texts[grown[len(first[0]) :]] == 1  # a new text is measured, once


def test_the_cached_segments_cannot_be_changed_through_a_result() -> None:
    layout = Layout(limit=40)
    text = "Short text."
    layout.segments(text).append("not a segment")
    assert layout.segments(text) == [text]


async def test_a_reply_measures_each_text_it_lays_out_once() -> None:
    clock = ManualClock()
    measure = CountingMeasure()
    fake = FakePlatformAdapter(clock=clock, limits=Limits(max_message_length=4000))
    fake.measure = measure  # type: ignore[method-assign]
    reply = ReplyStream(adapter=fake, thread="c1", clock=clock)
    pieces = words(400)  # 400 deltas, one message: every layout measures the whole text
    await drive(clock, agent(clock, reply, pieces, first=0.0))
    assert fake.visible("c1") == "".join(pieces)
    # The platform measures each text it is sent once per call; the engine may add one
    # measure per text it lays out, however often it asks for that text's layout.
    sent = Counter(call.text for call in fake.calls)
    engine = {text: count - sent[text] for text, count in measure.texts.items()}
    assert len(fake.calls) >= 5
    assert max(engine.values()) == 1, max(engine.items(), key=lambda item: item[1])
