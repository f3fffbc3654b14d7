"""Wiring: the one place that builds settings, services, core, adapters and the alert scheduler, and runs them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.access.upkeep import normalise_stored_codes
from bot.core import i18n
from bot.core.adapter_port import AdapterPort
from bot.core.config import Settings, load_settings
from bot.core.i18n import _
from bot.core.logs import setup_logging
from bot.core.routing import Core
from bot.core.services import Services
from bot.wiring.dependencies import open_services
from bot.wiring.health import serve_health
from bot.wiring.platforms import build_adapters, started_adapters

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def alerts(services: Services, adapters: dict[str, Any]) -> AsyncIterator[None]:
    """The poller and the dispatcher on one scheduler, for as long as the block runs."""
    from bot.wiring.scheduler import start_alerts

    async with start_alerts(services, adapters):
        yield


def _print(text: str = "") -> None:
    print(text, flush=True)


async def run_sandbox_forever(cryptogig_port: int, auctionity_port: int, *, rivals: bool = True) -> None:
    """`gavel sandbox`: both simulated upstreams on fixed loopback ports until Ctrl-C."""
    from bot.sandbox import sandbox_servers

    async with sandbox_servers(cryptogig_port, auctionity_port, rivals=rivals) as (cryptogig, auctionity):
        _print(f"CryptoGig sandbox:  {cryptogig.url}   (sandbox API key: {cryptogig.api_key})")
        _print(f"Auctionity sandbox: {auctionity.url}")
        _print("Sample purchase codes:")
        for label, code in cryptogig.sample_codes.items():
            _print(f"  {code}  {label}")
        await wait_for_stop()


async def wait_for_stop() -> None:
    """Until SIGTERM or Ctrl-C."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_demo(
    *, poll_interval: int = 5, rivals: bool = True, linger: float = 0.0, language: str | None = None
) -> int:
    """`gavel demo`: sandbox + console + alerts, on a throw-away database and key."""
    from adapters.console import ConsoleAdapter
    from bot.sandbox import sandbox_servers
    from storage.crypto import generate_key
    from storage.db import upgrade

    folder = Path(tempfile.mkdtemp(prefix="gavel-demo-"))
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
        _print(_("Sample purchase codes:"))
        for label, code in cryptogig.sample_codes.items():
            note = _("(the sandbox refunds it once verified: within a minute or two a re-check ends its access)")
            _print(f"  {code}  {label}{' ' + note if code == refunded else ''}")
        if auctionity.live_auction_ids:
            _print(_("Live auctions:") + "  " + "  ".join(auctionity.live_auction_ids[:3]))
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
    from storage.db import upgrade

    if settings.gavel_secret_key is None:
        return _missing_key()
    setup_logging(settings.log_level, secrets=settings.secrets())
    upgrade(settings.database_url)
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


async def run_bot(settings: Settings) -> int:
    """`gavel run`: every configured adapter, the poller and the dispatcher, in one event loop."""
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
    from storage.db import upgrade

    setup_logging(settings.log_level, secrets=settings.secrets())
    upgrade(settings.database_url)
    async with open_services(settings) as services, serve_health(services, settings):
        await normalise_stored_codes(services)
        adapters = build_adapters(settings, AdapterPort(Core(services)))
        async with (
            started_adapters(adapters, receive=True),
            alerts(services, adapters),
            dashboard(services, settings),
        ):
            await wait_for_stop()
            log.info("stopping")
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
    from storage.db import upgrade

    setup_logging(settings.log_level, secrets=settings.secrets())
    upgrade(settings.database_url)
    async with open_services(settings) as services, serve_health(services, settings):
        adapters = build_adapters(settings, AdapterPort(Core(services)))
        async with started_adapters(adapters, receive=False):
            log.info("worker: alerts through %s", ", ".join(adapters) or "no platform (nothing to send)")
            async with alerts(services, adapters):
                await wait_for_stop()
                log.info("stopping")
    return 0


async def doctor(settings: Settings) -> int:
    """`gavel doctor`: settings, database and each upstream, one line each."""
    from storage.db import create_db_engine

    problems = 0

    def line(ok: bool, text: str) -> None:
        nonlocal problems
        problems += 0 if ok else 1
        print(f"{'ok ' if ok else 'BAD'}  {text}")

    line(settings.gavel_secret_key is not None, "GAVEL_SECRET_KEY set")
    line(settings.cryptogig_api_key is not None, "CRYPTOGIG_API_KEY set")
    line(bool(settings.telegram_bot_token or settings.discord_bot_token), "a chat platform token set")
    telegram_api = _base_in_use(settings.telegram_api_base_url, "TELEGRAM_API_BASE_URL", "Telegram's own")
    discord_api = _base_in_use(settings.discord_api_base_url, "DISCORD_API_BASE_URL", "Discord's own")
    api = settings.discord_api_base_url
    named_by_api = f"the one GET {_shown_url(api)}/gateway/bot names" if api else "Discord's own"
    line(True, f"Telegram API: {telegram_api}")
    line(True, f"Discord API: {discord_api}")
    line(True, f"Discord gateway: {_base_in_use(settings.discord_gateway_url, 'DISCORD_GATEWAY_URL', named_by_api)}")
    try:
        engine = create_db_engine(settings.database_url)
        with engine.connect():
            pass
        engine.dispose()
        line(True, "database reachable")
    except Exception as error:  # doctor reports, it does not crash
        line(False, f"database: {type(error).__name__}")
    from bot.clients.auctionity import AuctionityClient
    from bot.clients.cryptogig import CryptoGigClient
    from bot.core.errors import GavelError
    from bot.core.wording import user_message

    api_key = settings.cryptogig_api_key.get_secret_value() if settings.cryptogig_api_key else ""
    async with CryptoGigClient(settings.cryptogig_base_url, api_key, retry_attempts=1) as cryptogig:
        try:
            account = await cryptogig.account()
            line(True, f"CryptoGig reachable, account {account.display_name}")
        except GavelError as error:
            line(False, f"CryptoGig: {user_message(error)}")
    async with AuctionityClient(settings.auctionity_base_url, retry_attempts=1) as auctionity:
        try:
            await auctionity.auctions(["0x" + "0" * 64])
            line(True, "Auctionity reachable")
        except GavelError as error:
            line(False, f"Auctionity: {user_message(error)}")
    return 1 if problems else 0


def _shown_url(url: str) -> str:
    """A URL without any user:password in it (a proxy's credentials are as secret as a token)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _base_in_use(url: str | None, name: str, default: str) -> str:
    return f"{_shown_url(url)} ({name})" if url else default


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
