"""/healthz and /metrics over HTTP on METRICS_PORT, for container health checks and Prometheus, in the bot's loop.

GET /healthz   200 {"status": "ok", "database": "ok"} when a trivial query answers within the timeout,
               else 503 {"status": "unavailable", "database": "unreachable"}; it never hangs
GET /metrics   Prometheus' text exposition of bot/core/metrics.py and the process collectors
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.core import metrics
from bot.core.config import Settings
from bot.core.services import Services
from bot.core.serving import serving
from storage import outbox

log = logging.getLogger(__name__)

# Under the container's HEALTHCHECK timeout, so a stuck database reads as "unhealthy", not as a hung probe.
HEALTH_TIMEOUT_SECONDS = 3.0


def _ping(session: Session) -> None:
    session.connection().execute(text("SELECT 1")).scalar_one()


def create_health_app(services: Services, *, check_timeout: float = HEALTH_TIMEOUT_SECONDS) -> Starlette:
    """The ASGI app serving /healthz and /metrics for ``services``."""

    async def healthz(request: Request) -> Response:
        try:
            # wait_for bounds the answer; the database thread itself is bounded by the engine's timeouts.
            await asyncio.wait_for(services.db.read(_ping), check_timeout)
        except Exception as error:  # any failure, whatever its kind, means "not healthy", never a 500
            log.warning("health check: database unreachable (%s)", type(error).__name__)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    async def exposition(request: Request) -> Response:
        now = services.now()
        try:
            due = await asyncio.wait_for(
                services.db.read(lambda s: outbox.count_due_notifications(s, now=now)), check_timeout
            )
        except Exception as error:  # the other metrics still matter most when the database is in trouble
            log.warning("metrics: outbox backlog not read (%s)", type(error).__name__)
            due = float("nan")  # NaN, not the last value: a stale backlog would look like a healthy one
        metrics.OUTBOX_DUE.set(due)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", exposition)])


@contextlib.asynccontextmanager
async def serve_health(
    services: Services, settings: Settings, *, check_timeout: float = HEALTH_TIMEOUT_SECONDS
) -> AsyncIterator[str | None]:
    """Serve /healthz and /metrics on METRICS_LISTEN:METRICS_PORT while the block runs; yields their base URL.

    Does nothing (and yields None) when METRICS_PORT is unset. Any process role can wrap its run in it:
    ``async with serve_health(services, settings): ...``.
    """
    if settings.metrics_port is None:
        yield None
        return
    app = create_health_app(services, check_timeout=check_timeout)
    async with serving(app, settings.metrics_listen, settings.metrics_port) as url:
        log.info("health and metrics on %s/healthz and %s/metrics", url, url)
        yield url
