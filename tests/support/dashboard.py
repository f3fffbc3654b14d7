"""Dashboard test fixtures: the dashboard served on loopback as `gavel run` serves it, signed-in HTTP clients, and
Telegram Web App data signed the way Telegram signs it."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from adapters.telegram.webapp import init_data_checker, sign
from bot.dashboard.web import serve_dashboard
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES
from tests.fakes.telegram_api import TOKEN

FRAMES = ("https://web.telegram.org",)
CODES = SAMPLE_PURCHASE_CODES
STAFF = "console:admin"  # in GAVEL_ADMINS (conftest)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def settings(settings_factory: Any) -> Any:
    """Settings with the dashboard on (a free loopback port) and a quick import pace."""
    return settings_factory(dashboard_port=free_port(), cryptogig_per_second=100)


@dataclass
class Served:
    url: str
    settings: Any


@pytest.fixture
async def desk(core: Any, settings: Any) -> AsyncIterator[Served]:
    """The dashboard beside the core, as `gavel run` wires it (Telegram's Web App check with the fake's token)."""
    checks = {"telegram": init_data_checker(TOKEN)}
    async with serve_dashboard(core.services, settings, web_app_checks=checks, frames=FRAMES) as url:
        assert url is not None
        yield Served(url, settings)


def link_of(reply: Any) -> str:
    """The sign-in link a /dashboard reply carries."""
    urls = [b.url for row in reply.buttons for b in row if b.url and "/login/" in b.url]
    assert urls, f"no sign-in link in {reply}"
    return urls[0]


@contextlib.asynccontextmanager
async def signed_in(make_chat: Any, url: str, *, who: str = "admin") -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in through the link /dashboard sends to ``console:<who>``."""
    reply = await make_chat(user_id=who).say("/dashboard")
    async with httpx.AsyncClient(base_url=url, timeout=5.0) as client:
        response = await client.get(link_of(reply).removeprefix(url))
        assert response.status_code == 200, response.text
        yield client


def csrf_of(html: str) -> str:
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def web_app_data(user_id: int, *, age: float = 0.0, token: str = TOKEN, forge: bool = False, **user: Any) -> str:
    """initData as Telegram would hand it to the Web App of the bot with ``token``, signed ``age`` seconds ago."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps({"id": user_id, "first_name": "Staff", "language_code": "en", **user}),
        "auth_date": str(int(time.time() - age)),
    }
    fields["hash"] = sign(fields, token)
    if forge:  # the same signature over changed data: someone else's id
        fields["user"] = json.dumps({"id": user_id + 1, "first_name": "Staff"})
    return urlencode(fields)


def web_app_fragment(init_data: str) -> str:
    """The fragment of the page Telegram opens: initData and the app's own parameters."""
    return urlencode({"tgWebAppData": init_data, "tgWebAppVersion": "8.0", "tgWebAppPlatform": "tdesktop"})
