"""`gavel doctor`: every setting that matters, checked for real, one line each: what was called, what came back,
what to do. It reaches every configured platform and upstream, reads the database's migration state without
creating anything (no ./gavel.db appears), and exits 1 when any line says BAD.

Its words are for the operator, in English, like the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

from bot.clients.auctionity import AuctionityClient
from bot.clients.cryptogig import CryptoGigClient, Endpoint
from bot.core.config import Settings
from bot.core.errors import (
    BadApiKey,
    StartFailed,
    Unreachable,
    UpstreamError,
    UpstreamMalformed,
    UpstreamUnavailable,
    unreachable_reason,
)
from bot.core.logs import redact
from bot.core.logs import without_credentials as shown_url
from bot.wiring.platforms import PLATFORMS, load
from bot.wiring.startup import database_failure, database_name
from storage.db import head_revision, revision_without_creating

OK, BAD, OFF = "ok ", "BAD", "-- "
NO_ADDRESS = "0x" + "0" * 64  # an auction id nobody has: the answer is an empty list, and that proves the API


class Report:
    """The lines printed so far, and whether any was BAD."""

    def __init__(self, out: Callable[[str], None] = print) -> None:
        self.out = out
        self.bad = 0

    def line(self, status: str, text: str) -> None:
        self.bad += status == BAD
        self.out(f"{status}  {text[:1].upper()}{text[1:]}")


async def doctor(settings: Settings, *, out: Callable[[str], None] = print) -> int:
    """Check everything; 1 when anything is BAD, else 0."""
    report = Report(out)
    _secret_key(settings, report)
    _admins(settings, report)
    await asyncio.to_thread(_database, settings, report)
    await _cryptogig(settings, report)
    await _auctionity(settings, report)
    await _platforms(settings, report)
    return 1 if report.bad else 0


def _secret_key(settings: Settings, report: Report) -> None:
    if settings.gavel_secret_key is None:
        report.line(BAD, "GAVEL_SECRET_KEY is not set: run `gavel keygen` and put GAVEL_SECRET_KEY=<key> in .env")
    else:
        report.line(OK, "GAVEL_SECRET_KEY is set (a valid key)")


def _admins(settings: Settings, report: Report) -> None:
    if not settings.gavel_admins:
        report.line(
            OFF, "GAVEL_ADMINS is empty: nobody can use staff commands; send /whoami to the bot for the line to paste"
        )
    else:
        report.line(OK, f"GAVEL_ADMINS: {', '.join(sorted(settings.gavel_admins))}")


def _database(settings: Settings, report: Report) -> None:
    url = settings.database_url
    name, head = database_name(url), head_revision()
    try:
        current = revision_without_creating(url)
    except FileNotFoundError:
        report.line(OK, f"{name} does not exist yet: `gavel run` creates it and migrates it to {head}")
        return
    except ValueError as error:  # no driver, an unknown database
        report.line(BAD, f"DATABASE_URL: {error}")
        return
    except DBAPIError as error:
        failure = database_failure(error, url)
        if isinstance(failure, Unreachable):
            report.line(BAD, f"{name} is not reachable ({failure.reason}): start it, or check DATABASE_URL")
        else:
            report.line(BAD, str(failure))
        return
    if current == head:
        report.line(OK, f"{name} is at {head}, as the code is")
    elif current is None:
        report.line(OK, f"{name} is empty: `gavel run` (or `gavel db upgrade`) migrates it to {head}")
    elif _known(current):
        report.line(OK, f"{name} at {current}, code at {head}: `gavel run` (or `gavel db upgrade`) migrates it")
    else:
        report.line(
            BAD,
            f"{name} is at {current}, which this version of Gavel does not know (code at {head}): run the newer one",
        )


def _known(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an id it has never heard of
        return False


async def _cryptogig(settings: Settings, report: Report) -> None:
    base = shown_url(settings.cryptogig_base_url)
    if settings.cryptogig_api_key is None:
        report.line(
            BAD,
            "CRYPTOGIG_API_KEY is not set: copy it from your CryptoGig workspace (Workspace Settings, API Key)",
        )
        return
    called = f"GET {Endpoint.ACCOUNT.value} at {base}"
    api_key = settings.cryptogig_api_key.get_secret_value()
    async with CryptoGigClient(settings.cryptogig_base_url, api_key, retry_attempts=1) as cryptogig:
        try:
            account = await cryptogig.account()
        except BadApiKey as error:
            report.line(
                BAD,
                f"CryptoGig refused the API key ({error.status} from {called}): copy it again from Workspace "
                "Settings, API Key into CRYPTOGIG_API_KEY",
            )
            return
        except UpstreamError as error:
            report.line(BAD, _upstream_problem("CryptoGig", called, error, "CRYPTOGIG_BASE_URL"))
            return
    report.line(OK, f"CryptoGig: {called} answered, the key is the account of {account.display_name}")


async def _auctionity(settings: Settings, report: Report) -> None:
    called = f"GET /auction at {shown_url(settings.auctionity_base_url)}"
    async with AuctionityClient(settings.auctionity_base_url, retry_attempts=1) as auctionity:
        try:
            await auctionity.auctions([NO_ADDRESS])
        except UpstreamError as error:
            report.line(BAD, _upstream_problem("Auctionity", called, error, "AUCTIONITY_BASE_URL"))
            return
    report.line(OK, f"Auctionity: {called} answered")


def _upstream_problem(service: str, called: str, error: UpstreamError, setting: str) -> str:
    if isinstance(error, UpstreamUnavailable) and error.status is not None:
        return f"{service} answered {error.status} to {called}: it is having trouble; try again later"
    if isinstance(error, UpstreamUnavailable):
        reason = unreachable_reason(error.__cause__ or error)
        return f"{service} is not reachable ({reason}, {called}): check {setting} and the network"
    if isinstance(error, UpstreamMalformed):
        return f"{service} answered {called} with something that is not its API: check {setting}"
    status = f" ({error.status})" if error.status else ""
    return f"{service} refused {called}{status}: check {setting}"


async def _platforms(settings: Settings, report: Report) -> None:
    configured = 0
    for platform in PLATFORMS:
        title = platform.name.capitalize()
        if not platform.configured(settings):
            report.line(OFF, f"{title}: {platform.token} is not set ({title} is off)")
            continue
        configured += 1
        try:
            identity = await load(platform.identity)(settings)
        except Unreachable as failure:
            report.line(
                BAD,
                f"{title} is not reachable ({failure.reason}, {failure.called}): check the address and the network; "
                "`gavel run` keeps trying",
            )
            continue
        except StartFailed as failure:
            report.line(BAD, str(failure))
            continue
        except Exception as error:  # doctor reports, it does not crash: whatever this is, `gavel run` would meet it
            report.line(BAD, f"{title}: the check failed ({type(error).__name__}: {redact(str(error))[:160]})")
            continue
        report.line(OK, f"{title}: {identity}")
    if settings.discord_bot_token and (settings.discord_api_base_url or settings.discord_gateway_url):
        api = settings.discord_api_base_url
        named = f"the one GET {shown_url(api)}/gateway/bot names" if api else "Discord's own"
        gateway = (
            f"{shown_url(settings.discord_gateway_url)} (DISCORD_GATEWAY_URL)"
            if settings.discord_gateway_url
            else named
        )
        report.line(OK, f"Discord gateway: {gateway}")
    if not configured:
        report.line(BAD, "no chat platform: set TELEGRAM_BOT_TOKEN and/or DISCORD_BOT_TOKEN (or try `gavel demo`)")
