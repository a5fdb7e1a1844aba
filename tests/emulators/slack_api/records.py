"""What the emulator remembers: API calls, messages and their history, statuses, users, channels."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from . import ids

StreamState = Literal["streaming", "stopped", "expired", "stopped_by_user"]
DeliveryOutcome = Literal["acked", "http_error", "http_timeout", "connection_failed"]


@dataclass(frozen=True)
class ApiCall:
    """One Web API request as the emulator saw it (the token is never kept)."""

    method: str
    params: Mapping[str, Any]
    status: int
    error: str | None
    response: Mapping[str, Any]
    time: float
    http_verb: str

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class MessageVersion:
    """A message's content before one of its edits."""

    text: str
    blocks: list[Any] | None
    time: float


@dataclass
class SlackMessage:
    """A message in a channel: posted by the bot through the API or seen in a delivered event."""

    channel: str
    ts: str
    text: str
    user: str
    bot_id: str | None = None
    thread_ts: str | None = None
    blocks: list[Any] | None = None
    metadata: Any = None
    history: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False
    truncated: bool = False
    is_stream: bool = False
    stream_state: StreamState | None = None
    streamed_text: str = ""
    stream_chunks: list[dict[str, Any]] = field(default_factory=list)
    stream_appends: int = 0
    recipient_user_id: str | None = None
    recipient_team_id: str | None = None
    started_at: float = 0.0
    last_streamed_at: float = 0.0

    @property
    def edits(self) -> int:
        return len(self.history)

    @property
    def texts(self) -> list[str]:
        """Every text the message has shown, oldest first, ending with the current one."""
        return [version.text for version in self.history] + [self.text]

    def to_api(self, *, team_id: str, app_id: str | None = None) -> dict[str, Any]:
        """The message object as Slack's Web API returns it."""
        body: dict[str, Any] = {"type": "message", "text": self.text, "user": self.user}
        body["ts"] = self.ts
        body["team"] = team_id
        if self.bot_id is not None:
            body["bot_id"] = self.bot_id
            if app_id is not None:
                body["app_id"] = app_id
        if self.thread_ts is not None:
            body["thread_ts"] = self.thread_ts
        if self.blocks is not None:
            body["blocks"] = self.blocks
        if self.history:
            body["edited"] = {"user": self.user, "ts": f"{self.history[-1].time:.6f}"}
        return body


@dataclass(frozen=True)
class AssistantStatus:
    """One assistant.threads.setStatus call (an empty status clears the indicator)."""

    channel_id: str
    thread_ts: str
    status: str
    loading_messages: tuple[str, ...]
    time: float


@dataclass(frozen=True)
class SlackUser:
    """A workspace member (or a Slack Connect guest from another team) for users.info."""

    id: str
    real_name: str
    name: str
    team_id: str
    email: str | None = None
    display_name: str = ""
    is_bot: bool = False
    bot_id: str | None = None
    deleted: bool = False

    def to_api(self) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.display_name,
            "display_name_normalized": self.display_name,
            "team": self.team_id,
        }
        if self.email is not None:
            profile["email"] = self.email
        if self.bot_id is not None:
            profile["bot_id"] = self.bot_id
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": "Europe/London",
            "tz_offset": 0,
            "is_admin": False,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "is_restricted": False,
            "profile": profile,
        }


@dataclass(frozen=True)
class SlackChannel:
    """A conversation's facts for conversations.info and posting checks."""

    id: str
    name: str
    is_im: bool = False
    is_private: bool = False
    is_ext_shared: bool = False
    is_member: bool = True
    is_archived: bool = False
    user: str | None = None

    def to_api(self, *, team_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "created": 1_600_000_000,
            "is_archived": self.is_archived,
            "is_member": self.is_member,
            "is_ext_shared": self.is_ext_shared,
            "is_shared": self.is_ext_shared,
            "context_team_id": team_id,
        }
        if self.is_im:
            body.update({"is_im": True, "is_channel": False, "is_group": False})
            body["user"] = self.user
        else:
            body.update(
                {
                    "name": self.name,
                    "is_im": False,
                    "is_channel": not self.is_private,
                    "is_group": self.is_private,
                    "is_private": self.is_private,
                }
            )
        return body


def infer_channel(channel_id: str) -> SlackChannel:
    """Slack's id prefixes tell the kind: C public, G private, D direct message."""
    if channel_id.startswith("D"):
        return SlackChannel(id=channel_id, name="", is_im=True, user=ids.USER_ID)
    return SlackChannel(
        id=channel_id, name=channel_id.lower(), is_private=channel_id.startswith("G")
    )


@dataclass(frozen=True)
class DeliveryAttempt:
    """One HTTP delivery of an event, as Slack would make it during its retry schedule."""

    retry_num: int
    retry_reason: str | None
    status: int | None
    outcome: DeliveryOutcome
    elapsed: float
