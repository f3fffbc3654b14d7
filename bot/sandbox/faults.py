"""Fault injection for the sandbox servers: wrong statuses, latency, malformed bodies, on demand.

Tests switch faults on either in-process (``app.state.faults.set(...)``) or over HTTP
(``POST /_sandbox/faults`` with the same fields as JSON), which is how a test drives a
sandbox running in another process. Paths under ``/_sandbox/`` are never faulted.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import asdict, dataclass, field, fields

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

MALFORMED_BODIES = {
    "html": ("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "text/html"),
    "empty": ("", "application/json"),
    "truncated": ('{"status": "success", "items": [{"id": 1, "na', "application/json"),
    "not-json": ("Service temporarily overloaded, please retry", "text/plain"),
    "wrong-shape": ('["this", "is", "not", "an", "object"]', "application/json"),
}


@dataclass
class Faults:
    """What the sandbox should do wrong; all off by default.

    Deterministic faults (``status``, ``malformed``, ``latency``) apply to every request, or to
    the next ``remaining`` requests when that is set. Random faults (``*_rate``) draw per request,
    which is what the hardening suite uses to fail a share of the traffic.
    """

    status: int | None = None
    malformed: str | None = None
    latency: float = 0.0
    remaining: int | None = None
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 503)
    timeout_rate: float = 0.0
    timeout_seconds: float = 30.0
    malformed_rate: float = 0.0
    seed: int | None = None
    injected: dict[str, int] = field(default_factory=dict)
    epoch: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def set(self, **changes: object) -> None:
        """Change some fields (unknown names raise, so a typo in a test fails loudly)."""
        names = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name not in names or name in ("injected", "epoch"):
                raise ValueError(f"unknown fault setting {name!r}")
            if name == "error_statuses" and value is not None:
                value = tuple(value)  # type: ignore[arg-type]
            setattr(self, name, value)
        if "seed" in changes:
            self._random = random.Random(self.seed)

    def clear(self) -> None:
        """Back to a healthy server (the injected counters are kept)."""
        for f in fields(self):
            if f.name not in ("injected", "seed", "epoch"):
                setattr(self, f.name, f.default)

    def start_over(self) -> None:
        """Healthy again, and requests still held back by latency are dropped instead of served late.

        A test that slowed the sandbox down leaves requests sleeping in it after its client gave up;
        served after the next test's reset, they would count, and change data, in that test.
        """
        self.clear()
        self.epoch += 1

    def describe(self) -> dict[str, object]:
        return asdict(self)

    def _count(self, kind: str) -> None:
        self.injected[kind] = self.injected.get(kind, 0) + 1

    def pick(self) -> tuple[str, object] | None:
        """Decide the fault for one request: (kind, detail) or None for a healthy answer."""
        if self.remaining is not None:
            if self.remaining <= 0:
                return self._pick_random()
            self.remaining -= 1
        if self.status is not None:
            return ("status", self.status)
        if self.malformed is not None:
            return ("malformed", self.malformed)
        return self._pick_random()

    def _pick_random(self) -> tuple[str, object] | None:
        draw = self._random.random()
        if draw < self.timeout_rate:
            return ("timeout", self.timeout_seconds)
        draw -= self.timeout_rate
        if draw < self.error_rate:
            return ("status", self._random.choice(self.error_statuses))
        draw -= self.error_rate
        if draw < self.malformed_rate:
            return ("malformed", self._random.choice(sorted(MALFORMED_BODIES)))
        return None


class FaultInjectionMiddleware:
    """ASGI middleware that applies ``Faults`` before the real app sees the request."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox/"):
            await self.app(scope, receive, send)
            return
        epoch = self.faults.epoch
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
            if self.faults.epoch != epoch:  # held back past the end of the test that asked for it
                await Response(status_code=503)(scope, receive, send)
                return
        fault = self.faults.pick()
        if fault is None:
            await self.app(scope, receive, send)
            return
        kind, detail = fault
        self.faults._count(kind)
        if kind == "timeout":
            await asyncio.sleep(float(detail))  # type: ignore[arg-type]
            response: Response = Response(status_code=504)
        elif kind == "status":
            status = int(detail)  # type: ignore[call-overload]
            response = JSONResponse({"status": "error", "msg": f"Injected failure {status}"}, status_code=status)
        else:
            body, media_type = MALFORMED_BODIES[str(detail)]
            response = Response(body, media_type=media_type)
        await response(scope, receive, send)


async def faults_endpoint(request: Request) -> JSONResponse:
    """``GET`` shows the faults, ``POST`` changes them (``{"clear": true}`` resets)."""
    faults: Faults = request.app.state.faults
    if request.method == "POST":
        changes = await request.json()
        if changes.pop("clear", False):
            faults.clear()
        try:
            faults.set(**changes)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
    return JSONResponse(faults.describe())
