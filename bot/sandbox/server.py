"""Serve a sandbox ASGI app with uvicorn on 127.0.0.1: in this event loop, or in a thread of its own.

Tests use the thread form so one server outlives many test event loops; ``gavel demo`` uses
the in-loop form beside the console.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

LOOPBACK = "127.0.0.1"


def _bind(port: int = 0) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on such sockets (else ~40 ms per request)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port))
    return sock


# Longer than httpx's 5 s keep-alive expiry: with equal timeouts the server could close a pooled
# connection just as the client sends a POST on it, which fails and is never retried (a bid must not be).
KEEP_ALIVE_SECONDS = 30


def _server(app: ASGIApp) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return uvicorn.Server(config)


@dataclass
class RunningServer:
    url: str
    server: uvicorn.Server


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, port: int = 0) -> AsyncIterator[RunningServer]:
    """Run ``app`` in the current event loop until the block exits."""
    sock = _bind(port)
    server = _server(app)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield RunningServer(f"http://{LOOPBACK}:{sock.getsockname()[1]}", server)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
        sock.close()


@contextlib.contextmanager
def serve_in_thread(app: ASGIApp, port: int = 0) -> Iterator[RunningServer]:
    """Run ``app`` in a daemon thread with its own event loop until the block exits."""
    sock = _bind(port)
    server = _server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("sandbox server failed to start")
        threading.Event().wait(0.01)
    try:
        yield RunningServer(f"http://{LOOPBACK}:{sock.getsockname()[1]}", server)
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()
