"""Webhook mode: a small Starlette endpoint that takes Telegram's updates, proven by a secret token."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.routing import Route


class _QuietServer(uvicorn.Server):
    """The webhook server leaves SIGTERM and Ctrl-C to the app, which stops everything in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class WebhookServer:
    """Serves ``url``'s path on ``listen:port``; a request without the secret token is refused (403)."""

    def __init__(self, url: str, *, listen: str, port: int, secret: str) -> None:
        if not secret:
            # A secret made up here would differ between replicas; Telegram keeps the last one set, so every
            # other replica would answer 403. `gavel run` refuses to start without one.
            raise ValueError("the webhook needs TELEGRAM_WEBHOOK_SECRET, the same on every replica")
        self.url = url
        self.listen = listen
        self.port = port
        self.secret = secret
        self.bound_port: int | None = None
        self._server: _QuietServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._deliver: Callable[[Any], Awaitable[None]] | None = None

    async def start(self, deliver: Callable[[Any], Awaitable[None]]) -> None:
        """Serve until ``stop``; each accepted body (parsed JSON) goes to ``deliver``."""
        self._deliver = deliver
        path = urlparse(self.url).path or "/"
        endpoint = Starlette(routes=[Route(path, self._on_request, methods=["POST"])])
        config = uvicorn.Config(
            endpoint,
            host=self.listen,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = _QuietServer(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("the Telegram webhook server stopped at start")
            await asyncio.sleep(0.01)
        self.bound_port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._task, 5)
        self._server = self._task = None

    async def _on_request(self, request: StarletteRequest) -> Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not secrets.compare_digest(given.encode(), self.secret.encode()):
            return Response(status_code=403)
        try:
            body = await request.json()
        except Exception:  # a malformed body is the sender's problem, not a crash
            return Response(status_code=400)
        if self._deliver is None or not isinstance(body, dict):
            return Response(status_code=400)
        await self._deliver(body)
        return Response(status_code=200)
