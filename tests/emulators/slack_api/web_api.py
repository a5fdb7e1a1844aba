"""The Web API methods the bots use, answering as Slack does (shapes and error codes)."""

from collections.abc import Callable
from typing import Any

from .interactive import EphemeralMessage, check_blocks
from .params import ApiError, flag, json_field, required, text_field
from .records import AssistantStatus, SlackMessage
from .workspace import Workspace

MAX_TEXT = 40_000  # Slack truncates longer message text
# Per markdown_text of the chat.*Stream methods: "Limit this field to 12,000 characters"
# (api.slack.com/methods/chat.startStream, .../chat.appendStream, .../chat.stopStream).
MAX_STREAM_TEXT = 12_000
MAX_BLOCKS = 50

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class WebApi:
    """Method table plus handlers; the HTTP layer does auth, injected failures and rate limits."""

    def __init__(self, *, workspace: Workspace, open_socket_url: Callable[[], str]) -> None:
        self._ws = workspace
        self._open_socket_url = open_socket_url
        self.ephemerals: list[EphemeralMessage] = []
        self.handlers: dict[str, Handler] = {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.delete": self.chat_delete,
            "chat.startStream": self.chat_start_stream,
            "chat.appendStream": self.chat_append_stream,
            "chat.stopStream": self.chat_stop_stream,
            "reactions.add": self.reactions_add,
            "reactions.remove": self.reactions_remove,
            "reactions.get": self.reactions_get,
            "users.info": self.users_info,
            "assistant.threads.setStatus": self.assistant_set_status,
            "apps.connections.open": self.apps_connections_open,
            "conversations.info": self.conversations_info,
            "conversations.replies": self.conversations_replies,
        }

    # --- helpers -----------------------------------------------------------------------

    def message_json(self, message: SlackMessage) -> dict[str, Any]:
        identity = self._ws.identity
        body = message.to_api(team_id=identity.team_id, app_id=identity.app_id)
        if message.bot_id == identity.bot_id:
            body["bot_profile"] = {
                "id": identity.bot_id,
                "app_id": identity.app_id,
                "name": identity.bot_name,
                "team_id": identity.team_id,
            }
        return body

    def _postable_channel(self, params: dict[str, Any]) -> str:
        channel_id = required(params, "channel", error="channel_not_found")
        channel = self._ws.channel(channel_id)
        if channel.is_archived:
            raise ApiError("is_archived")
        if not channel.is_member:
            raise ApiError("not_in_channel")
        return channel_id

    def _blocks(self, params: dict[str, Any]) -> list[Any] | None:
        blocks = json_field(params, "blocks")
        if blocks is None:
            return None
        if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
            raise ApiError("invalid_blocks_format")
        if len(blocks) > MAX_BLOCKS or any("type" not in b for b in blocks):
            raise ApiError("invalid_blocks")
        check_blocks(blocks)
        return blocks

    def _own_message(self, params: dict[str, Any], *, not_owned: str) -> SlackMessage:
        channel = required(params, "channel", error="channel_not_found")
        ts = required(params, "ts", error="message_not_found")
        message = self._ws.messages.get((channel, ts))
        if message is None or message.deleted:
            raise ApiError("message_not_found")
        if message.bot_id != self._ws.identity.bot_id:
            raise ApiError(not_owned)
        return message

    def _stream_text(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        """Text to add from markdown_text and markdown_text chunks (slack-sdk sends chunks)."""
        pieces: list[str] = []
        markdown = text_field(params, "markdown_text")
        if markdown:
            pieces.append(markdown)
        chunks = json_field(params, "chunks") or []
        if not isinstance(chunks, list):
            raise ApiError("invalid_arguments")
        kept: list[dict[str, Any]] = []
        for chunk in chunks:
            if not isinstance(chunk, dict) or "type" not in chunk:
                raise ApiError("invalid_chunks")
            kept.append(chunk)
            if chunk["type"] == "markdown_text":
                pieces.append(str(chunk.get("text", "")))
        if any(len(piece) > MAX_STREAM_TEXT for piece in pieces):
            raise ApiError("msg_too_long")
        return "".join(pieces), kept

    def _streaming(self, params: dict[str, Any]) -> SlackMessage:
        message = self._own_message(params, not_owned="message_not_owned_by_app")
        self._ws.expire_old_streams()
        if message.stream_state == "stopped_by_user":
            # PLATFORMS.md, "Slack chat streams": the user pressed stop; the app must not
            # go on writing in the message.
            raise ApiError("stopped_by_user")
        if message.stream_state != "streaming":
            # PLATFORMS.md: a stream that is not open refuses appendStream and stopStream.
            raise ApiError("message_not_in_streaming_state")
        message.last_streamed_at = self._ws.clock()
        return message

    def _not_streaming(self, message: SlackMessage, *, error: str) -> None:
        """PLATFORMS.md, "Slack chat streams" (recordings of the real service, Sept. 2026):
        a stream that is still open refuses chat.update (streaming_state_conflict) and
        chat.delete (cant_delete_message); stop it first, or wait for it to close."""
        self._ws.expire_old_streams()
        if message.stream_state == "streaming":
            raise ApiError(error)

    # --- methods -----------------------------------------------------------------------

    def auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        identity = self._ws.identity
        return {
            "ok": True,
            "url": f"https://{identity.team_domain}.slack.com/",
            "team": identity.team_name,
            "user": identity.bot_name,
            "team_id": identity.team_id,
            "user_id": identity.bot_user_id,
            "bot_id": identity.bot_id,
            "enterprise_id": identity.enterprise_id,
            "is_enterprise_install": False,
        }

    def chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable_channel(params)
        blocks = self._blocks(params)
        text = text_field(params, "text") or text_field(params, "markdown_text") or ""
        if not text and blocks is None and not params.get("attachments"):
            raise ApiError("no_text")
        message = SlackMessage(
            channel=channel,
            ts=self._ws.next_ts(),
            text=text[:MAX_TEXT],
            truncated=len(text) > MAX_TEXT,
            user=self._ws.identity.bot_user_id,
            bot_id=self._ws.identity.bot_id,
            thread_ts=text_field(params, "thread_ts") or None,
            blocks=blocks,
            metadata=json_field(params, "metadata"),
        )
        self._ws.messages[(channel, message.ts)] = message
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": self.message_json(message),
        }

    def chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, not_owned="cant_update_message")
        self._not_streaming(message, error="streaming_state_conflict")
        blocks = self._blocks(params)
        text = text_field(params, "text") or text_field(params, "markdown_text")
        if text is None and blocks is None and not params.get("attachments"):
            raise ApiError("no_text")
        new_text = message.text if text is None else text
        message.truncated = len(new_text) > MAX_TEXT
        self._ws.edit(
            message,
            text=new_text[:MAX_TEXT],
            blocks=blocks if blocks is not None else message.blocks,
        )
        return {
            "ok": True,
            "channel": message.channel,
            "ts": message.ts,
            "text": message.text,
            "message": self.message_json(message),
        }

    def chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        """Shown to ``user`` alone; in a DM only its member can be that user."""
        channel = self._postable_channel(params)
        user = required(params, "user", error="user_not_found")
        info = self._ws.channel(channel)
        if info.is_im and info.user not in (None, user):
            raise ApiError("user_not_in_channel")
        blocks = self._blocks(params)
        text = text_field(params, "text") or ""
        if not text and blocks is None:
            raise ApiError("no_text")
        ephemeral = EphemeralMessage(
            channel=channel,
            user=user,
            text=text,
            thread_ts=text_field(params, "thread_ts") or None,
            message_ts=self._ws.next_ts(),
        )
        self.ephemerals.append(ephemeral)
        return {"ok": True, "message_ts": ephemeral.message_ts}

    def chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, not_owned="cant_delete_message")
        self._not_streaming(message, error="cant_delete_message")
        message.deleted = True
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def chat_start_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self._ws.streaming_enabled:
            raise ApiError("feature_not_enabled")
        channel = self._postable_channel(params)
        refused = self._ws.streams_refused.get(channel)
        if refused is not None:
            # Slack's chat.startStream / appendStream reference lists such "not here" errors
            # (channel_type_not_supported); PLATFORMS.md: remember them per channel.
            raise ApiError(refused)
        thread_ts = required(params, "thread_ts")
        is_dm = self._ws.channel(channel).is_im
        recipient_user = text_field(params, "recipient_user_id")
        recipient_team = text_field(params, "recipient_team_id")
        if not is_dm and not recipient_user:
            raise ApiError("missing_recipient_user_id")
        if not is_dm and not recipient_team:
            raise ApiError("missing_recipient_team_id")
        text, chunks = self._stream_text(params)
        message = SlackMessage(
            channel=channel,
            ts=self._ws.next_ts(),
            text=text,
            user=self._ws.identity.bot_user_id,
            bot_id=self._ws.identity.bot_id,
            thread_ts=thread_ts,
            is_stream=True,
            stream_state="streaming",
            streamed_text=text,
            stream_chunks=chunks,
            recipient_user_id=recipient_user,
            recipient_team_id=recipient_team,
            started_at=self._ws.clock(),
            last_streamed_at=self._ws.clock(),
        )
        self._ws.messages[(channel, message.ts)] = message
        return {"ok": True, "channel": channel, "ts": message.ts}

    def chat_append_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._streaming(params)
        text, chunks = self._stream_text(params)
        if not chunks and not text:
            raise ApiError("invalid_arguments")
        message.streamed_text += text
        message.text = message.streamed_text
        message.stream_chunks.extend(chunks)
        message.stream_appends += 1
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def chat_stop_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._streaming(params)
        text, chunks = self._stream_text(params)
        message.streamed_text += text
        message.text = message.streamed_text
        message.stream_chunks.extend(chunks)
        blocks = self._blocks(params)
        if blocks is not None:
            message.blocks = blocks
        metadata = json_field(params, "metadata")
        if metadata is not None:
            message.metadata = metadata
        message.stream_state = "stopped"
        body = self.message_json(message)
        body["subtype"] = "bot_message"
        return {"ok": True, "channel": message.channel, "ts": message.ts, "message": body}

    def _reaction_target(self, params: dict[str, Any]) -> tuple[tuple[str, str], str]:
        channel = required(params, "channel", error="channel_not_found")
        ts = required(params, "timestamp", error="bad_timestamp")
        name = required(params, "name", error="invalid_name").strip(":")
        message = self._ws.messages.get((channel, ts))
        if message is None or message.deleted:
            raise ApiError("message_not_found")
        return (channel, ts), name

    def reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        key, name = self._reaction_target(params)
        users = self._ws.reactions.setdefault(key, {}).setdefault(name, [])
        if self._ws.identity.bot_user_id in users:
            raise ApiError("already_reacted")
        users.append(self._ws.identity.bot_user_id)
        return {"ok": True}

    def reactions_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        key, name = self._reaction_target(params)
        users = self._ws.reactions.get(key, {}).get(name, [])
        if self._ws.identity.bot_user_id not in users:
            raise ApiError("no_reaction")
        users.remove(self._ws.identity.bot_user_id)
        if not users:
            del self._ws.reactions[key][name]
        return {"ok": True}

    def reactions_get(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = required(params, "channel", error="channel_not_found")
        ts = required(params, "timestamp", error="bad_timestamp")
        message = self._ws.messages.get((channel, ts))
        if message is None or message.deleted:
            raise ApiError("message_not_found")
        body = self.message_json(message)
        reactions = self._ws.reactions.get((channel, ts), {})
        if reactions:
            body["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in reactions.items()
            ]
        return {"ok": True, "type": "message", "channel": channel, "message": body}

    def users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._ws.users.get(required(params, "user", error="user_not_found"))
        if user is None:
            raise ApiError("user_not_found")
        return {"ok": True, "user": user.to_api()}

    def assistant_set_status(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = required(params, "channel_id", error="channel_not_found")
        thread_ts = required(params, "thread_ts")
        if "status" not in params:
            raise ApiError("invalid_arguments")
        loading = json_field(params, "loading_messages") or []
        self._ws.statuses.append(
            AssistantStatus(
                channel_id=channel_id,
                thread_ts=thread_ts,
                status=str(params["status"]),
                loading_messages=tuple(str(item) for item in loading),
                time=self._ws.clock(),
            )
        )
        return {"ok": True}

    def apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self._open_socket_url()}

    def conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._ws.channel(required(params, "channel", error="channel_not_found"))
        body = channel.to_api(team_id=self._ws.identity.team_id)
        if flag(params, "include_num_members") and not channel.is_im:
            body["num_members"] = 2
        return {"ok": True, "channel": body}

    def conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        """docs.slack.dev/reference/methods/conversations.replies: the parent and its replies,
        oldest first, within ``oldest``/``latest`` (bounds excluded unless ``inclusive``),
        ``limit`` per page (default 1000) with a ``next_cursor`` while ``has_more``; errors
        ``channel_not_found`` and ``thread_not_found``."""
        channel = required(params, "channel", error="channel_not_found")
        thread_ts = required(params, "ts", error="thread_not_found")
        thread = [m for m in self._ws.thread(channel, thread_ts) if not m.deleted]
        if not any(m.ts == thread_ts for m in thread):
            raise ApiError("thread_not_found")
        inclusive = flag(params, "inclusive")
        latest, oldest = params.get("latest"), params.get("oldest")

        def within(ts: str) -> bool:
            if latest is not None and (
                float(ts) > float(latest) or (float(ts) == float(latest) and not inclusive)
            ):
                return False
            return (
                oldest is None
                or float(ts) > float(oldest)
                or (float(ts) == float(oldest) and inclusive)
            )

        found = [m for m in thread if within(m.ts)]
        limit = int(params.get("limit") or 1000)
        start = int(str(params.get("cursor") or "0").removeprefix("page:") or 0)
        page = found[start : start + limit]
        more = start + limit < len(found)
        return {
            "ok": True,
            "messages": [self.message_json(m) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": f"page:{start + limit}" if more else ""},
        }
