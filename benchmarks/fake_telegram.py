"""A fake Telegram Bot API that enforces the flood limits and records every message, for the dispatch benchmark.

Limits, per Telegram's bot FAQ and checked on the messages it accepted (sliding windows, to the
millisecond, as a strict server would):

- more than ``30 * scale`` messages in any 1 s window overall,
- a second message to one private chat (id > 0) within ``1 / scale`` s of the last one,
- more than 20 messages to one group (id < 0) in any ``60 / scale`` s window

each get HTTP 429 ``{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after N",
"parameters": {"retry_after": N}}``, N being the whole seconds until the request would have passed.
Rejected requests do not count against the limits. Other methods (getMe, setMyCommands, getUpdates...)
answer harmlessly and are not limited.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SEND_METHODS = {"sendmessage", "sendphoto"}


@dataclass(frozen=True)
class Delivery:
    """One send request as the server saw it."""

    at: float  # time.monotonic() at the server
    chat_id: int
    accepted: bool
    text: str
    reason: str = ""  # which limit refused it


@dataclass
class FloodState:
    """The limits, the accepted-message windows and the record of every send."""

    scale: float = 1.0
    overall_per_second: int = 30
    group_per_window: int = 20
    deliveries: list[Delivery] = field(default_factory=list)
    _overall: deque[float] = field(default_factory=deque)
    _last_private: dict[int, float] = field(default_factory=dict)
    _groups: dict[int, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def overall_limit(self) -> int:
        return round(self.overall_per_second * self.scale)

    @property
    def private_interval(self) -> float:
        return 1.0 / self.scale

    @property
    def group_window(self) -> float:
        return 60.0 / self.scale

    def reset(self) -> None:
        with self._lock:
            self.deliveries.clear()
            self._overall.clear()
            self._last_private.clear()
            self._groups.clear()

    def admit(self, chat_id: int, text: str) -> float | None:
        """Record a send; None if accepted, else the seconds until it would have been."""
        now = time.monotonic()
        with self._lock:
            while self._overall and self._overall[0] <= now - 1.0:
                self._overall.popleft()
            waits: list[tuple[float, str]] = []
            if len(self._overall) >= self.overall_limit:
                waits.append((self._overall[0] + 1.0 - now, "overall"))
            if chat_id > 0:
                last = self._last_private.get(chat_id)
                if last is not None and now - last < self.private_interval:
                    waits.append((last + self.private_interval - now, "private chat"))
            else:
                window = self._groups.setdefault(chat_id, deque())
                while window and window[0] <= now - self.group_window:
                    window.popleft()
                if len(window) >= self.group_per_window:
                    waits.append((window[0] + self.group_window - now, "group"))
            if waits:
                wait, reason = max(waits)
                self.deliveries.append(Delivery(now, chat_id, False, text, reason))
                return wait
            self._overall.append(now)
            if chat_id > 0:
                self._last_private[chat_id] = now
            else:
                self._groups[chat_id].append(now)
            self.deliveries.append(Delivery(now, chat_id, True, text))
            return None

    def next_message_id(self) -> int:
        with self._lock:
            return next(self._ids)


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if not body:
        return params
    if request.headers.get("content-type", "").startswith("application/json"):
        params.update(json.loads(body))
    else:  # python-telegram-bot posts application/x-www-form-urlencoded
        params.update(parse_qsl(body.decode()))
    return params


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def create_fake_telegram_app(state: FloodState) -> Starlette:
    """The Bot API at ``/bot<token>/<method>``, answering from ``state``."""

    async def method(request: Request) -> JSONResponse:
        name = request.path_params["method"].lower()
        params = await _params(request)
        if name == "getme":
            return _ok({"id": 4242, "is_bot": True, "first_name": "Gavel", "username": "gavel_bench_bot"})
        if name == "getupdates":
            # Long polling: hold briefly, as Telegram does when there is nothing new, so the client does not spin.
            await asyncio.sleep(min(float(params.get("timeout") or 0), 0.5))
            return _ok([])
        if name not in SEND_METHODS:
            return _ok(True)
        chat_id = int(params["chat_id"])
        text = str(params.get("text") or params.get("caption") or "")
        wait = state.admit(chat_id, text)
        if wait is not None:
            retry_after = max(1, math.ceil(wait))
            return JSONResponse(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                },
                status_code=429,
            )
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        if chat_id < 0:
            chat["title"] = "Bidders"
        message = {"message_id": state.next_message_id(), "date": int(time.time()), "chat": chat, "text": text}
        return _ok(message)

    return Starlette(routes=[Route("/bot{token}/{method}", method, methods=["GET", "POST"])])
