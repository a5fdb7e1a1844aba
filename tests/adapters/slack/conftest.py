"""Fixtures for the Slack adapter tests: an emulator and a scripted agent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import pytest

from knowrithm_bots.bots.local_knowrithm import LocalKnowrithm, ScriptedAgent, StoredMessage
from tests.emulators.slack_api import SlackEmulator


def numbered_answer(question: str, history: Sequence[StoredMessage]) -> str:
    """A plain-text answer naming the question and its place in the conversation."""
    earlier = sum(1 for m in history if m.role == "user")
    return f"Answer {earlier + 1} to {question} with some words after it to stream along"


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
async def server() -> AsyncIterator[LocalKnowrithm]:
    async with LocalKnowrithm(agent=ScriptedAgent(numbered_answer)) as local:
        yield local


@pytest.fixture(params=["socket", "http"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)
