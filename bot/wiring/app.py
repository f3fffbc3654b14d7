"""Wiring: the one place that builds settings, services, core, adapters and the alert scheduler, and runs them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.access.upkeep import normalise_stored_codes
from bot.core import i18n
from bot.core.adapter_port import AdapterPort
from bot.core.config import Settings, load_settings
from bot.core.errors import StartFailed
from bot.core.i18n import _
from bot.core.logs import setup_logging
from bot.core.routing import Core
from bot.core.services import Services
from bot.wiring.dependencies import open_services
from bot.wiring.health import serve_health
from bot.wiring.platforms import build_adapters, started_adapters
from bot.wiring.startup import Backoff, prepare_database

if TYPE_CHECKING:
    from bot.sandbox import RunningSandbox

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def alerts(services: Services, adapters: dict[str, Any]) -> AsyncIterator[None]:
    """The poller and the dispatcher on one scheduler, for as long as the block runs."""
    from bot.wiring.scheduler import start_alerts

    async with start_alerts(services, adapters):
        yield


def _print(text: str = "") -> None:
    print(text, flush=True)


def print_samples(cryptogig: RunningSandbox, auctionity: RunningSandbox, *, refunded: str | None = None) -> None:
    """The sandbox's sample purchase codes and live auctions, one a line, as `gavel demo` and `gavel sandbox` show."""
    _print(_("Sample purchase codes:"))
    for label, code in cryptogig.sample_codes.items():
        note = _("(the sandbox refunds it once verified: within a minute or two a re-check ends its access)")
        _print(f"  {code}  {label}{' ' + note if code == refunded else ''}")
    if auctionity.live_auction_ids:
        _print(_("Live auctions (/auctions lists them too):"))
        for auction_id in auctionity.live_auction_ids[:3]:
            _print(f"  {auction_id}")


async def run_sandbox_forever(cryptogig_port: int, auctionity_port: int, *, rivals: bool = True) -> None:
    """`gavel sandbox`: both simulated upstreams on fixed loopback ports until Ctrl-C."""
    from bot.sandbox import sandbox_servers

    async with sandbox_servers(cryptogig_port, auctionity_port, rivals=rivals) as (cryptogig, auctionity):
        _print(f"CryptoGig sandbox:  {cryptogig.url}   (sandbox API key: {cryptogig.api_key})")
        _print(f"Auctionity sandbox: {auctionity.url}")
        _print("To run your bot against it, put these in .env (README: Going live against the sandbox):")
        _print(f"  CRYPTOGIG_BASE_URL={cryptogig.url}")
        _print(f"  CRYPTOGIG_API_KEY={cryptogig.api_key}")
        _print(f"  AUCTIONITY_BASE_URL={auctionity.url}")
        print_samples(cryptogig, auctionity)
        await wait_for_stop()


async def wait_for_stop(stop: asyncio.Event | None = None) -> None:
    """Until SIGTERM or Ctrl-C (or ``stop`` is set: tests run the app in their own loop)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_demo(
    *, poll_interval: int = 5, rivals: bool = True, linger: float = 0.0, language: str | None = None
) -> int:
    """`gavel demo`: sandbox + console + alerts, on a throw-away database and key, deleted at exit."""
    folder = Path(tempfile.mkdtemp(prefix="gavel-demo-"))
    try:
        return await _demo(folder, poll_interval=poll_interval, rivals=rivals, linger=linger, language=language)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # a throw-away database: nothing of the demo stays behind


async def _demo(folder: Path, *, poll_interval: int, rivals: bool, linger: float, language: str | None) -> int:
    from adapters.console import ConsoleAdapter
    from bot.sandbox import sandbox_servers
    from storage.crypto import generate_key
    from storage.db import upgrade

    async with sandbox_servers(0, 0, rivals=rivals) as (cryptogig, auctionity):
        settings = load_settings(
            cryptogig_base_url=cryptogig.url,
            cryptogig_api_key=cryptogig.api_key,
            auctionity_base_url=auctionity.url,
            database_url=f"sqlite:///{folder / 'demo.db'}",
            gavel_secret_key=generate_key(),
            gavel_admins="console:local",
            poll_interval_seconds=poll_interval,
            ending_soon_minutes=2,
            verify_recheck_seconds=60,  # the demo re-checks every purchase each minute, so a refund shows
        )
        refunded = cryptogig.sample_codes["regular licence, already downloaded"]
        cryptogig.app.state.data.refund_after_first_validation.add(refunded)  # type: ignore[attr-defined]
        setup_logging("WARNING", secrets=settings.secrets())
        upgrade(settings.database_url)
        i18n.use(language)
        _print(_("Gavel demo — the sandbox is running; nothing here touches a real service."))
        _print(_("Try:  /verify <code>   /items   /auctions   /signup   /language   /help"))
        print_samples(cryptogig, auctionity, refunded=refunded)
        _print()
        async with open_services(settings) as services:
            await normalise_stored_codes(services)
            console = ConsoleAdapter(AdapterPort(Core(services)), language=language)
            async with alerts(services, {"console": console}):
                await console.run(linger=linger)
    return 0


async def run_console(settings: Settings, *, language: str | None = None) -> int:
    """`gavel console`: the terminal chat against the configured APIs and database."""
    from adapters.console import ConsoleAdapter

    if settings.gavel_secret_key is None:
        return _missing_key()
    setup_logging(settings.log_level, secrets=settings.secrets())
    try:
        await prepare_database(settings.database_url, Backoff())
    except StartFailed as failure:
        return _refused(failure)
    async with open_services(settings) as services:
        await normalise_stored_codes(services)
        console = ConsoleAdapter(AdapterPort(Core(services)), language=language)
        async with alerts(services, {"console": console}):
            await console.run()
    return 0


WEBHOOK_WITHOUT_SECRET = (
    "gavel: TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is not; every replica needs the same one: "
    "put TELEGRAM_WEBHOOK_SECRET=<output of `openssl rand -hex 32`> in .env."
)


def _missing_key() -> int:
    print(
        "gavel: GAVEL_SECRET_KEY is not set. It encrypts purchase codes and sessions.\n"
        "Make one with `gavel keygen` and put GAVEL_SECRET_KEY=<key> in .env (keep it secret, keep it safe).",
        file=sys.stderr,
    )
    return 2


def _refused(failure: StartFailed) -> int:
    """A definite no at start (a rejected token): one line, exit status 2; trying again would not help."""
    print(f"gavel: {failure}", file=sys.stderr)
    return 2


async def run_bot(settings: Settings, *, backoff: Backoff | None = None, stop: asyncio.Event | None = None) -> int:
    """`gavel run`: every configured adapter, the poller and the dispatcher, in one event loop.

    A platform or database that does not answer yet is waited for (``backoff``); one that refuses ends it (2).
    """
    if settings.gavel_secret_key is None:
        return _missing_key()
    if not (settings.telegram_bot_token or settings.discord_bot_token):
        print(
            "gavel: no chat platform is configured. Set TELEGRAM_BOT_TOKEN and/or DISCORD_BOT_TOKEN in .env,\n"
            "or try everything locally first with `gavel demo` (or `make demo`).",
            file=sys.stderr,
        )
        return 2
    if settings.telegram_bot_token and settings.telegram_webhook_url and settings.telegram_webhook_secret is None:
        # Each replica would make up its own, Telegram keeps the last one set, and every other replica answers 403.
        print(WEBHOOK_WITHOUT_SECRET, file=sys.stderr)
        return 2
    setup_logging(settings.log_level, secrets=settings.secrets())
    backoff = backoff or Backoff()
    try:
        await prepare_database(settings.database_url, backoff)
        async with open_services(settings) as services, serve_health(services, settings):
            await normalise_stored_codes(services)
            adapters = build_adapters(settings, AdapterPort(Core(services)))
            async with (
                started_adapters(adapters, receive=True, backoff=backoff),
                alerts(services, adapters),
                dashboard(services, settings),
            ):
                await wait_for_stop(stop)
                log.info("stopping")
    except StartFailed as failure:
        return _refused(failure)
    return 0


@contextlib.asynccontextmanager
async def dashboard(services: Services, settings: Settings) -> AsyncIterator[str | None]:
    """The staff dashboard when DASHBOARD_PORT is set, with each platform's web-app sign-in (Telegram's initData)."""
    from bot.dashboard.web import serve_dashboard

    checks: dict[str, Any] = {}
    frames: tuple[str, ...] = ()
    if settings.telegram_bot_token:
        from adapters.telegram.webapp import init_data_checker

        checks["telegram"] = init_data_checker(settings.telegram_bot_token.get_secret_value())
        frames = ("https://web.telegram.org",)  # Telegram's web client shows a Web App in a frame
    async with serve_dashboard(services, settings, web_app_checks=checks, frames=frames) as url:
        yield url


async def run_worker(settings: Settings) -> int:
    """`gavel worker`: the poller, the auto-bidder, the re-checks and the dispatcher, sending through each
    configured platform's HTTP API; it takes no chat updates. Any number may run beside `gavel run` on one
    PostgreSQL: each piece of work is leased, so none is done twice."""
    if settings.gavel_secret_key is None:
        return _missing_key()
    setup_logging(settings.log_level, secrets=settings.secrets())
    backoff = Backoff()
    try:
        await prepare_database(settings.database_url, backoff)
        async with open_services(settings) as services, serve_health(services, settings):
            adapters = build_adapters(settings, AdapterPort(Core(services)))
            async with started_adapters(adapters, receive=False, backoff=backoff):
                log.info("worker: alerts through %s", ", ".join(adapters) or "no platform (nothing to send)")
                async with alerts(services, adapters):
                    await wait_for_stop()
                    log.info("stopping")
    except StartFailed as failure:
        return _refused(failure)
    return 0


async def discord_sync(settings: Settings) -> int:
    """`gavel discord-sync`: push the slash-command tree to Discord now."""
    if not settings.discord_bot_token:
        print("gavel: DISCORD_BOT_TOKEN is not set.", file=sys.stderr)
        return 2
    from adapters.discord.sync import sync_commands

    async with open_services(settings) as services:
        port = AdapterPort(Core(services))
        print(await sync_commands(settings, port.registry, port))
    return 0
