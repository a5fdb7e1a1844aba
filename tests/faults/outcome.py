"""What one chat shows after a fault, judged against the answer the agent stored."""

from __future__ import annotations

from dataclasses import dataclass

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm
from tests.faults.figures import Figures


def plain(text: str) -> str:
    """Text with its runs of white space made one space, as a reader sees it."""
    return " ".join(text.split())


@dataclass(frozen=True)
class ChatOutcome:
    """The bot's messages in one chat, sorted: full answers, fragments of it, anything else."""

    shown: int
    fragments: int
    others: int
    asked: int
    visible: tuple[str, ...]

    @property
    def final(self) -> bool:
        """The answer in full, exactly once, nothing else left; Knowrithm asked once."""
        return self.shown == 1 and self.fragments == 0 and self.others == 0 and self.asked == 1

    def add_to(self, figures: Figures) -> None:
        figures.trials += 1
        figures.delivered += self.shown >= 1
        figures.duplicates += max(0, self.shown - 1)
        figures.fragments += self.fragments
        figures.sentences += self.others
        figures.asked_twice += self.asked > 1


def judge(*, visible: list[str], answer: str, asked: int) -> ChatOutcome:
    """Sort ``visible`` (the bot's messages now in the chat) against ``answer``."""
    full = plain(answer)
    texts = [plain(text) for text in visible if plain(text)]
    shown = sum(1 for text in texts if text == full)
    fragments = sum(1 for text in texts if text != full and full.startswith(text))
    return ChatOutcome(
        shown=shown,
        fragments=fragments,
        others=len(texts) - shown - fragments,
        asked=asked,
        visible=tuple(texts),
    )


def times_asked(server: LocalKnowrithm, question: str) -> int:
    """How many user messages with exactly this text Knowrithm holds, in all conversations."""
    return sum(
        1
        for messages in server.state.messages.values()
        for message in messages
        if message.role == "user" and plain(message.content) == plain(question)
    )
