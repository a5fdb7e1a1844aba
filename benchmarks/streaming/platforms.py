"""The simulated platforms: the budgets each one enforces with 429s, and its round trip.

Each platform enforces exactly what the shipped adapter declares (its ``Limits``: length
limit, per-message edit interval and budgets), so the engine runs as it does in production.
The engine is told these budgets; the baselines are not told anything, as in the bots they
imitate. Where the shipped adapter streams natively by default (Slack threads, Telegram
private chats), the platform offers that native stream: the engine uses it, the baselines
post and edit.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from knowrithm_bots.adapters.discord.adapter import DiscordAdapter
from knowrithm_bots.adapters.slack.adapter import SlackAdapter
from knowrithm_bots.adapters.telegram.adapter import TelegramAdapter
from knowrithm_bots.core.adapter import Limits
from knowrithm_bots.core.testing import NativeBehaviour

Keys = Callable[[str], Mapping[str, str]]


@dataclass(frozen=True)
class Platform:
    """One simulated platform; ``one_chat`` / ``many_chats`` map a thread to its scopes."""

    name: str
    limits: Limits
    rtt: float
    one_chat: Keys
    many_chats: Keys
    one_chat_name: str
    many_chats_name: str
    # The native stream the shipped adapter opens by default, in one chat and in many
    # (None: post + edit there).
    native_one_chat: NativeBehaviour | None = None
    native_many_chats: NativeBehaviour | None = None

    def latency(self, rng: random.Random) -> Callable[[], float]:
        """One-way network delay: half the round trip, ±20 %."""
        half = self.rtt / 2
        return lambda: half * rng.uniform(0.8, 1.2)


def _chat(thread: str) -> str:
    return thread.split("#", 1)[0]


TELEGRAM = Platform(
    name="telegram",
    limits=TelegramAdapter.limits,
    rtt=0.12,
    # A group: its chat budget and its 20/min group budget; private chats have no group.
    one_chat=lambda t: {"chat": _chat(t), "group": _chat(t), "bot": "bot"},
    many_chats=lambda t: {"chat": _chat(t), "bot": "bot"},
    one_chat_name="one group",
    many_chats_name="private chats",
    # stream_drafts (on by default): private chats stream into a sendMessageDraft draft,
    # charged to the same budgets as messages (the adapter declares no budget of its own
    # for drafts), which vanishes; the engine then posts the answer.
    native_many_chats=NativeBehaviour(leftover=False, lasting=False),
)

SLACK = Platform(
    name="slack",
    limits=SlackAdapter.limits,
    rtt=0.15,
    one_chat=lambda t: {"chat": _chat(t), "workspace": "T1"},
    many_chats=lambda t: {"chat": _chat(t), "workspace": "T1"},
    one_chat_name="one channel",
    many_chats_name="channels of one workspace",
    # native_streaming (on by default): replies in threads stream through chat.startStream /
    # appendStream / stopStream, charged to the workspace's ~100/min "append" budget; the
    # stream's message stays.
    native_one_chat=NativeBehaviour(leftover=True, lasting=True),
    native_many_chats=NativeBehaviour(leftover=True, lasting=True),
)

DISCORD = Platform(
    name="discord",
    limits=DiscordAdapter.limits,
    rtt=0.10,
    one_chat=lambda t: {"chat": _chat(t), "bot": "bot"},
    many_chats=lambda t: {"chat": _chat(t), "bot": "bot"},
    one_chat_name="one channel",
    many_chats_name="channels",
)

PLATFORMS = (TELEGRAM, SLACK, DISCORD)


def one_reply_native(platform: Platform) -> NativeBehaviour | None:
    """The native stream of a single reply (a private chat on Telegram, else one channel)."""
    return platform.native_many_chats if platform is TELEGRAM else platform.native_one_chat


def one_reply_keys(platform: Platform) -> Keys:
    """A single reply: a private chat on Telegram (the common case), else one channel."""
    return platform.many_chats if platform is TELEGRAM else platform.one_chat
