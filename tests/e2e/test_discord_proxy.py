"""Discord through proxies: the real adapter on discord.py logs in, syncs and connects via a stand-in on loopback.

The loopback guard refuses discord.com, so a setting that is ignored shows up as a client that never gets ready;
the stand-in's records show that each request and each gateway connection arrived where the settings say.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.endpoints import DISCORD_API, DISCORD_GATEWAY, DiscordEndpoints
from adapters.discord.sync import sync_commands
from bot.core.adapter_port import AdapterPort
from bot.core.config import SettingsError, load_settings
from bot.wiring.doctor import doctor
from tests.fakes.discord_fakes import BOT_ID, Call
from tests.fakes.discord_standin import (
    API_GATEWAY_PATH,
    IDENTIFY,
    RESUME,
    RESUME_PATH,
    DiscordStandIn,
    serve_standin,
)
from tests.support.discord import start_bot

TOKEN = "stand-in-discord-token"
PROXY_GATEWAY_PATH = "/gateway-proxy"
WAIT = 10  # seconds; discord.py holds READY back ~2 s for guilds that never come


@pytest.fixture
async def standin(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordStandIn]:
    # The endpoints are discord.py's process-wide class attributes: give the next tests back what they had.
    monkeypatch.setattr(Route, "BASE", Route.BASE)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", DiscordWebSocket.DEFAULT_GATEWAY)
    async with serve_standin(DiscordStandIn()) as running:
        yield running


async def run_until_ready(adapter: DiscordAdapter, standin: DiscordStandIn) -> None:
    await adapter.start()
    await asyncio.wait_for(standin.identified.wait(), timeout=WAIT)
    await asyncio.wait_for(adapter.client.wait_until_ready(), timeout=WAIT)


def opened(standin: DiscordStandIn) -> list[tuple[str, int | None]]:
    return [(s.path, s.opened_with) for s in standin.sessions]


async def test_every_request_and_every_gateway_connect_go_through_the_proxies(
    core: AdapterPort, settings_factory: Any, standin: DiscordStandIn
):
    standin.reconnect_after_ready = True  # READY names another resume gateway, then asks the client to resume
    settings = settings_factory(
        discord_bot_token=TOKEN,
        discord_api_base_url=standin.api,
        discord_gateway_url=standin.ws_url(PROXY_GATEWAY_PATH),
    )
    adapter = DiscordAdapter(core, settings)
    try:
        await run_until_ready(adapter, standin)
        await asyncio.wait_for(standin.resumed.wait(), timeout=WAIT)
    finally:
        await adapter.stop()

    assert ("GET", "/api/v10/users/@me") in standin.rest  # login
    assert ("PUT", f"/api/v10/applications/{BOT_ID}/commands") in standin.rest  # the slash tree, first start
    assert ("GET", "/api/v10/gateway/bot") not in standin.rest  # the gateway was named: nothing to ask
    # The first connect identified and the resume went to the gateway proxy, not to READY's resume_gateway_url.
    assert opened(standin) == [(PROXY_GATEWAY_PATH, IDENTIFY), (PROXY_GATEWAY_PATH, RESUME)]
    assert RESUME_PATH not in [s.path for s in standin.sessions]


async def test_behind_a_rest_proxy_alone_the_gateway_is_the_one_that_api_names(
    core: AdapterPort, settings_factory: Any, standin: DiscordStandIn
):
    settings = settings_factory(discord_bot_token=TOKEN, discord_api_base_url=standin.api)
    adapter = DiscordAdapter(core, settings)
    try:
        await run_until_ready(adapter, standin)
    finally:
        await adapter.stop()

    assert ("GET", "/api/v10/gateway/bot") in standin.rest
    assert opened(standin) == [(API_GATEWAY_PATH, IDENTIFY)]


async def test_a_replica_identifies_as_its_own_shard(core: AdapterPort, settings_factory: Any, standin: DiscordStandIn):
    settings = settings_factory(
        discord_bot_token=TOKEN, discord_api_base_url=standin.api, discord_shard_count=2, discord_shard_id=1
    )
    adapter = DiscordAdapter(core, settings)
    try:
        await run_until_ready(adapter, standin)
    finally:
        await adapter.stop()
    assert [s.shard for s in standin.sessions] == [[1, 2]]


async def test_discord_sync_pushes_the_tree_through_the_rest_proxy(
    core: AdapterPort, settings_factory: Any, standin: DiscordStandIn
):
    settings = settings_factory(discord_bot_token=TOKEN, discord_api_base_url=standin.api)

    await sync_commands(settings, core.registry, core)

    assert ("PUT", f"/api/v10/applications/{BOT_ID}/commands") in standin.rest
    assert standin.sessions == []


async def test_without_proxy_settings_the_client_uses_discords_own_even_after_a_proxied_one(
    core: AdapterPort, settings_factory: Any, standin: DiscordStandIn
):
    DiscordEndpoints(standin.api, standin.ws_url(PROXY_GATEWAY_PATH)).apply()  # as a proxied client left them
    running = await start_bot(core, settings_factory(discord_bot_token=TOKEN))  # Discord faked at discord.py's HTTP
    try:
        assert Route.BASE == DISCORD_API
        gateway_dials = [c.path for c in running.fake.calls if c.method == "WS"]
        assert len(gateway_dials) == 1 and gateway_dials[0].startswith(DISCORD_GATEWAY)
        assert running.fake.calls[0] == Call("GET", "/users/@me")
    finally:
        await running.adapter.stop()
    assert standin.rest == [] and standin.sessions == []


async def test_doctor_names_the_bases_in_use_without_credentials(settings_factory: Any, capsys: Any):
    settings = settings_factory(
        discord_bot_token=TOKEN, discord_api_base_url="http://gavel:hunter2@nirn.internal:8080/api/v10"
    )

    await doctor(settings)

    out = capsys.readouterr().out
    assert "GET /users/@me at http://nirn.internal:8080/api/v10" in out  # called there, and not reachable here
    assert "ok   Discord gateway: the one GET http://nirn.internal:8080/api/v10/gateway/bot names" in out
    assert "hunter2" not in out and TOKEN not in out

    await doctor(settings_factory(discord_bot_token=TOKEN, discord_gateway_url="wss://gateway-proxy.internal:7878"))

    out = capsys.readouterr().out
    assert "GET /users/@me at https://discord.com/api/v10" in out
    assert "ok   Discord gateway: wss://gateway-proxy.internal:7878 (DISCORD_GATEWAY_URL)" in out


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("discord_api_base_url", "nirn-proxy:8080", "DISCORD_API_BASE_URL is invalid: expected an http(s) URL"),
        ("discord_gateway_url", "http://gateway-proxy:7878", "DISCORD_GATEWAY_URL is invalid: expected a ws(s) URL"),
    ],
)
def test_proxy_urls_are_checked_at_start(name: str, value: str, expected: str):
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None, **{name: value})
    assert str(caught.value).startswith(expected)
