"""The adapter contract: what a platform integration provides and what the core promises it."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from knowrithm_bots.core.config.adapter_config import AdapterConfig
from knowrithm_bots.core.config.models import ContextSettings, FileSettings
from knowrithm_bots.core.events import Author, Inbound, Reaction
from knowrithm_bots.core.leads import UserEmails
from knowrithm_bots.core.limits import Budget, Capabilities, Limits
from knowrithm_bots.core.store.base import Store
from knowrithm_bots.core.thread_key import ThreadKeyCodec

__all__ = [
    "Adapter",
    "Budget",
    "Capabilities",
    "EventSink",
    "Limits",
    "NativeStream",
    "Posted",
    "SupportsFeedbackButtons",
    "SupportsNativeStream",
    "SupportsStopButton",
    "SupportsStore",
    "UserEmails",
]


@dataclass(frozen=True, kw_only=True)
class Posted:
    """A platform message the adapter created; ``id`` is what reactions will name."""

    id: str


class EventSink(Protocol):
    """Where an adapter delivers events; implemented by the Bridge.

    Every method returns quickly (the work is queued), so an adapter may await it from a
    platform callback that must be acknowledged within seconds. None raises for bad user
    input; each may raise ``asyncio.CancelledError`` when the bot is shutting down.

    Order: the events of one thread must reach the sink in the order the platform sent
    them, and the bridge answers them in that order. An adapter whose translation of a
    platform event awaits anything (a lookup, creating a thread) runs that translation
    through ``knowrithm_bots.core.thread_queue.ThreadQueue``, keyed by the thread or the
    channel it belongs to, so that a quick second message cannot overtake the first.
    """

    async def on_message(self, event: Inbound) -> None: ...

    async def on_reaction(self, event: Reaction) -> None: ...

    async def on_notice(self, *, thread: str, text: str, reply_to: str | None = None) -> None:
        """Post ``text`` (Markdown) in ``thread`` on the adapter's behalf: a refusal, a hint.

        The notice is paced with the answers (the same budgets, the same backoff after a
        429) and queued behind the thread's earlier events, so it never overtakes an answer.
        ``reply_to`` is the ``Inbound.message_id`` it answers, as for ``Adapter.post``.
        """
        ...

    async def on_stop(self, *, thread: str, by: Author, message_id: str | None = None) -> bool:
        """Stop the answer ``thread`` is writing now, exactly as ``/stop`` from ``by`` would.

        Called for a click on a Stop button (``SupportsStopButton``); ``message_id`` is the
        message the button was on, so that a stale button stops nothing but its own answer.
        Unlike the other methods it returns the outcome, at once: True when an answer was
        stopped, False when there was none (it had ended), which the adapter tells the
        clicker alone. Nothing is posted in the thread besides the stopped answer's mark.
        """
        ...


class NativeStream(ABC):
    """A platform-native streamed message (Slack chat streams, Telegram drafts).

    Created by ``SupportsNativeStream.open_native_stream``; the reply engine calls ``append``
    with each new piece of text in order, paced like edits (see ``Limits``), and ``finish``
    once with the whole authoritative text. Either may raise
    ``core.errors.NativeStreamUnavailable`` when the platform refuses or expires the stream:
    the engine then asks ``leftover`` for a message still showing the appended text and
    continues with post + edit from there (editing that message, or posting anew when there
    is none), so nothing is lost or repeated.
    """

    @abstractmethod
    async def append(self, *, text: str) -> None:
        """Show ``text`` after what was appended before."""

    @abstractmethod
    async def finish(self, *, text: str) -> Sequence[Posted]:
        """End the stream with exactly ``text`` visible; return the messages holding it.

        An empty result means the stream leaves nothing lasting behind (Telegram drafts):
        the engine then posts ``text`` itself with ordinary messages.
        """

    def leftover(self) -> Posted | None:
        """The message showing the appended text, editable with ``Adapter.edit`` once the
        stream is over, or None when nothing of the stream stays visible.

        Asked after a failure, and once after the first append succeeded: the engine records
        that message so that a process started after a crash can finish the answer in it.
        """
        return None


@runtime_checkable
class SupportsFeedbackButtons(Protocol):
    """Optional capability: adapters that can put rating buttons under an answer.

    The bridge calls ``offer_feedback`` once per finished answer, after it is shown in full
    and linked to its Knowrithm message, with the id of the answer's last platform message
    (as ``post`` returned it). The adapter adds the buttons (👍 and 👎) to that message and
    returns; failures raise ``PlatformError`` (the bridge logs them: the answer stands).

    A click comes back to ``EventSink.on_reaction`` as a ``Reaction`` on that message with
    ``emoji`` "👍" or "👎" and ``added=True``, so it rates exactly as a reaction does; the
    adapter acknowledges the click to the clicker alone (an ephemeral note, a callback
    answer) and never reposts the answer.

    After a 👎 click the adapter may ask the clicker why (a modal, a force-reply message);
    the reason comes back as another ``Reaction`` with ``emoji`` "👎" and ``feedback`` set,
    which rates the message again with that feedback (the latest rating wins on Knowrithm).
    The reason is never delivered as a message for the agent.
    """

    def feedback_buttons_in(self, *, thread: str) -> bool:
        """Whether to offer buttons in ``thread`` (configuration), read without I/O before
        the bridge spends a paced platform call on them."""
        ...

    async def offer_feedback(self, *, thread: str, message_id: str) -> None: ...


@runtime_checkable
class SupportsStopButton(Protocol):
    """Optional capability: adapters that can put a Stop button on an answer as it streams.

    The button rides on the calls the reply engine makes anyway: ``post`` and ``edit`` take
    ``stop_button``, and the engine passes True on the answer's last message while it is
    being written and False on every other call (a notice, a message the answer rolled out
    of, the final text), so the button costs no call of its own and is gone once the answer
    ends. ``post``/``edit`` with ``stop_button=False`` must leave no Stop button behind.
    ``stop_button_in`` says whether to ask for it in ``thread`` (configuration); it is read
    once per answer, without I/O. Native streams carry no button.

    A click comes back as ``EventSink.on_stop`` with the clicker and the message; the adapter
    answers the clicker alone (a callback answer, an ephemeral message): stopped, or nothing
    to stop. Only people who can see the thread can click (what the platform guarantees).
    """

    def stop_button_in(self, *, thread: str) -> bool: ...

    async def post(
        self, *, thread: str, text: str, reply_to: str | None = None, stop_button: bool = False
    ) -> Posted: ...

    async def edit(
        self, *, thread: str, message_id: str, text: str, stop_button: bool = False
    ) -> None: ...


@runtime_checkable
class SupportsNativeStream(Protocol):
    """Optional capability: adapters that can stream natively implement this."""

    async def open_native_stream(self, *, thread: str) -> NativeStream | None:
        """Open a native stream in ``thread``, or return None where the platform has none there."""
        ...


@runtime_checkable
class SupportsStore(Protocol):
    """Optional capability: adapters that keep some state of their own in the bot's store.

    The runner calls ``use_store`` once per run, after ``from_config`` and before ``start``,
    with the store the bridge uses (memory, sqlite or Redis), so that state which must hold
    across restarts and across the instances of one bot (which Slack threads the bot takes
    part in) is shared like the bridge's own. The adapter keeps the store; it must not touch
    it before ``start`` nor close it, and must still work when ``use_store`` is never called
    (tests, embedding), keeping that state in memory alone.

    Keys it writes start with a kind of its own followed by the thread key or another
    platform id (``engaged:slack:...``), never a kind the core uses (``thread:``, ``msg:``,
    ``lead:``, ``event:``, ``reply:``, ``lock:``). A ``StoreError`` while reading or writing
    it is the adapter's to handle: it logs it and carries on with what it knows in memory.
    """

    def use_store(self, *, store: Store) -> None: ...


class Adapter(ABC):
    """One chat platform, knowing nothing about Knowrithm.

    Lifecycle: the runner constructs the adapter with ``from_config`` (no I/O), calls
    ``start`` once, and ``stop`` once when shutting down; ``start`` and ``stop`` are
    idempotent. Between them the adapter turns platform events into ``Inbound`` and
    ``Reaction`` events for the sink, ignoring its own messages and other bots', and the
    bridge calls ``post``/``edit``/``typing`` from any task, possibly concurrently for
    different threads.

    Outbound methods take the Markdown the agent wrote; the adapter renders it for its
    platform. They translate platform failures into ``core.errors.PlatformError``
    subclasses: ``PlatformRateLimited`` (with ``retry_after``) so the engine can back off,
    ``MessageNotFound``, ``PlatformUnavailable``, ``PlatformAuthError``. An edit that changes
    nothing on the platform ("message is not modified") is success, not an error. They must
    not catch ``asyncio.CancelledError``.
    """

    name: ClassVar[str]
    limits: ClassVar[Limits]
    capabilities: ClassVar[Capabilities] = Capabilities()
    config_model: ClassVar[type[AdapterConfig] | None] = None
    """The model of the adapter's ``adapters.<name>`` section (``from_config`` loads it with
    ``config_model.load``); ``check-config`` validates the section with it."""
    thread_codec: ClassVar[type[ThreadKeyCodec] | None] = None
    """The codec of the adapter's thread keys; the conformance kit round-trips every
    ``Inbound.thread`` and ``Reaction.thread`` through it."""
    user_emails: ClassVar[UserEmails] = "never"
    """Whether the platform can tell the bot a person's e-mail address (``Author.email``):
    ``"maybe"`` or ``"never"``. ``check-config`` refuses LEAD rules that can match a
    ``"never"`` adapter unless ``leads.email_domain`` is set to derive addresses with."""
    user_ids_per_workspace: ClassVar[bool] = False
    """Whether user ids are unique only within a workspace (``Origin.workspace_id``); the
    addresses derived for leads then name the workspace too."""
    context_settings: ContextSettings = ContextSettings()
    """The top-level ``context`` section, set by the runner after ``from_config``: how many
    earlier thread messages to fetch into ``Inbound.context`` (none when disabled)."""
    file_settings: FileSettings = FileSettings()
    """The top-level ``files`` section, set by the runner after ``from_config``: read
    attachments with ``core.attached_files.read_attached`` under these settings."""

    @classmethod
    @abstractmethod
    def from_config(cls, *, config: Mapping[str, Any]) -> Adapter:
        """Build the adapter from its config section; raise ``ConfigError`` naming the key."""

    @abstractmethod
    async def start(self, *, sink: EventSink) -> None:
        """Connect and begin delivering events to ``sink``; return once running.

        Raise ``PlatformAuthError`` (or another ``PlatformError``) when the platform refuses
        the credentials or cannot be reached, so the runner can say so and exit. Must not
        catch ``asyncio.CancelledError``: an interrupt during start cancels it.
        """

    @abstractmethod
    async def stop(self) -> None:
        """Stop receiving events and release connections.

        Safe before ``start`` and more than once. Returns only when no task the adapter
        started is left running (the conformance kit checks this).
        """

    async def wait_closed(self) -> None:
        """Return when the adapter has no more input (the console at end of file).

        Platform adapters never run out of input, so the default waits until cancelled.
        Raise ``PlatformError`` once the platform connection has ended for good while
        running (the token was revoked, the connection kept failing): the runner logs it,
        keeps the other adapters serving, and ends the process with a non-zero status.
        """
        await asyncio.Event().wait()

    @property
    def connected(self) -> bool:
        """Whether the platform connection is up now (optional capability, for ``/readyz``).

        Read by the readiness check between ``start`` and ``stop``, from any task, at any
        time: it must answer at once, without I/O. The default is True, since an adapter that
        cannot tell is taken as connected once started; adapters whose library knows (a
        gateway session, a polling loop, a listening server) return what it says.
        """
        return True

    @abstractmethod
    async def post(self, *, thread: str, text: str, reply_to: str | None = None) -> Posted:
        """Post a new message with ``text`` in ``thread``.

        ``reply_to`` is the ``Inbound.message_id`` of the user message this post answers,
        given on the first post of each answer or notice and None on the rest (roll-overs)
        and on posts that answer no message. Adapters that quote or reply natively use it;
        the others ignore it.
        """

    @abstractmethod
    async def edit(self, *, thread: str, message_id: str, text: str) -> None:
        """Replace the text of a message this adapter posted."""

    async def delete(self, *, thread: str, message_id: str) -> None:
        """Delete a message this adapter posted (only called when ``capabilities.delete``)."""
        raise NotImplementedError

    async def typing(self, *, thread: str) -> None:
        """Show that an answer is coming (only called when ``capabilities.typing``).

        The engine repeats the call every few seconds until the first text is visible.
        """
        return None

    async def reply_done(self, *, thread: str, message_ids: Sequence[str]) -> None:
        """Called once per handled message, after the bridge has finished responding to it.

        ``message_ids`` are the messages now showing the answer or the notice (empty when
        nothing could be posted). Called even when answering failed. An exception raised
        here is logged and changes nothing the user sees.
        """
        return None

    def measure(self, text: str) -> int:
        """The length of ``text`` in the unit of ``limits.max_message_length``, once rendered."""
        return len(text)

    def budget_keys(self, *, thread: str) -> Mapping[str, str]:
        """The rate-limit scope each of ``limits.budgets`` applies to for ``thread``."""
        return {"thread": thread, "chat": thread, "workspace": self.name, "bot": self.name}
