"""A simulated agent: answers of realistic length at a realistic pace, the same for every policy."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

_TEXT = (
    "the agent reads your question and answers with care using what it knows about orders "
    "shipping refunds accounts plans billing and the product itself so that each reply is "
    "useful clear short enough to read and long enough to help you"
)
_WORDS = tuple(_TEXT.split())


@dataclass(frozen=True)
class Answer:
    """One reply's script: token ``i`` arrives at ``times[i]`` seconds after the question."""

    tokens: tuple[str, ...]
    times: tuple[float, ...]

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def offsets(self) -> tuple[int, ...]:
        """How many characters have been generated after each token."""
        return tuple(itertools.accumulate(len(token) for token in self.tokens))

    @property
    def first_token(self) -> float:
        return self.times[0]

    @property
    def end(self) -> float:
        return self.times[-1]


def make_answer(rng: random.Random, *, min_tokens: int = 120, max_tokens: int = 500) -> Answer:
    """First token after 0.3–1.5 s, then 30–80 tokens/s (±30 % per token).

    Tokens are words with their leading space (about four characters each); sentences end
    every 8–20 words and paragraphs every 3–6 sentences, so roll-overs find boundaries.
    """
    count = rng.randint(min_tokens, max_tokens)
    rate = rng.uniform(30.0, 80.0)
    at = rng.uniform(0.3, 1.5)
    tokens: list[str] = []
    times: list[float] = []
    sentence_left = rng.randint(8, 20)
    sentences_left = rng.randint(3, 6)
    for index in range(count):
        word = rng.choice(_WORDS)
        starts = index == 0 or tokens[-1].endswith("\n\n")
        token = word.capitalize() if starts else " " + word
        sentence_left -= 1
        if sentence_left == 0 or index == count - 1:
            token += "."
            sentence_left = rng.randint(8, 20)
            sentences_left -= 1
            if sentences_left == 0:
                token += "\n\n"
                sentences_left = rng.randint(3, 6)
        tokens.append(token)
        times.append(at)
        at += rng.uniform(0.7, 1.3) / rate
    return Answer(tokens=tuple(tokens), times=tuple(times))
