"""A local Knowrithm-compatible HTTP server: for the demo, the CLI and the tests."""

from knowrithm_bots.bots.local_knowrithm.agent import (
    Agent,
    CountingAgent,
    EchoAgent,
    ScriptedAgent,
)
from knowrithm_bots.bots.local_knowrithm.context import SERVER_MODES, ServerMode
from knowrithm_bots.bots.local_knowrithm.events import StreamEvent
from knowrithm_bots.bots.local_knowrithm.faults import Faults, InjectedFailure
from knowrithm_bots.bots.local_knowrithm.records import (
    EndRecord,
    RatingRecord,
    ReceivedRequest,
    StoredConversation,
    StoredLead,
    StoredMessage,
    StoredTask,
)
from knowrithm_bots.bots.local_knowrithm.replies import split_words
from knowrithm_bots.bots.local_knowrithm.server import LocalKnowrithm
from knowrithm_bots.bots.local_knowrithm.state import LocalState

__all__ = [
    "SERVER_MODES",
    "Agent",
    "CountingAgent",
    "EchoAgent",
    "EndRecord",
    "Faults",
    "InjectedFailure",
    "LocalKnowrithm",
    "LocalState",
    "RatingRecord",
    "ReceivedRequest",
    "ScriptedAgent",
    "ServerMode",
    "StoredConversation",
    "StoredLead",
    "StoredMessage",
    "StoredTask",
    "StreamEvent",
    "split_words",
]
