"""Discord stand-in on loopback: the REST calls login and command sync make, and a gateway that says READY.

It plays a REST proxy (nirn-proxy) and a gateway proxy in front of Discord, so a test can prove that the real
discord.py client, untouched, sent every request here: it records each REST call and each gateway connection.
Served with aiohttp (discord.py's own dependency): uvicorn has no websocket protocol installed here (neither the
``websockets`` nor the ``wsproto`` package), so a starlette app could not speak the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.discord_fakes import BOT_ID, snowflake, user_payload

LOOPBACK = "127.0.0.1"
HELLO, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, HEARTBEAT_ACK = 10, 1, 2, 6, 7, 11
API_GATEWAY_PATH = "/gateway-named-by-api"  # where GET /gateway/bot sends clients
RESUME_PATH = "/discord-resume"  # READY's resume_gateway_url: Discord's own resume gateway, in real life


@dataclass
class GatewaySession:
    """One websocket connection: where it was dialled and how the client opened it (IDENTIFY or RESUME)."""

    path: str
    opened_with: int | None = None
    shard: list[int] | None = None  # [shard id, shard count] as the IDENTIFY named it


@dataclass
class DiscordStandIn:
    """What reached the stand-in, and what it says. ``reconnect_after_ready``: ask the first session to resume."""

    reconnect_after_ready: bool = False
    token: str | None = None  # when set, REST calls with any other token get Discord's 401
    url: str = ""  # http://127.0.0.1:<port>, once served
    rest: list[tuple[str, str]] = field(default_factory=list)  # (method, path), path from /api/v10 on
    sessions: list[GatewaySession] = field(default_factory=list)
    identified: asyncio.Event = field(default_factory=asyncio.Event)
    resumed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def api(self) -> str:
        """The base a client is given, as nirn-proxy serves it."""
        return f"{self.url}/api/v10"

    def ws_url(self, path: str) -> str:
        return "ws" + self.url.removeprefix("http") + path

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self._me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self._application)
        app.router.add_get("/api/v10/gateway/bot", self._gateway_bot)
        app.router.add_put("/api/v10/applications/{app}/commands", self._commands)
        app.router.add_put("/api/v10/applications/{app}/guilds/{guild}/commands", self._commands)
        app.router.add_route("*", "/api/{path:.*}", self._not_found)
        app.router.add_get("/{path:.*}", self._gateway)  # any other GET: a gateway, recorded by its path
        app.middlewares.append(self._record)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/api/"):
            self.rest.append((request.method, request.path))
        return await handler(request)

    async def _me(self, request: web.Request) -> web.Response:
        if self.token is not None and request.headers.get("Authorization") != f"Bot {self.token}":
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return _json(user_payload(BOT_ID, "gavel", bot=True))

    async def _application(self, _: web.Request) -> web.Response:
        return _json({"id": str(BOT_ID), "name": "Gavel", "description": "", "icon": None, "bot_public": True,
                      "bot_require_code_grant": False, "verify_key": "0" * 64, "flags": 0,
                      "owner": user_payload(1, "owner")})  # fmt: skip

    async def _not_found(self, _: web.Request) -> web.Response:
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    async def _gateway_bot(self, _: web.Request) -> web.Response:
        limits = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.ws_url(API_GATEWAY_PATH), "shards": 1, "session_start_limit": limits})

    async def _commands(self, request: web.Request) -> web.Response:
        commands = await request.json()
        return _json([{**c, "id": str(snowflake()), "application_id": str(BOT_ID), "version": "1"} for c in commands])

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        """HELLO, then: heartbeats acknowledged, IDENTIFY answered with READY, RESUME with RESUMED."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = GatewaySession(request.path)
        self.sessions.append(session)
        await ws.send_json({"op": HELLO, "d": {"heartbeat_interval": 45_000}})
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            payload = json.loads(message.data)
            if payload["op"] == HEARTBEAT:
                await ws.send_json({"op": HEARTBEAT_ACK})
            elif payload["op"] == IDENTIFY:
                session.opened_with = IDENTIFY
                session.shard = payload["d"].get("shard")
                await ws.send_json({"op": 0, "t": "READY", "s": 1, "d": self._ready()})
                self.identified.set()
                if self.reconnect_after_ready and len(self.sessions) == 1:
                    await ws.send_json({"op": RECONNECT, "d": None})
            elif payload["op"] == RESUME:
                session.opened_with = RESUME
                await ws.send_json({"op": 0, "t": "RESUMED", "s": payload["d"]["seq"] + 1, "d": {}})
                self.resumed.set()
        return ws

    def _ready(self) -> dict[str, Any]:
        return {
            "v": 10,
            "user": user_payload(BOT_ID, "gavel", bot=True),
            "guilds": [],
            "session_id": "stand-in-session",
            "resume_gateway_url": self.ws_url(RESUME_PATH),
            "application": {"id": str(BOT_ID), "flags": 0},
        }


def _json(data: Any, status: int = 200) -> web.Response:
    # Exactly "application/json": discord.py parses nothing else (aiohttp's json_response adds a charset).
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


@contextlib.asynccontextmanager
async def serve_standin(standin: DiscordStandIn) -> AsyncIterator[DiscordStandIn]:
    """Serve the stand-in on a free loopback port in this event loop until the block exits."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((LOOPBACK, 0))
    runner = web.AppRunner(standin.app(), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    standin.url = f"http://{LOOPBACK}:{sock.getsockname()[1]}"
    try:
        yield standin
    finally:
        await runner.cleanup()
        sock.close()
