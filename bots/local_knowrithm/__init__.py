"""A local Knowrithm-compatible HTTP server: for the demo, the CLI and the tests."""

from bots.local_knowrithm.agent import Agent, EchoAgent, ScriptedAgent
from bots.local_knowrithm.events import StreamEvent
from bots.local_knowrithm.faults import Faults, InjectedFailure
from bots.local_knowrithm.records import (
    EndRecord,
    RatingRecord,
    StoredConversation,
    StoredLead,
    StoredMessage,
    StoredTask,
)
from bots.local_knowrithm.replies import split_words
from bots.local_knowrithm.server import LocalKnowrithm
from bots.local_knowrithm.state import LocalState

__all__ = [
    "Agent",
    "EchoAgent",
    "EndRecord",
    "Faults",
    "InjectedFailure",
    "LocalKnowrithm",
    "LocalState",
    "RatingRecord",
    "ScriptedAgent",
    "StoredConversation",
    "StoredLead",
    "StoredMessage",
    "StoredTask",
    "StreamEvent",
    "split_words",
]
