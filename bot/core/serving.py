"""An ASGI app served over HTTP in the bot's own event loop, for as long as a block runs (/healthz, the dashboard)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

STOP_TIMEOUT_SECONDS = 5.0


@contextlib.asynccontextmanager
async def serving(app: Any, host: str, port: int) -> AsyncIterator[str]:
    """Serve ``app`` on host:port while the block runs; yields the base URL it answers on (port 0: any free one)."""
    # Bound here rather than by uvicorn, whose bind failure is a sys.exit inside a task: a taken port
    # must stop start-up with an ordinary error instead.
    sock = socket.create_server((host, port))
    # Connections accepted from it inherit this (Linux): asyncio sets TCP_NODELAY only on sockets whose protocol
    # number says TCP, which create_server's are not, and without it a response written in two parts (headers,
    # body) waits out the client's delayed ACK: 40 ms a request on a kept-alive connection.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the HTTP server stopped while starting")
            await asyncio.sleep(0.01)
        bound_host, bound_port = sock.getsockname()[:2]
        yield f"http://[{bound_host}]:{bound_port}" if ":" in bound_host else f"http://{bound_host}:{bound_port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, STOP_TIMEOUT_SECONDS)
        sock.close()
