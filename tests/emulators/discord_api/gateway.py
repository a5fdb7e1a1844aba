"""The emulated gateway WebSocket: HELLO, heartbeats, IDENTIFY/READY, RESUME and dispatches."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import WSMsgType, web

from .models import PRIVILEGED_INTENTS, GuildInfo
from .world import World

OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11


@dataclass
class GatewaySession:
    """One IDENTIFY's session: its intents, sequence counter and every dispatch it got."""

    session_id: str
    intents: int
    seq: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    invalidated: bool = False


@dataclass
class _Connection:
    ws: web.WebSocketResponse
    request: web.Request
    session: GatewaySession | None = None
    ready: bool = False
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, frame: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_str(json.dumps(frame))


def _frame(
    op: int, data: Any, *, event: str | None = None, seq: int | None = None
) -> dict[str, Any]:
    return {"op": op, "d": data, "s": seq, "t": event}


class Gateway:
    """Serves the gateway protocol to one bot client at a time."""

    def __init__(
        self,
        *,
        world: World,
        token: str,
        heartbeat_interval_ms: int,
        allowed_privileged_intents: int,
        application_flags: int,
        resume_url: Callable[[], str],
    ) -> None:
        self._world = world
        self._token = token
        self._heartbeat_interval_ms = heartbeat_interval_ms
        self._allowed_privileged = allowed_privileged_intents
        self._application_flags = application_flags
        self._resume_url = resume_url
        self._lock = asyncio.Lock()
        self._connected = asyncio.Event()
        self._connections: list[_Connection] = []
        self.session: GatewaySession | None = None
        self.active: _Connection | None = None
        self.identify_count = 0
        self.resume_count = 0
        self.invalid_session_count = 0
        self.heartbeat_count = 0
        self.identify_payloads: list[dict[str, Any]] = []
        self.connection_paths: list[str] = []
        self.replayed_frames: list[dict[str, Any]] = []
        # Sharded clients (IDENTIFY with "shard": [id, count], count > 1): each shard's
        # session, and the socket each sharded session is live on.
        self.shard_count = 1
        self.shard_sessions: dict[int, GatewaySession] = {}
        self._shard_sockets: dict[str, _Connection] = {}

    # -- serving a socket -----------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = _Connection(ws=ws, request=request)
        self._connections.append(conn)
        self.connection_paths.append(request.path)
        try:
            await conn.send(_frame(OP_HELLO, {"heartbeat_interval": self._heartbeat_interval_ms}))
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                try:
                    payload = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._on_payload(conn, payload)
        except ConnectionError:
            pass  # the peer or drop_gateway() cut the socket
        finally:
            self._connections.remove(conn)
            conn.ready = False
            live = conn.session is not None and conn.session.session_id
            if live and self._shard_sockets.get(live) is conn:
                del self._shard_sockets[live]
            if self.active is conn:
                self.active = None
                self._connected.clear()
        return ws

    async def _on_payload(self, conn: _Connection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == OP_HEARTBEAT:
            self.heartbeat_count += 1
            await conn.send(_frame(OP_HEARTBEAT_ACK, None))
        elif op == OP_IDENTIFY:
            await self._identify(conn, data if isinstance(data, dict) else {})
        elif op == OP_RESUME:
            await self._resume(conn, data if isinstance(data, dict) else {})
        elif op == OP_REQUEST_GUILD_MEMBERS:
            await self._members_chunk(data if isinstance(data, dict) else {})
        elif op in (OP_PRESENCE_UPDATE, OP_VOICE_STATE_UPDATE):
            return
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, conn: _Connection, data: dict[str, Any]) -> None:
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        if data.get("token") != self._token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self._allowed_privileged:
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard = self._shard(data)
        if shard is False:
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        self.identify_payloads.append({k: v for k, v in data.items() if k != "token"})
        session = GatewaySession(session_id=uuid.uuid4().hex, intents=intents)
        async with self._lock:
            self.session = session
            conn.session = session
            self.active = conn
            if shard is not None:
                self.shard_count = shard[1]
                self.shard_sessions[shard[0]] = session
                self._shard_sockets[session.session_id] = conn
            guilds = [g for g in self._world.guilds.values() if self._serves(shard, g.id)]
            await self._emit(session, "READY", self._ready_payload(session, data, guilds))
            for guild in guilds:
                await self._emit(session, "GUILD_CREATE", self._world.guild_create_json(guild))
            conn.ready = True
            self.identify_count += 1
            self._connected.set()

    @staticmethod
    def _shard(data: dict[str, Any]) -> tuple[int, int] | Literal[False] | None:
        """The [id, count] an IDENTIFY names (None: unsharded); False when it is invalid,
        which Discord answers with close code 4010."""
        shard = data.get("shard")
        if shard is None:
            return None
        valid = (
            isinstance(shard, list)
            and len(shard) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in shard)
            and 0 <= shard[0] < shard[1]
        )
        if not valid:
            return False
        return None if shard[1] == 1 else (shard[0], shard[1])

    @staticmethod
    def _serves(shard: tuple[int, int] | None, guild_id: int) -> bool:
        """Discord's rule: a guild's events go to shard (guild_id >> 22) % shard_count."""
        return shard is None or (guild_id >> 22) % shard[1] == shard[0]

    def _session_for(self, data: Any) -> GatewaySession | None:
        """The session an event goes to: the guild's shard when the client is sharded (DMs
        and guild-less events go to shard 0), else the one session."""
        if not self.shard_sessions:
            return self.session
        guild = data.get("guild_id") if isinstance(data, dict) else None
        shard = (int(guild) >> 22) % self.shard_count if guild else 0
        return self.shard_sessions.get(shard)

    async def _resume(self, conn: _Connection, data: dict[str, Any]) -> None:
        if data.get("token") != self._token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        session = self.session
        for sharded in self.shard_sessions.values():
            if sharded.session_id == data.get("session_id"):
                session = sharded
                self._shard_sockets[sharded.session_id] = conn
        if session is None or session.invalidated or data.get("session_id") != session.session_id:
            self.invalid_session_count += 1
            await conn.send(_frame(OP_INVALID_SESSION, False))
            return
        seq = data.get("seq") or 0
        async with self._lock:
            conn.session = session
            self.active = conn
            for frame in session.history:
                if frame["s"] > seq:
                    await conn.send(frame)
                    self.replayed_frames.append(frame)
            await conn.send(_frame(OP_DISPATCH, {}, event="RESUMED"))
            conn.ready = True
            self.resume_count += 1
            self._connected.set()

    async def _members_chunk(self, data: dict[str, Any]) -> None:
        session = self.session
        guild_id = int(data.get("guild_id") or 0)
        if session is None or guild_id not in self._world.guilds:
            return
        members = [self._world.member_json(u.id) for u in self._world.members_of(guild_id)]
        chunk = {
            "guild_id": str(guild_id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        async with self._lock:
            await self._emit(session, "GUILD_MEMBERS_CHUNK", chunk)

    def _ready_payload(
        self, session: GatewaySession, identify: dict[str, Any], guilds: list[GuildInfo]
    ) -> dict[str, Any]:
        world = self._world
        user = {
            **world.bot.to_json(),
            "bot": True,
            "verified": True,
            "mfa_enabled": False,
            "flags": 0,
            "email": None,
        }
        payload: dict[str, Any] = {
            "v": 10,
            "user": user,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self._resume_url(),
            "application": {"id": str(world.application_id), "flags": self._application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
        }
        if "shard" in identify:
            payload["shard"] = identify["shard"]
        return payload

    # -- used by the emulator -------------------------------------------------------------

    async def _emit(self, session: GatewaySession, event: str, data: Any) -> None:
        """Sequence one dispatch, keep it for RESUME, and send it if the socket is live."""
        session.seq += 1
        frame = _frame(OP_DISPATCH, data, event=event, seq=session.seq)
        session.history.append(frame)
        conn = self._shard_sockets.get(session.session_id) or self.active
        if conn is not None and conn.session is session:
            # A failed send is harmless: the frame stays in history and a RESUME replays it.
            with contextlib.suppress(ConnectionError):
                await conn.send(frame)

    async def dispatch(self, *, event: str, data: dict[str, Any], intent: int) -> bool:
        """Send an event if the session's intents allow it; False when they filter it out,
        or when no client serves the shard of the event's guild."""
        if self.session is None:
            raise RuntimeError("no gateway session: the client has not identified yet")
        session = self._session_for(data)
        if session is None:
            return False
        if intent and not session.intents & intent:
            return False
        async with self._lock:
            await self._emit(session, event, data)
        return True

    async def dispatch_raw(self, *, event: str, data: Any) -> None:
        """Send a dispatch exactly as given (however malformed), sequenced like any other."""
        session = self.session
        if session is None:
            raise RuntimeError("no gateway session: the client has not identified yet")
        async with self._lock:
            await self._emit(session, event, data)

    async def send_raw_frame(self, text: str) -> bool:
        """Send one text frame exactly as given (not sequenced, not kept for RESUME) on the
        live socket; False when there is none."""
        conn = self.active
        if conn is None:
            return False
        async with conn.send_lock:
            await conn.ws.send_str(text)
        return True

    @property
    def intents(self) -> int | None:
        return None if self.session is None else self.session.intents

    def is_connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, *, timeout_s: float) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout_s)

    async def drop(self, *, invalidate: bool, code: int | None) -> bool:
        """Cut the live socket: abort the TCP stream, or close with `code` if given."""
        async with self._lock:
            conn = self.active
            self.active = None
            self._connected.clear()
            if invalidate and self.session is not None:
                self.session.invalidated = True
        if conn is None:
            return False
        conn.ready = False
        transport = conn.request.transport
        if code is None and transport is not None:
            transport.abort()
        else:
            await conn.ws.close(code=code or 4000, message=b"Dropped by the emulator.")
        return True

    async def request_reconnect(self) -> bool:
        """Send op 7 RECONNECT; the client closes and resumes."""
        async with self._lock:
            conn = self.active
            self.active = None
            self._connected.clear()
        if conn is None:
            return False
        await conn.send(_frame(OP_RECONNECT, None))
        return True

    async def close_all(self) -> None:
        for conn in list(self._connections):
            transport = conn.request.transport
            if transport is not None:
                transport.abort()
        self.active = None
        self._connected.clear()
