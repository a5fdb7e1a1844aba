"""The conformance kit itself: it passes a correct adapter and fails each broken one."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import pytest

from knowrithm_bots.core.adapter import Budget, Capabilities, EventSink, Limits, Posted
from knowrithm_bots.core.errors import PlatformRateLimited, PlatformUnavailable
from knowrithm_bots.core.events import Author
from knowrithm_bots.core.testing.conformance import AdapterConformance, Failure, Features
from knowrithm_bots.core.thread_key import ThreadKeyCodec, key_fields
from tests.core.conformance.memory_platform import (
    BOT_ID,
    MAX_LENGTH,
    MemoryAdapter,
    MemoryHarness,
    MemoryKey,
    MemoryService,
    ServiceError,
)


class TestACorrectAdapterPassesEveryCheck(AdapterConformance):
    @pytest.fixture
    def harness(self) -> MemoryHarness:
        service = MemoryService()
        return MemoryHarness(adapter=MemoryAdapter(service=service), service=service)


# --- one defect each ---------------------------------------------------------------------


class EchoesItself(MemoryAdapter):
    def ignores(self, event: Mapping[str, Any]) -> bool:
        return False


class TakesBotsForPeople(MemoryAdapter):
    def ignores(self, event: Mapping[str, Any]) -> bool:
        return bool(event["user"] == BOT_ID)

    def author(self, event: Mapping[str, Any]) -> Author:
        return Author(id=event["user"])


class IgnoresTheLengthLimit(MemoryAdapter):
    limits: ClassVar[Limits] = Limits(max_message_length=MAX_LENGTH * 2, edit_interval=0.0)


class MeasuresWrongly(MemoryAdapter):
    def measure(self, text: str) -> int:
        return len(text.encode("utf-16-le")) // 4  # half of what the platform counts


class TruncatesSilently(MemoryAdapter):
    async def post(self, *, thread: str, text: str, reply_to: str | None = None) -> Posted:
        return await super().post(thread=thread, text=text[: MAX_LENGTH // 2])


class LeaksRawErrors(MemoryAdapter):
    def translate(self, exc: ServiceError) -> Exception:
        return exc


class LeaksTheToken(MemoryAdapter):
    def translate(self, exc: ServiceError) -> Exception:
        error = super().translate(exc)
        error.args = (f"{error} ({exc})",)
        return error


class MistranslatesErrors(MemoryAdapter):
    def translate(self, exc: ServiceError) -> Exception:
        error = super().translate(exc)
        return ServiceError(500, "x") if exc.status == 404 else error


class ConnectsTwice(MemoryAdapter):
    async def start(self, *, sink: EventSink) -> None:
        self._task = None  # forgets it is running
        await super().start(sink=sink)


class LeavesItsListenerRunning(MemoryAdapter):
    async def stop(self) -> None:
        self._task = None


class ReportsAnotherReactionId(MemoryAdapter):
    def reacted_id(self, event: Mapping[str, Any]) -> str:
        return f"{event['chat']}/{event['message_id']}"


class KeysByMessage(MemoryAdapter):
    def thread_key(self, event: Mapping[str, Any]) -> str:
        return f"memory:{event['chat']}:{event.get('id')}"

    def chat_of(self, thread: str) -> str:
        return thread.split(":")[1]


class PostsToTheLastChat(MemoryAdapter):
    def chat_of(self, thread: str) -> str:
        return "a"


class RejectsUnchangedEdits(MemoryAdapter):
    async def edit(self, *, thread: str, message_id: str, text: str) -> None:
        try:
            await self.service.update(
                token=self.token, chat=self.chat_of(thread), message_id=message_id, text=text
            )
        except ServiceError as exc:
            raise self.translate(exc) from None


class RetriesRateLimitsForever(MemoryAdapter):
    async def post(self, *, thread: str, text: str, reply_to: str | None = None) -> Posted:
        while True:
            try:
                return await super().post(thread=thread, text=text)
            except PlatformRateLimited as exc:
                await asyncio.sleep(exc.retry_after)


class IgnoresRetryAfter(MemoryAdapter):
    def translate(self, exc: ServiceError) -> Exception:
        error = super().translate(exc)
        if isinstance(error, PlatformRateLimited):
            return PlatformRateLimited(str(error), retry_after=1.0)  # the usual fallback
        return error


class RateLimitAsOutage(MemoryAdapter):
    def translate(self, exc: ServiceError) -> Exception:
        error = super().translate(exc)
        if isinstance(error, PlatformRateLimited):
            return PlatformUnavailable(str(error))
        return error


class NamedWithAColon(MemoryAdapter):
    name: ClassVar[str] = "mem:ory"


class NamedWithASpace(MemoryAdapter):
    name: ClassVar[str] = "mem ory"


# --- budgets that can never charge a call ------------------------------------------------


def _budgeted(*budgets: Budget) -> Limits:
    return Limits(max_message_length=MAX_LENGTH, edit_interval=0.0, budgets=budgets)


class BudgetsStreamAppends(MemoryAdapter):
    limits: ClassVar[Limits] = _budgeted(
        Budget(scope="chat", rate=1.0), Budget(scope="chat", rate=2.0, kinds=("post", "append"))
    )


class BudgetsDeletes(MemoryAdapter):
    limits: ClassVar[Limits] = _budgeted(Budget(scope="bot", rate=1.0, kinds=("delete",)))


class CannotEditButBudgetsEdits(MemoryAdapter):
    capabilities: ClassVar[Capabilities] = Capabilities(edit=False, reactions=True)
    limits: ClassVar[Limits] = _budgeted(Budget(scope="chat", rate=1.0, kinds=("edit",)))


class BudgetsAGroupItNeverNames(MemoryAdapter):
    limits: ClassVar[Limits] = _budgeted(
        Budget(scope="chat", rate=5.0), Budget(scope="group", rate=20.0, per=60.0)
    )


class GroupChatB(BudgetsAGroupItNeverNames):
    """Place "b" is a group: the group budget applies there and only there (as on Telegram)."""

    def budget_keys(self, *, thread: str) -> Mapping[str, str]:
        chat = MemoryKey.decode(thread).chat
        keys = {"thread": thread, "chat": chat, "bot": BOT_ID}
        if chat == "b":
            keys["group"] = chat
        return keys


# --- thread-key codecs that lose keys or take foreign ones --------------------------------


@dataclass(frozen=True, kw_only=True)
class ChatOnlyKey(MemoryKey):
    def encode(self) -> str:
        return f"memory:{self.chat}"  # forgets the bot


class LosesTheBotFromItsKeys(MemoryAdapter):
    thread_codec: ClassVar[type[ThreadKeyCodec] | None] = ChatOnlyKey


@dataclass(frozen=True, kw_only=True)
class TrustingKey(MemoryKey):
    @classmethod
    def decode(cls, thread: str) -> Self:
        _, bot, chat = thread.split(":")  # never looks at whose key it is
        return cls(bot=bot, chat=chat)


class TakesForeignKeys(MemoryAdapter):
    thread_codec: ClassVar[type[ThreadKeyCodec] | None] = TrustingKey


@dataclass(frozen=True, kw_only=True)
class IndexingKey(MemoryKey):
    @classmethod
    def decode(cls, thread: str) -> Self:
        fields = thread.split(":")
        key = cls(bot=fields[1], chat=fields[2])  # IndexError before the prefix is checked
        if fields[0] != "memory" or len(fields) != 3:
            raise ValueError(f"{thread!r} is not a memory thread key")
        return key


class CrashesOnForeignKeys(MemoryAdapter):
    thread_codec: ClassVar[type[ThreadKeyCodec] | None] = IndexingKey


@dataclass(frozen=True, kw_only=True)
class ThreePartKey(MemoryKey):
    @classmethod
    def decode(cls, thread: str) -> Self:
        bot, chat, _ = key_fields(thread, prefix="memory", counts=(3,))
        return cls(bot=bot, chat=chat)


class RefusesItsOwnKeys(MemoryAdapter):
    thread_codec: ClassVar[type[ThreadKeyCodec] | None] = ThreePartKey


@dataclass(frozen=True, kw_only=True)
class ShortKey(MemoryKey):
    def encode(self) -> str:
        return f"mem:{self.bot}:{self.chat}"

    @classmethod
    def decode(cls, thread: str) -> Self:
        bot, chat = key_fields(thread, prefix="mem", counts=(2,))
        return cls(bot=bot, chat=chat)


class KeysUnderAnotherName(MemoryAdapter):
    thread_codec: ClassVar[type[ThreadKeyCodec] | None] = ShortKey

    def thread_key(self, event: Mapping[str, Any]) -> str:
        return ShortKey(bot=BOT_ID, chat=event["chat"]).encode()

    def chat_of(self, thread: str) -> str:
        return ShortKey.decode(thread).chat


class IdentityKey:
    """Decodes and encodes faithfully, but two decodes of one key are not equal."""

    def __init__(self, thread: str) -> None:
        self.thread = thread

    def encode(self) -> str:
        return self.thread

    @classmethod
    def decode(cls, thread: str) -> IdentityKey:
        key_fields(thread, prefix="memory", counts=(2,))
        return cls(thread)


class KeysAreNoValues(MemoryAdapter):
    thread_codec: ClassVar[type[ThreadKeyCodec] | None] = IdentityKey


class DeclaresAnInstanceAsCodec(MemoryAdapter):
    thread_codec = MemoryKey(bot=BOT_ID, chat="a")  # type: ignore[assignment]


BUDGET_KINDS = "test_budgets_charge_calls_the_adapter_makes"
BUDGET_SCOPES = "test_budget_scopes_are_keys_the_adapter_gives"
CODEC = "test_thread_keys_round_trip_through_the_codec"

BROKEN = [
    (EchoesItself, "test_own_messages_are_ignored", "delivered its own message"),
    (TakesBotsForPeople, "test_other_bots_are_ignored_or_marked", "without author.is_bot"),
    (IgnoresTheLengthLimit, "test_texts_at_the_length_limit_are_accepted", "does not match"),
    (IgnoresTheLengthLimit, "test_long_answer_rolls_over_within_the_limit", "MessageTooLong"),
    (MeasuresWrongly, "test_texts_at_the_length_limit_are_accepted", "does not match"),
    (TruncatesSilently, "test_texts_at_the_length_limit_are_accepted", "not a shortened one"),
    (LeaksRawErrors, "test_outages_become_platform_unavailable", "let ServiceError"),
    (LeaksRawErrors, "test_rate_limits_become_platform_rate_limited", "let ServiceError"),
    (LeaksTheToken, "test_rejected_credentials_become_auth_error", "shows a secret"),
    (MistranslatesErrors, "test_missing_message_becomes_message_not_found", "let ServiceError"),
    (ConnectsTwice, "test_start_and_stop_are_idempotent", "reached the sink 2 times"),
    (LeavesItsListenerRunning, "test_start_and_stop_are_idempotent", "memory listener"),
    (ReportsAnotherReactionId, "test_reactions_name_the_posted_message", "must be the same id"),
    (KeysByMessage, "test_thread_keys_are_stable_and_distinct", "different thread keys"),
    (PostsToTheLastChat, "test_post_lands_where_the_thread_key_points", "should show"),
    (RejectsUnchangedEdits, "test_edit_replaces_the_text_in_place", "changes nothing"),
    (RetriesRateLimitsForever, "test_rate_limits_become_platform_rate_limited", "within 0.5 s"),
    (IgnoresRetryAfter, "test_rate_limits_become_platform_rate_limited", "retry_after=1.0"),
    (RateLimitAsOutage, "test_rate_limits_become_platform_rate_limited", "PlatformUnavailable"),
    (NamedWithAColon, "test_declares_name_limits_and_capabilities", "must not contain ':'"),
    (NamedWithASpace, "test_declares_name_limits_and_capabilities", "must not contain ':'"),
    (BudgetsStreamAppends, BUDGET_KINDS, "limits.budgets[1] (Budget(scope='chat', rate=2.0"),
    (BudgetsStreamAppends, BUDGET_KINDS, "'append' calls, but the adapter never makes one"),
    (BudgetsStreamAppends, BUDGET_KINDS, "capabilities.native_stream is not set"),
    (BudgetsDeletes, BUDGET_KINDS, "limits.budgets[0] (Budget(scope='bot', rate=1.0"),
    (BudgetsDeletes, BUDGET_KINDS, "capabilities.delete is not set"),
    (CannotEditButBudgetsEdits, BUDGET_KINDS, "'edit' calls, but the adapter never makes one"),
    (CannotEditButBudgetsEdits, BUDGET_KINDS, "capabilities.edit is not set"),
    (BudgetsAGroupItNeverNames, BUDGET_SCOPES, "limits.budgets[1] (Budget(scope='group'"),
    (BudgetsAGroupItNeverNames, BUDGET_SCOPES, "no 'group' key for any thread the kit saw"),
    (LosesTheBotFromItsKeys, CODEC, "which encodes to 'memory:a'"),
    (LosesTheBotFromItsKeys, "test_post_lands_where_the_thread_key_points", "encodes to"),
    (LosesTheBotFromItsKeys, "test_reactions_name_the_posted_message", "encodes to"),
    (LosesTheBotFromItsKeys, "test_start_and_stop_are_idempotent", "encodes to"),
    (TakesForeignKeys, CODEC, "TrustingKey.decode('telegram:B-self:a') (another adapter's key"),
    (TakesForeignKeys, CODEC, "returned TrustingKey(bot='B-self', chat='a'); it must raise"),
    (CrashesOnForeignKeys, CODEC, "IndexingKey.decode('') (an empty key) raised IndexError"),
    (RefusesItsOwnKeys, CODEC, "refused the adapter's own thread key 'memory:B-self:a'"),
    (KeysUnderAnotherName, CODEC, "thread key 'mem:B-self:a' must start with 'memory:'"),
    (KeysAreNoValues, CODEC, "two decodes of 'memory:B-self:a' are not equal"),
    (DeclaresAnInstanceAsCodec, CODEC, "not a class with encode() and decode()"),
]


class QuickKit(AdapterConformance):
    timeout: ClassVar[float] = 0.5
    task_grace: ClassVar[float] = 0.2


@pytest.mark.parametrize(
    ("adapter_class", "check", "complaint"),
    BROKEN,
    ids=[f"{cls.__name__}-{check.removeprefix('test_')}" for cls, check, _ in BROKEN],
)
async def test_the_kit_fails_a_broken_adapter(
    adapter_class: type[MemoryAdapter], check: str, complaint: str
) -> None:
    service = MemoryService()
    harness = MemoryHarness(adapter=adapter_class(service=service), service=service)
    before = asyncio.all_tasks()
    try:
        with pytest.raises(pytest.fail.Exception) as failed:
            await getattr(QuickKit(), check)(harness)
    finally:
        # Some broken adapters leave their listener behind; do not leak it into other tests.
        leftovers = asyncio.all_tasks() - before - {asyncio.current_task()}
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
    assert complaint in str(failed.value)


async def test_the_same_checks_pass_the_correct_adapter() -> None:
    for _, check, _ in BROKEN:
        service = MemoryService()
        harness = MemoryHarness(adapter=MemoryAdapter(service=service), service=service)
        await getattr(QuickKit(), check)(harness)


@pytest.mark.parametrize(
    ("features", "check"),
    [
        (Features(own_messages=False), "test_own_messages_are_ignored"),
        (Features(bot_messages=False), "test_other_bots_are_ignored_or_marked"),
        (Features(reactions=False), "test_reactions_name_the_posted_message"),
        (Features(failures=frozenset({Failure.AUTH})), "test_outages_become_platform_unavailable"),
    ],
)
async def test_checks_the_harness_cannot_drive_are_skipped(features: Features, check: str) -> None:
    service = MemoryService()
    harness = MemoryHarness(
        adapter=MemoryAdapter(service=service), service=service, features=features
    )
    with pytest.raises(pytest.skip.Exception):
        await getattr(QuickKit(), check)(harness)


async def test_a_single_place_harness_still_checks_keys_and_posting() -> None:
    service = MemoryService()
    harness = MemoryHarness(
        adapter=PostsToTheLastChat(service=service), service=service, features=Features(places=1)
    )
    # With one place a misrouting adapter cannot be caught, but the checks still run.
    await QuickKit().test_post_lands_where_the_thread_key_points(harness)
    await QuickKit().test_thread_keys_are_stable_and_distinct(harness)
    assert len(service.chats) == 1


async def test_a_scope_one_place_has_is_enough_and_none_is_not() -> None:
    service = MemoryService()
    both = MemoryHarness(adapter=GroupChatB(service=service), service=service)
    await QuickKit().test_budget_scopes_are_keys_the_adapter_gives(both)
    service = MemoryService()
    only_a = MemoryHarness(
        adapter=GroupChatB(service=service), service=service, features=Features(places=1)
    )
    with pytest.raises(pytest.fail.Exception, match="no 'group' key for any thread the kit saw"):
        await QuickKit().test_budget_scopes_are_keys_the_adapter_gives(only_a)


class DeclaresNoCodec(MemoryAdapter):
    thread_codec: ClassVar[type[ThreadKeyCodec] | None] = None


class DeclaresNoBudgets(MemoryAdapter):
    limits: ClassVar[Limits] = _budgeted()


@pytest.mark.parametrize(
    ("adapter_class", "check"),
    [(DeclaresNoCodec, CODEC), (DeclaresNoBudgets, BUDGET_SCOPES)],
)
async def test_checks_of_what_an_adapter_does_not_declare_are_skipped(
    adapter_class: type[MemoryAdapter], check: str
) -> None:
    service = MemoryService()
    harness = MemoryHarness(adapter=adapter_class(service=service), service=service)
    with pytest.raises(pytest.skip.Exception):
        await getattr(QuickKit(), check)(harness)


def test_an_author_runs_the_kit_by_subclassing_it(tmp_path: Path) -> None:
    """A project of its own (pytest-asyncio in strict mode, no config) reports per check."""
    (tmp_path / "test_my_adapter.py").write_text(
        "import pytest\n"
        "from knowrithm_bots.core.testing.conformance import AdapterConformance\n"
        "from tests.core.conformance.memory_platform import MemoryHarness, MemoryService\n"
        "from tests.core.conformance.test_kit import EchoesItself\n\n"
        "class TestMyAdapter(AdapterConformance):\n"
        "    @pytest.fixture\n"
        "    def harness(self):\n"
        "        service = MemoryService()\n"
        "        return MemoryHarness(adapter=EchoesItself(service=service), service=service)\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_my_adapter.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    summary = result.stdout.splitlines()[-1]
    assert "1 failed" in summary and "passed" in summary and "error" not in summary
    assert "FAILED test_my_adapter.py::TestMyAdapter::test_own_messages_are_ignored" in (
        result.stdout
    )
    assert "the adapter delivered its own message" in result.stdout
