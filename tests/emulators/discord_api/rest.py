"""REST handlers under /api/v10: the routes discord.py calls, shaped as Discord answers them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from .components import check_components
from .models import DM, MAX_CONTENT_LENGTH, UserInfo
from .ratelimit import RateLimitVerdict, too_many_requests_body, too_many_requests_headers
from .world import ApiError, emoji_json

if TYPE_CHECKING:
    from .emulator import DiscordEmulator

API_PREFIX = "/api/v10"
BODY_JSON: web.RequestKey[Any] = web.RequestKey("discord_emulator_json")
BODY_FILES: web.RequestKey[list[dict[str, Any]]] = web.RequestKey("discord_emulator_files")
# The interaction callback is authorised by the interaction's token in its path.
INTERACTION_CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
# So is the edit of an interaction's response (app_commands.py).
ORIGINAL_RESPONSE = "/webhooks/{application_id}/{interaction_token}/messages/@original"
UNAUTHENTICATED_ROUTES = frozenset({"/gateway", INTERACTION_CALLBACK, ORIGINAL_RESPONSE})


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON answer whose Content-Type is exactly application/json, as discord.py demands."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def no_content() -> web.Response:
    return web.Response(status=204)


def invalid_form(field: str, code: str, message: str) -> ApiError:
    return ApiError(
        status=400,
        code=50035,
        message="Invalid Form Body",
        errors={field: {"_errors": [{"code": code, "message": message}]}},
    )


def _snowflake(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit():
        raise invalid_form(name, "NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.')
    return int(raw)


class RestApi:
    """Registers the REST routes on an aiohttp app and answers them from the emulator's state."""

    def __init__(self, *, emulator: DiscordEmulator) -> None:
        self._emu = emulator
        self._world = emulator.world

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self._middleware)
        r = app.router
        p = API_PREFIX
        r.add_get(f"{p}/users/@me", self.get_me)
        r.add_post(f"{p}/users/@me/channels", self.create_dm)
        r.add_get(p + "/users/{user_id}", self.get_user)
        r.add_get(f"{p}/oauth2/applications/@me", self.get_application)
        r.add_get(f"{p}/applications/@me", self.get_application)
        r.add_get(f"{p}/gateway", self.get_gateway)
        r.add_get(f"{p}/gateway/bot", self.get_gateway_bot)
        r.add_get(p + "/guilds/{guild_id}/members/{user_id}", self.get_member)
        ch = p + "/channels/{channel_id}"
        msg = ch + "/messages/{message_id}"
        r.add_get(ch, self.get_channel)
        r.add_post(f"{ch}/typing", self.typing)
        r.add_post(f"{ch}/messages", self.create_message)
        r.add_get(f"{ch}/messages", self.list_messages)
        r.add_get(msg, self.get_message)
        r.add_patch(msg, self.edit_message)
        r.add_delete(msg, self.delete_message)
        r.add_post(f"{msg}/threads", self.start_thread)
        r.add_put(msg + "/reactions/{emoji}/@me", self.add_reaction)
        r.add_delete(msg + "/reactions/{emoji}/@me", self.remove_own_reaction)
        r.add_delete(msg + "/reactions/{emoji}/{user_id}", self.remove_user_reaction)
        app_cmds = p + "/applications/{application_id}"
        r.add_get(f"{app_cmds}/commands", self.get_commands)
        r.add_put(f"{app_cmds}/commands", self.put_commands)
        r.add_get(app_cmds + "/guilds/{guild_id}/commands", self.get_commands)
        r.add_put(app_cmds + "/guilds/{guild_id}/commands", self.put_commands)

    # -- plumbing -------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX + "/"):
            # The gateway socket lives outside /api and does its own token check.
            response: web.StreamResponse = await handler(request)
            return response
        resource = request.match_info.route.resource
        canonical = resource.canonical if resource is not None else request.path
        route = canonical.removeprefix(API_PREFIX)
        path = request.path.removeprefix(API_PREFIX)
        request[BODY_JSON] = None
        request[BODY_FILES] = []
        try:
            await self._read_body(request)
            response = await self._answer(request, handler, route=route, path=path)
        except ApiError as exc:
            response = json_response(exc.body(), status=exc.status)
        self._emu.call_log.record(
            method=request.method,
            path=path,
            route=route,
            payload=request[BODY_JSON],
            query=dict(request.query),
            status=response.status,
            files=tuple(f["filename"] for f in request[BODY_FILES]),
        )
        return response

    async def _answer(
        self, request: web.Request, handler: Any, *, route: str, path: str
    ) -> web.StreamResponse:
        if route not in UNAUTHENTICATED_ROUTES and (
            request.headers.get("Authorization") != f"Bot {self._emu.token}"
        ):
            return json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        failure = self._emu.call_log.take_failure(method=request.method, route=route, path=path)
        if failure is not None:
            if failure.status == 429:
                return json_response(
                    too_many_requests_body(
                        retry_after=failure.retry_after, is_global=failure.is_global
                    ),
                    status=429,
                    headers=too_many_requests_headers(
                        retry_after=failure.retry_after, is_global=failure.is_global
                    ),
                )
            message = failure.message or f"{failure.status}: injected failure"
            return json_response({"message": message, "code": failure.code}, status=failure.status)
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPNotFound:
            return json_response({"message": "404: Not Found", "code": 0}, status=404)
        except web.HTTPMethodNotAllowed:
            return json_response({"message": "405: Method Not Allowed", "code": 0}, status=405)
        return response

    async def _read_body(self, request: web.Request) -> None:
        if not request.can_read_body:
            return
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "payload_json":
                    request[BODY_JSON] = json.loads(await part.text())
                elif part.filename is not None:
                    content = await part.read()
                    request[BODY_FILES].append({"filename": part.filename, "size": len(content)})
            return
        raw = await request.read()
        if not raw:
            return
        try:
            request[BODY_JSON] = json.loads(raw)
        except ValueError:
            raise ApiError(
                status=400, code=50109, message="The request body contains invalid JSON."
            ) from None

    def _rate_limit(self, channel_id: int) -> tuple[web.Response | None, dict[str, str]]:
        """Count a message write; a 429 response when over the channel's limit."""
        if not self._emu.rate_limits.enabled:
            return None, {}
        verdict: RateLimitVerdict = self._emu.rate_limits.hit(channel_id=channel_id)
        headers = verdict.headers() if self._emu.advertise_rate_limits else {}
        if verdict.allowed:
            return None, headers
        retry = verdict.reset_after
        limited_headers = too_many_requests_headers(retry_after=retry, is_global=False)
        body = too_many_requests_body(retry_after=retry, is_global=False)
        return json_response(body, status=429, headers={**headers, **limited_headers}), headers

    # -- identity -------------------------------------------------------------------------

    async def get_me(self, request: web.Request) -> web.Response:
        me = {
            **self._world.bot.to_json(),
            "bot": True,
            "verified": True,
            "mfa_enabled": False,
            "flags": 0,
            "email": None,
            "locale": "en-US",
            "premium_type": 0,
        }
        return json_response(me)

    async def get_user(self, request: web.Request) -> web.Response:
        return json_response(self._world.user(_snowflake(request, "user_id")).to_json())

    async def get_application(self, request: web.Request) -> web.Response:
        world = self._world
        owner = UserInfo(id=world.application_id + 1, username="app-owner")
        return json_response(
            {
                "id": str(world.application_id),
                "name": world.bot.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "hook": True,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "owner": owner.to_json(),
                "team": None,
                "flags": self._emu.application_flags,
                "bot": world.bot.to_json(),
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "tags": [],
            }
        )

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": str(self._emu.gateway_url)})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return json_response(
            {"url": str(self._emu.gateway_url), "shards": 1, "session_start_limit": limit}
        )

    async def get_member(self, request: web.Request) -> web.Response:
        guild_id = _snowflake(request, "guild_id")
        user_id = _snowflake(request, "user_id")
        if guild_id not in self._world.guilds:
            raise ApiError(status=404, code=10004, message="Unknown Guild")
        if not self._world.is_member(guild_id=guild_id, user_id=user_id):
            raise ApiError(status=404, code=10007, message="Unknown Member")
        return json_response(self._world.member_json(user_id))

    # -- channels and messages ------------------------------------------------------------

    async def get_channel(self, request: web.Request) -> web.Response:
        channel = self._world.channel(_snowflake(request, "channel_id"))
        return json_response(self._world.channel_json(channel))

    async def create_dm(self, request: web.Request) -> web.Response:
        payload = request[BODY_JSON] or {}
        recipient = str(payload.get("recipient_id", ""))
        if not recipient.isdigit():
            raise invalid_form("recipient_id", "BASE_TYPE_REQUIRED", "This field is required")
        channel = self._world.dm_channel_for(user_id=int(recipient))
        return json_response(self._world.channel_json(channel))

    async def typing(self, request: web.Request) -> web.Response:
        channel = self._world.channel(_snowflake(request, "channel_id"))
        self._emu.effects.record_typing(channel_id=channel.id)
        return no_content()

    async def get_message(self, request: web.Request) -> web.Response:
        message = self._world.message(
            channel_id=_snowflake(request, "channel_id"),
            message_id=_snowflake(request, "message_id"),
        )
        hidden = self._emu.effects.rest_content_hidden(message)
        return json_response(self._world.message_json(message, hide_content=hidden))

    async def list_messages(self, request: web.Request) -> web.Response:
        """Get Channel Messages: newest first; ``before``/``after``/``around`` a message id,
        ``limit`` 1-100 (default 50); needs READ_MESSAGE_HISTORY (docs: Channel resource)."""
        channel_id = _snowflake(request, "channel_id")
        self._world.channel(channel_id)
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            raise invalid_form("limit", "NUMBER_TYPE_COERCE", "Value is not int.") from None
        if not 1 <= limit <= 100:
            raise invalid_form("limit", "NUMBER_TYPE_MAX", "int value should be <= 100 and >= 1.")
        world = self._world
        found = sorted(
            (m for m in world.messages.values() if m.channel_id == channel_id and not m.deleted),
            key=lambda m: m.id,
            reverse=True,
        )
        if "before" in request.query:
            found = [m for m in found if m.id < int(request.query["before"])]
        if "after" in request.query:
            found = [m for m in found if m.id > int(request.query["after"])][-limit:]
        page = found[:limit]
        return json_response(
            [
                self._world.message_json(m, hide_content=self._emu.effects.rest_content_hidden(m))
                for m in page
            ]
        )

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self._world.channel(_snowflake(request, "channel_id"))
        limited, headers = self._rate_limit(channel.id)
        if limited is not None:
            return limited
        payload = request[BODY_JSON] or {}
        content = _checked_content(payload.get("content"))
        effects = self._emu.effects
        attachments = [
            effects.attachment_json(filename=f["filename"], size=f["size"], content_type=None)
            for f in request[BODY_FILES]
        ]
        embeds = list(payload.get("embeds") or [])
        components = list(payload.get("components") or [])
        check_components(components)
        if not (content or embeds or attachments or components or payload.get("sticker_ids")):
            raise ApiError(status=400, code=50006, message="Cannot send an empty message")
        reference_id = self._reference(channel.id, payload.get("message_reference"))
        message = self._emu.effects.store_message(
            channel=channel,
            author_id=self._world.bot.id,
            content=content,
            embeds=embeds,
            attachments=attachments,
            components=components,
            mention_ids=None,
            mention_everyone=False,
            reference_id=reference_id,
            nonce=payload.get("nonce"),
        )
        await self._emu.effects.emit_message(event="MESSAGE_CREATE", message=message)
        return json_response(self._world.message_json(message), headers=headers)

    def _reference(self, channel_id: int, reference: Any) -> int | None:
        if not isinstance(reference, dict) or reference.get("message_id") is None:
            return None
        message_id = int(reference["message_id"])
        found = self._world.messages.get(message_id)
        if found is None or found.deleted or found.channel_id != channel_id:
            if reference.get("fail_if_not_exists", True):
                raise invalid_form(
                    "message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                )
            return None
        return message_id

    async def edit_message(self, request: web.Request) -> web.Response:
        channel = self._world.channel(_snowflake(request, "channel_id"))
        message = self._world.message(
            channel_id=channel.id, message_id=_snowflake(request, "message_id")
        )
        limited, headers = self._rate_limit(channel.id)
        if limited is not None:
            return limited
        if message.author_id != self._world.bot.id:
            raise ApiError(
                status=403, code=50005, message="Cannot edit a message authored by another user"
            )
        payload = request[BODY_JSON] or {}
        if payload.get("components") is not None:
            check_components(payload["components"])
        self._emu.effects.apply_edit(
            message=message, payload=payload, content=_edit_content(payload)
        )
        await self._emu.effects.emit_message(event="MESSAGE_UPDATE", message=message)
        return json_response(self._world.message_json(message), headers=headers)

    async def delete_message(self, request: web.Request) -> web.Response:
        channel = self._world.channel(_snowflake(request, "channel_id"))
        message = self._world.message(
            channel_id=channel.id, message_id=_snowflake(request, "message_id")
        )
        if channel.type == DM and message.author_id != self._world.bot.id:
            raise ApiError(status=403, code=50003, message="Cannot execute action on a DM channel")
        await self._emu.effects.delete_message(message)
        return no_content()

    async def start_thread(self, request: web.Request) -> web.Response:
        channel_id = _snowflake(request, "channel_id")
        message_id = _snowflake(request, "message_id")
        payload = request[BODY_JSON] or {}
        name = payload.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise invalid_form(
                "name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
        archive = int(payload.get("auto_archive_duration") or 1440)
        thread = await self._emu.effects.start_thread(
            channel_id=channel_id,
            message_id=message_id,
            name=name,
            owner_id=self._world.bot.id,
            archive=archive,
        )
        return json_response(self._world.thread_json(thread), status=201)

    # -- reactions ------------------------------------------------------------------------

    async def add_reaction(self, request: web.Request) -> web.Response:
        return await self._reaction(request, action="add", user_id=self._world.bot.id)

    async def remove_own_reaction(self, request: web.Request) -> web.Response:
        return await self._reaction(request, action="remove", user_id=self._world.bot.id)

    async def remove_user_reaction(self, request: web.Request) -> web.Response:
        user_id = _snowflake(request, "user_id")
        return await self._reaction(request, action="remove", user_id=user_id)

    async def _reaction(self, request: web.Request, *, action: str, user_id: int) -> web.Response:
        channel = self._world.channel(_snowflake(request, "channel_id"))
        message = self._world.message(
            channel_id=channel.id, message_id=_snowflake(request, "message_id")
        )
        emoji = request.match_info["emoji"]
        if not emoji_json(emoji)["name"]:
            raise ApiError(status=400, code=10014, message="Unknown Emoji")
        await self._emu.effects.react(
            action=action, channel=channel, message_id=message.id, user_id=user_id, emoji=emoji
        )
        return no_content()

    # -- application commands -------------------------------------------------------------

    def _command_scope(self, request: web.Request) -> int | None:
        if _snowflake(request, "application_id") != self._world.application_id:
            raise ApiError(status=403, code=50001, message="Missing Access")
        if "guild_id" not in request.match_info:
            return None
        guild_id = _snowflake(request, "guild_id")
        if guild_id not in self._world.guilds:
            raise ApiError(status=404, code=10004, message="Unknown Guild")
        return guild_id

    async def get_commands(self, request: web.Request) -> web.Response:
        return json_response(self._world.commands.get(self._command_scope(request), []))

    async def put_commands(self, request: web.Request) -> web.Response:
        scope = self._command_scope(request)
        payload = request[BODY_JSON]
        if not isinstance(payload, list):
            raise invalid_form("_", "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        from .app_commands import check_commands  # it builds on this module

        check_commands(payload)
        previous = {(c["name"], c["type"]): c["id"] for c in self._world.commands.get(scope, [])}
        stored = []
        for spec in payload:
            kind = int(spec.get("type", 1))
            command = {
                "id": previous.get((spec.get("name"), kind)) or str(self._emu.ids.next()),
                "application_id": str(self._world.application_id),
                "version": str(self._emu.ids.next()),
                "type": kind,
                "name": spec.get("name"),
                "description": spec.get("description", ""),
                "options": spec.get("options", []),
                "default_member_permissions": spec.get("default_member_permissions"),
                "dm_permission": spec.get("dm_permission", True),
                "contexts": spec.get("contexts"),
                "integration_types": spec.get("integration_types", [0]),
                "nsfw": spec.get("nsfw", False),
            }
            if scope is not None:
                command["guild_id"] = str(scope)
            stored.append(command)
        self._world.commands[scope] = stored
        return json_response(stored)


def _checked_content(value: Any) -> str:
    content = "" if value is None else str(value)
    if len(content) > MAX_CONTENT_LENGTH:
        raise invalid_form(
            "content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT_LENGTH} or fewer in length."
        )
    return content


def _edit_content(payload: dict[str, Any]) -> str | None:
    """The new content of an edit, or None when the edit leaves the content alone."""
    if "content" not in payload:
        return None
    return _checked_content(payload["content"])
